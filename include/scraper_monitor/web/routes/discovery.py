"""The Discovery panel: which cities and sources city discovery runs, how they are doing, and the
controls to steer it.

- ``GET /api/discovery`` and ``GET /discovery`` render ``reports.discovery.overview`` (the answer
  ``scraper-monitor discovery list --json`` prints); ``GET /discovery?preview=true`` adds what the
  orchestrator would queue now (``queue_due(dry_run=True)``, as ``discovery trigger --dry-run``).
- ``POST /discovery`` switches a city or a source on or off, changes a source's frequency and settings,
  or triggers a source now, through the functions ``scraper-monitor discovery enable|disable|set|trigger``
  use, with the user's name as the actor in the change log.

Changing needs a user the deployment lets trigger DAG runs (``deps.triggerer``) and a form from this
app's own page (``web.forms``). Settings are checked against the source DAG's params through Airflow's
REST API before anything is saved; each problem is shown next to its field (422) and nothing changes.
When Airflow's API is not configured or down, the page still shows the store's data and says what it
cannot do right now; when the store is down, the panel is the 503 page every panel shows.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import psycopg
import yaml
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse

from scraper_monitor import discovery
from scraper_monitor.airflow import discovery as door
from scraper_monitor.airflow.rest import AirflowApi, AirflowError
from scraper_monitor.discovery import DiscoveryError, ParamSpec, Queued, SettingsRefused
from scraper_monitor.reports import discovery as report
from scraper_monitor.store import discovery as store
from scraper_monitor.web import forms
from scraper_monitor.web.deps import MonitorSettings, Settings, Store, Triggerer, Visible
from scraper_monitor.web.params import CityParam, StatsDaysParam
from scraper_monitor.web.rendering import page
from scraper_monitor.web.routes.common import STORE_503

log = logging.getLogger(__name__)

api = APIRouter()
pages = APIRouter(default_response_class=HTMLResponse)

NOT_A_TRIGGERER = (
    "changing city discovery decides which DAG runs are created: it needs an Airflow role that may "
    "trigger DAG runs"
)
CROSS_SITE = "refused: this form was not sent from the scraper monitor's own page (reload it and try again)"
NO_AIRFLOW = "Airflow's REST API is not configured for the monitor (the Airflow connection airflow_api)"
ACTIONS = ("enable", "disable", "edit", "trigger")
#: A source's settings are posted one field per DAG param, named ``setting:<param>``.
SETTING = "setting:"
MAX_FIELD = 2000
MAX_FIELDS = 200
STATS_DAYS = (7, 30, 90)


@api.get(
    "/discovery",
    response_model=report.DiscoveryOut,
    responses={**STORE_503, 404: {"description": "no such city in discovery"}},
)
def discovery_api(
    conn: Store, visible: Visible, city: CityParam, days: StatsDaysParam = report.DEFAULT_DAYS
) -> report.DiscoveryOut:
    """Every city (or one) with its sources: switches, frequency, settings, next run, whether due now,
    and the statistics of the last ``days`` (runs, succeeded, failed, last run, last error), plus the
    latest changes (who, when, what)."""
    return _overview(conn, days, city, visible)


def _overview(
    conn: psycopg.Connection, days: int, city: str | None, visible: frozenset[str] | None
) -> report.DiscoveryOut:
    answer = report.overview(conn, days=days, city=city, visible=visible)
    if city and not answer.cities:
        raise HTTPException(404, f"no city {city!r} in discovery")
    return answer


@dataclass(frozen=True)
class Airflow:
    """Airflow's REST API as the request found it: a logged-in client, or why there is none."""

    api: AirflowApi | None
    problem: str | None = None


def _airflow(monitor: MonitorSettings) -> Airflow:
    if monitor.airflow_client is None:
        return Airflow(None, NO_AIRFLOW)
    try:
        return Airflow(monitor.airflow_client())
    except AirflowError as exc:
        problem = str(exc)[:300]
    except Exception as exc:  # looking the connection up: missing, no host, a secrets backend down
        problem = f"the connection airflow_api: {type(exc).__name__}: {str(exc)[:300]}"
    log.warning("scraper monitor: the Discovery panel cannot use Airflow's REST API: %s", problem)
    return Airflow(None, f"cannot reach Airflow's REST API ({problem})")


