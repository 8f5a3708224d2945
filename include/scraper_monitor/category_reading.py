"""Reading a message as a person would: what it is about, and how sure that reading is.

The text rules (rules.py) know phrasings; a message nobody wrote a rule for ("Missing icon text for
'pin'", "Performer 'X' could not be created") still says what it is about in ordinary words: a field,
a value's format, the page, a venue, a performer, a category, a duplicate, the network, a location.
This layer runs after the rules and before ``unknown_error`` (see category.py) and answers with a
topic (a category and an error type) and a confidence; below the table's threshold the caller keeps
``unknown_error`` but may still show the reading as a suggestion.

Method: the message is cut into normalized tokens (lower case, camelCase and snake_case split,
URLs dropped, quoted values and numbers replaced by placeholders so titles and ids cannot vote,
articles dropped, a crude suffix stemmer so "created"/"creating"/"creation" meet). The cue table
(``reading_cues.yaml``, shipped in the package) gives weights to words and short phrases per topic,
negative ones where a word means something else in a phrase ("went wrong", "does not exist"); the
longest cue at a place wins, each cue counts once, half as much again among the first words (the
subject), and a word after "per" (the unit of a count) does not vote. Record verbs (create, save,
match) strengthen the entity category that leads. A category scores the sum of its topics' cues, and

    confidence = (best - runner_up) / (best + prior)

decides when it reaches the threshold and the best score reaches ``min_score``: one weak word, or two
categories pulling as hard, stay below. Deterministic, no model file, no download; a few dozen dict
lookups per message.

How it is measured (include/benchmarks/categorize.py, tests/scraper_monitor/test_category_reading.py):
the cues are written by hand, from the project corpus (tests/data/error_corpus.yaml; its cases from
outside the project carry a ``source`` phrasing family). tests/data/error_heldout.yaml is written in
rounds: each round after the cues of the time were committed and before any further change, then
measured once. That first measurement is the generalization figure (the file records it); later the
round's misses are known and it counts as seen. The same author wrote the cues and the rounds, so
even the first measurements are likely optimistic compared with a third party's messages.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

#: Only the start of a message is read: what it is about is said early, and the cost stays bounded.
READ_MAX_CHARS = 1000
VALUE = "_value_"  # a quoted title, slug or other data
NAME = "_name_"  # an identifier (quoted, snake_case or lowerCamel): the name of a field or a key
SELECTOR = "_selector_"  # a quoted CSS selector: a part of the page
NUMBER = "_num_"
_MAX_PHRASE = 3
#: An error message names what it is about first ("Category 'x' is not allowed", "Title must be
#: a string"): cues among its first words weigh more than the same words later on.
SUBJECT_WORDS = 3
SUBJECT_BONUS = 1.5

# A URL, an e-mail address, or a host name alone ("kino.krakow.pl is offline"): its words name a
# site, not what went wrong ("kino" would vote for a venue).
_URL = re.compile(
    r"\b(?:https?|wss?|ftp)://\S+|\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|\b(?:[A-Za-z0-9-]+\.)+(?i:pl|com|org|net|eu|io|de|uk|fr|cz|info|dev|app)\b(?![.\w-])"
)
# A quote that starts after a letter is an apostrophe ("can't"), not a quote.
_QUOTED = re.compile(
    r"(?<![^\W\d_])'([^'\n]{0,200})'(?![^\W\d_])|\"([^\"\n]{0,200})\"|[„“]([^”\"\n]{0,200})[”\"]|`([^`\n]{0,200})`"
)
_IDENTIFIER = re.compile(r"[a-z_][A-Za-z0-9_.-]*\Z")
# A CSS selector: an HTML element with a class or id ('a.film-link', 'div#program'), or a class or id
# alone ('.showtime'), possibly followed by more of the selector. A domain ('kino.pl') is no element.
_SELECTOR = re.compile(
    r"(?:a|p|div|span|td|th|tr|table|tbody|ul|ol|li|h[1-6]|section|article|img|button|nav|header|footer"
    r"|main|form|input|select|option|label|time|strong|em|small)?[.#][A-Za-z_][\w-]*(?:[.#:> \[][^\n]*)?\Z"
)
# An unquoted snake_case or lowerCamel word is a field's name ("ends_at is missing", "cinemaId"):
# split into its words, then marked as a name, so the mark stands next to what is said of it
# ("Ends_at is missing" reads "end at _name_ is missing", as a quoted 'ends_at' would).
_FIELD = re.compile(r"\b[A-Za-z][a-z0-9]*(?:_[a-z0-9]+)+\b|\b[a-z]+(?:[A-Z][a-z0-9]*)+\b")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
# A placeholder only as a word of its own: "ERR_NAME_NOT_RESOLVED" holds "_name_" too.
_WORD = re.compile(r"[^\W\d_]+|\d+(?:[.,]\d+)*|(?<!\w)_(?:value|name|num|selector)_(?!\w)")
# A word after "per" is the unit something is counted in ("seats per hall", "events per day"): what
# the message is about is the count, not the hall.
_UNIT_MARKERS = frozenset({"per"})
# Only articles and the possessive "'s" are dropped ("the venue's address" reads "venue address"):
# other small words carry meaning in phrases ("in time", "cannot be", "not of type"), and a cue is
# never a small word alone.
_STOP = frozenset({"a", "an", "the", "s"})
# Longest first; a stem keeps at least three letters. "-er" stays: "server" is not "served", nor
# "parser" "parsed".
_SUFFIXES = (
    ("ations", ""), ("ation", ""), ("ments", ""), ("ment", ""), ("ings", ""), ("ing", ""),
    ("ions", ""), ("ion", ""), ("ies", "y"), ("ied", "y"), ("ed", ""),
    ("es", ""), ("e", ""), ("s", ""),
)  # fmt: skip


class CueError(ValueError):
    """The cue table cannot be used; the message names the file and the entry."""


# Stems that are words of their own: "note" must not read "not", nor "late" "lat" (latitude) or "lone"
# "lon".
_RESERVED_STEMS = frozenset({"not", "lat", "lon", "lng"})


@lru_cache(maxsize=8192)  # messages repeat their words; the suffix loop is most of the reading cost
def _stem(word: str) -> str:
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            stem = word[: -len(suffix)] + replacement
            return word if stem in _RESERVED_STEMS else stem
    return word


def _quoted(match: re.Match[str]) -> str:
    value = match.group(match.lastindex or 0)
    # A quoted sentence ("{'title': ['Missing data for required field.']}") is the message itself.
    if value.rstrip().endswith((".", "!")) and " " in value.strip():
        return f" {value} "
    if _SELECTOR.match(value):
        return f" {SELECTOR} "
    return f" {NAME} " if _IDENTIFIER.match(value) else f" {VALUE} "


def tokens(text: str) -> list[str]:
    """The normalized words of ``text`` (the same function normalizes the cue table's phrases)."""
    text = _URL.sub(" ", text[:READ_MAX_CHARS])
    text = _QUOTED.sub(_quoted, text)
    text = _FIELD.sub(lambda m: f" {m.group(0)} {NAME} ", text)
    text = _CAMEL.sub(" ", text).lower()
    out = []
    for word in _WORD.findall(text):
        if word[0].isdigit():
            out.append(NUMBER)
        elif word.startswith("_"):
            out.append(word)
        elif word not in _STOP:
            out.append(_stem(word))
    return out


@dataclass(frozen=True, slots=True)
class Topic:
    """Words about one thing. A topic with ``boosts`` has no category of its own: its cues (verbs
    such as create, save, match) strengthen the leading category when it is one of those, so they
    never choose between a venue and a performer, only widen the lead over the generic categories."""

    name: str
    category: str
    error_type: str
    boosts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Reading:
    """What the message reads as; ``decided`` when the confidence reaches the table's threshold and
    the score its ``min_score``."""

    category: str
    error_type: str
    confidence: float
    #: The cues that voted for this category, strongest first, as written in the table.
    cues: tuple[str, ...]
    decided: bool
    #: The confidence a reading needs to decide (the table's threshold).
    threshold: float


Vote = tuple[str, float, str]  # (topic, weight, the cue as written in the table)


@dataclass(frozen=True, slots=True)
class CueTable:
    topics: Mapping[str, Topic]
    #: phrase (normalized tokens) -> its votes
    cues: Mapping[tuple[str, ...], tuple[Vote, ...]]
    threshold: float
    prior: float
    #: The words that start a cue: most words of a message start none and are skipped at once.
    first_words: frozenset[str]
    #: The least score that may decide: one weak word ("changed", "column") never does, however
    #: alone it stands.
    min_score: float

    def _votes(self, words: list[str]) -> list[Vote]:
        found: dict[tuple[str, ...], float] = {}  # each cue counts once, at its first place
        covered_until = 0  # words inside a longer cue already found do not count again on their own
        for start, word in enumerate(words):
            if word not in self.first_words or (start and words[start - 1] in _UNIT_MARKERS):
                continue
            for size in range(_MAX_PHRASE, 0, -1):
                phrase = tuple(words[start : start + size])
                if len(phrase) < size or phrase not in self.cues:
                    continue
                if start + size <= covered_until:
                    break
                if phrase not in found:
                    found[phrase] = SUBJECT_BONUS if start < SUBJECT_WORDS else 1.0
                covered_until = max(covered_until, start + size)
                break
        return [
            (topic, weight * bonus, written)
            for phrase, bonus in found.items()
            for topic, weight, written in self.cues[phrase]
        ]

    def read(self, text: str) -> Reading | None:
        """The best reading of ``text``; None when no cue speaks for any category."""
        votes = self._votes(tokens(text))
        scores: dict[str, float] = {}  # by category
        by_topic: dict[str, float] = {}
        counted: list[tuple[str, float, str]] = []  # (category, weight, cue)
        for topic, weight, written in votes:
            if not self.topics[topic].boosts:
                category = self.topics[topic].category
                scores[category] = scores.get(category, 0.0) + weight
                by_topic[topic] = by_topic.get(topic, 0.0) + weight
                counted.append((category, weight, written))
        # Boosts follow the nouns: they strengthen the leading category when it is one they serve
        # ("could not save venue"), and say nothing when the message is about something else
        # ("address resolved to multiple locations" is no record of ours).
        leader = min(scores.items(), key=lambda item: (-item[1], item[0]), default=("", 0.0))[0]
        for topic, weight, written in votes:
            if leader in self.topics[topic].boosts:
                scores[leader] += weight
                counted.append((leader, weight, written))
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        if not ranked or ranked[0][1] <= 0:
            return None
        category, best = ranked[0]
        runner_up = max(ranked[1][1], 0.0) if len(ranked) > 1 else 0.0
        confidence = round((best - runner_up) / (best + self.prior), 3)
        topic = max(
            (t for t in by_topic if self.topics[t].category == category), key=lambda t: (by_topic[t], t)
        )
        cues = sorted((-weight, written) for c, weight, written in counted if c == category and weight > 0)
        return Reading(
            category=category,
            error_type=self.topics[topic].error_type,
            confidence=confidence,
            cues=tuple(dict.fromkeys(written for _, written in cues)),
            decided=confidence >= self.threshold and best >= self.min_score,
            threshold=self.threshold,
        )


def load_cues(path: str | Path, *, categories: Collection[str]) -> CueTable:
    """Read and validate a cue table (raises CueError naming the file and the entry)."""
    source = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CueError(f"{source}: cannot read cue table: {exc}") from exc
    return _parse(data, categories=categories, source=source)


def _number(data: Mapping[str, Any], key: str, source: str) -> float:
    value = data.get(key)
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise CueError(f"{source}: {key!r} must be a non-negative number, got {value!r}")
    return float(value)


def _parse(data: Any, *, categories: Collection[str], source: str) -> CueTable:
    if not isinstance(data, Mapping) or not isinstance(data.get("topics"), Mapping):
        raise CueError(f"{source}: expected a mapping with 'threshold', 'prior', 'min_score' and 'topics'")
    topics: dict[str, Topic] = {}
    cues: dict[tuple[str, ...], list[Vote]] = {}
    for name, raw in data["topics"].items():
        where = f"{source}: topic {name!r}"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("cues"), Mapping):
            raise CueError(f"{where}: expected a mapping with a 'cues' mapping")
        boosts = raw.get("boosts", [])
        if not isinstance(boosts, list) or not set(boosts) <= set(categories):
            raise CueError(f"{where}: 'boosts' must list categories among {', '.join(categories)}")
        if boosts:
            topics[name] = Topic(name, "", "", tuple(boosts))
        elif raw.get("category") not in categories:
            raise CueError(f"{where}: needs a 'category' among {', '.join(categories)} (or 'boosts')")
        elif not isinstance(raw.get("error_type"), str):
            raise CueError(f"{where}: needs an 'error_type'")
        else:
            topics[name] = Topic(name, raw["category"], raw["error_type"])
        for written, weight in raw["cues"].items():
            if not isinstance(written, str):  # YAML reads null, yes, no as values: quote them
                raise CueError(f"{where}: cue {written!r} must be text (quote it)")
            phrase = tuple(tokens(written))
            if not phrase or len(phrase) > _MAX_PHRASE:
                raise CueError(f"{where}: cue {written!r} must be 1 to {_MAX_PHRASE} words besides articles")
            if not isinstance(weight, int | float) or isinstance(weight, bool):
                raise CueError(f"{where}: cue {written!r} needs a number as weight, got {weight!r}")
            votes = cues.setdefault(phrase, [])
            if any(topic == name for topic, _, _ in votes):  # "coordinate" and "coordinates" read alike
                raise CueError(f"{where}: cue {written!r} reads like another cue of this topic")
            # Two topics of one category voting for the same words would count them twice for it
            # ("mismatch" and "mismatched" were both data quality and outweighed the subject).
            category = topics[name].category
            twins = [topic for topic, _, _ in votes if category and topics[topic].category == category]
            if twins:
                raise CueError(f"{where}: cue {written!r} reads like a cue of {twins[0]!r} ({category})")
            votes.append((name, float(weight), written))
    return CueTable(
        topics=topics,
        cues={phrase: tuple(votes) for phrase, votes in cues.items()},
        threshold=_number(data, "threshold", source),
        prior=_number(data, "prior", source),
        min_score=_number(data, "min_score", source),
        first_words=frozenset(phrase[0] for phrase in cues),
    )
