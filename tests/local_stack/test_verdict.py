"""`make e2e`'s verdict: every predicted number compared; without a prediction, only the checks that
need none, and the line says why."""

from __future__ import annotations

from local_stack.verdict import judge

OBSERVED = {
    "sync_failed": 1, "units_total": 0, "units_succeeded": 0, "units_failed": 0, "units_skipped": 0,
    "units_silent": 0, "units_retried": 0, "films_total": 0, "films_matched": 0, "films_not_matched": 0,
    "films_failed": 0, "films_silent": 0, "showtimes_created": 0, "showtimes_skipped": 0,
    "showtime_batches_upstream_failed": 0, "executions_recorded": 1, "task_instances_ran": 1,
    "showtimes_version_mismatch": 0,
}  # fmt: skip


def test_a_failed_sync_that_was_predicted_is_ok_and_says_so() -> None:
    verdict = judge("kino_krakow", OBSERVED, {"sync_failed": 1, "units_total": 0})
    assert verdict.ok
    assert verdict.line().startswith("OK   kino_krakow: sync FAILED, 0 units")


def test_without_a_prediction_only_the_invariants_are_judged() -> None:
    why = "demo.yaml: cannot predict: fault 'x' (first_n) matches 3 units"
    verdict = judge("cinema_city", OBSERVED, None, why)
    assert verdict.ok and f"not compared with a prediction ({why})" in verdict.line()
    lost = judge("cinema_city", {**OBSERVED, "executions_recorded": 0}, None, why)
    assert not lost.ok
    assert "executions_recorded 0 (expected 1)" in lost.line()
