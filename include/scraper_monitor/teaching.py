"""Teaching the categorizer: an ``unknown_error`` fingerprint becomes a rule in the team's rules file
(``$SCRAPER_MONITOR_ERROR_RULES``), so the next message like it is filed where a person put it.

The rule matches the fingerprint's normalized message with each placeholder (``<n>``, ``<str>``,
``<url>``, ...) widened back to what it stood for, so it catches the whole group and nothing that
reads differently. The file is rewritten only after the new content has passed the same validation
as at load time (a team's rules are untrusted: no pattern that backtracks) and the new rule files
the example as intended; a failure leaves the file as it was. The CLI (``errors accept``) and the
Errors panel both teach through ``accept``; the comment above each rule says who accepted it, when.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from scraper_monitor import settings
from scraper_monitor.category import CATEGORIES, builtin_rules, categorize, load_rules
from scraper_monitor.fingerprint import normalize_message
from scraper_monitor.reports.unknown import suggest
from scraper_monitor.rules import ERROR_TYPE, RuleError, RuleSet

# What each placeholder of fingerprint.normalize_message stood for, as bounded character classes:
# nothing in them can run into the literal text around them far enough to backtrack badly.
_PLACEHOLDERS = {
    "<n>": r"\d+(?:[.,]\d+)*",
    "<id>": r"[\w.:-]{1,80}",
    "<hex>": r"[\w.:-]{1,80}",
    "<uuid>": r"[\w.:-]{1,80}",
    "<ip>": r"[\w.:-]{1,80}",
    "<time>": r"[\d:.]{3,15}",
    "<url>": r"\S{1,500}",
    "<path>": r"\S{1,500}",
    "<email>": r"\S{1,200}",
    "<date>": r"[\w ,:+.-]{1,40}",
    "<str>": r"(?:'[^'\n]{0,200}'|\"[^\"\n]{0,200}\"|„[^”\"\n]{0,200}[”\"]|“[^”\n]{0,200}”)",
}
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in _PLACEHOLDERS))


class TeachingError(ValueError):
    """The rule cannot be added; the message says why and the file is unchanged. ``field`` names
    the choice that was wrong (``category``, ``error_type``), so a form can show it next to it."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class AcceptedRule:
    path: Path
    name: str
    category: str
    error_type: str
    regex: str


def pattern_for(message: str) -> str:
    """A regex (rules-file syntax, case-insensitive) matching ``message`` and every message with
    the same fingerprint text."""
    normalized = normalize_message(message).removesuffix("…")  # a cut message matches by its start
    parts = []
    for literal, placeholder in zip(
        _PLACEHOLDER.split(normalized), [*_PLACEHOLDER.findall(normalized), ""], strict=True
    ):
        parts.append(r"\s+".join(re.escape(word) for word in literal.split(" ")))
        parts.append(_PLACEHOLDERS.get(placeholder, ""))
    return "".join(parts)


def rules_path(explicit: str | None = None) -> Path:
    """The team's rules file: ``explicit``, else ``$SCRAPER_MONITOR_ERROR_RULES``."""
    chosen = explicit or settings.user_error_rules_path()
    if not chosen:
        raise TeachingError(
            f"no rules file: set {settings.ERROR_RULES_ENV} (the file the monitor reads) or pass --rules"
        )
    return Path(chosen)


def current_rules(path: str | Path | None = None) -> RuleSet:
    """What categorize files with right now: the team's file (``path``, else the env's), read afresh
    (``accept`` changes it, and the per-process cache of ``default_rules`` would not see that), before
    the built-in rules; no file yet means nothing taught yet. Raises RuleError for a broken file."""
    chosen = path or settings.user_error_rules_path()
    if not chosen or not Path(chosen).exists():
        return builtin_rules()
    return load_rules(chosen) + builtin_rules()


def filing(example: str, rules: RuleSet, category: str | None, error_type: str | None) -> tuple[str, str]:
    """The category and error type to accept for ``example``: the ones given, else what it reads as
    (the suggestion ``errors unknown`` and the panel show)."""
    guess = suggest(categorize(example, rules=rules))
    chosen = category or (guess.category if guess else None)
    if chosen is None:
        raise TeachingError("nothing in the message suggests a category: choose one", field="category")
    return chosen, error_type or (guess.error_type if guess and guess.category == chosen else "accepted")


