"""Schemathesis over every operation in the OpenAPI document, in process, on both databases.

Each operation is called with a valid token for a role that may use it (and that role's purpose),
with bodies and parameters generated from the schema, valid and invalid alike. Every response must
be: not a 5xx; a status the document lists for that operation; of a documented content type; and
valid against the documented schema (problem+json included). Examples are bounded and the seed is
fixed, so a run is repeatable and short; ``SHIELD_SCHEMATHESIS_EXAMPLES`` runs more.
"""

from __future__ import annotations

import os
from dataclasses import replace

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.main import create_app
from app.policy.loader import load_policy
from app.records.kinds import KINDS
from tests.conftest import ROOT
from tests.seeding import READER_AGENCY, seed_child_in_every_scope

POLICY = load_policy(ROOT / "policies")
EXAMPLES = int(os.environ.get("SHIELD_SCHEMATHESIS_EXAMPLES", "100"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# Who calls each operation: (agency, role). A new route fails here until it is given a caller,
# so that it is never tested only as the 401 an anonymous caller gets.
CALLERS: dict[tuple[str, str], tuple[str, str] | None] = {
    ("GET", "/healthz"): None,
    ("GET", "/readyz"): None,
    ("POST", "/api/v1/incidents"): ("police", "agency_system"),
    ("POST", "/api/v1/ppns"): ("police", "agency_system"),
    ("POST", "/api/v1/ppns/quality-check"): ("police", "agency_system"),
    ("POST", "/api/v1/ae-attendances"): ("health", "agency_system"),
    ("POST", "/api/v1/yjs-cases"): ("yjs", "agency_system"),
    ("POST", "/api/v1/education-reports"): ("education", "agency_system"),
    ("POST", "/api/v1/batch"): ("police", "agency_system"),
    ("GET", "/api/v1/children/{child_id}/record"): (
        READER_AGENCY["front_door_social_worker"],
        "front_door_social_worker",
    ),
    ("GET", "/api/v1/audit/verify"): ("partnership", "privacy_officer"),
    ("GET", "/api/v1/audit/events"): ("partnership", "privacy_officer"),
    ("GET", "/api/v1/audit/break-glass"): ("partnership", "privacy_officer"),
    ("GET", "/api/v1/audit/alerts"): ("partnership", "privacy_officer"),
    ("GET", "/api/v1/notifications"): ("yjs", "yjs_practitioner"),
    ("GET", "/api/v1/quality/ppns"): ("police", "ppn_quality_lead"),
    ("POST", "/api/v1/children/search"): (READER_AGENCY["front_door_social_worker"], "front_door_social_worker"),
    ("GET", "/api/v1/identity/review"): ("partnership", "identity_steward"),
    ("GET", "/api/v1/briefings/daily"): ("police", "shield_chair"),
    ("GET", "/api/v1/navigator/follow-ups"): (READER_AGENCY["navigator"], "navigator"),
    ("POST", "/api/v1/briefings/{day}/actions"): ("police", "shield_chair"),
    ("PATCH", "/api/v1/actions/{action_id}"): ("police", "shield_chair"),
    ("GET", "/api/v1/actions"): ("police", "shield_chair"),
    ("POST", "/api/v1/identity/review/{review_id}"): ("partnership", "identity_steward"),
    ("POST", "/api/v1/identity/merges/{merge_id}/split"): ("partnership", "identity_steward"),
}


@pytest.fixture
def seeded(client, auth):
    """One child with a record of every type, so that reads have something to find."""
    return seed_child_in_every_scope(client, auth)


@pytest.fixture
def api_schema(settings, db):
    app = create_app(replace(settings, api_docs=True), db=db)
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def headers_for(method: str, path: str, auth) -> dict[str, str]:
    caller = CALLERS[(method, path)]
    if caller is None:
        return {}
    agency, role = caller
    headers = auth(agency, role)
    purposes = POLICY.roles[role].purposes
    if purposes and "ingest" not in POLICY.roles[role].actions:
        headers["X-Access-Purpose"] = purposes[0]
    return headers


@pytest.mark.parametrize(("method", "path"), sorted(CALLERS), ids=lambda v: v)
def test_every_operation_conforms_to_its_schema(request, api_schema, auth, method, path):
    # Reads get a child to find; posts need none (seeding is most of a short run's time).
    seeded = request.getfixturevalue("seeded") if method == "GET" and path.startswith("/api/") else None
    operation = api_schema[path][method]
    headers = headers_for(method, path, auth)
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def conforms(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    conforms()
    if seeded is not None and "{child_id}" in path:
        # A random id is a 404; the seeded child's full record must conform as well.
        case = operation.Case(path_parameters={"child_id": seeded.child_id})
        case.call_and_validate(headers=headers, checks=CHECKS)


def test_every_documented_operation_has_a_caller(settings, db):
    app = create_app(replace(settings, api_docs=True), db=db)
    documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert documented == set(CALLERS)


INGEST_PATHS = {f"/api/v1/{kind.path}" for kind in KINDS.values()}
QUALITY_CHECK = ("POST", "/api/v1/ppns/quality-check")
SEARCH = ("POST", "/api/v1/children/search")


def test_every_example_in_the_api_docs_does_what_it_says(settings, db, auth):
    # What an agency's developer posts first, from /docs ("Try it out"): each example is accepted
    # as it stands, the quality check finds what its example leaves out, and search finds the child.
    app = create_app(replace(settings, api_docs=True), db=db)
    with TestClient(app) as client:
        paths = client.get("/openapi.json").json()["paths"]
        examples = {
            (method.upper(), path): [e["value"] for e in body["examples"].values()]
            for path, operations in paths.items()
            for method, operation in operations.items()
            if (body := operation.get("requestBody", {}).get("content", {}).get("application/json", {})).get("examples")
        }
        ingest = [key for key in examples if key[0] == "POST" and key[1] in INGEST_PATHS]
        assert len(ingest) == len(INGEST_PATHS)
        for method, path in [*ingest, *(key for key in examples if key not in ingest)]:
            for value in examples[(method, path)]:
                r = client.request(method, path, json=value, headers=headers_for(method, path, auth))
                assert r.status_code in (200, 201), (path, r.text)
                if path == "/api/v1/batch":
                    assert [item["status"] for item in r.json()["items"]] == [200, 200]  # posted above
                if path == "/api/v1/ppns/quality-check":
                    found = {f["rule_id"] for f in r.json()["findings"]}
                    assert {"voice_of_child_missing", "ethnicity_self_defined_missing"} <= found, found
                if path == "/api/v1/children/search":
                    assert r.json()["results"], value
        assert set(examples) == {*ingest, ("POST", "/api/v1/batch"), QUALITY_CHECK, SEARCH}
