"""The DAGs: they import cleanly without connecting anywhere, every task carries the monitor's
callbacks, and the chains run under real Airflow (`dag.test()`) against the real simulator, reporting
exactly what the scenario predicts - in Airflow's task states and in the monitor store. The demo
scenario's whole week runs under the real scheduler instead (tests/local_stack/test_e2e.py): the
session's shared stack runs it anyway, while the other tests run."""

from __future__ import annotations

import copy
import http.server
import json
import re
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import psycopg
import pytest
from airflow.sdk.exceptions import ParamValidationError

from local_stack.verdict import judge, observe
from scraper_airflow.chain_dag import ChainSpec, build_chain_dag
from scraper_monitor import silent, stages
from scraper_monitor.airflow.callbacks import has_monitor_callbacks
from scraper_monitor.recording import scraper_name
from scrapers.common_steps import plan_films
from scrapers.kino_krakow import steps as kk_steps
from scrapers.kino_krakow.client import PROGRAM_PATH
from scrapers.outcome import StepResult
from sitesim.polish import polish_date
from tests.fixtures.airflow import ROOT, task_instance_dicts
from tests.fixtures.loopback import serve_handler
from tests.fixtures.scrapers import SMALL, fast_config, kk_site, small_scenario, tmdb_config

CHAIN_DAGS = ("cinema_city", "kino_krakow")
DAG_FILES = sorted(p for p in (ROOT / "dags").glob("*.py"))
SCRAPE_DATE = datetime(2026, 11, 23, tzinfo=UTC)

pytestmark = pytest.mark.airflow


def test_every_dag_file_imports_without_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert set(CHAIN_DAGS) <= set(dagbag.dag_ids)


@pytest.fixture(scope="module")
def parsed_offline() -> dict[str, dict]:
    """Each DAG file parsed by its own DagBag, as the dag-processor does, in a process that refuses
    every connection: per file, its DAG ids and import errors. (One process for all files: a module
    that connects when imported fails the first file that imports it.)"""
    code = (
        "import json, socket, sys\n"
        "def refuse(*args, **kwargs):\n"
        "    raise RuntimeError(f'connection at parse time: {args!r}')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "parsed = {}\n"
        "for path in sys.argv[1:]:\n"
        "    bag = DagBag(dag_folder=path)\n"
        "    errors = {k: str(v) for k, v in bag.import_errors.items()}\n"
        "    parsed[path] = {'dag_ids': bag.dag_ids, 'errors': errors}\n"
        "print(json.dumps(parsed))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, *map(str, DAG_FILES)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_dag_file_parses_without_touching_the_network_or_the_store(
    dag_file: Path, parsed_offline: dict[str, dict]
) -> None:
    # The dag-processor parses every file every few seconds: a connection made at parse time (to a
    # site, TMDB, the store or Airflow's metadata DB through a Variable) would block it. Parse time
    # itself is a figure in docs/BENCHMARKS.md (python -m benchmarks dag_parse).
    parsed = parsed_offline[str(dag_file)]
    assert parsed["errors"] == {}
    assert len(parsed["dag_ids"]) == 1  # one DAG per file


def test_every_task_of_every_chain_dag_has_a_stage(dagbag) -> None:
    # The chain view places tasks by the stage table; a task it does not know would land in
    # "Other tasks" and its failures would read as nobody's.
    tasks = {dag_id: [t.task_id for t in dagbag.get_dag(dag_id).tasks] for dag_id in CHAIN_DAGS}
    assert all(len(ids) == 6 for ids in tasks.values()), tasks
    assert {dag_id: [t for t in ids if not stages.has_stage(t)] for dag_id, ids in tasks.items()} == {
        dag_id: [] for dag_id in CHAIN_DAGS
    }


def test_chain_dags_say_which_scraper_they_report_as(dagbag) -> None:
    for dag_id in CHAIN_DAGS:
        assert scraper_name(dag_id, dagbag.get_dag(dag_id).tags) == dag_id
        assert f"scraper:{dag_id}" in dagbag.get_dag(dag_id).tags


