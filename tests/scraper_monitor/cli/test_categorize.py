"""`scraper-monitor categorize --explain`: which step filed each message, and how sure it was."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

from scraper_monitor import settings
from scraper_monitor.category import categorize, default_cues
from scraper_monitor.cli import main

MESSAGES = {
    "reading": "Missing icon text for 'pin'",
    "rule": "Brak seansów w wybranym dniu.",
    "http_status": "HTTP 503 Service Unavailable",
    "class": "KeyError: 'venue_id'",
    "fallback": "Performer import failed for event 7712 in the second pass",
}


def _run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: str, *args: str) -> str:
    monkeypatch.delenv(settings.ERROR_RULES_ENV, raising=False)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode("utf-8")), encoding="utf-8"))
    assert main(["categorize", *args]) == 0
    return capsys.readouterr().out


def _strict_cues(tmp_path: Path) -> Path:
    """The shipped cue table with a threshold no reading reaches: every reading is only a guess."""
    text = settings.DEFAULT_READING_CUES.read_text(encoding="utf-8")
    path = tmp_path / "cues.yaml"
    path.write_text(
        re.sub(r"^threshold: .*$", "threshold: 0.99", text, count=1, flags=re.M), encoding="utf-8"
    )
    return path


def test_explain_json_names_the_step_that_decided(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = "\n".join(message for step, message in MESSAGES.items() if step != "fallback") + "\n"
    lines = [
        json.loads(line) for line in _run(monkeypatch, capsys, stdin, "--explain", "--json").splitlines()
    ]
    reading, rule, status, cls = lines
    assert reading["category"] == "data_quality_error"
    assert reading["decided_by"]["step"] == "reading"
    assert {"icon", "text"} <= set(reading["decided_by"]["cues"])
    assert reading["decided_by"]["confidence"] >= reading["decided_by"]["threshold"]
    assert rule["decided_by"] == {
        "step": "rule",
        "rule": "no_showtimes",
        "file": str(settings.DEFAULT_ERROR_RULES),
    }
    assert status["decided_by"] == {"step": "http_status", "status": 503}
    assert cls["decided_by"] == {"step": "class", "exception_class": "KeyError"}
    # The three keys scripts rely on are the same as without --explain.
    plain = [json.loads(line) for line in _run(monkeypatch, capsys, stdin).splitlines()]
    assert [{k: v for k, v in line.items() if k != "decided_by"} for line in lines] == plain


def test_explain_text_says_which_words_decided_and_how_sure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(monkeypatch, capsys, MESSAGES["reading"] + "\n" + MESSAGES["rule"] + "\n", "--explain")
    expected = categorize(MESSAGES["reading"])
    assert out.splitlines()[:3] == [
        "Missing icon text for 'pin'",
        f"  data_quality_error / page_structure  (fingerprint {expected.fingerprint})",
        f"  decided by the reading step: icon, text, missing (confidence {expected.reading.confidence:.2f}, "
        f"decides from {default_cues().threshold:.2f})",
    ]
    assert f"  decided by rule 'no_showtimes' in {settings.DEFAULT_ERROR_RULES}" in out.splitlines()


def test_explain_an_unknown_message_shows_the_best_guess(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(settings, "DEFAULT_READING_CUES", _strict_cues(tmp_path))
    default_cues.cache_clear()  # read once per process: read the strict table now, the shipped one after
    try:
        line = _run(monkeypatch, capsys, MESSAGES["fallback"] + "\nqwzx plorb\n", "--explain", "--json")
    finally:
        default_cues.cache_clear()
    guessed, gibberish = (json.loads(item) for item in line.splitlines())
    assert (guessed["category"], guessed["error_type"]) == ("unknown_error", "unclassified")
    suggestion = guessed["decided_by"]["suggestion"]
    assert guessed["decided_by"]["step"] == "fallback"
    assert suggestion["category"] == "performer_error" and suggestion["cues"][0] == "performer"
    assert suggestion["confidence"] < suggestion["threshold"] == 0.99
    assert gibberish["decided_by"] == {"step": "fallback", "suggestion": None}
