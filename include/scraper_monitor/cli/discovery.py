"""``scraper-monitor discovery``: the cities and sources city discovery runs, and how they are doing.

Examples::

    scraper-monitor discovery seed                       # add include/discovery.yaml's cities
    scraper-monitor discovery list --days 7 --json
    scraper-monitor discovery show warszawa
    scraper-monitor discovery disable warszawa kino_krakow
    scraper-monitor discovery set warszawa cinema_city --frequency-hours 48 --setting days_ahead=3
    scraper-monitor discovery trigger --dry-run          # what the orchestrator would queue now
    scraper-monitor discovery trigger warszawa cinema_city   # one run now (one per minute)

Settings are checked against the source DAG's params through Airflow's REST API before anything is
saved; a refused value names its field and nothing changes (exit 2).
"""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scraper_monitor import discovery, settings
from scraper_monitor.airflow import discovery as door
from scraper_monitor.airflow import rest
from scraper_monitor.cli import CliError
from scraper_monitor.cli.options import (
    add_airflow_url_option,
    add_output_options,
    airflow_errors,
    check_range,
    open_store,
)
from scraper_monitor.cli.table import print_json, render
from scraper_monitor.reports import discovery as report
from scraper_monitor.store import discovery as store


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "discovery", help="cities and sources of city discovery: list, change, trigger"
    )
    commands = parser.add_subparsers(dest="discovery_command", required=True, metavar="ACTION")

    listing = commands.add_parser("list", help="every city's sources with their stats")
    show = commands.add_parser("show", help="one city's sources, stats and recent changes")
    show.add_argument("city", metavar="CITY")
    for sub in (listing, show):
        sub.add_argument(
            "--days",
            type=int,
            default=report.DEFAULT_DAYS,
            help=f"stats window (default {report.DEFAULT_DAYS})",
        )
        add_output_options(sub)
        sub.set_defaults(func=_list)

    for action, enabled in (("enable", True), ("disable", False)):
        sub = commands.add_parser(action, help=f"{action} a city (without SOURCE) or one of its sources")
        sub.add_argument("city", metavar="CITY")
        sub.add_argument("source", metavar="SOURCE", nargs="?")
        add_output_options(sub)
        sub.set_defaults(func=_switch, enabled=enabled)

    change = commands.add_parser("set", help="change a source's frequency and settings (checked first)")
    change.add_argument("city", metavar="CITY")
    change.add_argument("source", metavar="SOURCE")
    change.add_argument("--frequency-hours", type=int)
    change.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a DAG param for this city (VALUE read as YAML: 3 is a number); repeatable",
    )
    change.add_argument("--unset", action="append", default=[], metavar="KEY", help="drop a setting")
    add_airflow_url_option(change)
    add_output_options(change)
    change.set_defaults(func=_set)

    trigger = commands.add_parser(
        "trigger", help="without CITY SOURCE: queue everything due now; with them: one run now"
    )
    trigger.add_argument("city", metavar="CITY", nargs="?")
    trigger.add_argument("source", metavar="SOURCE", nargs="?")
    trigger.add_argument("--dry-run", action="store_true", help="say what would be queued; change nothing")
    add_airflow_url_option(trigger)
    add_output_options(trigger)
    trigger.set_defaults(func=_trigger)

    seed = commands.add_parser("seed", help="add the seed file's cities and sources the store lacks")
    seed.add_argument("file", metavar="FILE", nargs="?", type=Path, help="default: include/discovery.yaml")
    add_airflow_url_option(seed)
    add_output_options(seed)
    seed.set_defaults(func=_seed)


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _api(args: argparse.Namespace) -> rest.AirflowApi:
    return rest.connect(settings.airflow_url(args.airflow_url))


def _list(args: argparse.Namespace) -> int:
    check_range("--days", args.days, 1, report.MAX_DAYS)
    city = getattr(args, "city", None)
    with open_store(args.dsn) as conn:
        answer = report.overview(conn, days=args.days, city=city)
    if city and not answer.cities:
        raise CliError(f"no city {city!r} in discovery")
    if args.json:
        print_json(answer.model_dump(mode="json"))
        return 0
    print(overview_text(answer, with_changes=city is not None))
    return 0


