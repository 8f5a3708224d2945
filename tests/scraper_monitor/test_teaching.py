"""Teaching the categorizer: an unknown fingerprint becomes a rule in the team's file, which then
decides; a rule that cannot be used never reaches the file."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scraper_monitor.category import categorize, load_rules
from scraper_monitor.teaching import TeachingError, accept, pattern_for

EXAMPLE = "Failure in step 3 for 'Kino Mikro' at https://kino.example/a?b=1 on 2025-11-24"


def test_the_pattern_matches_the_whole_fingerprint_group_and_nothing_else() -> None:
    pattern = re.compile(f"(?i:{pattern_for(EXAMPLE)})")
    assert pattern.search(EXAMPLE.lower())
    other_day = "Failure in step 12 for 'Kino Pod Baranami' at https://kino.example/c on 2025-12-01"
    assert pattern.search(other_day.lower())
    assert categorize(other_day).fingerprint == categorize(EXAMPLE).fingerprint  # the same group
    assert not pattern.search("failure in stage 3 for 'kino mikro'")


def test_accepting_creates_the_file_and_the_rule_then_decides(tmp_path: Path) -> None:
    path = tmp_path / "team" / "rules.yaml"
    assert categorize(EXAMPLE).category == "unknown_error"
    added = accept(
        path,
        fingerprint="0123456789abcdef",
        example=EXAMPLE,
        category="network_error",
        error_type="step_failed",
    )
    assert added.name == "accepted_0123456789ab" and path.exists()
    result = categorize(EXAMPLE, rules=load_rules(path))
    assert (result.category, result.error_type, result.matched_by) == (
        "network_error",
        "step_failed",
        "rule:accepted_0123456789ab",
    )


def test_accepting_appends_to_a_file_and_keeps_its_comments_and_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "# our rules\nrules:\n"
        "  - {name: empty_day, category: data_quality_error, error_type: x, any: [brak]}\n",
        encoding="utf-8",
    )
    accept(path, fingerprint="fedcba9876543210", example=EXAMPLE, category="validation_error", error_type="y")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# our rules\nrules:\n  - {name: empty_day")
    assert [rule.name for rule in load_rules(path).rules] == ["empty_day", "accepted_fedcba987654"]


def test_a_rule_that_cannot_be_used_leaves_the_file_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "rules:\n  - {name: steps, category: unknown_error, error_type: step, any: [failure in step]}\n",
        encoding="utf-8",
    )
    before = path.read_text(encoding="utf-8")
    # The team's earlier rule decides this message first: the new rule would never be used.
    with pytest.raises(TeachingError, match="would not decide the example: rule:steps comes first"):
        accept(
            path, fingerprint="0011223344556677", example=EXAMPLE, category="network_error", error_type="z"
        )
    with pytest.raises(TeachingError, match="the error type is lower_snake_case") as refused:
        accept(
            path, fingerprint="0011223344556677", example="Other", category="network_error", error_type="Z!"
        )
    assert refused.value.field == "error_type"  # the panel shows it next to that field
    with pytest.raises(TeachingError, match="unknown category 'network'") as refused:
        accept(path, fingerprint="0011223344556677", example="Other", category="network", error_type="z")
    assert refused.value.field == "category"
    assert path.read_text(encoding="utf-8") == before


def test_the_same_fingerprint_is_accepted_once(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    accept(path, fingerprint="aaaabbbbccccdddd", example=EXAMPLE, category="network_error", error_type="a")
    with pytest.raises(TeachingError, match="accepted already"):
        accept(path, fingerprint="aaaabbbbccccdddd", example=EXAMPLE, category="venue_error", error_type="b")


def test_accepts_at_the_same_time_all_land(tmp_path: Path) -> None:
    """The panel's workers and the CLI may accept at once; each rewrites the file from what it read."""
    path = tmp_path / "rules.yaml"
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima".split()
    examples = [f"Step {word} went sideways" for word in words]

    def one(n: int) -> str:
        fingerprint = f"{n:02x}" * 8
        return accept(path, fingerprint=fingerprint, example=examples[n - 1], category="network_error",
                      error_type="step").name  # fmt: skip

    with ThreadPoolExecutor(max_workers=12) as pool:
        names = list(pool.map(one, range(1, 13)))
    assert sorted(rule.name for rule in load_rules(path).rules) == sorted(names)