@dataclass(frozen=True)
class SettingField:
    """One DAG param of a source's settings form; a blank value leaves the DAG's default."""

    name: str
    value: str
    default: str
    description: str


@dataclass(frozen=True)
class SourceForm:
    """What a source's edit form offers: its DAG's params, or why they cannot be edited now."""

    fields: list[SettingField] | None
    problem: str | None = None


@dataclass
class Outcome:
    """What a post did, or why it did nothing: shown on the page it answers with."""

    action: str
    city: str
    source: str | None
    done: str | None = None
    problems: dict[str, str] = field(default_factory=dict)  # field ("" = the form as a whole) -> why
    values: dict[str, str] = field(default_factory=dict)  # what was entered, shown again to correct
    status: int = 200


def _text(value: Any) -> str:
    """A setting's value as its field shows it, read back by ``_value`` as the same value."""
    if isinstance(value, str):
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)


def _source_forms(airflow: Airflow, answer: report.DiscoveryOut) -> dict[str, SourceForm]:
    """Each source's edit form, by "city/source"; each source DAG's params are asked for once."""
    specs: dict[str, list[ParamSpec] | str] = {}
    out = {}
    for city in answer.cities:
        for s in city.sources:
            if s.source not in specs:
                specs[s.source] = _params(airflow, s.source)
            found = specs[s.source]
            if isinstance(found, str):
                out[f"{city.city}/{s.source}"] = SourceForm(None, found)
                continue
            out[f"{city.city}/{s.source}"] = SourceForm(
                [
                    SettingField(
                        p.name,
                        _text(s.settings[p.name]) if p.name in s.settings else "",
                        _text(p.default),
                        p.description,
                    )
                    for p in found
                    if p.name not in discovery.CITY_PARAMS
                ]
            )
    return out


def _params(airflow: Airflow, source: str) -> list[ParamSpec] | str:
    if airflow.api is None:
        return f"settings cannot be checked right now: {airflow.problem}"
    try:
        return door.source_params(airflow.api, source)
    except (DiscoveryError, AirflowError) as exc:
        return f"settings cannot be checked right now: {str(exc)[:300]}"


def _preview(
    airflow: Airflow, conn: psycopg.Connection, visible: frozenset[str] | None, city: str | None
) -> tuple[list[Queued], str | None]:
    if airflow.api is None:
        return [], f"the preview needs Airflow's REST API: {airflow.problem}"
    try:
        planned = door.queue_due(airflow.api, conn, datetime.now(UTC), dry_run=True)
    except psycopg.errors.QueryCanceled:  # the orchestrator holds the queue lock while it triggers
        return [], "the orchestrator is queueing right now; try the preview again shortly"
    return [
        q for q in planned if (visible is None or q.source in visible) and (city is None or q.city == city)
    ], None


def panel(
    request: Request,
    conn: psycopg.Connection,
    visible: frozenset[str] | None,
    triggerer: str | None,
    monitor: MonitorSettings,
    days: int,
    city: str | None,
    *,
    preview: bool = False,
    outcome: Outcome | None = None,
    airflow: Airflow | None = None,
) -> HTMLResponse:
    answer = _overview(conn, days, city, visible)
    # A reader needs Airflow for the preview only; a user who may change things, for the settings forms.
    if airflow is None and (triggerer is not None or preview):
        airflow = _airflow(monitor)
    planned, preview_problem = _preview(airflow, conn, visible, city) if preview and airflow else ([], None)
    shown = {c.city for c in answer.cities}
    response = page(
        request,
        "discovery.html",
        active="discovery",
        report=answer,
        changes=[c for c in answer.changes if c.city in shown],
        days=days,
        city=city,
        stats_days=STATS_DAYS,
        airflow=airflow,
        source_forms=_source_forms(airflow, answer) if triggerer and airflow else {},
        changing=_changing(triggerer, monitor),
        preview=preview,
        planned=planned,
        preview_problem=preview_problem,
        outcome=outcome,
    )
    response.status_code = outcome.status if outcome else 200
    return response


