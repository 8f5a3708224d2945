"""PLACEHOLDER until H2 merges: city_of(params) -> slug."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any


def city_key(name: str) -> str:
    folded = unicodedata.normalize("NFKD", name.replace("ł", "l").replace("Ł", "L"))
    return "-".join("".join(c for c in folded if not unicodedata.combining(c)).lower().split())


def city_of(params: Mapping[str, Any]) -> str | None:
    value = params.get("city") or params.get("city_name")
    return city_key(str(value)) if value else None
