"""Connections -> scraper configs: Kino Krakow's city is placed by the connection's extras, as
Airflow parses them (a connection in an AIRFLOW_CONN_* variable, like the compose file's)."""

from __future__ import annotations

import json

import pytest

from scraper_airflow.connections import kino_krakow_site
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