def test_a_chain_whose_unit_task_has_no_stage_is_refused() -> None:
    def never(*args: object) -> StepResult:
        raise AssertionError("not run")

    spec = ChainSpec(
        dag_id="renamed_unit",
        description="a chain whose unit task was renamed",
        site_conn_id="kino_krakow_site",
        unit_group="day",
        unit_task="day_page",  # was day_pages
        sync=never,
        unit=never,
        movie_details=never,
        showtimes=never,
        unit_label=str,
        film_label=str,
    )
    with pytest.raises(
        ValueError, match="unit task 'day_page' has no stage; add it to scraper_monitor.stages"
    ):
        build_chain_dag(spec)


def test_cluster_policy_attaches_monitor_callbacks_to_every_task(dagbag) -> None:
    missing = [
        f"{dag_id}.{task.task_id}"
        for dag_id in dagbag.dag_ids
        for task in dagbag.get_dag(dag_id).tasks
        if not has_monitor_callbacks(task)
    ]
    assert missing == []


def test_the_monitors_own_dags_start_unpaused_and_the_chains_as_the_deployment_says(dagbag) -> None:
    """Without the alert, maintenance and snapshot DAGs there are no alerts, rollups or spool replay,
    so they override ``dags_are_paused_at_creation``; a scraper chain hits real sites, so it keeps
    the deployment's default."""
    from scraper_monitor.reports.background import BACKGROUND_DAGS

    paused_at_creation = {
        d: dagbag.get_dag(d).is_paused_upon_creation for d in (*BACKGROUND_DAGS, *CHAIN_DAGS)
    }
    assert paused_at_creation == dict.fromkeys(BACKGROUND_DAGS, False) | dict.fromkeys(CHAIN_DAGS, None)


@pytest.mark.parametrize(
    ("value", "cron"), [("", "0 * * * *"), ("*/10 * * * *", "*/10 * * * *"), ("none", None)]
)
def test_the_maintenance_schedule_comes_from_the_environment_and_none_means_only_when_triggered(
    airflow_db: None, monkeypatch: pytest.MonkeyPatch, value: str, cron: str | None
) -> None:
    """``none`` keeps a store exactly as it is (the panel-load benchmark's store must not lose its
    oldest day to retention while it is measured): the DAG is there, unscheduled."""
    from airflow.dag_processing.dagbag import DagBag

    from scraper_monitor.reports.background import MAINTENANCE
    from scraper_monitor.settings import MAINTENANCE_SCHEDULE_ENV

    monkeypatch.setenv(MAINTENANCE_SCHEDULE_ENV, value)
    dag = DagBag(dag_folder=str(ROOT / "dags" / "scraper_monitor_maintenance.py")).get_dag(MAINTENANCE)
    assert getattr(dag.timetable, "expression", None) == cron
    assert dag.timetable.can_be_scheduled is (cron is not None)


def test_kino_krakow_flags_a_film_whose_film_page_disagrees_with_the_day_pages(dagbag, sitesim_factory):
    """Day 1 answers a table without rows: its day task is silent (it looks merely empty), and the
    rules the DAG declares flag the movie_details of every film screened that day (its page lists
    more than the day pages), with a reason a reader understands; a film not screened that day is
    not flagged."""
    no_rows = {"name": "no-rows", "site": "kino_krakow", "path": PROGRAM_PATH, "day": 1, "kind": "empty"}
    ten_films = {**SMALL["kino_krakow"], "films": 10}  # some screen on day 0 only
    sim = sitesim_factory(small_scenario(no_rows, generated_films={"count": 5}, kino_krakow=ten_films))
    site = kk_site(sim)
    units = [{"day": d, "date": (sim.anchor + timedelta(days=d)).isoformat()} for d in (0, 1)]
    results = [kk_steps.day_page(site, unit, sim.anchor).to_dict() for unit in units]
    rules = silent.rules_for("kino_krakow", "movie_details")
    day_1 = {fd.film.slug for fd in sim.scenario.catalog.programme[1]}
    verdicts = {
        film["film_key"]: silent.evaluate(
            rules, kk_steps.movie_details(site, tmdb_config(sim), film, sim.anchor).counts, lambda c, n: []
        )
        for film in plan_films(results, units).data["films"]
    }
    assert {key for key, v in verdicts.items() if v.silent} == day_1 & set(verdicts)
    assert set(verdicts) - day_1, "a film screened only on day 0 is compared and agrees"
    reason = next(v.reason for v in verdicts.values() if v.silent)
    assert re.fullmatch(
        r"the day pages list \d+ showtimes of this film on the scraped days, its film page \d+ "
        r"\(days that differ: 1\): a day page may have shown another day or lost rows",
        reason,
    )


