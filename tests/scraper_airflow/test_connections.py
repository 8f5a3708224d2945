"""Connections -> scraper configs: Kino Krakow's city is placed by the connection's extras, as
Airflow parses them (a connection in an AIRFLOW_CONN_* variable, like the compose file's)."""

from __future__ import annotations

import json

import pytest

from scraper_airflow.connections import SITES_KEY, kino_krakow_site, sites_conn_id
from scrapers.errors import SiteNotConfigured

HOST = "https://www.kino.krakow.pl"


def connect(monkeypatch: pytest.MonkeyPatch, **extra: object) -> None:
    conn = {"conn_type": "http", "host": HOST, "extra": {"timeout_s": 4, **extra}}
    monkeypatch.setenv("AIRFLOW_CONN_KINO_KRAKOW_SITE", json.dumps(conn))


def test_the_run_city_picks_the_site_and_the_client_tuning_stays(monkeypatch):
    connect(
        monkeypatch,
        city_url_template="https://{city}.repertuary.pl",
        city_urls={"krakow": HOST},
    )
    warsaw = kino_krakow_site("kino_krakow_site", {"city": "warszawa", "days_ahead": 7})
    assert (warsaw.base_url, warsaw.timeout_s) == ("https://warszawa.repertuary.pl", 4.0)
    assert kino_krakow_site("kino_krakow_site", {"city": "krakow"}).base_url == HOST
    assert kino_krakow_site("kino_krakow_site", {}).base_url == HOST  # a run from before the param


def test_a_connection_from_before_cities_serves_krakow_and_refuses_the_rest(monkeypatch):
    connect(monkeypatch)
    assert kino_krakow_site("kino_krakow_site", {"city": "krakow"}).base_url == HOST
    with pytest.raises(
        SiteNotConfigured,
        match="connection kino_krakow_site: city 'wroclaw' is not configured: the connection has no"
        " city_url_template",
    ):
        kino_krakow_site("kino_krakow_site", {"city": "wroclaw"})


def test_a_runs_set_of_sites_picks_its_own_connections_and_a_bad_name_is_refused(monkeypatch):
    connect(monkeypatch)
    staging = {"conn_type": "http", "host": "http://127.0.0.1:9/kino-krakow", "extra": {"timeout_s": 1}}
    monkeypatch.setenv("AIRFLOW_CONN_KINO_KRAKOW_SITE.STAGING", json.dumps(staging))
    assert sites_conn_id("kino_krakow_site", {"city": "krakow"}) == "kino_krakow_site"
    assert sites_conn_id("tmdb_api", {SITES_KEY: "csrf-gone"}) == "tmdb_api.csrf-gone"
    conn_id = sites_conn_id("kino_krakow_site", {SITES_KEY: "staging"})
    assert kino_krakow_site(conn_id, {"city": "krakow"}).base_url == "http://127.0.0.1:9/kino-krakow"
    for bad in ("Staging", "a/b", "x" * 61, 7):
        with pytest.raises(SiteNotConfigured, match="run conf 'sites' must name a set of site connections"):
            sites_conn_id("tmdb_api", {SITES_KEY: bad})
