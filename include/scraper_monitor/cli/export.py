"""``scraper-monitor export``: executions matching the ``jobs list`` filters as CSV or JSON.

Example: ``scraper-monitor export --format csv --scraper cinema_city --hours 168 --output week.csv``

Same columns, in the same order, as the panel's CSV export. Scraped text is untrusted: a CSV cell
that a spreadsheet would run as a formula is prefixed with a quote.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from scraper_monitor.cli import CliError
from scraper_monitor.cli.options import add_filter_options, check_range, execution_filter, open_store
from scraper_monitor.cli.table import dumps
from scraper_monitor.export import COLUMNS, csv_row
from scraper_monitor.reports import executions
from scraper_monitor.store.rows import Execution

MAX_ROWS = 1_000_000


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="executions as CSV or JSON (the jobs list filters)")
    parser.add_argument(
        "--format", choices=("csv", "json"), default="csv", help="csv (default) or json (same as --json)"
    )
    parser.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    # --json (one of the shared options) means --format json here: the export is the data.
    add_filter_options(parser, limit=None)
    parser.set_defaults(func=_run)


def _write(out: IO[str], fmt: str, rows: Iterator[Execution]) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for execution in rows:
            writer.writerow(csv_row(execution))
            count += 1
        return count
    # A JSON array with one object per line: streamable, and still greppable for big exports.
    out.write("[")
    for execution in rows:
        record = {c: getattr(execution, c) for c in COLUMNS}
        out.write(("," if count else "") + "\n" + dumps(record, indent=None))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def _run(args: argparse.Namespace) -> int:
    fmt = "json" if args.json else args.format
    check_range("--limit", args.limit, 1, MAX_ROWS)
    filters = execution_filter(args)
    with open_store(args.dsn) as conn:
        rows = executions.iter_executions(conn, filters, args.limit or MAX_ROWS)
        if args.output is None:
            _write(sys.stdout, fmt, rows)
            return 0
        # Written aside and renamed at the end, so a failed export never leaves a truncated FILE.
        target = Path(args.output)
        partial = target.with_name(target.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8", newline="") as out:
                count = _write(out, fmt, rows)
            partial.replace(target)
        except OSError as exc:
            raise CliError(f"cannot write {args.output}: {exc.strerror}") from exc
        finally:
            partial.unlink(missing_ok=True)
    print(f"wrote {count} executions to {args.output} ({fmt})", file=sys.stderr)
    return 0
