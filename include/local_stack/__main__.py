"""python -m local_stack setup | start | demo | e2e | stop | slack"""

from __future__ import annotations

import argparse
import sys

from local_stack import airflow_setup, database, processes, settings, workers
from local_stack.paths import Paths, project_root


def setup(paths: Paths, scenario_name: str, executor: str = workers.LOCAL) -> dict[str, str]:
    from sitesim.scenario import ScenarioError, load

    try:
        scenario = load(scenario_name)
    except ScenarioError as exc:
        raise SystemExit(f"setup: {exc}") from None  # an invalid file is one line, before anything starts
    check_configuration()
    paths.make_dirs()
    server = database.server_dsn(paths)
    database.ensure_databases(server)
    env = settings.stack_env(paths, server, executor)
    settings.write_env_file(paths.env_file, env)
    settings.apply(env)
    airflow_setup.install_policy(paths)
    login = airflow_setup.write_login(paths)
    print("migrating the Airflow metadata DB ...", flush=True)
    airflow_setup.migrate_airflow(paths)
    from scraper_monitor.store.migrate import upgrade

    upgrade(env["SCRAPER_MONITOR_DSN"])
    airflow_setup.upsert_connections(
        airflow_setup.demo_connections(
            env["SCRAPER_MONITOR_DSN"],
            database.with_database(server, "scraped_events"),
            scenario.tmdb_api_key,
            login,
        )
    )
    print(f"setup done: state in {paths.local}", flush=True)
    return env


def check_configuration() -> None:
    """The files a team edits (their error rules, the SLO file) are validated before anything starts:
    a typo is one line here, not a warning in every task log later."""
    from scraper_monitor import slo
    from scraper_monitor.alerts.config import alert_config
    from scraper_monitor.category import default_rules
    from scraper_monitor.rules import RuleError

    try:
        default_rules(strict=True)
        alert_config(slo.load_config())
    except (RuleError, slo.SloConfigError) as exc:
        raise SystemExit(f"setup: {exc}") from None


def show_slack_messages(paths: Paths) -> int:
    """What the local Slack receiver was sent, one line each (time, channel or webhook path, text)."""
    from local_stack.slack_receiver import MessageLog, print_messages

    if not print_messages(MessageLog(paths.slack_messages).read()):
        print(f"no Slack messages yet in {paths.slack_messages}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack")
    parser.add_argument("command", choices=["setup", "start", "demo", "e2e", "stop", "slack"])
    parser.add_argument("--scenario", default="demo", help="bundled scenario name or path to a YAML file")
    parser.add_argument(
        "--executor",
        choices=workers.EXECUTORS,
        default=workers.LOCAL,
        help="local: LocalExecutor; celery: a Redis broker and two Celery workers (make e2e EXECUTOR=celery)",
    )
    args = parser.parse_args(argv)
    paths = Paths(project_root())
    if args.command == "slack":
        return show_slack_messages(paths)
    if args.command == "stop":
        processes.stop_all(paths)
        database.stop_embedded(paths)
        print("stopped")
        return 0
    env = setup(paths, args.scenario, args.executor)
    if args.command == "setup":
        return 0
    from local_stack.demo import demo, start_stack

    if args.command == "start":
        start_stack(paths, env, args.scenario)
        return 0

    from local_stack.scenario_runs import RunsStillRunning
    from scraper_monitor.airflow.rest import AirflowUnreachable

    try:
        return demo(paths, env, args.scenario, serve=args.command == "demo")
    except AirflowUnreachable as exc:
        raise SystemExit(f"{args.command}: {exc}; see {paths.logs / 'api-server.log'}") from None
    except RunsStillRunning as exc:
        raise SystemExit(f"{args.command}: {exc}; see {paths.logs / 'scheduler.log'}") from None
    finally:
        if args.command in ("e2e", "demo"):
            processes.stop_all(paths)
            database.stop_embedded(paths)


if __name__ == "__main__":
    sys.exit(main())