class _FilmLinksRenamed(http.server.BaseHTTPRequestHandler):
    """A Kino Krakow day page after a front-end change of the film links: the date and hour rows
    still read as before, the film rows no longer carry ``a.preview-link.film``."""

    def do_GET(self) -> None:  # noqa: N802 - the handler API
        hours = " ".join(
            f'<span class="hour"><a href="/kino-mikro/by_cinema/x">{clock}</a> '
            f'<a class="buy_ticket" href="/showtime/{n}">bilety</a></span>'
            for n, clock in enumerate(("18:00", "20:30"))
        )
        body = (
            '<html><head><meta name="csrf-token" content="t"></head><body><table class="repert"><tbody>'
            f'<tr><th class="date" colspan="2">{polish_date(SCRAPE_DATE.date())}</th></tr>'
            '<tr class="film"><td colspan="2"><a class="film-title" href="/film/wicked.html">Wicked</a>'
            '</td></tr><tr><td class="cinema_film"><a href="/kino-mikro">Kino Mikro</a></td>'
            f'<td class="hours">{hours}</td></tr>'
            "</tbody></table></body></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_kino_krakow_flags_a_day_page_with_showtimes_but_no_films(dagbag) -> None:
    """Seed 000's day-page inconsistency, declared in the DAG: hour rows read, film rows not."""
    unit = {"day": 0, "date": SCRAPE_DATE.date().isoformat()}
    with serve_handler(_FilmLinksRenamed) as base_url:
        result = kk_steps.day_page(fast_config(base_url), unit, SCRAPE_DATE.date())
    assert result.counts == {"films": 0, "showtimes": 2}
    verdict = silent.evaluate(
        silent.rules_for("kino_krakow", "day.day_pages"), result.counts, lambda c, n: []
    )
    assert verdict.silent
    assert verdict.reason == (
        "2 showtimes found but no movies scheduled: the day page's film rows were not read (the site may"
        " have changed its film links)"
    )
    # A day page whose films were read is not flagged by it.
    assert not silent.evaluate(
        silent.rules_for("kino_krakow", "day.day_pages"), {"films": 1, "showtimes": 2}, lambda c, n: []
    ).silent


def test_a_run_late_in_the_utc_evening_scrapes_the_sites_day(dagbag, sitesim_factory, point_chains_at):
    warsaw_day = SCRAPE_DATE.date()
    sim = sitesim_factory("clean", anchor_date=warsaw_day)  # the site's today, in Warsaw
    dsn = point_chains_at(sim)
    # 23:30 UTC is 00:30 the next day in Warsaw: the UTC date would ask the site for yesterday.
    logical = datetime.combine(warsaw_day - timedelta(days=1), time(23, 30), UTC)

    run = dagbag.get_dag("kino_krakow").test(logical_date=logical, run_conf={"days_ahead": 2})

    assert run.state == "success"
    with psycopg.connect(dsn) as conn:
        days = {
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT (starts_at AT TIME ZONE 'Europe/Warsaw')::date FROM scraped_showtimes"
            )
        }
    assert days == {warsaw_day, warsaw_day + timedelta(days=1)}


