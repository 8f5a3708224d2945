"""Silent-failure rules, declared per task on the counts it returns."""

from __future__ import annotations

from scraper_monitor.silent import BelowMedian, Consistent, Equal, NonZero, evaluate, expect, rules_for


def no_history(count: str, runs: int) -> list[int]:
    return []


def history_of(values: list[int]):
    def history(count: str, runs: int) -> list[int]:
        return values[:runs]

    return history


def test_zero_where_non_zero_is_expected_is_silent() -> None:
    verdict = evaluate([NonZero("showtimes")], {"films": 0, "showtimes": 0}, no_history)
    assert verdict.silent and "showtimes = 0" in verdict.reason


def test_a_declared_count_that_is_missing_is_silent_not_ignored() -> None:
    # The origin treated a missing key as "not zero" and so never flagged the cinema chains.
    verdict = evaluate([NonZero("showtimes_found")], {"showtimes": 12}, no_history)
    assert verdict.silent and "missing" in verdict.reason


def test_non_zero_output_is_not_silent() -> None:
    assert not evaluate([NonZero("showtimes")], {"showtimes": 48}, no_history).silent


def test_drop_below_a_fraction_of_the_recent_median_is_silent() -> None:
    rule = BelowMedian("showtimes", fraction=0.5, runs=10)
    verdict = evaluate([rule], {"showtimes": 10}, history_of([48, 50, 46, 47]))
    assert verdict.silent and "median 47.5" in verdict.reason
    assert not evaluate([rule], {"showtimes": 30}, history_of([48, 50, 46, 47])).silent


def test_median_rule_needs_enough_history_before_it_judges() -> None:
    rule = BelowMedian("showtimes", fraction=0.5, min_history=3)
    assert not evaluate([rule], {"showtimes": 1}, history_of([48, 50])).silent


def test_median_rule_uses_only_the_last_n_runs() -> None:
    rule = BelowMedian("showtimes", fraction=0.5, runs=3)
    # The older runs were large; the last three are small, so 10 is normal now.
    assert not evaluate([rule], {"showtimes": 10}, history_of([12, 11, 10, 500, 500, 500])).silent


def test_found_but_nothing_scheduled_is_an_inconsistency() -> None:
    rule = Consistent("showtimes", ("created", "updated", "skipped"))
    verdict = evaluate([rule], {"showtimes": 48, "created": 0, "updated": 0, "skipped": 0}, no_history)
    assert verdict.silent and "none created/updated/skipped" in verdict.reason
    assert not evaluate([rule], {"showtimes": 48, "skipped": 48}, no_history).silent
    assert not evaluate([rule], {"showtimes": 0}, no_history).silent


def test_an_inconsistency_can_say_what_it_means() -> None:
    rule = Consistent("showtimes", ("films",), reason="{showtimes} showtimes but {films} films ({accounted})")
    verdict = evaluate([rule], {"showtimes": 12, "films": 0}, no_history)
    assert verdict.reason == "12 showtimes but 0 films (films)"


def test_all_reasons_are_reported_together() -> None:
    rules = [NonZero("films"), NonZero("showtimes")]
    verdict = evaluate(rules, {"films": 0, "showtimes": 0}, no_history)
    assert verdict.reason.count("= 0") == 2


def test_rules_are_registered_per_dag_and_task() -> None:
    expect("some_dag", "group.task", [NonZero("x")])
    assert rules_for("some_dag", "group.task") == (NonZero("x"),)
    assert rules_for("some_dag", "other") == ()


def test_two_views_of_the_same_things_that_disagree_are_silent() -> None:
    rule = Equal("on_page", "listed")
    verdict = evaluate([rule], {"on_page": 14, "listed": 12}, no_history)
    assert verdict.silent and verdict.reason == "on_page = 14 but listed = 12"
    assert not evaluate([rule], {"on_page": 12, "listed": 12}, no_history).silent
    # Nothing was compared (a task that does not count both): no verdict either way.
    assert not evaluate([rule], {"on_page": 3}, no_history).silent


def test_an_equal_rule_explains_itself_with_the_tasks_counts() -> None:
    rule = Equal("on_page", "listed", reason="{listed} listed, {on_page} on the page, {days} days differ")
    verdict = evaluate([rule], {"on_page": 14, "listed": 12, "days": 1}, no_history)
    assert verdict.reason == "12 listed, 14 on the page, 1 days differ"