def overview_text(answer: report.DiscoveryOut, *, with_changes: bool) -> str:
    headers = (
        "CITY",
        "SOURCE",
        "ON",
        "EVERY",
        "NEXT RUN",
        f"RUNS {answer.days}D",
        "OK",
        "FAILED",
        "LAST ERROR",
    )
    rows = []
    for city in answer.cities:
        for s in city.sources or []:
            on = "yes" if s.enabled and city.discovery_enabled else ("city off" if s.enabled else "no")
            error = (
                f"{s.stats.last_error_category}: {(s.stats.last_error_message or '')[:60]}"
                if s.stats.last_error_category
                else "-"
            )
            rows.append(
                (
                    city.city,
                    s.source,
                    on,
                    f"{s.frequency_hours}h",
                    "due" if s.due else _when(s.next_run_at),
                    str(s.stats.runs),
                    str(s.stats.succeeded),
                    str(s.stats.failed),
                    error,
                )
            )
        if not city.sources:
            rows.append((city.city, "-", "no sources", "", "", "", "", "", ""))
    if not rows:
        return "no city in discovery yet: `scraper-monitor discovery seed` adds include/discovery.yaml's"
    text = render(headers, rows, right=(f"RUNS {answer.days}D", "OK", "FAILED"))
    if with_changes and answer.changes:
        text += "\n\nchanges:\n" + "\n".join(
            f"  {c.at:%Y-%m-%d %H:%M} {c.actor}: {c.city}{'/' + c.source if c.source else ''} {c.change}"
            for c in answer.changes
            if c.city in {city.city for city in answer.cities}
        )
    return text


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


def _switch(args: argparse.Namespace) -> int:
    with open_store(args.dsn) as conn, _user_errors():
        changed = store.set_enabled(conn, _actor(), args.city, args.source, args.enabled)
    what = f"{args.city}/{args.source}" if args.source else args.city
    state = "enabled" if args.enabled else "disabled"
    if args.json:
        print_json({"city": args.city, "source": args.source, "enabled": args.enabled, "changed": changed})
    else:
        print(f"{what}: {state}" if changed else f"{what} was already {state}")
    return 0


def _setting(raw: str) -> tuple[str, Any]:
    key, sep, value = raw.partition("=")
    if not sep or not key:
        raise CliError(f"--setting takes KEY=VALUE, got {raw!r}")
    return key.strip(), discovery.setting_value(key.strip(), value)


def _set(args: argparse.Namespace) -> int:
    if args.frequency_hours is None and not args.setting and not args.unset:
        raise CliError("nothing to change: give --frequency-hours, --setting KEY=VALUE or --unset KEY")
    with open_store(args.dsn) as conn, _user_errors():
        entries = store.load(conn, city=args.city, source=args.source)
        if not entries:
            raise CliError(f"city {args.city!r} has no source {args.source!r} in discovery")
        new_settings = None
        if args.setting or args.unset:
            new_settings = {k: v for k, v in entries[0].settings.items() if k not in set(args.unset)}
            new_settings.update(_setting(raw) for raw in args.setting)
            with airflow_errors(f"DAG {args.source!r}"):
                new_settings = door.checked_settings(_api(args), args.source, new_settings)
        changes = store.update_source(
            conn,
            _actor(),
            args.city,
            args.source,
            frequency_hours=args.frequency_hours,
            settings=new_settings,
        )
    if args.json:
        print_json({"city": args.city, "source": args.source, "changes": changes})
    else:
        print("\n".join(f"{args.city}/{args.source}: {c}" for c in changes) or "nothing changed")
    return 0


def _trigger(args: argparse.Namespace) -> int:
    if bool(args.city) != bool(args.source):
        raise CliError("give CITY and SOURCE together (one run now), or neither (everything due now)")
    now = datetime.now(UTC)
    with open_store(args.dsn) as conn, _user_errors(), airflow_errors("that DAG"):
        api = _api(args)
        if args.city and args.dry_run:
            entries = store.load(conn, city=args.city, source=args.source)
            if not entries:
                raise CliError(f"city {args.city!r} has no source {args.source!r} in discovery")
            conf = discovery.run_conf(entries[0], door.source_params(api, args.source))
            results = [
                discovery.Queued(
                    args.city, args.source, discovery.manual_run_id(args.city, now), "planned", str(conf)
                )
            ]
        elif args.city:
            results = [door.trigger_now(api, conn, args.city, args.source, now, _actor())]
        else:
            results = door.queue_due(api, conn, now, dry_run=args.dry_run)
    if args.json:
        print_json([q.to_json() for q in results])
    elif not results:
        print("nothing is due")
    else:
        print(
            render(
                ("CITY", "SOURCE", "OUTCOME", "RUN ID", "DETAIL"),
                [(q.city, q.source, q.outcome, q.run_id, q.detail) for q in results],
            )
        )
    return 1 if any(q.outcome == "failed" for q in results) else 0


def _seed(args: argparse.Namespace) -> int:
    path = args.file or settings.discovery_file()
    with open_store(args.dsn) as conn, _user_errors(), airflow_errors("a source DAG of the seed file"):
        added = door.seed_file(_api(args), conn, path, _actor())
    if args.json:
        print_json({"file": str(path), "added": added})
    else:
        print(f"{path}: added {', '.join(added)}" if added else f"{path}: nothing to add (all there)")
    return 0


@contextmanager
def _user_errors() -> Iterator[None]:
    """Discovery's refusals (bad value, unknown city) as one-line CLI errors."""
    try:
        yield
    except discovery.DiscoveryError as exc:
        raise CliError(str(exc)) from exc
