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
