"""City discovery's rules: what is due, the run ids, when a source is next due, which settings a
source accepts, the seed file."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from scraper_monitor import discovery
from scraper_monitor.discovery import CitySource, DiscoveryError, ParamSpec, SettingsRefused

DAY = datetime(2026, 12, 7, tzinfo=UTC)
PARAMS = [
    ParamSpec("city", "krakow", {"type": "string", "pattern": "^[a-z][a-z0-9-]*$"}),
    ParamSpec("days_ahead", 7, {"type": "integer", "minimum": 1, "maximum": 7}),
]


def entry(**fields) -> CitySource:
    values = {
        "city": "warszawa",
        "city_name": "Warszawa",
        "city_enabled": True,
        "source": "kino_krakow",
        "enabled": True,
        "frequency_hours": 24,
        "settings": {"days_ahead": 3},
        "next_run_at": None,
    } | fields
    return CitySource(**values)


def test_a_source_is_due_when_never_run_or_past_its_next_run_and_both_switches_are_on() -> None:
    assert entry().is_due(DAY)
    assert entry(next_run_at=DAY).is_due(DAY)
    assert not entry(next_run_at=DAY + timedelta(seconds=1)).is_due(DAY)
    assert not entry(enabled=False).is_due(DAY)
    assert not entry(city_enabled=False).is_due(DAY)


def test_one_run_id_per_city_and_day_and_one_per_minute_by_hand() -> None:
    assert discovery.run_id("warszawa", date(2026, 12, 7)) == "discovery__warszawa__2026-12-07"
    first = discovery.manual_run_id("warszawa", DAY.replace(hour=9, minute=5, second=1))
    double_click = discovery.manual_run_id("warszawa", DAY.replace(hour=9, minute=5, second=59))
    assert first == double_click == "discovery__warszawa__manual__2026-12-07T09:05"
    assert discovery.manual_run_id("warszawa", DAY.replace(hour=9, minute=6)) != first


def test_the_next_run_counts_from_the_orchestrators_day_so_a_daily_source_never_skips_a_day() -> None:
    # Triggered a few seconds after midnight, due again at the next midnight, when the next
    # orchestrator starts; counting from the trigger would leave it 7 s short and skip a day.
    assert discovery.next_run_at(DAY, 24) == DAY + timedelta(days=1)
    assert entry(next_run_at=discovery.next_run_at(DAY, 24)).is_due(DAY + timedelta(days=1))
    assert not entry(next_run_at=discovery.next_run_at(DAY, 48)).is_due(DAY + timedelta(days=1))


@pytest.mark.parametrize("bad", [0, -1, 24 * 366, 1.5, "24", True, None])
def test_frequency_must_be_a_whole_number_of_hours_in_range(bad: object) -> None:
    with pytest.raises(DiscoveryError, match="frequency_hours"):
        discovery.check_frequency(bad)


def test_settings_are_checked_against_the_dags_params_and_every_problem_is_named_by_its_field() -> None:
    assert discovery.check_settings("kino_krakow", {"days_ahead": 3}, PARAMS) == {"days_ahead": 3}
    with pytest.raises(SettingsRefused) as refused:
        discovery.check_settings("kino_krakow", {"days_ahead": 99, "days_ahed": 3, "city": "gdansk"}, PARAMS)
    problems = refused.value.problems
    assert set(problems) == {"days_ahead", "days_ahed", "city"}
    assert "99 is greater than the maximum of 7" in problems["days_ahead"]
    assert "has no param 'days_ahed' (its params: days_ahead)" in problems["days_ahed"]
    assert "set from the city" in problems["city"]
    with pytest.raises(SettingsRefused, match="is not of type 'integer'"):
        discovery.check_settings("kino_krakow", {"days_ahead": "3"}, PARAMS)


def test_the_run_conf_is_the_settings_with_the_city_in_the_params_the_source_takes() -> None:
    assert discovery.run_conf(entry(), PARAMS) == {"days_ahead": 3, "city": "warszawa"}
    cinema_city = [ParamSpec("city_name", "Kraków"), ParamSpec("days_ahead", 7)]
    assert discovery.run_conf(entry(), cinema_city) == {"days_ahead": 3, "city_name": "Warszawa"}
    assert discovery.run_conf(entry(), [ParamSpec("days_ahead", 7)]) == {"days_ahead": 3}


def test_the_seed_file_is_read_field_by_field() -> None:
    seed = {
        "cities": [
            {
                "city": "wroclaw",
                "name": "Wrocław",
                "sources": {"cinema_city": {"frequency_hours": 48, "settings": {"days_ahead": 2}}},
            },
            {"city": "gdansk", "enabled": False},
        ]
    }
    wroclaw, gdansk = discovery.parse_seed(seed)
    assert (wroclaw.name, wroclaw.enabled, gdansk.enabled) == ("Wrocław", True, False)
    (source,) = wroclaw.sources
    assert (source.source, source.frequency_hours, dict(source.settings)) == (
        "cinema_city",
        48,
        {"days_ahead": 2},
    )
    for bad, message in [
        ({"city": []}, "'cities' list"),
        ({"cities": [{"city": "Kraków"}]}, "lowercase letters"),
        ({"cities": [{"city": "a"}, {"city": "a"}]}, "appears twice"),
        ({"cities": [{"city": "a", "sources": {"s": {"frequency_hours": 0}}}]}, r"\(a/s\): frequency_hours"),
        ({"cities": [{"city": "a", "sources": {"s": {"every": 1}}}]}, "unknown keys"),
    ]:
        with pytest.raises(DiscoveryError, match=message):
            discovery.parse_seed(bad)


def test_a_typed_setting_is_read_as_yaml_and_must_fit_a_runs_json_conf() -> None:
    assert discovery.setting_value("days_ahead", "3") == 3
    assert discovery.setting_value("city_name", "Kraków") == "Kraków"
    assert discovery.setting_value("flag", "true") is True
    with pytest.raises(DiscoveryError, match="day: cannot read '2026-12-07' as a value"):
        discovery.setting_value("day", "2026-12-07")  # a YAML date: no JSON for it
    with pytest.raises(DiscoveryError, match="cannot read"):
        discovery.setting_value("x", "[unclosed")