def check_choice(category: str, error_type: str) -> None:
    """Refuse a category outside the nine and an error type a rules file would refuse, naming the field."""
    if category not in CATEGORIES:
        raise TeachingError(
            f"unknown category {category!r}: one of {', '.join(CATEGORIES)}", field="category"
        )
    if not ERROR_TYPE.match(error_type):
        raise TeachingError(
            f"the error type is lower_snake_case (a-z, 0-9, _; a letter first), got {error_type!r}",
            field="error_type",
        )


def accept(
    path: Path,
    *,
    fingerprint: str,
    example: str,
    category: str,
    error_type: str,
    by: str | None = None,
    now: datetime | None = None,
) -> AcceptedRule:
    """Add a rule filing ``example`` (and its fingerprint group) under ``category``/``error_type``
    to the rules file at ``path``, creating it if missing; ``by`` (who accepted it) and the time go
    into the rule's comment, which is the file's own record of the change."""
    check_choice(category, error_type)
    name = f"accepted_{fingerprint[:12]}"
    rule = {"name": name, "category": category, "error_type": error_type, "regex": pattern_for(example)}
    first_line = example.splitlines()[0][:100] if example else ""
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    who = f" by {_one_line(by)}" if by else ""
    entry = f"  # accepted{who} at {when} for fingerprint {fingerprint}: {first_line}\n" + "".join(
        f"  {line}\n" for line in _yaml_lines(rule)
    )
    with _exclusive(path):
        new_text = _with_entry(path, entry, name)
        with tempfile.TemporaryDirectory() as folder:
            candidate = Path(folder) / path.name
            candidate.write_text(new_text, encoding="utf-8")
            try:
                rules = load_rules(candidate)
            except RuleError as exc:
                raise TeachingError(str(exc).replace(str(candidate), str(path))) from exc
            _check_it_decides(example, name, rules + builtin_rules())
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(new_text, encoding="utf-8")
        os.replace(temporary, path)  # atomic: a reader sees the old file or the new one, never half of it
    return AcceptedRule(path, name, category, error_type, rule["regex"])


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """One accept at a time per rules file. The api-server's workers and the CLI may accept at once,
    and each rewrites the whole file from what it read: without the lock one of two rules is lost.
    (flock is per host: where hosts share the file, it does not order them.)"""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _one_line(text: str) -> str:
    # A user name goes into a YAML comment: a line break would end the comment and inject YAML.
    return " ".join(text.split())[:100]


def _yaml_lines(rule: dict[str, str]) -> list[str]:
    dumped = yaml.safe_dump([rule], sort_keys=False, allow_unicode=True, width=1000)
    return dumped.rstrip("\n").splitlines()


_NEW_FILE_HEADER = "# This team's error rules, tried before the built-in ones (scraper-monitor errors).\n"


def _with_entry(path: Path, entry: str, name: str) -> str:
    """The file's text with ``entry`` appended to its ``rules`` list, comments kept."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _NEW_FILE_HEADER + "rules:\n" + entry
    data = yaml.safe_load(text)
    rules = data.get("rules") if isinstance(data, dict) else None
    if isinstance(rules, list) and any(isinstance(r, dict) and r.get("name") == name for r in rules):
        raise TeachingError(f"{path}: this fingerprint was accepted already (rule {name!r})")
    # A block list ("rules:" then "- ..." lines) ends the file, as 'rules' is its only key: append.
    if rules and re.search(r"^rules:[ \t]*(?:#.*)?$", text, re.MULTILINE):
        return text + ("" if text.endswith("\n") else "\n") + entry
    if rules:
        raise TeachingError(f"{path}: write 'rules:' as a block list to add rules to it")
    comments = "".join(line + "\n" for line in text.splitlines() if line.lstrip().startswith("#"))
    return comments + "rules:\n" + entry


def _check_it_decides(example: str, name: str, rules: RuleSet) -> None:
    result = categorize(example, rules=rules)
    if result.matched_by != f"rule:{name}":
        raise TeachingError(
            f"the new rule would not decide the example: {result.matched_by} comes first "
            f"({result.category} / {result.error_type}); edit that rule instead"
        )
