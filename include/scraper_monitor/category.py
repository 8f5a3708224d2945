"""Error categorization: one of the nine public categories, plus a finer error type, for any failure.

``categorize`` takes the first answer of, in order:

1. a typed exception: an object in the ``__cause__``/``__context__`` chain whose ``category`` is one
   of the nine (``scrapers.errors`` and anything shaped like it; read by duck typing). A typed
   ``unknown_error`` (the scrapers' base class) says nothing specific, so the later steps still
   run and it is only the fallback;
2. a known exception class (requests, urllib3, psycopg/psycopg2, lxml, pydantic, json, sockets,
   Airflow's interrupts), by isinstance against classes already loaded. Nothing is imported
   here: an exception of a library that was never imported cannot exist, so looking only in
   ``sys.modules`` is exact and keeps this module free of Airflow and cheap to import;
   Text alone (a stored message, the CLI) is filed the same way by the class names it starts its
   lines with ("KeyError: 'x'"), so the live exception and its stored text agree; a name given with
   another package's module ("playwright._impl._errors.TimeoutError") is not the known class;
3. an HTTP status: the ``http_status`` argument, a ``status``/``status_code``/``response.status_code``
   attribute in the chain (never on Airflow's own exceptions, whose ``status_code`` is meant for
   its REST API), or a status written in the text ("HTTP 503", "429 Client Error",
   "status code 404"); see ``_by_status`` for the mapping;
4. ordered text rules: the file named by ``$SCRAPER_MONITOR_ERROR_RULES`` first, then the built-in
   ``error_rules.yaml`` in this package;
5. reading the message (category_reading.py): what its words are about (a field, a value's format,
   the page, a venue, a performer, a category, a duplicate, the network, a location), when the
   reading is sure enough; a message nobody wrote a rule for still lands where a person would put it;
6. ``unknown_error``: ``unclassified`` when there was text no rule knows (add a rule), or
   ``no_error_info`` when there was nothing to read.

For an exception, the text seen by steps 3 to 5 is "Type: message" of every link of the chain,
so an unknown library's ``ConnectTimeout`` still reads as a timeout.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from scraper_monitor import settings
from scraper_monitor.category_reading import CueTable, Reading, load_cues
from scraper_monitor.fingerprint import digest, normalize_message
from scraper_monitor.rules import RuleError, RuleSet, read_rules_file

log = logging.getLogger(__name__)

VALIDATION_ERROR = "validation_error"
GEOCODING_ERROR = "geocoding_error"
VENUE_ERROR = "venue_error"
PERFORMER_ERROR = "performer_error"
CATEGORY_ERROR = "category_error"
DUPLICATE_ERROR = "duplicate_error"
NETWORK_ERROR = "network_error"
DATA_QUALITY_ERROR = "data_quality_error"
UNKNOWN_ERROR = "unknown_error"

#: The public contract, in the seed's order.
CATEGORIES: tuple[str, ...] = (
    VALIDATION_ERROR,
    GEOCODING_ERROR,
    VENUE_ERROR,
    PERFORMER_ERROR,
    CATEGORY_ERROR,
    DUPLICATE_ERROR,
    NETWORK_ERROR,
    DATA_QUALITY_ERROR,
    UNKNOWN_ERROR,
)
UNCLASSIFIED = "unclassified"
NO_ERROR_INFO = "no_error_info"


_CHAIN_MAX = 8  # causes followed; real chains are 1-4 deep
_TEXT_MAX_CHARS = 4000  # text given to the status parser and the rules: bounds the cost per call

Decision = tuple[str, str]  # (category, error_type)


@dataclass(frozen=True, slots=True)
class Categorization:
    category: str
    error_type: str
    fingerprint: str
    #: The message with ids, numbers, dates and URLs replaced (see fingerprint.normalize_message).
    message: str
    #: Which step decided, e.g. "typed:FetchTimeout", "class:ReadTimeout", "http_status:503",
    #: "rule:rate_limited", "reading:missing_field", "fallback": the first thing to look at when a
    #: filing surprises.
    matched_by: str
    #: What the reading step made of the text when it ran (the rules knew no answer): the words that
    #: decided and how sure; below the threshold it is the suggestion for an ``unknown_error``.
    reading: Reading | None = None


def load_rules(path: str | Path) -> RuleSet:
    """Read and validate a team's rules file against the nine categories (raises rules.RuleError).
    Its regexes are untrusted: time-boxed, and refused when they backtrack on hostile probes."""
    return read_rules_file(path, categories=CATEGORIES, untrusted=True)


def default_rules(*, strict: bool = False) -> RuleSet:
    """The rules of ``$SCRAPER_MONITOR_ERROR_RULES`` (if set), then the built-in ones.

    A broken user file must not cost the summaries their categories: it is reported once per
    process, in one line naming the file and the rule, and the built-in rules are used alone.
    ``strict`` raises instead (the CLI, to say what is wrong before a deployment).
    """
    return _rules_with(settings.user_error_rules_path(), strict)


def builtin_rules() -> RuleSet:
    """The rules shipped in this package alone."""
    return _rules_with(None, False)


@lru_cache(maxsize=8)
def _rules_with(extra_path: str | None, strict: bool) -> RuleSet:
    # Read once per process and path: categorize runs in every task's callbacks.
    builtin = read_rules_file(settings.DEFAULT_ERROR_RULES, categories=CATEGORIES)
    if not extra_path:
        return builtin
    try:
        return load_rules(extra_path) + builtin
    except RuleError as exc:
        if strict:
            raise
        log.error("scraper monitor: error rules not used, built-in rules only: %s", exc)
        return builtin


@lru_cache(maxsize=1)
def default_cues() -> CueTable:
    """The shipped cue table of the reading step, read once per process."""
    return load_cues(settings.DEFAULT_READING_CUES, categories=CATEGORIES)


def describe(error: BaseException | str | None) -> str:
    """The text of an error as categorize reads it: "Type: message" for an exception.

    Store this as the error message, and ``scraper-monitor categorize`` fed the stored text
    fingerprints it the same way as the live exception.
    """
    if error is None:
        return ""
    if isinstance(error, str):
        return error
    try:
        message = str(error)
    except Exception:  # a broken __str__ must not break the monitor
        message = ""
    name = type(error).__name__
    return f"{name}: {message}" if message else name


def categorize(
    error: BaseException | str | None,
    *,
    http_status: int | None = None,
    rules: RuleSet | None = None,
    cues: CueTable | None = None,
) -> Categorization:
    """File ``error`` under a category and error type; ``rules`` replaces ``default_rules()`` and
    ``cues`` the shipped cue table of the reading step."""
    message = describe(error)
    if isinstance(error, BaseException):
        chain = _chain(error)
        text = "\n".join(describe(link) for link in chain)[:_TEXT_MAX_CHARS]
    else:
        chain = []
        text = message[:_TEXT_MAX_CHARS]
    decided = _decide(chain, text, http_status, rules)
    reading = None
    if decided is None and text.strip():
        reading = (cues or default_cues()).read(text)
        if reading is not None and reading.decided:
            decided = reading.category, reading.error_type, f"reading:{reading.error_type}"
    category, error_type, matched_by = decided or _fallback(chain, text)
    normalized = normalize_message(message)
    return Categorization(
        category=category,
        error_type=error_type,
        fingerprint=digest(category, error_type, normalized),
        message=normalized,
        matched_by=matched_by,
        reading=reading,
    )


Answer = tuple[str, str, str]  # (category, error_type, matched_by)


def _decide(
    chain: list[BaseException], text: str, http_status: int | None, rules: RuleSet | None
) -> Answer | None:
    """The answer of the steps up to the rules; None when none of them knows."""
    for link in chain:
        typed = _typed(link)
        if typed is not None and typed[0] != UNKNOWN_ERROR:
            return (*typed, f"typed:{type(link).__name__}")

    # Text alone (the CLI, a stored message) names its exception classes ("Type: message" per line,
    # as describe() writes them); a class whose decision needs no object is filed by its name.
    names = set() if chain else _class_names_in_text(text)
    for known in _KNOWN_CLASSES:
        if isinstance(known.decide, _Fixed) and known.named_in(names):
            return (*known.decide.decision, f"class:{known.name}")
        cls = known.loaded()
        if cls is None:
            continue
        for link in chain:
            if isinstance(link, cls):
                return (*known.decide(link), f"class:{type(link).__name__}")

    for status in _statuses(http_status, chain, text):
        decided = _by_status(status)
        if decided:
            return (*decided, f"http_status:{status}")

    if text.strip():
        rule = (rules if rules is not None else default_rules()).match(text)
        if rule is not None:
            return rule.category, rule.error_type, f"rule:{rule.name}"
    return None


def _fallback(chain: list[BaseException], text: str) -> Answer:
    """No step knew: a typed ``unknown_error`` (the scrapers' base class) still names its type."""
    for link in chain:
        typed = _typed(link)
        if typed is not None:
            return (*typed, f"typed:{type(link).__name__}")
    return UNKNOWN_ERROR, UNCLASSIFIED if text.strip() else NO_ERROR_INFO, "fallback"


def _chain(error: BaseException) -> list[BaseException]:
    # The context is followed even after "raise ... from None": hidden from tracebacks, but the
    # original error still says why.
    links: list[BaseException] = []
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen and len(links) < _CHAIN_MAX:
        seen.add(id(link))
        links.append(link)
        link = link.__cause__ or link.__context__
    return links


def _typed(link: BaseException) -> Decision | None:
    category = getattr(link, "category", None)
    if not isinstance(category, str) or category not in CATEGORIES:
        return None
    error_type = getattr(link, "error_type", None)
    return category, error_type if isinstance(error_type, str) and error_type else UNCLASSIFIED


# --- step 2: known exception classes -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _KnownClass:
    module: str
    name: str
    decide: Callable[[BaseException], Decision]

    def loaded(self) -> type | None:
        module = sys.modules.get(self.module)
        cls = getattr(module, self.name, None) if module is not None else None
        return cls if isinstance(cls, type) else None

    def named_in(self, names: set[tuple[str, str]]) -> bool:
        """Whether the text names this class: by its name alone, or with a module of its package.
        "playwright._impl._errors.TimeoutError" is Playwright's, not the built-in TimeoutError (a
        wait for a selector, which the rules read), as isinstance would say of the live exception."""
        package = self.module.split(".")[0]
        return any(name == self.name and package_named in ("", package) for package_named, name in names)


@dataclass(frozen=True, slots=True)
class _Fixed:
    """A decision that does not depend on the exception object, so the stored text ("KeyError: 'x'")
    is filed like the live exception was: the CLI sees only the text."""

    decision: Decision

    def __call__(self, _exc: BaseException) -> Decision:
        return self.decision


def _fixed(category: str, error_type: str) -> _Fixed:
    return _Fixed((category, error_type))


def _json_error(exc: BaseException) -> Decision:
    doc = str(getattr(exc, "doc", "") or "").rstrip()
    msg = str(getattr(exc, "msg", ""))
    pos = getattr(exc, "pos", -1)
    if not doc:
        return DATA_QUALITY_ERROR, "empty_response"
    if doc.lstrip().startswith("<"):  # an HTML error, maintenance or captcha page instead of JSON
        return DATA_QUALITY_ERROR, "html_instead_of_json"
    # The decoder ran out of document: the body was cut (a dropped connection, a size limit).
    if msg.startswith("Unterminated string") or pos >= len(doc):
        return DATA_QUALITY_ERROR, "truncated_json"
    return DATA_QUALITY_ERROR, "invalid_json"


def _markup_error(exc: BaseException) -> Decision:
    if str(exc).startswith("Document is empty"):
        return DATA_QUALITY_ERROR, "empty_response"
    return DATA_QUALITY_ERROR, "html_parse_error"


def _known(spec: str, decide: Callable[[BaseException], Decision]) -> _KnownClass:
    module, name = spec.split(":")
    return _KnownClass(module, name, decide)


# psycopg (3) and psycopg2 (Airflow's PostgresHook) name their errors alike. Specific SQLSTATE
# classes first: not every IntegrityError is a duplicate.
_DB_ERRORS: tuple[tuple[str, Decision], ...] = (
    ("UniqueViolation", (DUPLICATE_ERROR, "duplicate_key")),
    ("NotNullViolation", (VALIDATION_ERROR, "missing_field")),
    ("CheckViolation", (VALIDATION_ERROR, "invalid_value")),
    ("ForeignKeyViolation", (DATA_QUALITY_ERROR, "foreign_key_violation")),
    ("IntegrityError", (DUPLICATE_ERROR, "integrity_error")),
    ("QueryCanceled", (NETWORK_ERROR, "db_timeout")),  # statement_timeout; a subclass of the next
    ("OperationalError", (NETWORK_ERROR, "db_unavailable")),
    ("DataError", (VALIDATION_ERROR, "invalid_value")),
)

# First entry that matches any link of the chain wins, so root causes (a refused socket under
# requests' ConnectionError) come before the wrappers that would give a vaguer answer.
_KNOWN_CLASSES: tuple[_KnownClass, ...] = (
    _known("airflow.sdk.exceptions:AirflowTaskTimeout", _fixed(NETWORK_ERROR, "task_timeout")),
    _known("airflow.sdk.exceptions:AirflowTaskTerminated", _fixed(UNKNOWN_ERROR, "task_killed")),
    _known("builtins:ConnectionRefusedError", _fixed(NETWORK_ERROR, "connection_refused")),
    _known("socket:gaierror", _fixed(NETWORK_ERROR, "dns_error")),
    _known("ssl:SSLError", _fixed(NETWORK_ERROR, "ssl_error")),
    _known("requests.exceptions:SSLError", _fixed(NETWORK_ERROR, "ssl_error")),
    _known("requests.exceptions:Timeout", _fixed(NETWORK_ERROR, "timeout")),
    _known("urllib3.exceptions:ReadTimeoutError", _fixed(NETWORK_ERROR, "timeout")),
    _known("builtins:TimeoutError", _fixed(NETWORK_ERROR, "timeout")),  # and its alias socket.timeout
    _known("builtins:ConnectionResetError", _fixed(NETWORK_ERROR, "connection_reset")),
    _known("builtins:ConnectionAbortedError", _fixed(NETWORK_ERROR, "connection_reset")),
    _known("builtins:BrokenPipeError", _fixed(NETWORK_ERROR, "connection_reset")),
    _known("requests.exceptions:ChunkedEncodingError", _fixed(NETWORK_ERROR, "connection_reset")),
    _known("urllib3.exceptions:ProtocolError", _fixed(NETWORK_ERROR, "connection_reset")),
    _known("requests.exceptions:TooManyRedirects", _fixed(NETWORK_ERROR, "redirect")),
    _known("requests.exceptions:ConnectionError", _fixed(NETWORK_ERROR, "connection_error")),
    *(
        _known(f"{package}.errors:{name}", _fixed(*decision))
        for package in ("psycopg", "psycopg2")
        for name, decision in _DB_ERRORS
    ),
    _known("json:JSONDecodeError", _json_error),  # also requests' JSONDecodeError (a subclass)
    _known("lxml.etree:ParseError", _markup_error),  # XMLSyntaxError
    _known("lxml.etree:ParserError", _markup_error),  # lxml.html on an empty document
    _known("xml.etree.ElementTree:ParseError", _fixed(DATA_QUALITY_ERROR, "xml_parse_error")),
    _known("pydantic_core:ValidationError", _fixed(VALIDATION_ERROR, "schema")),
    _known("builtins:UnicodeError", _fixed(DATA_QUALITY_ERROR, "encoding")),
    _known("builtins:KeyError", _fixed(DATA_QUALITY_ERROR, "missing_key")),
    _known("builtins:IndexError", _fixed(DATA_QUALITY_ERROR, "missing_key")),
)


# "ReadTimeout: ..." at the start of a line, optionally with its module ("requests.exceptions."), or
# a wrapped class as SQLAlchemy names it: "IntegrityError: (psycopg2.errors.UniqueViolation) ...".
_CLASS_NAME_IN_TEXT = re.compile(
    r"^((?:[A-Za-z_]\w*\.)*)([A-Za-z_]\w*):(?: \(((?:[A-Za-z_]\w*\.)*)([A-Za-z_]\w*)\))?", re.MULTILINE
)


def _class_names_in_text(text: str) -> set[tuple[str, str]]:
    """(package, class name) of each "module.Class:" the text starts a line with; the package is ""
    when the name stands alone. Built-in classes are named without a module."""
    found = set()
    for match in _CLASS_NAME_IN_TEXT.finditer(text):
        for module, name in ((match[1], match[2]), (match[3], match[4])):
            if name:
                package = module.split(".")[0] if module else ""
                found.add(("" if package == "builtins" else package, name))
    return found


# --- step 3: HTTP status -------------------------------------------------------------------------

# Only statuses written next to a word that makes them statuses: "line 1 column 503" and
# "500 showtimes" are not HTTP errors. Each alternative has exactly one group (the status).
# Matched against lower-cased text (IGNORECASE is slow in re).
_STATUS_IN_TEXT = re.compile(
    r"\bhttp(?:/\d(?:\.\d)?)?(?:[\s_-]*(?:status|error|code|response))*[\s:=#(\[-]*([1-5]\d\d)\b"
    r"|\bstatus(?:[\s_-]*code)?[\"']?\s*[:=]?\s*[\"']?([1-5]\d\d)\b"
    r"|\b([1-5]\d\d)\s+(?:client|server)\s+error\b"  # requests' raise_for_status()
    r"|\b([1-5]\d\d)\s+error\s+responses\b"  # urllib3 Retry: "too many 503 error responses"
    r"|\b([45]\d\d)[\s:-]+(?:not\s+found|too\s+many\s+requests|internal\s+server\s+error|bad\s+gateway"
    r"|service\s+(?:temporarily\s+)?unavailable|gateway\s+time-?out|forbidden|unauthori[sz]ed"
    r"|bad\s+request|unprocessable\s+(?:entity|content)|request\s+time-?out|method\s+not\s+allowed|gone)\b"
    r"|<response\s+\[([1-5]\d\d)\]>"
    r"|\b(?:returned|responded\s+with)\s+(?:an?\s+)?([45]\d\d)\b"
    r"(?!\s+(?:results?|items?|rows?|records?|showtimes?|films?|movies?|events?|cinemas?|entries))"
    r"|\b(?:error|błąd|kod)[\s:]+([45]\d\d)\b"
)


def _is_airflows(link: BaseException) -> bool:
    """Airflow's exceptions carry a ``status_code`` for its own REST API (AirflowException 500,
    AirflowNotFoundException 404): that is no HTTP answer a task received."""
    return any(cls.__module__.split(".")[0] == "airflow" for cls in type(link).__mro__)


def _statuses(http_status: int | None, chain: list[BaseException], text: str) -> Iterator[int]:
    """Candidate statuses, most trustworthy first: argument, attributes, then the text."""
    if http_status is not None:
        yield http_status
    for link in chain:
        if _is_airflows(link):
            continue
        response = getattr(link, "response", None)
        for value in (
            getattr(link, "status", None),
            getattr(link, "status_code", None),
            getattr(response, "status_code", None),
        ):
            if isinstance(value, int) and not isinstance(value, bool):
                yield value
    for match in _STATUS_IN_TEXT.finditer(text.lower()):
        yield int(match.group(match.lastindex or 0))


def _by_status(status: int) -> Decision | None:
    """The category of an HTTP status; None for statuses that are not errors.

    404 is a network_error ``not_found``: for a scraper it means the site moved or removed what
    we fetch, fixed like other fetch failures. Other 4xx are ``validation_error`` ``http_4xx``:
    the request we built was rejected (bad parameters, a stale CSRF token). Both as in
    scrapers.errors.HttpStatusError, which this refines: 429 is ``rate_limited`` (back off, not
    fix), 408 a ``timeout``, 410 (gone) ``not_found``, 407 (proxy) ``http_auth``.
    """
    if status == 429:
        return NETWORK_ERROR, "rate_limited"
    if status in (401, 403, 407):
        return NETWORK_ERROR, "http_auth"
    if status in (404, 410):
        return NETWORK_ERROR, "not_found"
    if status == 408:
        return NETWORK_ERROR, "timeout"
    if 500 <= status <= 599:
        return NETWORK_ERROR, "http_5xx"
    if 400 <= status <= 499:
        return VALIDATION_ERROR, "http_4xx"
    if 300 <= status <= 399:  # an error only when redirects are not followed: the endpoint moved
        return NETWORK_ERROR, "redirect"
    return None
