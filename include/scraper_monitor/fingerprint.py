"""Error fingerprints: one id for messages that differ only in ids, numbers, dates and URLs.

``normalize_message`` replaces the variable parts of a message with placeholders; ``fingerprint``
hashes category + error type + normalized text, so the "top errors" panel groups
"Read timed out ... cinema 1090 ... 2025-11-24" with the same error for another cinema and day,
while two different errors, or the same text filed under two categories, stay apart.

Normalization is idempotent (placeholders are never rewritten), so a normalized message can be
fingerprinted again with the same result.
"""

from __future__ import annotations

import hashlib
import re

#: Input beyond this is ignored (it is also the store's message bound): keeps the cost per call
#: bounded when an exception carries a whole HTML page.
INPUT_MAX_CHARS = 2000
#: Length of a normalized message: enough to tell errors apart and to show in a table.
NORMALIZED_MAX_CHARS = 300

_PL_WEEKDAYS = "poniedziałek|wtorek|środa|czwartek|piątek|sobota|niedziela"
_PL_MONTHS = (
    "stycznia|lutego|marca|kwietnia|maja|czerwca|lipca|sierpnia|września|października|listopada|grudnia"
)
_EN_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"

# Order matters: whole structures (URLs, dates) go before the numbers inside them.
_SUBSTITUTIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), placeholder)
    for pattern, placeholder in (
        (r"\b(?:https?|wss?|ftp)://[^\s'\"<>()\[\]{}]+", "<url>"),
        (r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+", "<email>"),
        (r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<uuid>"),
        (
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b",
            "<date>",
        ),
        # Kino Krakow date headers: "wtorek, 24 listopada" (no year); English for good measure.
        (
            rf"\b(?:(?:{_PL_WEEKDAYS}),?\s+)?\d{{1,2}}\s+(?:{_PL_MONTHS}|{_EN_MONTHS})(?:\s+\d{{4}})?\b",
            "<date>",
        ),
        (r"\b\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\b", "<time>"),
        # Site paths such as /film/wicked-2024.html or /settings/set_day/3 (two segments or more).
        (r"(?<![\w/.~-])/[\w.%~+-]+(?:/[\w.%~+-]*)+", "<path>"),
        (r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b", "<ip>"),
        # Memory addresses and hashes. A long hex run needs a digit and a letter: words such as
        # "deadbeef" survive and plain numbers stay numbers (the rule below).
        (r"\b(?:0x[0-9a-f]+|(?=\d*[a-f])(?=[a-f]*\d)[0-9a-f]{8,})\b", "<hex>"),
        # Cinema City film ids like "7592s3r": digits, letters, digits; also inside external ids
        # (cinema_city_film_7592s3r), hence no \b before.
        (r"(?<![^\W_])\d+[a-z]+\d+[a-z0-9]*(?![^\W_])", "<id>"),
    )
)
# Quoted values are data (titles, slugs, ids) unless they look like identifiers, which name *what*
# failed ('venue_id', "title", 'eventDateTime', 'body.films'), so errors about different fields
# stay apart. Titles start with a capital or hold spaces or digits, so they are replaced.
# A single quote between letters is an apostrophe ("can't", 'Don't Look Up'), not a quote.
_QUOTED = re.compile(
    r"(?<![^\W\d_])'((?:[^'\n]|'(?=[^\W\d_])){0,200})'(?![^\W\d_])"
    r"|\"([^\"\n]{0,200})\"|„([^”\"\n]{0,200})[”\"]|“([^”\n]{0,200})”"
)
_IDENTIFIER = re.compile(r"[a-z_][A-Za-z_]*(?:\.[A-Za-z_]+)*\Z")
# Numbers not glued to a letter: "port 5432", "_1090_", "100ms"; but not "utf8", "x86", "sha256".
_NUMBER = re.compile(r"(?<![^\W_])\d+(?:[.,]\d+)*")
# ...except error codes, which say which error it is: "[Errno 111]", TMDB's "status_code":34.
_ERROR_CODE_BEFORE = re.compile(
    r"(?:errno|status_code|error_code|errorcode)[\"']?\s*[:=]?\s*\Z", re.IGNORECASE
)
_SPACE = re.compile(r"\s+")


def _quoted(match: re.Match[str]) -> str:
    value = match.group(match.lastindex or 0)
    return match.group(0) if _IDENTIFIER.match(value) else "<str>"


def _number(match: re.Match[str]) -> str:
    before = match.string[max(0, match.start() - 16) : match.start()]
    return match.group(0) if _ERROR_CODE_BEFORE.search(before) else "<n>"


def normalize_message(message: str | None) -> str:
    """The message with its variable parts replaced by placeholders, whitespace collapsed, bounded."""
    if not message:
        return ""
    text = message[:INPUT_MAX_CHARS]
    for pattern, placeholder in _SUBSTITUTIONS:
        text = pattern.sub(placeholder, text)
    text = _QUOTED.sub(_quoted, text)
    text = _NUMBER.sub(_number, text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > NORMALIZED_MAX_CHARS:
        text = text[: NORMALIZED_MAX_CHARS - 1].rstrip() + "…"
    return text


def fingerprint(category: str, error_type: str, message: str | None) -> str:
    """A short stable id (16 hex chars) of category + error type + normalized message."""
    return digest(category, error_type, normalize_message(message))


def digest(category: str, error_type: str, normalized: str) -> str:
    """``fingerprint`` for a message that is already normalized (saves normalizing twice)."""
    key = f"{category}\x1f{error_type}\x1f{normalized}"
    # surrogatepass: a message may hold a lone surrogate (JSON escapes decode to one), which plain
    # UTF-8 refuses; the monitor must file it all the same.
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()
