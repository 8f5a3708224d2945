"""Slack messages: what a reader sees on a phone, with untrusted text escaped."""

from __future__ import annotations

import json
from datetime import timedelta

from scraper_monitor.alerts.model import Alert, Fact, TopError
from scraper_monitor.alerts.slack_message import (
    HEADER_MAX,
    alert_message,
    deadline_miss_message,
    escape,
)
from tests.factories import NOW

BASE = "https://airflow.example.com/"

ALERT = Alert(
    key="slo:cinema_city:movie_details",
    check="slo",
    severity="critical",
    scraper="cinema_city",
    task_id="movie_details",
    title="SLO breach",
    summary="movie_details success rate is 62.5 %, below the alert threshold 75.0 % over the last 7 days.",
    facts=(Fact("Success rate", "62.5 %", "target 85.0 %, alert below 75.0 %"),),
    top_error=TopError(
        fingerprint="tmdb search failed for <title>",
        category="network_error",
        count=12,
        example="TMDB <script>alert(1)</script> & friends for 'Wicked: Część 2' <!channel>",
    ),
    panel_path="/scraper-monitor/?scraper=cinema_city",
)


def _all_text(message: object) -> str:
    return json.dumps(message.blocks, ensure_ascii=False) + message.text  # type: ignore[attr-defined]


def test_escape() -> None:
    assert escape("a < b && c > d") == "a &lt; b &amp;&amp; c &gt; d"
    assert escape("<!channel> <https://evil|click>") == "&lt;!channel&gt; &lt;https://evil|click&gt;"


def test_opened_alert_reads_well() -> None:
    message = alert_message(ALERT, "opened", base_url=BASE, opened_at=NOW, now=NOW + timedelta(minutes=5))
    header = message.blocks[0]
    assert header["type"] == "header"
    assert header["text"]["text"] == "🔴 SLO breach: cinema_city / movie_details"
    text = _all_text(message)
    assert "*CRITICAL* · movie_details success rate is 62.5 %" in text
    assert "• *Success rate:* 62.5 %  _(target 85.0 %, alert below 75.0 %)_" in text
    assert "*Top error* · `network_error` · 12×" in text
    # The scraped example is escaped: no tag, no channel ping, the apostrophe and Polish text kept.
    assert (
        "TMDB &lt;script&gt;alert(1)&lt;/script&gt; &amp; friends for 'Wicked: Część 2' &lt;!channel&gt;"
        in text
    )
    assert "<script>" not in text and "<!channel>" not in text
    button = next(b for b in message.blocks if b["type"] == "actions")["elements"][0]
    assert button["url"] == "https://airflow.example.com/scraper-monitor/?scraper=cinema_city"
    assert message.text.startswith("🔴 CRITICAL: SLO breach in cinema_city / movie_details")
    assert "Open since <!date^" in text and "(5m)" in text


def test_repeat_and_resolved() -> None:
    repeat = alert_message(
        ALERT, "repeat", base_url=BASE, opened_at=NOW, now=NOW + timedelta(hours=4, minutes=2)
    )
    assert repeat.blocks[0]["text"]["text"].startswith("🔁 SLO breach")
    assert "*STILL FIRING*" in _all_text(repeat)
    assert "(4h 2m)" in _all_text(repeat)

    resolved = alert_message(
        ALERT, "resolved", base_url=BASE, opened_at=NOW, now=NOW + timedelta(days=1, hours=2)
    )
    text = _all_text(resolved)
    assert resolved.blocks[0]["text"]["text"] == "✅ SLO breach: cinema_city / movie_details"
    assert "*RESOLVED* after 1d 2h · was: movie_details success rate is 62.5 %" in text
    assert "Top error" not in text  # the past problem in one line, not the full report again
    assert resolved.text.startswith("✅ RESOLVED: SLO breach in cinema_city")


def test_warning_without_task_or_top_error() -> None:
    alert = Alert(
        key="silent:kino_krakow",
        check="silent",
        severity="warning",
        scraper="kino_krakow",
        title="Silent failures",
        summary="2 task run(s) succeeded without producing anything in the last 24 h.",
    )
    message = alert_message(alert, "opened", base_url=BASE, opened_at=NOW, now=NOW)
    assert message.blocks[0]["text"]["text"] == "🟠 Silent failures: kino_krakow"
    assert "Task" not in _all_text(message)


def test_limits_are_respected() -> None:
    long = Alert(
        key="spike:x",
        check="spike",
        severity="warning",
        scraper="s" * 200,
        title="Error spike",
        summary="x",
        top_error=TopError(fingerprint="f", category=None, count=1, example="e```" + "y" * 5000),
    )
    message = alert_message(long, "opened", base_url=BASE, opened_at=NOW, now=NOW)
    assert len(message.blocks[0]["text"]["text"]) <= HEADER_MAX
    top = next(b for b in message.blocks if "Top error" in b.get("text", {}).get("text", ""))
    assert len(top["text"]["text"]) < 700
    assert top["text"]["text"].count("```") == 2  # the example cannot close the code block early


def test_deadline_miss_message() -> None:
    run_id = "scheduled__2026-11-23T06:00:00+00:00"
    message = deadline_miss_message(
        dag_id="kino_krakow",
        run_id=run_id,
        deadline_time=NOW,
        queued_at=NOW - timedelta(minutes=60),
        state="running",
        base_url=BASE,
    )
    text = _all_text(message)
    assert message.blocks[0]["text"]["text"] == "⏰ Deadline missed: kino_krakow"
    assert f"*kino_krakow* run `{run_id}` was not finished by its deadline." in text
    assert "*Deadline*\\n<!date^" in text and "2026-11-23 12:00 UTC" in text
    assert "(1h 0m allowed)" in text
    assert "*State at the deadline*\\nrunning" in text
    buttons = next(b for b in message.blocks if b["type"] == "actions")["elements"]
    assert buttons[0]["url"] == (
        "https://airflow.example.com/dags/kino_krakow/runs/"
        "scheduled__2026-11-23T06%3A00%3A00%2B00%3A00/plugin/chain"
    )
    assert buttons[1]["url"] == "https://airflow.example.com/scraper-monitor/?scraper=kino_krakow"
    assert message.text == f"⏰ Deadline missed: kino_krakow run {run_id} (deadline 2026-11-23 12:00 UTC)"
