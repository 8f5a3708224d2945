"""Error categorization: the corpus, real exceptions, the resolution order, rules files, the CLI."""

from __future__ import annotations

import dataclasses
import http.server
import json
import re
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
import yaml

from scraper_monitor import settings
from scraper_monitor.category import (
    CATEGORIES,
    DATA_QUALITY_ERROR,
    DUPLICATE_ERROR,
    GEOCODING_ERROR,
    NETWORK_ERROR,
    PERFORMER_ERROR,
    UNKNOWN_ERROR,
    VALIDATION_ERROR,
    VENUE_ERROR,
    categorize,
    default_rules,
    describe,
    load_rules,
)
from scraper_monitor.rules import RuleError, RuleSet
from scrapers import errors
from tests.fixtures.cli import CLI, CliResult, run_cli
from tests.fixtures.loopback import serve_handler

CORPUS_PATH = Path(__file__).resolve().parents[1] / "data" / "error_corpus.yaml"
CORPUS: list[dict] = yaml.safe_load(CORPUS_PATH.read_text(encoding="utf-8"))["cases"]


def _case_id(index: int, case: dict) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", case["message"].lower()).strip("-")[:50]
    return f"{index:03d}-{case['error_type']}-{slug}"


# --- the corpus ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CORPUS, ids=[_case_id(i, c) for i, c in enumerate(CORPUS)])
def test_corpus_case(case: dict) -> None:
    result = categorize(case["message"], http_status=case.get("http_status"))
    assert (result.category, result.error_type) == (case["category"], case["error_type"]), result.matched_by


def test_corpus_is_large_and_covers_every_category() -> None:
    assert len(CORPUS) >= 150
    counts = Counter(case["category"] for case in CORPUS)
    assert set(counts) == set(CATEGORIES)
    assert min(counts.values()) >= 5, counts


def test_every_builtin_rule_is_exercised_by_the_corpus() -> None:
    # A rule no case reaches is either dead or shadowed by an earlier one.
    used = {categorize(c["message"], http_status=c.get("http_status")).matched_by for c in CORPUS}
    unused = [r.name for r in load_rules(settings.DEFAULT_ERROR_RULES).rules if f"rule:{r.name}" not in used]
    assert unused == []


# --- real exceptions -----------------------------------------------------------------------------


def _raised(action: Callable[[], object]) -> BaseException:
    try:
        action()
    except BaseException as exc:  # the exception is the value under test
        return exc
    raise AssertionError("expected an exception")


