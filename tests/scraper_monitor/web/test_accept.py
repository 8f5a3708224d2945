"""Accepting a suggestion on the Errors panel: an editor's accept adds the rule to the team's file and
files the fingerprint's tries again; a viewer, a cross-site post and a bad choice change nothing.

The app is built without Airflow, with a header-based stand-in login and a stand-in "may edit"
(``create_app(may_edit=...)``), against a real store and a real rules file.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi import HTTPException, Request
from fastapi.testclient import TestClient

from scraper_monitor import settings
from scraper_monitor.airflow.web import may_edit
from scraper_monitor.category import categorize, load_rules
from scraper_monitor.web import create_app, forms
from tests.factories import save_failures

UNKNOWN = "Unable to determine which venue hosts event 8821"  # unknown_error today, read as a venue
GIBBERISH = "qwzx plorb vexmt"
SAME_SITE = {"origin": "http://testserver"}


def header_login(request: Request) -> None:
    if request.headers.get("x-test-user") not in ("admin", "viewer"):
        raise HTTPException(401, "Not authenticated")


def header_editor(request: Request) -> str | None:
    """The stand-in for Airflow's "may edit every DAG": the admin may, the viewer may not."""
    user = request.headers.get("x-test-user")
    return user if user == "admin" else None


@pytest.fixture
def store(empty_store: str) -> str:
    save_failures(empty_store, [UNKNOWN, UNKNOWN, UNKNOWN, GIBBERISH], datetime.now(UTC))
    return empty_store


@pytest.fixture
def rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "team_rules.yaml"
    monkeypatch.setenv(settings.ERROR_RULES_ENV, str(path))
    return path


def _client(dsn: str, user: str) -> TestClient:
    app = create_app(lambda: dsn, header_login, may_edit=header_editor)
    return TestClient(app, headers={"x-test-user": user, "accept": "text/html"})


@pytest.fixture
def admin(store: str) -> Iterator[TestClient]:
    with _client(store, "admin") as client:
        yield client


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page offers no accept form"
    return found.group(1)


def _categories(dsn: str) -> list[tuple[str, int]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT error_category, count(*)::int FROM task_executions GROUP BY 1 ORDER BY 1"
        ).fetchall()


def _rolled_up_failures(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT error_category, sum(failed)::int FROM scraper_daily GROUP BY 1"
        ).fetchall()
    return dict(rows)


def test_an_editor_accepts_a_suggestion_and_the_fingerprint_is_filed_again(
    admin: TestClient, store: str, rules: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fingerprint = categorize(UNKNOWN).fingerprint
    page = admin.get("/errors")
    assert f'data-testid="accept-{fingerprint[:12]}"' in page.text
    assert "suggested: venue_error" in page.text

    with caplog.at_level(logging.INFO, logger="scraper_monitor"):
        answer = admin.post(
            "/errors",
            data={"fingerprint": fingerprint, "csrf_token": _token(page.text), "recategorize": "true"},
            headers=SAME_SITE,
        )
    assert answer.status_code == 200, answer.text[:500]
    assert f"Rule accepted_{fingerprint[:12]} added to {rules}: venue_error / venue_processing_failed" in (
        answer.text
    )
    assert "3 of 3 stored tries filed again" in answer.text

    written = rules.read_text(encoding="utf-8")
    assert re.search(
        rf"# accepted by admin at \d{{4}}-\d\d-\d\dT[\d:]+Z for fingerprint {fingerprint}", written
    )
    decided = categorize(UNKNOWN, rules=load_rules(rules))
    assert (decided.category, decided.matched_by) == ("venue_error", f"rule:accepted_{fingerprint[:12]}")
    assert _categories(store) == [("unknown_error", 1), ("venue_error", 3)]
    rolled_up = _rolled_up_failures(store)  # the daily rollups count the re-filed tries too
    assert rolled_up["venue_error"] == 3 and rolled_up.get("unknown_error", 0) <= 1
    assert f'data-testid="accept-{fingerprint[:12]}"' not in answer.text  # it left the unknown list
    assert any(
        "admin accepted fingerprint" in r.getMessage() and fingerprint in r.getMessage()
        for r in caplog.records
    )


def test_a_chosen_category_and_type_win_over_the_suggestion(
    admin: TestClient, store: str, rules: Path
) -> None:
    fingerprint = categorize(GIBBERISH).fingerprint
    token = _token(admin.get("/errors").text)
    answer = admin.post(
        "/errors",
        data={
            "fingerprint": fingerprint,
            "category": "data_quality_error",
            "error_type": "garbled_text",
            "csrf_token": token,
        },
        headers=SAME_SITE,
    )
    assert answer.status_code == 200 and "data_quality_error / garbled_text" in answer.text
    assert f"scraper-monitor recategorize --fingerprint {fingerprint}" in answer.text  # not filed again
    assert categorize(GIBBERISH, rules=load_rules(rules)).category == "data_quality_error"
    assert ("unknown_error", 4) in _categories(store)


def test_a_viewer_sees_the_suggestions_but_gets_403_on_accepting(store: str, rules: Path) -> None:
    with _client(store, "admin") as editor:
        token = _token(editor.get("/errors").text)
    with _client(store, "viewer") as viewer:
        page = viewer.get("/errors")
        assert page.status_code == 200 and 'data-testid="unknown-errors"' in page.text
        assert 'name="csrf_token"' not in page.text
        assert "needs an Airflow role that may edit DAGs" in page.text
        answer = viewer.post(
            "/errors",
            data={"fingerprint": categorize(UNKNOWN).fingerprint, "csrf_token": token},
            headers=SAME_SITE,
        )
    assert answer.status_code == 403 and "may edit DAGs" in answer.text
    assert not rules.exists() and ("unknown_error", 4) in _categories(store)


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param({"headers": {"origin": "https://evil.example"}}, id="another origin"),
        pytest.param({"headers": {"referer": "https://evil.example/page"}}, id="another referer"),
        pytest.param({"headers": {"sec-fetch-site": "cross-site"}}, id="a cross-site fetch"),
        pytest.param({"headers": {"origin": "null"}}, id="an opaque origin"),
        pytest.param({"headers": SAME_SITE, "token": ""}, id="no token"),
        pytest.param({"headers": SAME_SITE, "token": "forged"}, id="a forged token"),
    ],
)
def test_a_cross_site_or_tokenless_post_is_refused(
    admin: TestClient, store: str, rules: Path, attack: dict[str, Any]
) -> None:
    token = attack.get("token", _token(admin.get("/errors").text))
    answer = admin.post(
        "/errors",
        data={"fingerprint": categorize(UNKNOWN).fingerprint, "csrf_token": token},
        headers=attack["headers"],
    )
    assert answer.status_code == 403 and "was not sent from the scraper monitor" in answer.text
    assert not rules.exists() and ("unknown_error", 4) in _categories(store)