def test_rerunning_a_date_updates_rows_instead_of_duplicating(dagbag, sitesim_factory, point_chains_at):
    sim = sitesim_factory("clean", anchor_date=SCRAPE_DATE.date())
    dsn = point_chains_at(sim)
    dag = dagbag.get_dag("cinema_city")

    first = dag.test(logical_date=SCRAPE_DATE)
    with psycopg.connect(dsn) as conn:
        executions = conn.execute("SELECT count(*) FROM task_executions").fetchone()[0]
        showtimes = conn.execute("SELECT count(*) FROM scraped_showtimes").fetchone()[0]
    assert first.state == "success" and executions > 0 and showtimes > 0

    sim.reset()
    second = dag.test(logical_date=SCRAPE_DATE)
    with psycopg.connect(dsn) as conn:
        outcomes = dict(
            conn.execute(
                "SELECT i.outcome, count(*) FROM item_outcomes i "
                "JOIN task_executions e ON e.id = i.execution_id "
                "WHERE e.run_id = %s AND i.entity_type = 'showtime' GROUP BY 1",
                (second.run_id,),
            ).fetchall()
        )
        assert conn.execute("SELECT count(*) FROM scraped_showtimes").fetchone()[0] == showtimes
    assert second.state == "success"
    assert outcomes.get("updated") == showtimes and "created" not in outcomes


@pytest.mark.parametrize("city", ["Kraków", "WARSZAWA", "evil.example/x", "-krakow", "", "x" * 41, 7])
def test_kino_krakow_refuses_a_city_that_is_not_a_slug(dagbag, city):
    params = copy.deepcopy(dagbag.get_dag("kino_krakow").params)
    params["city"] = "bielsko-biala"
    params.validate()  # a city slug: lowercase ASCII words joined by "-"
    with pytest.raises(ParamValidationError):
        params["city"] = city
        params.validate()
    assert dagbag.get_dag("kino_krakow").params["city"] == "krakow"


def test_a_one_day_kino_krakow_run_plans_the_films_of_its_one_day(dagbag, sitesim_factory, point_chains_at):
    """One day page is the mapped group's only instance: plan_films must still read it as a list."""
    sim = sitesim_factory("clean", anchor_date=SCRAPE_DATE.date())
    dsn = point_chains_at(sim)

    run = dagbag.get_dag("kino_krakow").test(logical_date=SCRAPE_DATE, run_conf={"days_ahead": 1})

    observed = observe(task_instance_dicts(run), dsn, "kino_krakow", run.run_id)
    predicted = sim.scenario.predict("kino_krakow", days_ahead=1, client_attempts=2, task_tries=3)
    verdict = judge("kino_krakow", observed, predicted)
    assert verdict.ok, verdict.line()
    assert observed["films_total"] > 0 and observed["showtimes_created"] > 0


def test_kino_krakow_scrapes_the_city_of_its_run(dagbag, sitesim_factory, point_chains_at):
    sim = sitesim_factory("clean", anchor_date=SCRAPE_DATE.date())
    dsn = point_chains_at(sim)

    run = dagbag.get_dag("kino_krakow").test(
        logical_date=SCRAPE_DATE, run_conf={"city": "warszawa", "days_ahead": 2}
    )

    observed = observe(task_instance_dicts(run), dsn, "kino_krakow", run.run_id)
    predicted = sim.scenario.predict(
        "kino_krakow", city_name="warszawa", days_ahead=2, client_attempts=2, task_tries=3
    )
    verdict = judge("kino_krakow", observed, predicted)
    assert verdict.ok, verdict.line()
    assert run.state == "success"
    with psycopg.connect(dsn) as conn:
        cinemas = {
            row[0] for row in conn.execute("SELECT DISTINCT payload->>'cinema_slug' FROM scraped_showtimes")
        }
    assert cinemas == {c.slug for c in sim.scenario.catalog.kk_cities["warszawa"].spec.cinemas}
    assert {r.path.split("/")[2] for r in sim.request_log if r.site == "kino_krakow"} == {"warszawa"}
