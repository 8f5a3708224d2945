"""Point Airflow at a throwaway home before anything imports it.

Imported first by tests/conftest.py. The metadata DB is SQLite (what `dag.test()` needs); the
monitor store is always a real PostgreSQL. The cluster policy is installed exactly as
`make setup` installs it, so the tests exercise the real attachment path.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOME = Path(tempfile.mkdtemp(prefix="airflow-test-"))
FOREIGN_DAGS = ROOT / "tests" / "data" / "foreign_dags"
LOCAL_BUNDLE = "airflow.dag_processing.bundles.local.LocalDagBundle"


def bundles_with(foreign: Path) -> str:
    """``[dag_processor] dag_bundle_config_list``: the project's DAGs, and a second bundle of DAGs nobody
    here wrote (for tests of the monitor on any DAG)."""
    return json.dumps(
        [
            {"name": "dags-folder", "classpath": LOCAL_BUNDLE, "kwargs": {}},
            {"name": "foreign-dags", "classpath": LOCAL_BUNDLE, "kwargs": {"path": str(foreign)}},
        ]
    )


(HOME / "config").mkdir()
shutil.copyfile(ROOT / "include" / "airflow_local_settings.py", HOME / "config" / "airflow_local_settings.py")

os.environ.update(
    {
        "AIRFLOW_HOME": str(HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": bundles_with(FOREIGN_DAGS),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{HOME}/airflow.db",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "SCRAPER_MONITOR_SPOOL": str(HOME / "spool" / "summaries.jsonl"),
        # dag.test() crashes on DAGs with a deadline in 3.3.2 (reference/airflow-3.3.md 4.4).
        "SCRAPER_MONITOR_DISABLE_DEADLINES": "1",
        "SCRAPER_RETRY_DELAY_SECONDS": "0",
    }
)
