"""Text helpers for Polish listings."""

from __future__ import annotations

import unicodedata

# ł has no Unicode decomposition, so NFKD alone would keep it.
_NO_DECOMPOSITION = str.maketrans({"ł": "l", "Ł": "L"})


def fold(text: str) -> str:
    """Lower-case without diacritics: "Kraków" and "KRAKOW" fold equal, "Września" -> "wrzesnia"."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_NO_DECOMPOSITION))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()
