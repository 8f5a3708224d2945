"""The layers of the code, as rules that can fail.

- Only the door to Airflow (``scraper_monitor.airflow``), the scrapers' DAG factory (``scraper_airflow``)
  and the migrations' env import Airflow, at module level or inside a function. The rest of the core
  stays testable in milliseconds and usable outside Airflow.
- No module outside the CLI imports the CLI; none outside the web app (and the door that serves it)
  imports the web app.
- No product module imports the development tools (``local_stack``, ``benchmarks``, ``sitesim``).
- SQL lives in two places: the reports (``scraper_monitor.reports``, every read a face renders) and
  the store (``scraper_monitor.store``: writes and upkeep). The faces (CLI, web app, alerts,
  metrics) and the rest of the core hold none.

The rules read every module's imports from its syntax tree, so an import hidden inside a function
counts too; a second test imports the core for real and checks that no Airflow module was loaded.
"""

from __future__ import annotations

import ast
import pkgutil
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import scraper_monitor
import scrapers
import sitesim

INCLUDE = Path(__file__).resolve().parents[1] / "include"
PRODUCT = ("scrapers", "scraper_monitor", "scraper_airflow", "sitesim")
DEV_TOOLS = ("local_stack", "benchmarks", "drills", "sitesim")


@dataclass(frozen=True)
class Rule:
    """Modules matching ``imported`` may be imported only by modules under one of ``allowed``."""

    name: str
    imported: str
    allowed: tuple[str, ...]
    applies_to: tuple[str, ...] = PRODUCT


RULES = (
    Rule(
        "only the door imports Airflow",
        "airflow",
        ("scraper_monitor.airflow", "scraper_airflow", "scraper_monitor.migrations.env"),
    ),
    Rule("only the CLI imports the CLI", "scraper_monitor.cli", ("scraper_monitor.cli",)),
    Rule(
        "only the web app and its door import the web app",
        "scraper_monitor.web",
        ("scraper_monitor.web", "scraper_monitor.airflow.web"),
    ),
    *(
        Rule(
            f"no product module imports {tool}",
            tool,
            (tool,),
            ("scrapers", "scraper_monitor", "scraper_airflow"),
        )
        for tool in DEV_TOOLS
    ),
)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, module: str) -> Iterator[tuple[str, int]]:
    """Every module a file imports (absolute names), with its line, wherever the import statement is."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            yield target, node.lineno
            for alias in node.names:  # `from scraper_monitor import cli` imports the CLI too
                yield f"{target}.{alias.name}", node.lineno


def violations(root: Path, rules: tuple[Rule, ...] = RULES) -> list[str]:
    """One line per import statement that breaks a rule: ``path:line imports name (rule)``."""
    found: dict[tuple[str, int, str], str] = {}
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        if ".migrations.versions" in module:
            continue
        where = str(path.relative_to(root))
        for imported, line in imports(path, module):
            for rule in rules:
                if not any(_within(module, p) for p in rule.applies_to):
                    continue
                if _within(imported, rule.imported) and not any(_within(module, a) for a in rule.allowed):
                    found.setdefault(
                        (where, line, rule.name), f"{where}:{line} imports {imported} ({rule.name})"
                    )
    return sorted(found.values())


def test_the_product_keeps_its_layers() -> None:
    assert violations(INCLUDE) == []


def test_the_rules_catch_a_wrong_import_at_module_level_or_in_a_function(tmp_path: Path) -> None:
    pkg = tmp_path / "scraper_monitor"
    (pkg / "cli").mkdir(parents=True)
    (pkg / "airflow").mkdir()
    for init in (pkg / "__init__.py", pkg / "cli" / "__init__.py", pkg / "airflow" / "__init__.py"):
        init.write_text("")
    (pkg / "airflow" / "door.py").write_text("from airflow.sdk import BaseHook\n")  # allowed
    (pkg / "settings.py").write_text("from scraper_monitor.cli import CliError\n")
    (pkg / "chain.py").write_text("def f():\n    import airflow.models\n")
    (pkg / "slo.py").write_text("from . import cli\nfrom local_stack import paths\n")
    assert violations(tmp_path) == [
        "scraper_monitor/chain.py:2 imports airflow.models (only the door imports Airflow)",
        "scraper_monitor/settings.py:1 imports scraper_monitor.cli (only the CLI imports the CLI)",
        "scraper_monitor/slo.py:1 imports scraper_monitor.cli (only the CLI imports the CLI)",
        "scraper_monitor/slo.py:2 imports local_stack (no product module imports local_stack)",
    ]


# A statement on one of the monitor's tables, or any SELECT: what a face must ask a report for.
_SQL = re.compile(
    r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(?:task_executions|item_outcomes|scraper_daily|execution_daily"
    r"|snapshots|alert_state)\b|\bSELECT\s",
)
SQL_HOMES = ("scraper_monitor.reports", "scraper_monitor.store", "scraper_monitor.migrations")


def sql_outside_its_homes(root: Path) -> list[str]:
    """One line per string literal holding SQL in a monitor module outside the reports and the store."""
    found = []
    for path in sorted((root / "scraper_monitor").rglob("*.py")):
        module = module_name(path, root)
        if any(_within(module, home) for home in SQL_HOMES):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _SQL.search(node.value):
                found.append(f"{path.relative_to(root)}:{node.lineno} holds SQL")
    return found


def test_sql_lives_in_the_reports_and_the_store_only(tmp_path: Path) -> None:
    assert sql_outside_its_homes(INCLUDE) == []
    pkg = tmp_path / "scraper_monitor"
    for folder in ("cli", "reports"):
        (pkg / folder).mkdir(parents=True)
    (pkg / "reports" / "errors.py").write_text('Q = "SELECT count(*) FROM task_executions"\n')  # its home
    (pkg / "cli" / "errors.py").write_text('def f(conn):\n    conn.execute("SELECT 1 FROM item_outcomes")\n')
    (pkg / "metrics.py").write_text('Q = """\nSELECT scraper\n  FROM scraper_daily"""\n')
    assert sql_outside_its_homes(tmp_path) == [
        "scraper_monitor/cli/errors.py:2 holds SQL",
        "scraper_monitor/metrics.py:1 holds SQL",
    ]


def core_modules() -> list[str]:
    names = []
    for package in (scrapers, sitesim, scraper_monitor):
        for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
            if not _within(info.name, "scraper_monitor.airflow") and ".migrations" not in info.name:
                names.append(info.name)
    return names


def test_importing_the_core_loads_no_airflow_module() -> None:
    modules = core_modules()
    assert len(modules) > 40  # the walk found the packages
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted({m.split('.')[0] + '.' + m.split('.')[1] for m in sys.modules "
        "if m.startswith('airflow.')} | ({'airflow'} & set(sys.modules))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"core modules pulled in Airflow: {out.stdout}"
