"""`make setup` refuses configuration a team broke (their error rules, the SLO file) in one line,
before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_stack.__main__ import check_configuration
from scraper_monitor import settings


def test_setup_refuses_a_backtracking_user_rule_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n  - {name: slow, category: network_error, error_type: x, regex: '(\\w+\\s?)+\\d+x'}\n"
    )
    monkeypatch.setenv(settings.ERROR_RULES_ENV, str(rules))
    with pytest.raises(SystemExit) as stopped:
        check_configuration()
    message = str(stopped.value)
    assert message.startswith(f"setup: {rules}: rule #1 'slow': regex takes too long") and "\n" not in message


def test_setup_refuses_a_broken_slo_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    slo = tmp_path / "slo.yaml"
    slo.write_text(settings.DEFAULT_SLO_CONFIG.read_text().replace("min_runs: 5", "min_runs: many"))
    monkeypatch.setenv(settings.SLO_CONFIG_ENV, str(slo))
    with pytest.raises(SystemExit, match="setup: .*min_runs: expected an integer"):
        check_configuration()


def test_setup_accepts_the_shipped_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(settings.ERROR_RULES_ENV, raising=False)
    monkeypatch.delenv(settings.SLO_CONFIG_ENV, raising=False)
    check_configuration()