def _changing(triggerer: str | None, monitor: MonitorSettings) -> dict[str, str] | None:
    """What the forms need: None when the user may not change anything (the page shows no controls)."""
    if triggerer is None:
        return None
    return {"user": triggerer, "token": forms.issue_token(monitor.form_secret, triggerer)}


@pages.get("/discovery")
def discovery_page(
    request: Request,
    conn: Store,
    visible: Visible,
    triggerer: Triggerer,
    monitor: Settings,
    city: CityParam,
    days: StatsDaysParam = report.DEFAULT_DAYS,
    preview: bool = False,
) -> HTMLResponse:
    return panel(request, conn, visible, triggerer, monitor, days, city, preview=preview)


async def posted_fields(request: Request) -> dict[str, str]:
    """The posted form as text, each field bounded (a source's settings are one field per DAG param,
    named when the page was rendered, so no fixed form model fits)."""
    form = await request.form(max_fields=MAX_FIELDS, max_files=0)
    return {k: v[:MAX_FIELD] for k, v in form.items() if isinstance(v, str)}


@pages.post("/discovery")
def change_discovery(
    request: Request,
    conn: Store,
    visible: Visible,
    triggerer: Triggerer,
    monitor: Settings,
    fields: Annotated[dict[str, str], Depends(posted_fields)],
    city: CityParam,
    days: StatsDaysParam = report.DEFAULT_DAYS,
) -> HTMLResponse:
    if triggerer is None:
        raise HTTPException(403, NOT_A_TRIGGERER)
    if not forms.from_this_site(request) or not forms.token_is_valid(
        monitor.form_secret, triggerer, fields.get("csrf_token", "")
    ):
        log.warning("scraper monitor: cross-site or stale discovery form refused for %s", triggerer)
        raise HTTPException(403, CROSS_SITE)
    action, target, source = fields.get("action", ""), fields.get("city", ""), fields.get("source") or None
    if action not in ACTIONS:
        raise HTTPException(422, f"invalid parameters: action must be one of {', '.join(ACTIONS)}")
    if action in ("edit", "trigger") and source is None:
        raise HTTPException(422, f"invalid parameters: {action} needs a source")
    if source is not None and visible is not None and source not in visible:
        raise HTTPException(403, f"not allowed to read DAG {source!r}")
    airflow = None
    try:
        if action in ("enable", "disable"):
            outcome = _switch(conn, triggerer, action, target, source)
        elif action == "edit":
            assert source is not None
            outcome, airflow = _edit(conn, triggerer, monitor, target, source, fields)
        else:
            assert source is not None
            outcome, airflow = _trigger(conn, triggerer, monitor, target, source)
    except DiscoveryError as exc:  # no such city or source
        outcome = Outcome(action, target, source, problems={"": str(exc)}, status=422)
    return panel(request, conn, visible, triggerer, monitor, days, city, outcome=outcome, airflow=airflow)


def _switch(conn: psycopg.Connection, actor: str, action: str, city: str, source: str | None) -> Outcome:
    state = "enabled" if action == "enable" else "disabled"
    changed = store.set_enabled(conn, actor, city, source, action == "enable")
    what = f"{city}/{source}" if source else f"discovery of {city}"
    if changed:
        log.info("scraper monitor: %s %s %s", actor, state, what)
    done = f"{what} {state}." if changed else f"{what} was already {state}."
    return Outcome(action, city, source, done=done)


