"""The overview's 95th-percentile duration is taken in Python from the window's durations; it must be
PostgreSQL's ``percentile_cont`` to the last bit, as the SQL-side percentile was."""

from __future__ import annotations

import random

import psycopg

from scraper_monitor.reports.overview import percentile_cont


def test_the_percentile_is_postgresqls_percentile_cont(pg_dsn: str) -> None:
    spread = random.Random(9)
    samples = [
        [4000],
        [1, 2],
        [30, 10, 20, 10],
        [spread.randrange(0, 2**31 - 1) for _ in range(1001)],
        [spread.randrange(0, 90_000) for _ in range(5471)],
    ]
    with psycopg.connect(pg_dsn) as conn:
        for values in samples:
            (expected,) = conn.execute(
                "SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY v) FROM unnest(%s::int[]) AS v",
                (values,),
            ).fetchone()
            assert percentile_cont(values, 0.95) == expected, len(values)
    assert percentile_cont([], 0.95) is None and percentile_cont(None, 0.95) is None
