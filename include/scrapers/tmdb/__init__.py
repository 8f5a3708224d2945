"""TMDB search and the film matching rules (normalisation, original-title split, confidence)."""

from scrapers.tmdb.client import TmdbClient, TmdbConfig, TmdbMovie
from scrapers.tmdb.matching import FilmQuery, MatchResult, confidence, decide, match_film
from scrapers.tmdb.normalize import normalize_title, split_original_title
from scrapers.tmdb.similarity import jaro

__all__ = [
    "FilmQuery",
    "MatchResult",
    "TmdbClient",
    "TmdbConfig",
    "TmdbMovie",
    "confidence",
    "decide",
    "jaro",
    "match_film",
    "normalize_title",
    "split_original_title",
]
