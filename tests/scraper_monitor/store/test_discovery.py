"""City discovery's configuration in the store: seeding never undoes an edit, every change is logged,
and the store itself refuses a frequency no rule allows."""

from __future__ import annotations

import psycopg
import pytest

from scraper_monitor.discovery import DiscoveryError, SeedCity, SeedSource
from scraper_monitor.store import discovery as store
from scraper_monitor.store.db import connect
from scraper_monitor.store.migrate import upgrade

KRAKOW = SeedCity(
    "krakow",
    "Kraków",
    True,
    (SeedSource("cinema_city", True, 24, {"days_ahead": 7}), SeedSource("kino_krakow", True, 24, {})),
)


@pytest.fixture
def conn(pg_dsn: str):
    upgrade(pg_dsn)
    with connect(pg_dsn) as conn:
        yield conn


def changes(conn: psycopg.Connection) -> list[tuple[str, str | None, str]]:
    return [
        (r["city"], r["source"], r["change"])
        for r in conn.execute("SELECT * FROM discovery_changes ORDER BY id")
    ]


def test_a_reseed_adds_what_is_missing_and_leaves_edits_alone(conn: psycopg.Connection) -> None:
    assert store.seed(conn, "seed", [KRAKOW]) == ["krakow", "krakow/cinema_city", "krakow/kino_krakow"]
    store.update_source(conn, "ania", "krakow", "cinema_city", frequency_hours=48, settings={"days_ahead": 3})
    store.set_enabled(conn, "ania", "krakow", "kino_krakow", False)
    assert store.seed(conn, "seed", [KRAKOW]) == []
    entries = {e.source: e for e in store.load(conn, city="krakow")}
    assert (entries["cinema_city"].frequency_hours, dict(entries["cinema_city"].settings)) == (
        48,
        {"days_ahead": 3},
    )
    assert not entries["kino_krakow"].enabled


def test_every_change_is_logged_with_who_and_what_and_a_no_op_is_not(conn: psycopg.Connection) -> None:
    store.seed(conn, "seed", [KRAKOW])
    assert store.set_enabled(conn, "ania", "krakow", None, False)
    assert not store.set_enabled(conn, "ania", "krakow", None, False)
    assert store.update_source(conn, "ania", "krakow", "cinema_city", frequency_hours=24) == []
    assert store.update_source(conn, "ania", "krakow", "cinema_city", frequency_hours=12) == [
        "frequency_hours 24 -> 12"
    ]
    log = changes(conn)[3:]
    assert log == [("krakow", None, "disabled"), ("krakow", "cinema_city", "frequency_hours 24 -> 12")]
    actors = {r["actor"] for r in conn.execute("SELECT actor FROM discovery_changes WHERE actor <> 'seed'")}
    assert actors == {"ania"}


def test_unknown_cities_and_sources_and_bad_frequencies_are_refused_and_nothing_changes(
    conn: psycopg.Connection,
) -> None:
    store.seed(conn, "seed", [KRAKOW])
    before = changes(conn)
    with pytest.raises(DiscoveryError, match="no city 'gdansk'"):
        store.set_enabled(conn, "ania", "gdansk", None, True)
    with pytest.raises(DiscoveryError, match="has no source 'multikino'"):
        store.update_source(conn, "ania", "krakow", "multikino", frequency_hours=2)
    with pytest.raises(DiscoveryError, match="frequency_hours must be from 1"):
        store.update_source(
            conn, "ania", "krakow", "cinema_city", frequency_hours=0, settings={"days_ahead": 1}
        )
    assert changes(conn) == before
    (entry,) = store.load(conn, city="krakow", source="cinema_city")
    assert dict(entry.settings) == {"days_ahead": 7}  # the settings in the refused call were not saved
    # A writer that skips the rules still meets the store's own check.
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE discovery_sources SET frequency_hours = 0")
