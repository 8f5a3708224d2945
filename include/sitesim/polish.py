"""Polish text conventions the simulated sites use (dates, diacritics, URL slugs).

Kept in one place because the scrapers must parse exactly these forms: Kino Krakow prints dates as
"wtorek, 24 listopada" (no year), Cinema City's city filter compares names without diacritics, and
Kino Krakow film URLs are ASCII slugs of the Polish title.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

WEEKDAYS: tuple[str, ...] = (
    "poniedziałek",
    "wtorek",
    "środa",
    "czwartek",
    "piątek",
    "sobota",
    "niedziela",
)
MONTHS_GENITIVE: tuple[str, ...] = (
    "stycznia",
    "lutego",
    "marca",
    "kwietnia",
    "maja",
    "czerwca",
    "lipca",
    "sierpnia",
    "września",
    "października",
    "listopada",
    "grudnia",
)

# "ł" has no Unicode decomposition, so NFKD alone would keep it.
_EXTRA_FOLDS = str.maketrans({"ł": "l", "Ł": "L"})


def polish_date(day: date) -> str:
    """The Kino Krakow date header text, e.g. ``wtorek, 24 listopada``."""
    return f"{WEEKDAYS[day.weekday()]}, {day.day} {MONTHS_GENITIVE[day.month - 1]}"


def strip_diacritics(text: str) -> str:
    """ASCII-fold Polish letters (ą->a, ł->l, ...), as the Cinema City city filter does."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_EXTRA_FOLDS))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def same_city(a: str, b: str) -> bool:
    """City names compare case-insensitively after stripping diacritics ("krakow" == "Kraków")."""
    return strip_diacritics(a).casefold().strip() == strip_diacritics(b).casefold().strip()


def slugify(text: str) -> str:
    """An ASCII URL slug: ``Wicked: Na dobre`` -> ``wicked-na-dobre``."""
    ascii_text = strip_diacritics(text).lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")


def search_key(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form of a title, used to look titles up."""
    return " ".join(re.sub(r"[^a-z0-9]+", " ", strip_diacritics(text).casefold()).split())
