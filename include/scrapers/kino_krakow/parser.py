"""Kino Krakow HTML (Rails site) -> typed records: program table, movie page (with its own showtime
table), CSRF token."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, time

from lxml import html as lxml_html

from scrapers.errors import CsrfTokenMissing, ParseError, SelectorMissing
from scrapers.text import fold

PROGRAM_TABLE = "table.repert"
EMPTY_DAY_NOTICE = "brak seansow"  # folded "Brak seansów w wybranym dniu."

_MONTHS = {
    "stycznia": 1, "lutego": 2, "marca": 3, "kwietnia": 4, "maja": 5, "czerwca": 6,
    "lipca": 7, "sierpnia": 8, "wrzesnia": 9, "pazdziernika": 10, "listopada": 11, "grudnia": 12,
}  # fmt: skip
_DAY_MONTH = re.compile(r"(\d{1,2})\s+([^\W\d_]+)")
_FILM_HREF = re.compile(r"/film/([^/?#]+?)\.html")
_UUID_SUFFIX = re.compile(r"-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
_CLOCK = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")
_YEAR = re.compile(r"\b(1[89]\d\d|2\d\d\d)\b")
_TOKEN = re.compile(r"[\x21-\x7e]+")
#: At most four digits: a longer number is no runtime (and int() refuses over 4300 digits).
_MINUTES = re.compile(r"(?<!\d)(\d{1,4})\s*min")


@dataclass(frozen=True)
class FilmLink:
    slug: str
    title: str


@dataclass(frozen=True)
class ProgramShowtime:
    """One hour link of the program table. Unreadable parts stay None for the showtimes step."""

    film: FilmLink | None
    cinema_slug: str | None
    cinema_name: str | None
    day: date | None
    clock: time | None
    ticket_path: str | None


@dataclass(frozen=True)
class ProgramPage:
    films: list[FilmLink] = field(default_factory=list)
    showtimes: list[ProgramShowtime] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)
    #: True when the site says the day has no screenings (no table, the notice instead).
    empty_notice: bool = False


@dataclass(frozen=True)
class FilmPageShowtime:
    """One screening of a film page's own showtime table. Unreadable parts stay None."""

    day: date | None
    cinema_slug: str | None
    clock: time | None
    showtime_id: str | None


@dataclass(frozen=True)
class MoviePage:
    polish_title: str
    original_title: str | None
    director: str | None
    country: str | None
    year: int | None
    runtime_min: int | None
    #: The film's screenings as its own page lists them: a second view of the day pages' programme.
    showtimes: list[FilmPageShowtime] = field(default_factory=list)


def _document(text: str, url: str) -> lxml_html.HtmlElement:
    try:
        return lxml_html.document_fromstring(text)
    except (ValueError, lxml_html.etree.ParserError) as exc:
        raise ParseError(f"page is not parseable HTML: {exc}", url=url) from None


def _has_class(*classes: str) -> str:
    """XPath predicate for elements carrying every class (lxml's cssselect needs an extra package)."""
    return " and ".join(f"contains(concat(' ', normalize-space(@class), ' '), ' {c} ')" for c in classes)


def _find(element: lxml_html.HtmlElement, tag: str, *classes: str) -> list[lxml_html.HtmlElement]:
    """Descendants ``tag.class1.class2`` of ``element``."""
    predicate = f"[{_has_class(*classes)}]" if classes else ""
    return element.xpath(f".//{tag}{predicate}")


def _text(element: lxml_html.HtmlElement | None) -> str:
    return " ".join(element.text_content().split()) if element is not None else ""


def csrf_token(text: str, *, url: str) -> str | None:
    """The Rails ``<meta name="csrf-token">`` content, or None when the page has none.

    The token travels in a request header, so it must be printable ASCII (Rails' are base64): any
    other content is refused here as CsrfTokenMissing, not left to fail the header untyped.
    """
    doc = _document(text, url)
    values = doc.xpath("//meta[@name='csrf-token']/@content")
    token = (values[0].strip() or None) if values else None
    if token is not None and not _TOKEN.fullmatch(token):
        raise CsrfTokenMissing(
            f"the csrf-token meta tag holds {token[:40]!r}, not a token (printable ASCII)",
            url=url,
            selector="meta[name=csrf-token]",
        )
    return token


def strip_uuid(slug: str) -> str:
    """Program links may end the slug with a UUID; the movie pages use the clean slug."""
    return _UUID_SUFFIX.sub("", slug)


