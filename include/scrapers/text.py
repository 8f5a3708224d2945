"""Text helpers for Polish listings."""

from __future__ import annotations

import re
import unicodedata

# ł has no Unicode decomposition, so NFKD alone would keep it.
_NO_DECOMPOSITION = str.maketrans({"ł": "l", "Ł": "L"})


def fold(text: str) -> str:
    """Lower-case without diacritics: "Kraków" and "KRAKOW" fold equal, "Września" -> "wrzesnia"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_NO_DECOMPOSITION))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str) -> str:
    """The one key of a name in URLs, params and the monitor's city column: folded (see ``fold``),
    every run of other characters one '-': "Kraków" and "krakow" -> "krakow", "Bielsko-Biała" ->
    "bielsko-biala", "Nowy Sącz" -> "nowy-sacz". Empty when nothing letter-like is left."""
    return _NOT_SLUG.sub("-", fold(text)).strip("-")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def valid_unicode(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD. JSON may carry them (``"\\ud800"`` decodes to
    one), but they cannot be encoded: a URL, a UTF-8 log line or PostgreSQL would raise on them."""
    return _LONE_SURROGATE.sub("\ufffd", text)