def test_a_bad_choice_is_shown_next_to_its_field_and_writes_nothing(
    admin: TestClient, store: str, rules: Path
) -> None:
    fingerprint = categorize(UNKNOWN).fingerprint
    token = _token(admin.get("/errors").text)

    def post(**fields: str) -> str:
        answer = admin.post(
            "/errors", data={"fingerprint": fingerprint, "csrf_token": token, **fields}, headers=SAME_SITE
        )
        assert answer.status_code == 422
        return answer.text

    bad_category = post(category="venue_eror")
    assert re.search(
        r'<select name="category" aria-invalid="true">.*?</select>\s*</label>\s*'
        r'<span class="field-error" data-testid="error-category">unknown category &#39;venue_eror&#39;',
        bad_category,
        re.DOTALL,
    )
    bad_type = post(error_type="Venue Missing")
    assert 'data-testid="error-error_type">the error type is lower_snake_case' in bad_type
    assert 'value="Venue Missing"' in bad_type  # what was typed stays, to be corrected
    nothing = admin.post(
        "/errors",
        data={"fingerprint": categorize(GIBBERISH).fingerprint, "csrf_token": token},
        headers=SAME_SITE,
    )
    assert nothing.status_code == 422
    assert 'data-testid="error-category">nothing in the message suggests a category' in nothing.text
    unknown = admin.post("/errors", data={"fingerprint": "zz", "csrf_token": token}, headers=SAME_SITE)
    assert unknown.status_code == 422 and "Not accepted: a fingerprint is 6 to 16 characters" in unknown.text
    assert not rules.exists() and ("unknown_error", 4) in _categories(store)


def test_without_a_rules_file_the_panel_says_what_to_set(
    admin: TestClient, store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(settings.ERROR_RULES_ENV, raising=False)
    page = admin.get("/errors")
    assert 'data-testid="no-rules-file"' in page.text and 'class="accept"' not in page.text
    token = forms.issue_token(admin.app.state.monitor.form_secret, "admin")  # what a form would carry
    answer = admin.post(
        "/errors",
        data={"fingerprint": categorize(UNKNOWN).fingerprint, "csrf_token": token},
        headers=SAME_SITE,
    )
    assert answer.status_code == 422 and "Not accepted: no rules file: set SCRAPER_MONITOR_ERROR_RULES" in (
        answer.text
    )


def test_a_token_is_good_for_its_user_and_hours_only() -> None:
    secret = b"s" * 32
    token = forms.issue_token(secret, "alice", now=time.time())
    assert forms.token_is_valid(secret, "alice", token)
    assert not forms.token_is_valid(secret, "mallory", token)
    assert not forms.token_is_valid(b"t" * 32, "alice", token)  # another deployment's
    old = forms.issue_token(secret, "alice", now=time.time() - forms.TOKEN_HOURS * 3600 - 1)
    assert not forms.token_is_valid(secret, "alice", old)


class _AuthManager:
    """Answers is_authorized_dag as roles do: every method for an editor, GET only for a viewer."""

    def __init__(self, editors: set[str]) -> None:
        self.editors = editors

    def is_authorized_dag(self, *, method: str, user: Any, **details: Any) -> bool:
        return method == "GET" or user in self.editors


def test_the_door_lets_only_users_who_may_edit_every_dag_accept() -> None:
    manager = _AuthManager({"op"})
    assert may_edit("op", manager) and not may_edit("viewer", manager)