def film_slug(href: str) -> str | None:
    found = _FILM_HREF.search(href)
    return strip_uuid(found.group(1)) if found else None


def parse_polish_date(text: str, scrape_date: date) -> date:
    """ "wtorek, 24 listopada" -> the date of that day and month nearest to ``scrape_date``.

    The site prints no year. Nearest (not "this year") keeps a late-December scrape's
    "2 stycznia" in the next year, and a 1 January scrape's "31 grudnia" in the last one.
    """
    found = _DAY_MONTH.search(fold(text))
    month = _MONTHS.get(found.group(2)) if found else None
    if found is None or month is None:
        raise ValueError(f"not a Polish day-month date: {text!r}")
    day = int(found.group(1))
    candidates = []
    for year in (scrape_date.year - 1, scrape_date.year, scrape_date.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:  # 29 lutego outside a leap year
            continue
    if not candidates:
        raise ValueError(f"no such date: {text!r}")
    return min(candidates, key=lambda d: abs((d - scrape_date).days))


def parse_film_links(text: str, *, url: str) -> list[FilmLink]:
    """Every ``a.preview-link.film`` of a page, deduplicated by slug."""
    doc = _document(text, url)
    links: dict[str, FilmLink] = {}
    for anchor in _find(doc, "a", "preview-link", "film"):
        slug = film_slug(anchor.get("href") or "")
        if slug:
            links.setdefault(slug, FilmLink(slug=slug, title=_text(anchor)))
    return list(links.values())


def parse_program(text: str, *, url: str, scrape_date: date) -> ProgramPage:
    """The program table, rows in order with a running date and film.

    No table: the empty-day notice makes it a legitimately empty page; no notice either means the
    layout changed (SelectorMissing).
    """
    doc = _document(text, url)
    tables = _find(doc, "table", "repert")
    if not tables:
        notices = (fold(_text(p)) for p in _find(doc, "p", "notice"))
        if any(EMPTY_DAY_NOTICE in n for n in notices):
            return ProgramPage(empty_notice=True)
        raise SelectorMissing(f"no {PROGRAM_TABLE} and no empty-day notice", selector=PROGRAM_TABLE, url=url)
    films: dict[str, FilmLink] = {}
    showtimes: list[ProgramShowtime] = []
    dates: list[date] = []
    current_day: date | None = None
    current_film: FilmLink | None = None
    for row in tables[0].xpath("./tbody/tr | ./tr"):
        date_cells = _find(row, "th", "date")
        if date_cells:
            try:
                current_day = parse_polish_date(_text(date_cells[0]), scrape_date)
            except ValueError as exc:
                raise ParseError(str(exc), url=url, selector=f"{PROGRAM_TABLE} th.date") from None
            dates.append(current_day)
            continue
        film_anchors = _find(row, "a", "preview-link", "film")
        if film_anchors:
            slug = film_slug(film_anchors[0].get("href") or "")
            current_film = FilmLink(slug=slug, title=_text(film_anchors[0])) if slug else None
            if current_film:
                films.setdefault(current_film.slug, current_film)
            continue
        cinema_cells = _find(row, "td", "cinema_film")
        if cinema_cells:
            showtimes.extend(_cinema_row(row, cinema_cells[0], current_film, current_day))
    return ProgramPage(films=list(films.values()), showtimes=showtimes, dates=dates)


def _cinema_slug(cell: lxml_html.HtmlElement) -> str | None:
    """``/cinema-city/kazimierz`` -> ``cinema-city/kazimierz`` (the slug may hold a slash)."""
    anchor = next(iter(_find(cell, "a")), None)
    return ((anchor.get("href") or "").strip("/") or None) if anchor is not None else None


def _clock(text: str) -> time | None:
    found = _CLOCK.search(text)
    return time(int(found.group(1)), int(found.group(2))) if found else None


def _cinema_row(
    row: lxml_html.HtmlElement,
    cell: lxml_html.HtmlElement,
    film: FilmLink | None,
    day: date | None,
) -> list[ProgramShowtime]:
    anchor = next(iter(_find(cell, "a")), None)
    cinema_slug = _cinema_slug(cell)
    cinema_name = _text(anchor if anchor is not None else cell) or None
    out = []
    for span in [s for td in _find(row, "td", "hours") for s in _find(td, "span", "hour")]:
        hour_links = [a for a in _find(span, "a") if "/by_cinema/" in (a.get("href") or "")]
        clock = _clock(_text(hour_links[0]) if hour_links else _text(span))
        ticket = next(iter(_find(span, "a", "buy_ticket")), None)
        out.append(
            ProgramShowtime(
                film=film,
                cinema_slug=cinema_slug,
                cinema_name=cinema_name,
                day=day,
                clock=clock,
                ticket_path=(ticket.get("href") or None) if ticket is not None else None,
            )
        )
    return out


def _labelled_values(doc: lxml_html.HtmlElement) -> dict[str, lxml_html.HtmlElement]:
    """``<strong>Label:</strong> value`` pairs: folded label -> the strong element."""
    return {fold(_text(s)).rstrip(":").strip(): s for s in doc.iter("strong")}


def _value_after(strong: lxml_html.HtmlElement) -> tuple[str, list[lxml_html.HtmlElement]]:
    """Text after a label up to the next label or line break, and the elements in it."""
    parts = [strong.tail or ""]
    elements = []
    for sibling in strong.itersiblings():
        if not isinstance(sibling.tag, str):  # a comment or processing instruction: only its tail is text
            parts.append(sibling.tail or "")
            continue
        if sibling.tag in ("strong", "br"):
            break
        elements.append(sibling)
        parts.append(sibling.text_content())
        parts.append(sibling.tail or "")
    return " ".join("".join(parts).split()), elements


def _film_page_showtimes(doc: lxml_html.HtmlElement, scrape_date: date) -> list[FilmPageShowtime]:
    """The film page's ``table.repert``: date rows, then cinema rows whose ``td.showtime`` holds one
    ``span.hour`` per screening (time = the span's first line, id = the ticket link's
    ``data-showtime-id``). A date header that does not read leaves its rows without a day."""
    tables = _find(doc, "table", "repert")
    if not tables:
        return []
    out: list[FilmPageShowtime] = []
    current_day: date | None = None
    for row in tables[0].xpath("./tbody/tr | ./tr"):
        date_cells = _find(row, "th", "date")
        if date_cells:
            try:
                current_day = parse_polish_date(_text(date_cells[0]), scrape_date)
            except ValueError:
                current_day = None
            continue
        cinema_cells = _find(row, "td", "cinema_film")
        if not cinema_cells:
            continue
        cinema_slug = _cinema_slug(cinema_cells[0])
        for span in [s for td in _find(row, "td", "showtime") for s in _find(td, "span", "hour")]:
            lines = span.text_content().strip().splitlines()
            ticket = next(iter(_find(span, "a", "buy_ticket")), None)
            out.append(
                FilmPageShowtime(
                    day=current_day,
                    cinema_slug=cinema_slug,
                    clock=_clock(lines[0]) if lines else None,
                    showtime_id=(ticket.get("data-showtime-id") or None) if ticket is not None else None,
                )
            )
    return out


def parse_movie_page(text: str, *, url: str, scrape_date: date) -> MoviePage:
    """The film's facts and its own showtime table (``scrape_date`` gives its year-less dates a year)."""
    doc = _document(text, url)
    h1 = next(iter(_find(doc, "h1")), None)
    title = _text(h1)
    if not title:
        raise SelectorMissing("movie page has no h1 title", selector="h1", url=url)
    labels = _labelled_values(doc)

    def value(label: str) -> str | None:
        strong = labels.get(label)
        return (_value_after(strong)[0] or None) if strong is not None else None

    director = None
    if (strong := labels.get("rezyseria")) is not None:
        text_value, elements = _value_after(strong)
        links = [_text(e) for e in elements if e.tag == "a"]
        director = links[0] if links else text_value or None
    production = value("produkcja")
    # New releases have no year under "Produkcja:" ("Polska"); "Premiera: 28 listopada 2025" has it.
    year_match = _YEAR.search(production or "") or _YEAR.search(value("premiera") or "")
    runtime_match = _MINUTES.search(value("czas trwania") or "")
    return MoviePage(
        polish_title=title,
        original_title=value("tytul oryginalny"),
        director=director,
        country=(production.split(",")[0].strip() or None) if production else None,
        year=int(year_match.group(1)) if year_match else None,
        runtime_min=int(runtime_match.group(1)) if runtime_match else None,
        showtimes=_film_page_showtimes(doc, scrape_date),
    )
