"""The panels' JSON API fuzzed with schemathesis against the real api-server of the shared stack, with a
logged-in client: every operation of ``/scraper-monitor/openapi.json`` answers without a 5xx, with a
status code, content type and body that its schema declares, whatever the query holds; and an anonymous
request to any operation is refused.

Fixed seed and a bounded number of examples per operation (``EXAMPLES``), so a run is repeatable and
its time bounded."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from scraper_monitor.web.app import create_app
from tests.fixtures.stack import Stack

EXAMPLES = 15
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture(scope="session")
def monitor_api(stack: Stack) -> dict[str, Any]:
    """The monitor app's base URL, a logged-in client's headers and the app's OpenAPI document."""
    login = requests.post(f"{stack.api_url}/auth/token", json=stack.login, timeout=30)
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    base_url = f"{stack.api_url}/scraper-monitor"
    document = requests.get(f"{base_url}/openapi.json", headers=headers, timeout=30)
    document.raise_for_status()
    return {"base_url": base_url, "headers": headers, "document": document.json()}


# The document is built from the app's code at collection (so each operation is a test of its own);
# the api-server must serve the same one (test below). schemathesis' lazy fixture loader needs a
# pytest internal that pytest 9 removed.
DOCUMENT = create_app(lambda: "", lambda: None).openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)


def _operations_and_models(document: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The document without what Airflow adds around the app (its bearer-token security scheme)."""
    paths = {
        path: {method: {k: v for k, v in op.items() if k != "security"} for method, op in ops.items()}
        for path, ops in document["paths"].items()
    }
    return paths, document["components"]["schemas"]


def test_the_api_server_serves_the_document_that_is_fuzzed(monitor_api: dict[str, Any]) -> None:
    assert _operations_and_models(monitor_api["document"]) == _operations_and_models(DOCUMENT)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_every_operation_answers_within_its_schema_and_never_with_a_5xx(
    case: Any, monitor_api: dict[str, Any]
) -> None:
    response = case.call(base_url=monitor_api["base_url"], headers=monitor_api["headers"], timeout=30)
    case.validate_response(response, checks=CHECKS)


def test_every_operation_refuses_an_anonymous_request(monitor_api: dict[str, Any]) -> None:
    paths = monitor_api["document"]["paths"]
    assert len(paths) >= 8  # the panels' API is all there (a broken document would pass vacuously)
    for path, operations in paths.items():
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        for method in operations:
            answer = requests.request(method.upper(), f"{monitor_api['base_url']}{concrete}", timeout=30)
            assert answer.status_code in (401, 403), f"{method.upper()} {path}: {answer.status_code}"
