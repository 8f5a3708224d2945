"""Film -> TMDB match: confidence formula and decision bands (docs/architecture.md, "Matching")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from scrapers.tmdb.client import MovieDetails, TmdbClient, TmdbMovie
from scrapers.tmdb.normalize import MAX_TITLE_CHARS, normalize_title
from scrapers.tmdb.similarity import jaro

MATCH_THRESHOLD = 0.70
#: Pages of 20 results read per search title at most, when the first gives no confident match.
MAX_SEARCH_PAGES = 3
REVIEW_THRESHOLD = 0.50
POLISH_LANGUAGE = "pl-PL"

# How the best candidate was found (``MatchResult.method``): the query title that matched it best,
#   original       the listing's own original title (Kino Krakow's "Tytuł oryginalny")
#   split          the part before ". " of a mixed "Original. Polish" name (Cinema City)
#   guessed_split  the part before ": " or " - " (may only be a franchise: counts x0.9)
#   polish         the Polish title, searched in Polish
# then "_exact" when that title equals the candidate's (after normalisation, ignoring case), else
# "_fuzzy"; "+any_year" when only the search repeated without the year found it (a Polish release
# a year after the premiere); "+page<N>" when it came from result page N > 1. "split_exact+page2".
ORIGINAL, SPLIT, GUESSED_SPLIT, POLISH = "original", "split", "guessed_split", "polish"

MatchReason = Literal["tmdb_needs_review", "tmdb_low_confidence", "tmdb_no_results", "missing_title"]


@dataclass(frozen=True)
class FilmQuery:
    """What a listing tells us about a film."""

    polish_title: str | None
    original_title: str | None = None
    year: int | None = None
    #: ISO 639-1 code ("en") when the listing says; None when unknown.
    original_language: str | None = None
    #: The original title was split off at ": " or " - ", which may only separate a franchise from its
    #: subtitle ("Avatar: Istota wody"): it is searched, but a film matching only it counts a little
    #: less than one matching the whole name, so "Avatar" (2009) does not win when the year is unknown.
    original_is_guess: bool = False
    #: The original title was split off the listing's mixed "Original. Polish" name (Cinema City)
    #: rather than given by the listing (Kino Krakow's "Tytuł oryginalny"); only the method says so.
    original_is_split: bool = False

    def original_kind(self) -> str:
        """How the original title was obtained, as ``MatchResult.method`` names it."""
        if self.original_is_guess:
            return GUESSED_SPLIT
        return SPLIT if self.original_is_split else ORIGINAL

    def query_titles(self) -> list[tuple[str, str | None]]:
        """(normalised title, search language): the original title first, then the Polish one."""
        queries: list[tuple[str, str | None]] = []
        original = normalize_title(self.original_title or "")
        polish = normalize_title(self.polish_title or "")
        # A guessed split that is the whole (normalised) name is no original title: "Jedna bitwa po
        # drugiej - wersja rozszerzona" splits into its own Polish title. Search it in Polish.
        if original and not (self.original_is_guess and original == polish):
            queries.append((original, None))
        if polish and all(polish != seen for seen, _ in queries):
            queries.append((polish, POLISH_LANGUAGE))
        return queries


@dataclass(frozen=True)
class MatchResult:
    matched: bool
    #: Set only when matched; the best candidate of a non-match is ``candidate_id``.
    tmdb_id: int | None
    candidate_id: int | None
    confidence: float
    #: None when matched; else why not (a tmdb_* reason, or missing_title).
    reason: MatchReason | None
    candidate_title: str | None
    candidates: int
    #: How the best candidate was found (see ORIGINAL ... above); None when there was none.
    method: str | None = None


#: How much a match on a guessed original title counts against one on the whole listing name.
GUESSED_TITLE_WEIGHT = 0.9


def title_score(query_titles: list[str], movie: TmdbMovie, weights: list[float] | None = None) -> float:
    """Best Jaro similarity of any query title to the movie's titles, each scaled by its weight.
    TMDB's titles are cut like the query's (normalize_title): Jaro is quadratic in the length."""
    return max(
        (
            weight * jaro(q.lower(), t[:MAX_TITLE_CHARS].lower())
            for q, weight in zip(query_titles, weights or [1.0] * len(query_titles), strict=True)
            for t in (movie.title, movie.original_title)
            if q and t
        ),
        default=0.0,
    )


def year_score(film_year: int | None, movie_year: int | None) -> float:
    if film_year is None or movie_year is None:
        return 0.5
    return {0: 1.0, 1: 0.8, 2: 0.5}.get(abs(film_year - movie_year), 0.0)


def popularity_score(popularity: float) -> float:
    for floor, score in ((100, 1.0), (50, 0.8), (20, 0.6), (5, 0.4)):
        if popularity >= floor:
            return score
    return 0.2


def language_score(film_language: str | None, movie_language: str | None) -> float:
    if not film_language:
        return 0.5
    if movie_language and movie_language.lower() == film_language.lower():
        return 1.0
    if (movie_language or "").lower() == "en":
        return 0.7
    return 0.5


def _weighted_queries(film: FilmQuery) -> list[tuple[str, str | None, float]]:
    """(query title, search language, weight of its similarity): a guessed split counts x0.9."""
    guessed = normalize_title(film.original_title or "") if film.original_is_guess else None
    return [
        (title, language, GUESSED_TITLE_WEIGHT if guessed and title == guessed else 1.0)
        for title, language in film.query_titles()
    ]


def confidence(film: FilmQuery, movie: TmdbMovie) -> float:
    queries = _weighted_queries(film)
    titles = [title for title, _, _ in queries]
    weights = [weight for _, _, weight in queries]
    return (
        0.40 * title_score(titles, movie, weights)
        + 0.30 * year_score(film.year, movie.release_year)
        + 0.15 * popularity_score(movie.popularity)
        + 0.15 * language_score(film.original_language, movie.original_language)
    )


def decide(best: float) -> MatchReason | None:
    """None (matched) at >= 0.70; needs review at 0.50-0.70; low confidence below."""
    if best >= MATCH_THRESHOLD:
        return None
    if best >= REVIEW_THRESHOLD:
        return "tmdb_needs_review"
    return "tmdb_low_confidence"


@dataclass(frozen=True)
class _Found:
    """Which search first returned a candidate: without the year (after the year-filtered search
    found nothing) and on which result page."""

    any_year: bool
    page: int


def _add(candidates: dict[int, dict[TmdbMovie, _Found]], movie: TmdbMovie, found: _Found) -> None:
    candidates.setdefault(movie.id, {}).setdefault(movie, found)


def _method(film: FilmQuery, movie: TmdbMovie, found: _Found) -> str:
    """How ``movie`` was found for ``film``: the query title closest to it (the first one on a tie,
    as they are searched), exact or fuzzy, and how the search had to be widened."""
    _, title, language = max(
        (
            (weight * jaro(title.lower(), t.lower()), title, language)
            for title, language, weight in _weighted_queries(film)
            for t in (movie.title, movie.original_title)
            if t
        ),
        key=lambda scored: scored[0],
        default=(0.0, "", None),
    )
    kind = film.original_kind() if language is None else POLISH
    exact = bool(title) and title.lower() in {movie.title.lower(), movie.original_title.lower()}
    text = f"{kind}_{'exact' if exact else 'fuzzy'}"
    if found.any_year:
        text += "+any_year"
    if found.page > 1:
        text += f"+page{found.page}"
    return text


def match_film(client: TmdbClient, film: FilmQuery) -> MatchResult:
    """Search every query title, score all candidates, decide on the best.

    TMDB errors propagate (the task retries); an unconvincing answer is a result, not an error.
    """
    queries = film.query_titles()
    if not queries:
        return MatchResult(False, None, None, 0.0, "missing_title", None, 0)
    # Each film as every search returned it: TMDB localises ``title`` to the search language, so the
    # Polish search's answer carries the Polish title that the listing's name matches.
    candidates: dict[int, dict[TmdbMovie, _Found]] = {}
    more: list[tuple[str, str | None, int | None, int]] = []  # searches with pages left to read
    for title, language in queries:
        year = film.year
        page = client.search_page(title, year=year, language=language)
        if not page.results and year is not None:
            # TMDB filters on the year strictly; a Polish release a year after the premiere (or a
            # listing's wrong year) would hide the film: ask again without it.
            year = None
            page = client.search_page(title, language=language)
        for movie in page.results:
            _add(candidates, movie, _Found(any_year=year != film.year, page=1))
        if page.total_pages > 1:
            more.append((title, language, year, page.total_pages))
    if not candidates:
        return MatchResult(False, None, None, 0.0, "tmdb_no_results", None, 0)

    def best_of() -> tuple[TmdbMovie, float]:
        scored = [(confidence(film, m), m) for variants in candidates.values() for m in variants]
        score, top = min(scored, key=lambda sm: (-sm[0], sm[1].id))
        return top, score

    best, best_score = best_of()
    # The first page holds 20 results, most popular first: a generic title ("Dom", "Matka") can push the
    # film itself further down. Read on, bounded, only while nothing convinces.
    for title, language, year, total in more:
        for number in range(2, min(total, MAX_SEARCH_PAGES) + 1):
            if decide(best_score) is None:
                break
            for movie in client.search_page(title, year=year, language=language, page=number).results:
                _add(candidates, movie, _Found(any_year=year != film.year, page=number))
            best, best_score = best_of()
    reason = decide(best_score)
    return MatchResult(
        matched=reason is None,
        tmdb_id=best.id if reason is None else None,
        candidate_id=best.id,
        confidence=round(best_score, 4),
        reason=reason,
        candidate_title=best.title,
        candidates=len(candidates),
        method=_method(film, best, candidates[best.id][best]),
    )


def matched_details(client: TmdbClient, match: MatchResult) -> MovieDetails | None:
    """TMDB's details (runtime, IMDb id) of a matched film; None when it did not match."""
    return client.movie_details(match.tmdb_id) if match.matched and match.tmdb_id is not None else None
