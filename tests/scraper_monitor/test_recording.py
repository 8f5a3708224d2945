"""What goes into a summary, per state, from plain values (no Airflow: these run in milliseconds).

The same rules run inside the task callbacks; tests/dags/test_dags.py proves them end to end under
``dag.test()``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from scraper_monitor import silent
from scraper_monitor.category import categorize
from scraper_monitor.recording import FAILED_FROM_OUTSIDE, TryFacts, build_summary, scraper_name
from scraper_monitor.state import FAILED, RETRYING, SKIPPED, SUCCESS
from scrapers.errors import SelectorMissing
from scrapers.outcome import ItemOutcome, StepResult

DAG, TASK = "recording_test_dag", "day_pages"
STARTED = datetime(2026, 12, 7, 23, 59, 58, tzinfo=UTC)


@pytest.fixture(autouse=True)
def declared_rules() -> Iterator[None]:
    silent.expect(DAG, TASK, [silent.NonZero("showtimes"), silent.BelowMedian("showtimes", fraction=0.3)])
    yield
    silent.expect(DAG, TASK, [])


def facts(state: str, **changes: object) -> TryFacts:
    values: dict[str, object] = {
        "dag_id": DAG,
        "run_id": "manual__1",
        "task_id": TASK,
        "map_index": 3,
        "try_number": 2,
        "state": state,
        "logical_date": STARTED.replace(hour=0, minute=0, second=0),
        "started_at": STARTED,
        "ended_at": STARTED + timedelta(seconds=3, milliseconds=250),
    }
    return TryFacts(**(values | changes))  # type: ignore[arg-type]


def history_of(values: Sequence[int]) -> silent.History:
    return lambda count, runs: list(values)[:runs]


def no_history(count: str, runs: int) -> Sequence[int]:
    return []


def test_identity_and_timing_come_from_the_try() -> None:
    summary = build_summary(facts(SUCCESS), no_history)
    assert summary.key == (DAG, "manual__1", TASK, 3, 2)
    assert summary.scraper == DAG and summary.state == SUCCESS
    assert summary.duration_ms == 3250  # across midnight: plain subtraction of aware times
    assert build_summary(facts(SUCCESS, started_at=None), no_history).duration_ms is None


def test_a_dag_reports_as_its_own_scraper_unless_a_tag_names_another() -> None:
    assert scraper_name("cinema_city", ["scraper", "cinema_city"]) == "cinema_city"
    assert scraper_name("example_bash_operator", []) == "example_bash_operator"
    assert scraper_name("cinema_city_backfill", ["scraper", "scraper:cinema_city"]) == "cinema_city"
    assert scraper_name("odd", ["scraper:"]) == "odd"  # an empty name is no name
    summary = build_summary(facts(SUCCESS, dag_id="cinema_city_backfill", scraper="cinema_city"), no_history)
    assert (summary.dag_id, summary.scraper) == ("cinema_city_backfill", "cinema_city")


def test_a_success_keeps_its_counts_and_items_and_is_not_silent_when_it_found_something() -> None:
    items = [ItemOutcome("showtime", "s1", "created")]
    result = StepResult(counts={"showtimes": 40}, items=items)
    summary = build_summary(facts(SUCCESS, result=result), history_of([42, 38, 40]))
    assert summary.counts == {"showtimes": 40} and summary.items == items
    assert (summary.silent, summary.silent_reason) == (False, None)
    assert summary.error_category is None and summary.skip_reason is None


def test_a_success_with_zero_output_is_silent_with_its_reason() -> None:
    summary = build_summary(facts(SUCCESS, result=StepResult(counts={"showtimes": 0})), no_history)
    assert summary.silent and "showtimes" in (summary.silent_reason or "")


def test_a_success_far_below_its_own_history_is_silent() -> None:
    result = StepResult(counts={"showtimes": 5})
    assert build_summary(facts(SUCCESS, result=result), history_of([40, 41, 39, 40])).silent
    assert not build_summary(facts(SUCCESS, result=result), history_of([5, 6, 4])).silent


def test_a_success_without_a_step_result_is_recorded_without_counts() -> None:
    summary = build_summary(facts(SUCCESS), no_history)
    assert summary.counts == {} and not summary.silent


def test_a_broken_history_lookup_loses_the_verdict_not_the_summary() -> None:
    def broken(count: str, runs: int) -> Sequence[int]:
        raise ConnectionError("store gone")

    summary = build_summary(facts(SUCCESS, result=StepResult(counts={"showtimes": 5})), broken)
    assert summary.state == SUCCESS and not summary.silent


def test_a_skip_takes_the_exception_text_first_then_the_step_result() -> None:
    from_exception = facts(
        SKIPPED, exception=RuntimeError("Brak seansów"), result=StepResult(skip_reason="x")
    )
    assert build_summary(from_exception, no_history).skip_reason == "Brak seansów"
    from_result = facts(SKIPPED, result=StepResult(skip_reason="no showtimes"))
    assert build_summary(from_result, no_history).skip_reason == "no showtimes"
    assert build_summary(facts(SKIPPED), no_history).skip_reason is None
    # A skip is expected, never an error, and never judged silent.
    assert build_summary(from_result, no_history).error_category is None


@pytest.mark.parametrize("state", [FAILED, RETRYING])
def test_a_failure_is_categorized_like_the_categorize_command(state: str) -> None:
    error = SelectorMissing("table.repert", url="https://www.kino.krakow.pl/cinema_program/by_movie")
    summary = build_summary(facts(state, exception=error), no_history)
    expected = categorize(error)
    assert (summary.error_category, summary.error_type, summary.fingerprint) == (
        expected.category,
        expected.error_type,
        expected.fingerprint,
    )
    assert "table.repert" in (summary.error_message or "")
    assert summary.counts == {} and not summary.silent


CORPUS = yaml.safe_load((Path(__file__).resolve().parents[1] / "data" / "error_corpus.yaml").read_text())


def _raisers() -> list[type[BaseException]]:
    from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowNotFoundException

    return [
        Exception,
        RuntimeError,
        ValueError,
        AirflowException,
        AirflowFailException,
        AirflowNotFoundException,
    ]


def test_a_stored_row_and_the_categorize_command_agree_on_every_corpus_message() -> None:
    """Whatever a task raises a message with, the row's category, type and fingerprint are what
    ``scraper-monitor categorize`` says for the stored message (the README's promise)."""
    disagreements = []
    for case in CORPUS["cases"]:
        for raiser in _raisers():
            summary = build_summary(facts(FAILED, exception=raiser(case["message"])), no_history)
            again = categorize(summary.error_message)
            stored = (summary.error_category, summary.error_type, summary.fingerprint)
            if stored != (again.category, again.error_type, again.fingerprint):
                disagreements.append((raiser.__name__, case["message"], stored[:2], again.matched_by))
    assert disagreements == []


def test_the_message_is_redacted_before_it_is_stored() -> None:
    error = RuntimeError("login failed for token s3cr3t")
    summary = build_summary(facts(FAILED, exception=error), no_history, lambda m: m.replace("s3cr3t", "***"))
    assert "s3cr3t" not in (summary.error_message or "") and "***" in (summary.error_message or "")


@pytest.mark.parametrize("state", [FAILED, RETRYING])
def test_a_failure_without_an_exception_is_a_try_airflow_failed_from_outside(state: str) -> None:
    # A lost worker's try: Airflow runs its failure callback in the dag-processor, with no exception.
    summary = build_summary(facts(state), no_history)
    assert summary.error_message == FAILED_FROM_OUTSIDE
    assert (summary.error_category, summary.error_type) == ("unknown_error", "task_killed")
    assert summary.fingerprint == categorize(FAILED_FROM_OUTSIDE).fingerprint
