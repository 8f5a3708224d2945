"""Slack Block Kit messages for alerts and deadline misses, written to be read on a phone.

The first line (header + notification text) says what and where; the body gives the numbers against
their targets, the top error with a real example, and one button to the panel that explains it.
Everything that came from a scraped page or an exception is untrusted: it is escaped for Slack's
mrkdwn, so a message cannot ping a channel (``<!channel>``) or fake a link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from scraper_monitor.alerts.model import Alert, Event, Fact, TopError, chain_path

HEADER_MAX = 150  # Slack rejects longer header text
EXAMPLE_MAX = 500  # keeps the message short on a phone; the panel has the full text
TEXT_MAX = 2900  # section text limit is 3000

_EMOJI = {"critical": "🔴", "warning": "🟠", "repeat": "🔁", "resolved": "✅", "deadline": "⏰"}


@dataclass(frozen=True)
class SlackMessage:
    text: str  # the notification / fallback line (mrkdwn, escaped)
    blocks: list[dict[str, Any]]


def escape(text: str) -> str:
    """Escapes the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def panel_url(base_url: str, path: str) -> str:
    return f"{base_url.rstrip('/')}/{path.lstrip('/')}"


def chain_url(base_url: str, dag_id: str, run_id: str) -> str:
    return panel_url(base_url, chain_path(dag_id, run_id))


def alert_message(
    alert: Alert, event: Event, *, base_url: str, opened_at: datetime, now: datetime
) -> SlackMessage:
    emoji = _EMOJI[alert.severity] if event == "opened" else _EMOJI[event]
    state = {"opened": alert.severity.upper(), "repeat": "STILL FIRING", "resolved": "RESOLVED"}[event]
    where = alert.scraper + (f" / {alert.task_id}" if alert.task_id else "")
    header = _plain_header(f"{emoji} {alert.title}: {where}")

    age = _age(now - opened_at)
    if event == "resolved":
        lead = f"*RESOLVED* after {age} · was: {escape(alert.summary)}"
        context = f"Opened {_when(opened_at)}, resolved {_when(now)}"
    else:
        lead = f"*{state}* · {escape(alert.summary)}"
        context = f"Open since {_when(opened_at)} ({age})"
    blocks: list[dict[str, Any]] = [header, _section(lead), _fields(alert)]
    if event != "resolved":  # a resolved alert is one line about the past, not the whole report again
        if alert.facts:
            blocks.append(_section("\n".join(_fact_line(f) for f in alert.facts)))
        if alert.top_error:
            blocks.append(_section(_top_error(alert.top_error)))
    blocks.append(_button("Open in scraper monitor", panel_url(base_url, alert.panel_path)))
    blocks.append({"type": "context", "elements": [_mrkdwn(f"{context} · `{escape(alert.key)}`")]})
    text = f"{emoji} {state}: {escape(alert.title)} in {escape(where)} · {escape(alert.summary)}"
    return SlackMessage(text=_clip(text, TEXT_MAX), blocks=blocks)


def deadline_miss_message(
    *,
    dag_id: str,
    run_id: str,
    deadline_time: datetime,
    base_url: str,
    queued_at: datetime | None = None,
    state: str | None = None,
) -> SlackMessage:
    """The SLA miss: a DAG run was not done by its Deadline Alert's deadline."""
    emoji = _EMOJI["deadline"]
    fields = [
        f"*DAG*\n{escape(dag_id)}",
        f"*Run*\n`{escape(run_id)}`",
        f"*Deadline*\n{_when(deadline_time)}",
    ]
    if queued_at is not None:
        fields.append(f"*Queued at*\n{_when(queued_at)} ({_age(deadline_time - queued_at)} allowed)")
    if state:
        fields.append(f"*State at the deadline*\n{escape(state)}")
    blocks: list[dict[str, Any]] = [
        _plain_header(f"{emoji} Deadline missed: {dag_id}"),
        _section(f"*{escape(dag_id)}* run `{escape(run_id)}` was not finished by its deadline."),
        {"type": "section", "fields": [_mrkdwn(f) for f in fields]},
        {
            "type": "actions",
            "elements": [
                _button_element("Open the run's chain", chain_url(base_url, dag_id, run_id)),
                _button_element(
                    "Scraper monitor",
                    panel_url(base_url, f"/scraper-monitor/?scraper={quote(dag_id, safe='')}"),
                ),
            ],
        },
    ]
    text = f"{emoji} Deadline missed: {escape(dag_id)} run {escape(run_id)} (deadline {_utc(deadline_time)})"
    return SlackMessage(text=_clip(text, TEXT_MAX), blocks=blocks)


# --- pieces ------------------------------------------------------------------------------------


def _fields(alert: Alert) -> dict[str, Any]:
    fields = [f"*Scraper*\n{escape(alert.scraper)}", f"*Severity*\n{alert.severity}"]
    if alert.task_id:
        fields.insert(1, f"*Task*\n`{escape(alert.task_id)}`")
    return {"type": "section", "fields": [_mrkdwn(f) for f in fields]}


def _fact_line(fact: Fact) -> str:
    target = f"  _({escape(fact.target)})_" if fact.target else ""
    return f"• *{escape(fact.label)}:* {escape(fact.value)}{target}"


def _top_error(top: TopError) -> str:
    category = f" · `{escape(top.category)}`" if top.category else ""
    # A ``` inside the example would end the code block early.
    example = escape(_clip(top.example, EXAMPLE_MAX)).replace("```", "'''")
    return f"*Top error*{category} · {top.count}×\n```{example}```"


def _plain_header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": _clip(text, HEADER_MAX), "emoji": True}}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(_clip(text, TEXT_MAX))}


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text}


def _button(label: str, url: str) -> dict[str, Any]:
    return {"type": "actions", "elements": [_button_element(label, url)]}


def _button_element(label: str, url: str) -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _when(moment: datetime) -> str:
    """Slack shows the reader's local time; the UTC text is the fallback for old clients."""
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{_utc(moment)}>"


def _age(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"