def _edit(
    conn: psycopg.Connection,
    actor: str,
    monitor: MonitorSettings,
    city: str,
    source: str,
    fields: dict[str, str],
) -> tuple[Outcome, Airflow | None]:
    entries = store.load(conn, city=city, source=source)
    if not entries:
        raise DiscoveryError(f"city {city!r} has no source {source!r} in discovery")
    entry = entries[0]
    entered = {k.removeprefix(SETTING): v for k, v in fields.items() if k.startswith(SETTING)}
    failed = Outcome(
        "edit", city, source, values={**entered, "frequency_hours": fields.get("frequency_hours", "")}
    )
    raw_frequency = fields.get("frequency_hours", "").strip()
    frequency = None
    if raw_frequency:
        try:
            frequency = discovery.check_frequency(int(raw_frequency))
        except DiscoveryError as exc:
            failed.problems["frequency_hours"] = str(exc)
        except ValueError:
            failed.problems["frequency_hours"] = (
                f"frequency_hours must be a whole number of hours, got {raw_frequency!r}"
            )
    new_settings = None
    airflow = None
    if fields.get("settings_form"):  # the form had the DAG's params (Airflow answered when it was shown)
        new_settings = {}
        for name, text in entered.items():
            if text.strip():
                try:
                    new_settings[name] = discovery.setting_value(name, text)
                except DiscoveryError as exc:
                    failed.problems[name] = str(exc)
        if new_settings == dict(entry.settings):
            new_settings = None  # unchanged: nothing to check
        else:
            airflow = _airflow(monitor)
            _check_settings(airflow, source, new_settings, failed)
    if failed.problems:
        if failed.status == 200:  # a 503 (Airflow down) says more than "your input"
            failed.status = 422
        return failed, airflow
    changes = store.update_source(conn, actor, city, source, frequency_hours=frequency, settings=new_settings)
    if changes:
        log.info("scraper monitor: %s changed %s/%s: %s", actor, city, source, "; ".join(changes))
    done = f"{city}/{source}: " + ("; ".join(changes) if changes else "nothing changed") + "."
    return Outcome("edit", city, source, done=done), airflow


def _check_settings(airflow: Airflow, source: str, settings: dict[str, Any], failed: Outcome) -> None:
    """Put every problem of ``settings`` in ``failed``: the DAG's own refusals field by field."""
    if airflow.api is None:
        failed.problems[""] = f"settings cannot be checked right now: {airflow.problem}"
        failed.status = 503
        return
    readable = {k: v for k, v in settings.items() if k not in failed.problems}
    try:
        door.checked_settings(airflow.api, source, readable)
    except SettingsRefused as exc:
        failed.problems.update(exc.problems)
    except DiscoveryError as exc:  # the DAG is gone from Airflow
        failed.problems[""] = str(exc)
    except AirflowError as exc:
        failed.problems[""] = f"settings cannot be checked right now: {str(exc)[:300]}"
        failed.status = 503


def _trigger(
    conn: psycopg.Connection, actor: str, monitor: MonitorSettings, city: str, source: str
) -> tuple[Outcome, Airflow]:
    airflow = _airflow(monitor)
    if airflow.api is None:
        problem = f"triggers cannot be sent right now: {airflow.problem}"
        return Outcome("trigger", city, source, problems={"": problem}, status=503), airflow
    try:
        queued = door.trigger_now(airflow.api, conn, city, source, datetime.now(UTC), actor)
    except AirflowError as exc:  # reading the DAG's params before the trigger
        problem = f"triggers cannot be sent right now: {str(exc)[:300]}"
        return Outcome("trigger", city, source, problems={"": problem}, status=503), airflow
    log.info("scraper monitor: %s triggered %s/%s: %s %s", actor, city, source, queued.outcome, queued.run_id)
    if queued.outcome == "queued":
        done = f"Run {queued.run_id} queued."
    elif queued.outcome == "exists":
        done = f"Run {queued.run_id} was queued already: one run per city, source and minute."
    else:
        problem = f"Airflow did not queue run {queued.run_id}: {queued.detail}"
        return Outcome("trigger", city, source, problems={"": problem}, status=503), airflow
    return Outcome("trigger", city, source, done=done), airflow
