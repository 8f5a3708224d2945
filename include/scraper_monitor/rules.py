r"""Ordered text rules: the last step of error categorization, kept in YAML so users can extend them.

A rules file is a mapping with a ``rules`` list; the first rule (in order) that matches wins::

    rules:
      - name: rate_limited                 # unique in the file; shown when a rule is invalid
        category: network_error            # one of the public categories
        error_type: rate_limited           # the finer type: lower_snake_case
        any: ["too many requests", "429"]  # case-insensitive substrings
        regex: 'over the allowed limit'    # optional, case-insensitive (Python re syntax);
                                           # or a list of alternatives, one per line

A rule needs ``any``, ``regex`` or both. Substrings of up to ``SHORT_SUBSTRING`` characters only
match whole words (the origin's rule "api" filed "rapid" and "capital" under network errors); longer
ones match anywhere, so "timeout" also finds "ReadTimeout". A space in a substring matches any run of
whitespace. This module knows nothing about the category vocabulary: the caller passes it in.

Speed matters (every failed task is categorized): the message is lower-cased once and substrings
are matched without the IGNORECASE flag, which costs about three times as much in ``re``; only
user regexes, which may hold any case, are wrapped in a scoped ``(?i:...)``.

A team's own rules (``untrusted=True``) can hang nothing. Python's ``re`` backtracks without limit
(``(?:\w+\s*)+ failed`` takes seconds on 25 characters, and the task's callback is killed at 20 s),
so those rules are compiled with the ``regex`` module, refused at load when they time out on hostile
probes (the error names the rule), and searched with a time budget (``UNTRUSTED_SEARCH_S``): a search
that runs out is logged and counts as no match. The built-in rules are vetted by the tests and stay on
``re``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import regex
import yaml

log = logging.getLogger(__name__)

SHORT_SUBSTRING = 4
UNTRUSTED_SEARCH_S = 0.05
_PROBE_S = 0.2
_PROBE_CHARS = 2000


def _probes(source: str) -> list[str]:
    """Inputs that make a backtracking pattern explode: long runs of one character (each letter or
    digit the pattern names, so its required literals are there), of words and spaces, of all of them,
    each ending in a character no rule expects."""
    named = sorted({c for c in source.lower() if c.isalnum()} | {"a", "1"})[:16]
    runs = [*named, "a ", "a1 ", "a-", ". ", "".join(named), " ".join(named) + " "]
    return [(run * (_PROBE_CHARS // len(run)))[:_PROBE_CHARS] + "\u0000" for run in runs]


ERROR_TYPE = re.compile(r"[a-z][a-z0-9_]*\Z")
_RULE_KEYS = frozenset({"name", "category", "error_type", "any", "regex"})


class RuleError(ValueError):
    """A rules file cannot be used; the message names the file and the rule."""


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    category: str
    error_type: str
    pattern: re.Pattern[str] | regex.Pattern[str]
    source: str  # the file it came from, so a surprising match can be traced
    timeout: float | None = None  # a search budget (untrusted rules only)

    def search(self, lowered: str) -> bool:
        if self.timeout is None:
            return self.pattern.search(lowered) is not None
        try:
            return self.pattern.search(lowered, timeout=self.timeout) is not None  # type: ignore[call-arg]
        except TimeoutError:
            log.warning("error rule %r (%s) ran out of time on a message; skipped", self.name, self.source)
            return False


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...] = ()

    def match(self, text: str) -> Rule | None:
        """The first rule that matches ``text`` (case-insensitively), or None."""
        lowered = text.lower()
        for rule in self.rules:
            if rule.search(lowered):
                return rule
        return None

    def __add__(self, other: RuleSet) -> RuleSet:
        """``first + second``: the rules of ``first`` are tried before those of ``second``."""
        return RuleSet(self.rules + other.rules)


def _substring_pattern(text: str) -> str:
    """The regex source for one ``any`` entry (matched against lower-cased text)."""
    pattern = r"\s+".join(re.escape(word) for word in text.lower().split())
    if len(text) <= SHORT_SUBSTRING:
        # Bound only the edges that are word characters, so "[SSL:" or "5xx" still work.
        if re.match(r"\w", text):
            pattern = r"\b" + pattern
        if re.search(r"\w\Z", text):
            pattern += r"\b"
    return pattern


def _parse_rules(data: Any, *, categories: Collection[str], source: str, untrusted: bool = False) -> RuleSet:
    """Validate the loaded YAML of one rules file and compile it."""
    if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
        raise RuleError(f"{source}: expected a mapping with a 'rules' list")
    if set(data) - {"rules"}:
        raise RuleError(f"{source}: unknown top-level keys {sorted(set(data) - {'rules'})}")
    seen: set[str] = set()
    rules = []
    for index, raw in enumerate(data["rules"], start=1):
        rule = _compile_rule(
            raw, categories=categories, where=f"{source}: rule #{index}", source=source, untrusted=untrusted
        )
        if rule.name in seen:
            raise RuleError(f"{source}: rule #{index} {rule.name!r}: duplicate rule name")
        seen.add(rule.name)
        rules.append(rule)
    return RuleSet(tuple(rules))


def read_rules_file(path: str | Path, *, categories: Collection[str], untrusted: bool = False) -> RuleSet:
    """Load and validate one rules file; ``untrusted`` rules (a team's own) get the guards above."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleError(f"{source}: cannot read rules file: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleError(f"{source}: not valid YAML: {exc}") from exc
    return _parse_rules(data, categories=categories, source=source, untrusted=untrusted)


def _compile_rule(
    raw: Any, *, categories: Collection[str], where: str, source: str, untrusted: bool = False
) -> Rule:
    if not isinstance(raw, Mapping):
        raise RuleError(f"{where}: expected a mapping, got {type(raw).__name__}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RuleError(f"{where}: 'name' is required")
    where = f"{where} {name!r}"
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise RuleError(f"{where}: unknown keys {sorted(unknown)} (allowed: {', '.join(sorted(_RULE_KEYS))})")
    category = raw.get("category")
    if category not in categories:
        raise RuleError(f"{where}: category {category!r} is not one of: {', '.join(categories)}")
    error_type = raw.get("error_type")
    if not isinstance(error_type, str) or not ERROR_TYPE.match(error_type):
        raise RuleError(f"{where}: 'error_type' must be lower_snake_case text, got {error_type!r}")

    alternatives = [_substring_pattern(s) for s in _texts(raw.get("any"), "any", where)]
    for source_regex in _texts(raw.get("regex"), "regex", where):
        scoped = f"(?i:{source_regex})"  # compiled as it will be used: "(?i)" inside is an error
        try:
            re.compile(scoped)
        except re.error as exc:
            raise RuleError(f"{where}: invalid regex {source_regex!r}: {exc}") from exc
        alternatives.append(scoped)
    if not alternatives:
        raise RuleError(f"{where}: needs 'any' (a list of substrings) or 'regex'")
    joined = "|".join(f"(?:{a})" for a in alternatives)
    if not untrusted:
        return Rule(name, category, error_type, re.compile(joined), source)
    try:
        pattern = regex.compile(joined)
    except regex.error as exc:
        raise RuleError(f"{where}: invalid regex for the rule engine: {exc}") from exc
    for probe in _probes(joined):
        try:
            pattern.search(probe, timeout=_PROBE_S)
        except TimeoutError:
            raise RuleError(
                f"{where}: regex takes too long on long messages (over {_PROBE_S:g} s on a probe of "
                f"{len(probe)} characters); avoid nested repetition such as (\\w+\\s*)+"
            ) from None
    return Rule(name, category, error_type, pattern, source, timeout=UNTRUSTED_SEARCH_S)


def _texts(value: Any, key: str, where: str) -> list[str]:
    """The entries of ``any`` (a list) or ``regex`` (a string or a list)."""
    if value is None:
        return []
    if key == "regex" and isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise RuleError(f"{where}: {key!r} must be a list of text")
    out = []
    for item in value:
        # YAML reads an unquoted 429 as a number; the user meant the text.
        if isinstance(item, int) and not isinstance(item, bool):
            item = str(item)
        if not isinstance(item, str) or not item.strip():
            raise RuleError(f"{where}: every {key!r} entry must be non-empty text, got {item!r}")
        out.append(item.strip() if key == "any" else item)
    return out