class _Handler(http.server.BaseHTTPRequestHandler):
    """/status/<code> answers that status; /html answers 200 with an HTML page."""

    def do_GET(self) -> None:
        if self.path == "/html":
            status, body = 200, b"<html><body>Przerwa techniczna</body></html>"
        else:
            status, body = int(self.path.rsplit("/", 1)[1]), b"{}"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_base() -> Iterator[str]:
    with serve_handler(_Handler) as base_url:
        yield base_url


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (kernel backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_requests_connection_refused(closed_port: int) -> None:
    exc = _raised(lambda: requests.get(f"http://127.0.0.1:{closed_port}/", timeout=0.5))
    assert isinstance(exc, requests.ConnectionError)
    result = categorize(exc)
    assert (result.category, result.error_type) == (NETWORK_ERROR, "connection_refused")
    assert result.matched_by == "class:ConnectionRefusedError"  # the root cause under requests/urllib3


def test_requests_read_timeout(silent_port: int) -> None:
    exc = _raised(lambda: requests.get(f"http://127.0.0.1:{silent_port}/", timeout=0.05))
    assert isinstance(exc, requests.ReadTimeout)
    result = categorize(exc)
    assert (result.category, result.error_type) == (NETWORK_ERROR, "timeout")


def test_socket_errors(closed_port: int, silent_port: int) -> None:
    refused = _raised(lambda: socket.create_connection(("127.0.0.1", closed_port), timeout=0.5))
    assert categorize(refused).error_type == "connection_refused"
    with socket.create_connection(("127.0.0.1", silent_port), timeout=0.05) as conn:
        timeout = _raised(lambda: conn.recv(1))
    assert isinstance(timeout, TimeoutError)
    assert categorize(timeout).error_type == "timeout"


@pytest.mark.parametrize(
    ("status", "category", "error_type"),
    [
        (429, NETWORK_ERROR, "rate_limited"),
        (503, NETWORK_ERROR, "http_5xx"),
        (500, NETWORK_ERROR, "http_5xx"),
        (404, NETWORK_ERROR, "not_found"),
        (403, NETWORK_ERROR, "http_auth"),
        (422, VALIDATION_ERROR, "http_4xx"),
    ],
)
def test_requests_http_error_by_response_status(
    http_base: str, status: int, category: str, error_type: str
) -> None:
    exc = _raised(lambda: requests.get(f"{http_base}/status/{status}", timeout=2).raise_for_status())
    assert isinstance(exc, requests.HTTPError)
    result = categorize(exc)
    assert (result.category, result.error_type, result.matched_by) == (
        category,
        error_type,
        f"http_status:{status}",
    )


def test_requests_json_on_an_html_page(http_base: str) -> None:
    exc = _raised(lambda: requests.get(f"{http_base}/html", timeout=2).json())
    assert isinstance(exc, requests.JSONDecodeError)
    assert categorize(exc).error_type == "html_instead_of_json"


@pytest.mark.parametrize(
    ("document", "error_type"),
    [
        ('{"body": {"films": [{"id": "7592s3r", "name": "Ete', "truncated_json"),
        ('{"body": {"dates": ["2025-11-24", "2025-11-25"', "truncated_json"),
        ("", "empty_response"),
        ("   \n", "empty_response"),
        ("<!DOCTYPE html><html><body>503 Service Unavailable</body></html>", "html_instead_of_json"),
        ("{'body': {}}", "invalid_json"),
        ('{"body": {}} trailing', "invalid_json"),
    ],
)
def test_json_decode_errors(document: str, error_type: str) -> None:
    exc = _raised(lambda: json.loads(document))
    result = categorize(exc)
    assert (result.category, result.error_type) == (DATA_QUALITY_ERROR, error_type)


def test_lxml_errors() -> None:
    import lxml.etree
    import lxml.html

    broken = _raised(lambda: lxml.etree.fromstring(b'<table class="repert"><tr><th>x</table>'))
    assert isinstance(broken, lxml.etree.XMLSyntaxError)
    assert (categorize(broken).category, categorize(broken).error_type) == (
        DATA_QUALITY_ERROR,
        "html_parse_error",
    )
    empty = _raised(lambda: lxml.html.fromstring(""))
    assert isinstance(empty, lxml.etree.ParserError)
    assert categorize(empty).error_type == "empty_response"


def test_pydantic_validation_error() -> None:
    import pydantic

    class Showtime(pydantic.BaseModel):
        external_id: str
        starts_at: int

    exc = _raised(lambda: Showtime.model_validate({"starts_at": "wtorek"}))
    result = categorize(exc)
    assert (result.category, result.error_type) == (VALIDATION_ERROR, "schema")


def test_psycopg_errors(tmp_path: Path) -> None:
    import psycopg
    import psycopg2.errors

    exc = _raised(lambda: psycopg.connect(f"host={tmp_path / 'no-server'} dbname=monitor connect_timeout=1"))
    assert isinstance(exc, psycopg.OperationalError)
    assert (categorize(exc).category, categorize(exc).error_type) == (NETWORK_ERROR, "db_unavailable")

    unique = psycopg.errors.UniqueViolation('duplicate key value violates unique constraint "showtimes_pkey"')
    assert (categorize(unique).category, categorize(unique).error_type) == (DUPLICATE_ERROR, "duplicate_key")
    not_null = psycopg.errors.NotNullViolation('null value in column "title" violates not-null constraint')
    assert (categorize(not_null).category, categorize(not_null).error_type) == (
        VALIDATION_ERROR,
        "missing_field",
    )
    legacy = psycopg2.errors.UniqueViolation("duplicate key value violates unique constraint")
    assert categorize(legacy).error_type == "duplicate_key"


def test_builtin_errors() -> None:
    film: dict[str, str] = {"id": "7592s3r"}
    assert categorize(_raised(lambda: film["eventDateTime"])).error_type == "missing_key"
    assert categorize(_raised(lambda: [][0])).error_type == "missing_key"
    latin2 = "Kraków, ul. Zakopiańska".encode("iso-8859-2")
    decode = categorize(_raised(lambda: latin2.decode("utf-8")))
    assert (decode.category, decode.error_type) == (DATA_QUALITY_ERROR, "encoding")


def test_airflow_task_timeout_without_importing_airflow_in_the_core() -> None:
    from airflow.sdk.exceptions import AirflowTaskTimeout

    result = categorize(AirflowTaskTimeout("Timeout, PID: 4242"))
    assert (result.category, result.error_type, result.matched_by) == (
        NETWORK_ERROR,
        "task_timeout",
        "class:AirflowTaskTimeout",
    )


@pytest.mark.parametrize(
    ("make", "category", "error_type"),
    [
        ("AirflowException", UNKNOWN_ERROR, "command_failed"),
        ("AirflowFailException", UNKNOWN_ERROR, "command_failed"),
        ("AirflowSensorTimeout", UNKNOWN_ERROR, "sensor_timeout"),
    ],
)
def test_airflows_own_errors_are_not_read_as_http_answers(make: str, category: str, error_type: str) -> None:
    """AirflowException carries status_code 500 for Airflow's REST API: a failing BashOperator is no
    server error of a site."""
    from airflow.sdk import exceptions

    message = (
        "Sensor has timed out; run duration of 60.1 seconds exceeds the specified timeout of 60.0."
        if make == "AirflowSensorTimeout"
        else "Bash command failed. The command returned a non-zero exit code 1."
    )
    result = categorize(getattr(exceptions, make)(message))
    assert (result.category, result.error_type) == (category, error_type), result.matched_by
    missing = categorize(exceptions.AirflowNotFoundException("The conn_id `fs_default` isn't defined"))
    assert (missing.category, missing.error_type) == (VALIDATION_ERROR, "missing_config"), missing.matched_by


def test_a_site_answer_wrapped_in_an_airflow_exception_is_still_the_sites_status(http_base: str) -> None:
    from airflow.sdk.exceptions import AirflowException

    def hook_call() -> None:  # what HttpHook.check_response does
        try:
            requests.get(f"{http_base}/status/503", timeout=2).raise_for_status()
        except requests.HTTPError as exc:
            raise AirflowException("503:Service Unavailable") from exc

    result = categorize(_raised(hook_call))
    assert (result.category, result.error_type, result.matched_by) == (
        NETWORK_ERROR,
        "http_5xx",
        "http_status:503",
    )


def test_category_module_does_not_import_airflow() -> None:
    code = (
        "import sys, scraper_monitor.category; print(any(m.split('.')[0] == 'airflow' for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_unknown_library_exception_is_read_by_its_name_and_text() -> None:
    class ConnectTimeout(Exception):  # e.g. httpx's: not a class the categorizer knows
        pass

    result = categorize(ConnectTimeout("connecting to www.kino.krakow.pl"))
    assert (result.error_type, result.matched_by) == ("timeout", "rule:timeout")


# --- typed exceptions and the resolution order ---------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "category", "error_type"),
    [
        (errors.FetchTimeout("GET timed out", url="https://www.kino.krakow.pl/"), NETWORK_ERROR, "timeout"),
        (errors.NetworkError("connection dropped"), NETWORK_ERROR, "connection_error"),
        (errors.RateLimited("slow down", retry_after=30), NETWORK_ERROR, "rate_limited"),
        (errors.HttpStatusError("upstream", status=503), NETWORK_ERROR, "http_5xx"),
        (errors.HttpStatusError("gone", status=404), NETWORK_ERROR, "not_found"),
        (errors.HttpStatusError("bad day", status=400), VALIDATION_ERROR, "http_4xx"),
        (
            errors.SelectorMissing("no program", selector="table.repert"),
            DATA_QUALITY_ERROR,
            "selector_missing",
        ),
        (errors.CsrfTokenMissing("no meta csrf-token"), DATA_QUALITY_ERROR, "csrf_token_missing"),
        (errors.UnexpectedShape("missing 'body'"), DATA_QUALITY_ERROR, "invalid_response_structure"),
        (errors.InvalidJson("Expecting value"), DATA_QUALITY_ERROR, "invalid_json"),
        (errors.ValidationFailed("no start time", field="eventDateTime"), VALIDATION_ERROR, "missing_field"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, BaseException) else str(value),
)
def test_typed_scraper_exceptions(exc: errors.ScraperError, category: str, error_type: str) -> None:
    result = categorize(exc)
    assert (result.category, result.error_type) == (category, error_type)
    assert result.matched_by == f"typed:{type(exc).__name__}"


def test_typed_exception_wins_over_the_class_of_its_cause() -> None:
    def parse() -> None:
        try:
            {}["body"]
        except KeyError as exc:
            raise errors.UnexpectedShape("missing 'body'") from exc

    assert categorize(_raised(parse)).matched_by == "typed:UnexpectedShape"


def test_typed_exception_found_in_the_context_of_a_wrapper() -> None:
    def task() -> None:
        try:
            raise errors.RateLimited("429 from Kino Krakow")
        except errors.RateLimited:
            raise RuntimeError("day_pages[3] failed") from None

    result = categorize(_raised(task))
    assert (result.error_type, result.matched_by) == ("rate_limited", "typed:RateLimited")
    assert result.message == "RuntimeError: day_pages[<n>] failed"  # the outer message is stored


def test_typed_base_class_says_nothing_specific_so_the_other_steps_run() -> None:
    assert categorize(errors.ScraperError("Przekroczono limit zapytań")).matched_by == "rule:rate_limited"
    assert categorize(errors.ScraperError("odd", status=502)).error_type == "http_5xx"
    vague = categorize(errors.ScraperError("something odd happened"))
    assert (vague.category, vague.error_type, vague.matched_by) == (
        UNKNOWN_ERROR,
        "scraper_error",
        "typed:ScraperError",
    )


def test_known_class_wins_over_an_http_status() -> None:
    result = categorize(ConnectionRefusedError(111, "Connection refused"), http_status=503)
    assert result.error_type == "connection_refused"


def test_http_status_wins_over_text_rules() -> None:
    assert categorize("Venue not found", http_status=404).error_type == "not_found"
    assert categorize("Venue not found").category == "venue_error"


@pytest.mark.parametrize(
    ("message", "category", "error_type", "plain"),
    [
        # The same failure of the network, said of a domain's own service and of no service.
        ("Photon geocoding: daily quota exhausted", GEOCODING_ERROR, "rate_limited", "Daily quota exceeded"),
        ("Artist search on Deezer timed out", PERFORMER_ERROR, "performer_matching_failed", "Timed out"),
        ("Venue matching against Places API timed out", VENUE_ERROR, "venue_processing_failed", "Timed out"),
    ],
)
def test_a_domains_own_service_failing_is_that_domains_error(
    message: str, category: str, error_type: str, plain: str
) -> None:
    # The origin's nine categories file the domain before the network (origin-system.md 4.1).
    assert (categorize(message).category, categorize(message).error_type) == (category, error_type)
    assert categorize(plain).category == NETWORK_ERROR


def test_a_failed_action_on_a_domains_duplicate_records_is_that_domains_error() -> None:
    result = categorize("Unable to merge duplicate cinemas 1090 and 1097")
    assert (result.category, result.error_type) == (VENUE_ERROR, "venue_processing_failed")
    # Without a domain, a duplicate is a duplicate.
    assert categorize("Unable to merge duplicate showtimes 11 and 12").category == DUPLICATE_ERROR


def test_failing_to_resolve_is_dns_only_for_a_host() -> None:
    assert categorize("Failed to resolve 'cinema-city.pl'").error_type == "dns_error"
    assert categorize("Failed to resolve venue 'Kino Mikro' to a CMS record").category == VENUE_ERROR


def test_a_quota_of_requests_is_a_rate_limit_a_quota_of_disk_is_the_worker() -> None:
    assert categorize("Daily API quota exceeded").error_type == "rate_limited"
    result = categorize("OSError: [Errno 122] Disk quota exceeded: '/opt/airflow/logs'")
    assert (result.category, result.error_type) == (UNKNOWN_ERROR, "disk_full")


def test_a_class_named_with_another_packages_module_is_not_the_known_class() -> None:
    # The text path agrees with isinstance on the live exception: Playwright's TimeoutError is no
    # built-in TimeoutError, so the rules read what it says.
    assert categorize("TimeoutError: timed out").matched_by == "class:TimeoutError"
    assert categorize("builtins.TimeoutError: timed out").matched_by == "class:TimeoutError"
    playwright = "playwright._impl._errors.TimeoutError: Page.wait_for_selector: Timeout 5000ms exceeded."
    assert categorize(playwright).matched_by == "rule:selector_missing"
    assert categorize("requests.exceptions.ConnectionError: boom").matched_by == "class:ConnectionError"


def test_waiting_for_an_element_that_never_appears_is_the_page_not_the_network() -> None:
    result = categorize("page.wait_for_selector: Timeout 5000ms exceeded waiting for 'ul.program'")
    assert (result.category, result.error_type) == (DATA_QUALITY_ERROR, "selector_missing")
    assert categorize("page.goto: Timeout 30000ms exceeded").category == NETWORK_ERROR


def test_a_dag_runs_own_timeout_is_airflows_bookkeeping_not_a_slow_site() -> None:
    result = categorize("Marking dag run manual__2025-11-24 failed: dagrun_timeout exceeded")
    assert (result.category, result.error_type) == (UNKNOWN_ERROR, "dagrun_timeout")
    assert categorize("Task exceeded execution timeout of 0:10:00").error_type == "task_timeout"


def test_status_attribute_is_read_by_duck_typing() -> None:
    class ClientResponseError(Exception):  # aiohttp-style: .status, no known class
        status = 429

    assert categorize(ClientResponseError("refused")).matched_by == "http_status:429"


def test_statuses_that_are_not_errors_do_not_decide() -> None:
    result = categorize("Brak seansów w wybranym dniu.", http_status=200)
    assert (result.category, result.error_type) == (DATA_QUALITY_ERROR, "no_showtimes")
    # The first status that decides wins: "expected 200" is context, 503 is the error.
    assert categorize("expected status 200, got HTTP 503").error_type == "http_5xx"


def test_nothing_to_go_on() -> None:
    for empty in (None, "", "   "):
        result = categorize(empty)
        assert (result.category, result.error_type, result.matched_by) == (
            UNKNOWN_ERROR,
            "no_error_info",
            "fallback",
        )
    assert categorize(None, http_status=503).error_type == "http_5xx"
    assert categorize("Something went wrong").error_type == "unclassified"


def test_exception_with_a_broken_str_is_still_categorized() -> None:
    class Weird(KeyError):
        def __str__(self) -> str:
            raise RuntimeError("broken __str__")

    result = categorize(Weird())
    assert (result.error_type, result.message) == ("missing_key", "Weird")


def test_describe_gives_the_text_the_cli_sees() -> None:
    exc = _raised(lambda: {}["venue_id"])
    assert describe(exc) == "KeyError: 'venue_id'"
    assert categorize(describe(exc)).fingerprint == categorize(exc).fingerprint


# --- rules files ---------------------------------------------------------------------------------


def _write(tmp_path: Path, text: str, name: str = "rules.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


USER_RULES = """\
rules:
  - name: empty_program_is_config
    category: validation_error
    error_type: empty_program
    any: [brak seansów]
"""


def test_env_rules_file_is_tried_first(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert categorize("Brak seansów w wybranym dniu.").error_type == "no_showtimes"
    monkeypatch.setenv(settings.ERROR_RULES_ENV, str(_write(tmp_path, USER_RULES)))
    result = categorize("Brak seansów w wybranym dniu.")
    assert (result.category, result.error_type, result.matched_by) == (
        VALIDATION_ERROR,
        "empty_program",
        "rule:empty_program_is_config",
    )
    assert categorize("Nie znaleziono strony").error_type == "not_found"  # built-in rules still apply


def test_rules_argument_replaces_the_defaults(tmp_path: Path) -> None:
    rules = load_rules(_write(tmp_path, USER_RULES))
    assert categorize("Brak seansów", rules=rules).error_type == "empty_program"
    # The built-in rule not_found is not among them (what comes after the rules may still read it).
    assert categorize("Nie znaleziono strony", rules=rules).matched_by != "rule:not_found"
    assert categorize("Nie znaleziono strony", rules=RuleSet()).matched_by != "rule:not_found"
    assert categorize("Nie znaleziono strony").matched_by == "rule:not_found"


def test_substrings_short_ones_match_whole_words_only(tmp_path: Path) -> None:
    rules = load_rules(
        _write(
            tmp_path,
            """\
rules:
  - {name: api, category: network_error, error_type: api_down, any: [api]}
  - {name: quota, category: network_error, error_type: rate_limited, any: [429, rate limit]}
""",
        )
    )
    assert categorize("Cinema City API down", rules=rules).error_type == "api_down"
    assert categorize("rapid capital change", rules=rules).error_type == "unclassified"
    assert categorize("answered 429", rules=rules).error_type == "rate_limited"  # an unquoted number
    assert categorize("line 1 column 4290", rules=rules).error_type == "unclassified"
    assert categorize("rate\n  limit hit", rules=rules).error_type == "rate_limited"  # any whitespace


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "rules:\n  - {name: slow, category: network, error_type: timeout, any: [slow]}\n",
            "rule #1 'slow': category 'network' is not one of: validation_error, geocoding_error",
        ),
        (
            "rules:\n  - {category: network_error, error_type: timeout, any: [x]}\n",
            "rule #1: 'name' is required",
        ),
        (
            "rules:\n  - {name: a, category: network_error, error_type: timeout, regexp: x}\n",
            "rule #1 'a': unknown keys ['regexp']",
        ),
        (
            "rules:\n  - {name: a, category: network_error, error_type: timeout, regex: '(unclosed'}\n",
            "rule #1 'a': invalid regex '(unclosed'",
        ),
        (
            "rules:\n  - {name: a, category: network_error, error_type: timeout, regex: '(?i)x'}\n",
            "rule #1 'a': invalid regex '(?i)x'",
        ),
        ("rules:\n  - {name: a, category: network_error, error_type: timeout}\n", "rule #1 'a': needs 'any'"),
        (
            "rules:\n  - {name: a, category: network_error, error_type: Time Out, any: [x]}\n",
            "rule #1 'a': 'error_type' must be lower_snake_case",
        ),
        (
            "rules:\n  - {name: a, category: network_error, error_type: timeout, any: timeout}\n",
            "rule #1 'a': 'any' must be a list",
        ),
        (
            "rules:\n  - {name: a, category: network_error, error_type: t, any: [x]}\n"
            "  - {name: a, category: network_error, error_type: t, any: [y]}\n",
            "rule #2 'a': duplicate rule name",
        ),
        ("- {name: a}\n", "expected a mapping with a 'rules' list"),
        ("rules: [\n", "not valid YAML"),
    ],
    ids=[
        "bad-category",
        "no-name",
        "unknown-key",
        "bad-regex",
        "global-flag-in-regex",
        "no-pattern",
        "bad-error-type",
        "any-not-list",
        "duplicate-name",
        "not-a-mapping",
        "bad-yaml",
    ],
)
def test_invalid_rules_files_are_rejected_with_the_rule_named(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(RuleError) as info:
        load_rules(path)
    assert str(info.value).startswith(f"{path}: ")
    assert expected in str(info.value)


def test_missing_rules_file(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="cannot read rules file"):
        load_rules(tmp_path / "nope.yaml")


def test_a_broken_env_rules_file_is_reported_in_one_line_and_the_builtin_rules_still_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    bad = _write(tmp_path, "rules:\n  - {name: typo, category: netwrok_error, error_type: x, any: [y]}\n")
    monkeypatch.setenv(settings.ERROR_RULES_ENV, str(bad))
    with caplog.at_level("ERROR", logger="scraper_monitor.category"):
        # A failing task still gets its category and fingerprint from the built-in rules.
        assert categorize("HTTP 503 Service Unavailable").category == NETWORK_ERROR
        assert categorize("Nie znaleziono strony").error_type == "not_found"
    (record,) = caplog.records  # once per process, not once per failed task
    assert "error rules not used, built-in rules only" in record.getMessage()
    assert "rule #1 'typo': category 'netwrok_error'" in record.getMessage()
    with pytest.raises(RuleError, match="rule #1 'typo'"):
        default_rules(strict=True)  # what `scraper-monitor categorize` says before a deployment


HOSTILE_RULE = """
rules:
  - name: retries_exhausted
    category: network_error
    error_type: retries_exhausted
    regex: '(?:\\w+\\s*)+ failed after \\d+ retries'
"""


def test_a_user_rule_cannot_hang_categorization_on_a_hostile_message(tmp_path: Path) -> None:
    # Python's re needs seconds for 25 characters here, doubling with each one more: the failure
    # callback would be killed at 20 s with no summary. The CLI runs the same categorizer.
    rules = _write(tmp_path, HOSTILE_RULE)
    messages = "a" * 40 + "\n" + "connection failed after 3 retries\n"
    result = subprocess.run(
        [str(CLI), "categorize", "--rules", str(rules)],
        input=messages,
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 0, result.stderr
    hostile, fine = (json.loads(line) for line in result.stdout.splitlines())
    assert hostile["error_type"] == "unclassified"
    assert (fine["category"], fine["error_type"]) == (NETWORK_ERROR, "retries_exhausted")


def test_a_user_rule_that_backtracks_is_refused_at_load_with_its_name(tmp_path: Path) -> None:
    rules = _write(
        tmp_path,
        "rules:\n  - {name: slow, category: network_error, error_type: x, regex: '(\\w+\\s?)+\\d+x'}\n",
    )
    with pytest.raises(RuleError, match="rule #1 'slow': regex takes too long on long messages"):
        load_rules(rules)


def test_a_search_that_runs_out_of_time_counts_as_no_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    rules = load_rules(_write(tmp_path, USER_RULES))
    (rule,) = rules.rules
    out_of_time = dataclasses.replace(rule, timeout=1e-9)
    with caplog.at_level("WARNING", logger="scraper_monitor.rules"):
        assert not out_of_time.search("brak seansów " * 50_000)
    assert "ran out of time" in caplog.text and "empty_program_is_config" in caplog.text


# --- the CLI -------------------------------------------------------------------------------------


def _cli(*args: str, stdin: str, env_rules: Path | None = None) -> CliResult:
    env = {} if env_rules is None else {settings.ERROR_RULES_ENV: str(env_rules)}
    return run_cli("categorize", *args, env=env, stdin=stdin)


def test_cli_categorizes_stdin_line_by_line() -> None:
    messages = [c["message"].replace("\n", " ") for c in CORPUS if "http_status" not in c][:40]
    stdin = "\n\n".join(messages[:3]) + "\n   \n" + "\n".join(messages[3:]) + "\n"
    proc = _cli(stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == len(messages)  # blank lines skipped, order kept
    for message, line in zip(messages, lines, strict=True):
        record = json.loads(line)
        expected = categorize(message)
        assert record == {
            "category": expected.category,
            "error_type": expected.error_type,
            "fingerprint": expected.fingerprint,
        }


def test_cli_rules_option_and_env(tmp_path: Path) -> None:
    rules = _write(tmp_path, USER_RULES)
    for proc in (
        _cli("--rules", str(rules), stdin="Brak seansów\n"),
        _cli(stdin="Brak seansów\n", env_rules=rules),
    ):
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["error_type"] == "empty_program"


def test_cli_bad_rules_file_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = _write(tmp_path, "rules:\n  - {name: typo, category: netwrok_error, error_type: x, any: [y]}\n")
    proc = _cli("--rules", str(bad), stdin="HTTP 503\n")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("scraper-monitor: ") and "rule #1 'typo'" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_survives_bytes_that_are_not_utf8() -> None:
    proc = subprocess.run(
        [str(CLI), "categorize"], input="Błąd serwera\n".encode("iso-8859-2"), capture_output=True, timeout=60
    )
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["category"] in CATEGORIES


@pytest.mark.parametrize(
    ("error", "matched_by"),
    [
        (errors.FetchTimeout("GET timed out"), "typed:FetchTimeout"),
        ("KeyError: 'eventDateTime'", "class:KeyError"),
        ("HTTP 503 from the Cinema City API", "http_status:503"),
        ("Venue not found", "rule:venue_not_found"),
        ("Performer 'Sanah' could not be created", "reading:performer_matching_failed"),
        ("Something went wrong", "fallback"),
    ],
    ids=["typed", "class", "http_status", "rule", "reading", "fallback"],
)
def test_each_step_decides_on_its_own_example(error: BaseException | str, matched_by: str) -> None:
    assert categorize(error).matched_by == matched_by
