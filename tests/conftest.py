"""Shared test setup. Airflow's environment is fixed before anything imports Airflow."""

import tests.airflow_env  # noqa: F401  (must stay first: configures Airflow)

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.airflow",
    "tests.fixtures.stack",
    "tests.fixtures.slack",
    "tests.fixtures.monitor_store",
    "tests.fixtures.browser",
    "tests.fixtures.sitesim",
    "tests.fixtures.ci",
    "tests.fixtures.bench",
]


#: Tests on the real stacks run last, the Celery stack's after the shared one's: the shared stack starts
#: in the background when the session starts (tests.fixtures.stack.SharedStack) and is ready by then.
_LAST = {"stack": 1, "demo_runs": 1, "celery_stack": 2}


def pytest_collection_modifyitems(session, config, items) -> None:  # noqa: ARG001 - pytest's hook
    def rank(item) -> int:
        return max((_LAST.get(name, 0) for name in getattr(item, "fixturenames", ())), default=0)

    # A module moves as a whole (its module-scoped fixtures are set up once), by its latest item.
    def module(item) -> str:
        return item.nodeid.split("::")[0]

    by_module: dict[str, int] = {}
    for item in items:
        by_module[module(item)] = max(by_module.get(module(item), 0), rank(item))
    items.sort(key=lambda item: by_module[module(item)])
