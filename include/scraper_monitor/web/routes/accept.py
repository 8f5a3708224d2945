"""Accepting a suggestion on the Errors panel: ``POST /errors`` adds a rule for an unknown_error
fingerprint to the team's rules file, through ``teaching.accept`` as ``scraper-monitor errors accept``
does, and optionally files the fingerprint's stored tries again (``recategorize``).

Only a user the deployment lets edit (``deps.editor``) may, only from this app's own page
(``web.forms``); the answer is the panel again, with what was done or, next to the field, why not.
Every accepted rule is logged (who, what, where) and its comment in the file names who and when.
"""

from __future__ import annotations

import logging
from typing import Annotated

import psycopg
from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from scraper_monitor import teaching
from scraper_monitor.category import categorize
from scraper_monitor.reports import unknown
from scraper_monitor.rules import RuleError
from scraper_monitor.store.recategorize import recategorize
from scraper_monitor.web import forms
from scraper_monitor.web.deps import Editor, Settings, Store, Visible
from scraper_monitor.web.params import (
    CategoryParam,
    CityParam,
    HoursParam,
    OffsetParam,
    ScraperParam,
    StateParam,
)
from scraper_monitor.web.routes.errors import AcceptOutcome, Filters, panel

log = logging.getLogger(__name__)

pages = APIRouter(default_response_class=HTMLResponse)

NOT_AN_EDITOR = (
    "accepting a rule changes how every DAG's failures are filed: it needs an Airflow role that may edit DAGs"
)
CROSS_SITE = "refused: this form was not sent from the scraper monitor's own page (reload it and try again)"


class AcceptForm(BaseModel):
    fingerprint: str = Field(max_length=64)
    category: str = Field("", max_length=64, description="empty: the suggested category")
    error_type: str = Field("", max_length=64, description="empty: the suggested error type")
    recategorize: bool = False
    csrf_token: str = Field("", max_length=200)


@pages.post("/errors")
def accept_rule(
    request: Request,
    conn: Store,
    visible: Visible,
    editor: Editor,
    monitor: Settings,
    form: Annotated[AcceptForm, Form()],
    city: CityParam,
    hours: HoursParam = 24 * 7,
    scraper: ScraperParam = None,
    category: CategoryParam = None,
    state: StateParam = None,
    offset: OffsetParam = 0,
) -> HTMLResponse:
    if editor is None:
        raise HTTPException(403, NOT_AN_EDITOR)
    if not forms.from_this_site(request) or not forms.token_is_valid(
        monitor.form_secret, editor, form.csrf_token
    ):
        log.warning("scraper monitor: cross-site or stale accept form refused for %s", editor)
        raise HTTPException(403, CROSS_SITE)
    filters = Filters(hours, scraper, category, state, offset, city)
    try:
        outcome = _accept(conn, editor, form)
    except (teaching.TeachingError, RuleError, ValueError) as exc:
        problem = AcceptOutcome(
            fingerprint=form.fingerprint,
            field=getattr(exc, "field", None) or "",
            problem=str(exc),
            values={"category": form.category, "error_type": form.error_type},
        )
        return panel(request, conn, visible, editor, monitor, filters, problem, status=422)
    return panel(request, conn, visible, editor, monitor, filters, outcome)


def _accept(conn: psycopg.Connection, editor: str, form: AcceptForm) -> AcceptOutcome:
    found = unknown.find_fingerprint(conn, form.fingerprint)
    path = teaching.rules_path()
    example = found.example_message or ""
    category, error_type = teaching.filing(
        example, teaching.current_rules(path), form.category or None, form.error_type or None
    )
    added = teaching.accept(
        path,
        fingerprint=found.fingerprint,
        example=example,
        category=category,
        error_type=error_type,
        by=editor,
    )
    log.info(
        "scraper monitor: %s accepted fingerprint %s as %s / %s: rule %r added to %s",
        editor,
        found.fingerprint,
        added.category,
        added.error_type,
        added.name,
        added.path,
    )
    done = f"Rule {added.name} added to {added.path}: {added.category} / {added.error_type}."
    if form.recategorize:
        rules = teaching.current_rules(path)
        filed = recategorize(conn, found.fingerprint, lambda message: categorize(message, rules=rules))
        log.info(
            "scraper monitor: %s filed %d of %d stored tries of %s again (%d daily rollups redone)",
            editor,
            filed.changed,
            filed.rows,
            found.fingerprint,
            filed.rollup_days,
        )
        done += f" {filed.changed} of {filed.rows} stored tries filed again."
    else:
        done += (
            f" The {found.count} stored tries keep their category until filed again: "
            f"scraper-monitor recategorize --fingerprint {found.fingerprint}"
        )
    return AcceptOutcome(fingerprint=found.fingerprint, done=done)
