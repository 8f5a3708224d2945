"""Title clean-up before a TMDB search, and the "Original. Polish" split (origin-system 1.5).

Cinema listings decorate titles with screening details (dubbing, 3D, IMAX, club codes, the year);
TMDB knows none of them, and each costs Jaro similarity.
"""

from __future__ import annotations

import re

# Applied in order, each case-insensitively, until the title stops changing (decorations stack:
# "Avatar 3D napisy polskie").
_SUFFIXES = [
    r"\s*[-–—]?\s*(?:ukraiński|ukrainian)\s+dubbing$",
    r"\s*[-–—]?\s*dubbing$",
    r"\s*[-–—]?\s*(?:napisy\s+polskie|polish\s+subtitles)$",
    r"\s*[-–—]?\s*wersja\s+polska$",
    r"\s+[23]D$",
    r"\s*\(\d{4}\)$",
    r"\s+górą!$",
    r"\s+(?:IMAX|Dolby(?:\s+Atmos)?|4DX|ScreenX)$",
    r"\s*(?:-\s*)?\b(?:NAP|KNT|DKF|PKF)$",
    r":\s*Święta i inne opowieści$",
    r"\s+i inne opowieści$",
    r"\s*-\s*sezon\s+\d+$",
    r"\s+s\d{1,2}e\d{1,3}$",
    r"\s*[-–—]?\s*\blektor$",  # a voice-over screening: "Dzikie róże LEKTOR"
    r"\s*[-–—]\s*wersja\s+(?:rozszerzona|reżyserska)$",  # "Diuna - wersja rozszerzona"
]
_PREFIXES = [r"^Kolekcja\s+", r"^Święta z\s+"]
_PATTERNS = [re.compile(p, re.IGNORECASE) for p in _SUFFIXES + _PREFIXES]
_IN_CINEMA = re.compile(r"\s+w kinie:\s+", re.IGNORECASE)
_SPACES = re.compile(r"\s+")

#: Tried in this order; the part before the first one found is the original title. Only ". " is the
#: listing's "Original. Polish" convention; the others also separate a franchise from its subtitle
#: ("Avatar: Istota wody", "Czas apokalipsy: wersja reżyserska"), so a split there is only a guess.
ORIGINAL_TITLE_SEPARATORS = (". ", ": ", " - ", " – ", " — ")
CERTAIN_SEPARATOR = ". "


#: Longer text is no film title (the store keeps 500 characters). Bounds the work on scraped text:
#: the suffix loop below and the Jaro similarity are quadratic in the length, and a page whose title
#: runs to thousands of characters ("Film 3D 3D 3D ...") would otherwise hold a task for minutes.
MAX_TITLE_CHARS = 300


def normalize_title(title: str) -> str:
    """Strip screening decorations from a listing title (cut to ``MAX_TITLE_CHARS``); collapse
    whitespace."""
    text = _SPACES.sub(" ", _IN_CINEMA.sub(" ", title[:MAX_TITLE_CHARS])).strip()
    changed = True
    while changed:
        changed = False
        for pattern in _PATTERNS:
            stripped = pattern.sub("", text).strip()
            if stripped and stripped != text:
                text, changed = stripped, True
    return _SPACES.sub(" ", text)


def split_original_title(name: str, original_language: str | None) -> str | None:
    """The original title of a mixed "Original. Polish" listing name, for English-language films.

    "Eternity. Wybieram ciebie" -> "Eternity". ``None`` when the film is not English or the name has
    no separator (then the name is simply the Polish title). Whether the split is certain:
    ``split_is_guess``.
    """
    if (original_language or "").lower() != "en":
        return None
    for separator in ORIGINAL_TITLE_SEPARATORS:
        head, found, _tail = name.partition(separator)
        if found and head.strip():
            return head.strip()
    return None


def split_is_guess(name: str) -> bool:
    """True when the original title was split off at a separator that may only start a subtitle
    (no ". " in the name, which split_original_title would have used first)."""
    return CERTAIN_SEPARATOR not in name
