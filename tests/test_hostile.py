"""Hostile input at the transport level: each is a clear 4xx problem, never a 500, and stores nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from app.models import AuditEvent, Record, RecordVersion
from tests.factories import BUILDERS, incident

URL = "/api/v1/incidents"
JSON = {"Content-Type": "application/json"}


def count(db, model) -> int:
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(model))


def assert_problem(r, status: int) -> dict:
    """An RFC 9457 problem whose status is the HTTP status and whose instance is this request's id."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == status
    assert problem["title"] and problem["type"]
    assert problem["instance"].startswith("urn:uuid:")
    assert problem["instance"] == f"urn:uuid:{r.headers['x-request-id']}"
    assert r.headers["cache-control"] == "no-store"
    assert "Traceback" not in r.text
    return problem


def raw_incident(summary_json: str) -> bytes:
    """An incident body whose summary is the given JSON text, spliced in by hand."""
    return json.dumps(incident(summary="SUMMARY")).replace('"SUMMARY"', summary_json).encode()


def post_raw(client, auth, content: bytes, url: str = URL):
    return client.post(url, content=content, headers={**auth(), **JSON})


def test_malformed_json_is_400(client, auth, db):
    problem = assert_problem(post_raw(client, auth, b'{"source_ref": "WYP-INC-1", "version": '), 400)
    assert "JSON" in problem["title"] + problem.get("detail", "")
    assert count(db, Record) == 0


@pytest.mark.parametrize("content", [b"\xff\xfe{", '{"summary": "caf\xe9"}'.encode("latin-1")])
def test_a_body_that_is_not_utf8_is_malformed_json_and_401_first_without_a_token(client, auth, db, content):
    problem = assert_problem(post_raw(client, auth, content), 400)
    assert problem["type"] == "urn:shield:problem:malformed-json"
    anonymous = client.post(URL, content=content, headers=JSON)
    assert_problem(anonymous, 401)
    with db.read_session() as s:
        refused = s.scalars(select(AuditEvent).where(AuditEvent.action == "authenticate")).all()
    assert [r.outcome for r in refused] == ["DENY"]  # the failed authentication is on record
    assert count(db, Record) == 0


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"[" * 100_000, id="unclosed-arrays"),
        pytest.param(b'{"a":' * 100_000, id="unclosed-objects"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="closed-arrays"),
    ],
)
def test_deeply_nested_json_is_400_not_500(client, auth, db, content):
    assert_problem(post_raw(client, auth, content), 400)
    assert count(db, Record) == 0


def test_a_deeply_nested_value_where_text_belongs_is_422(client, auth, db):
    r = post_raw(client, auth, raw_incident("[" * 500 + "]" * 500))
    problem = assert_problem(r, 422)
    assert [e["field"] for e in problem["errors"]] == ["summary"]
    assert count(db, Record) == 0


def test_an_integer_of_thousands_of_digits_is_a_4xx_not_500(client, auth, db):
    body = json.dumps(incident(version=1)).replace('"version": 1', '"version": ' + "9" * 5000).encode()
    r = post_raw(client, auth, body)
    assert r.status_code in (400, 422), r.text
    assert_problem(r, r.status_code)
    assert count(db, Record) == 0


@pytest.mark.parametrize(
    ("escape", "field"),
    [
        pytest.param('"\\ud800"', "summary", id="lone-high-surrogate"),
        pytest.param('"before \\udfff after"', "summary", id="lone-low-surrogate-inside-text"),
        pytest.param('"\\udc00\\ud800"', "summary", id="surrogates-in-the-wrong-order"),
    ],
)
def test_a_lone_surrogate_in_text_is_422_naming_the_field(client, auth, db, escape, field):
    r = post_raw(client, auth, raw_incident(escape))
    problem = assert_problem(r, 422)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert count(db, Record) == 0


def test_a_lone_surrogate_in_a_nested_name_is_422_naming_the_field(client, auth, db):
    body = json.dumps(incident()).replace('"Aisha"', '"Ai\\ud800sha"', 1).encode()
    problem = assert_problem(post_raw(client, auth, body), 422)
    assert [e["field"] for e in problem["errors"]] == ["persons.0.person.given_name"]
    assert count(db, Record) == 0


def test_a_lone_surrogate_in_a_field_name_is_422_not_500(client, auth, db):
    body = json.dumps(incident()).replace('"summary"', '"\\ud800"').encode()
    assert_problem(post_raw(client, auth, body), 422)
    assert count(db, Record) == 0


def test_an_unknown_field_with_a_long_name_is_named_shortened_not_echoed_whole(client, auth, db):
    body = json.dumps({**incident(), "k" * 100_000: 1}).encode()
    problem = assert_problem(post_raw(client, auth, body), 422)
    assert [e["field"] for e in problem["errors"]] == ["k" * 63 + "…"]
    assert len(json.dumps(problem)) < 2000
    assert count(db, Record) == 0


@pytest.mark.parametrize("char", ["\\u202e", "\\u202a", "\\u2066", "\\u2069"])
def test_a_bidirectional_override_in_a_name_is_422_naming_the_field(client, auth, db, char):
    # "Evil<RLO>61 ega" made the child record's heading read "Evil51 ega ,age 16" for a child of 15.
    body = json.dumps(incident()).replace('"Aisha"', f'"Aisha{char}61 ega"', 1).encode()
    problem = assert_problem(post_raw(client, auth, body), 422)
    assert [e["field"] for e in problem["errors"]] == ["persons.0.person.given_name"]
    assert count(db, Record) == 0


def test_right_to_left_names_and_direction_marks_are_accepted(client, auth, db):
    body = json.dumps(incident()).replace('"Aisha"', '"\\u0639\\u0627\\u0626\\u0634\\u0629\\u200f"', 1).encode()
    assert post_raw(client, auth, body).status_code == 201


def test_a_valid_surrogate_pair_is_accepted(client, auth, db):
    r = post_raw(client, auth, raw_incident('"Threatened with a \\ud83d\\udd2a"'))
    assert r.status_code == 201, r.text
    with db.read_session() as s:
        assert s.scalar(select(RecordVersion.body))["summary"] == "Threatened with a \U0001f52a"


def test_a_body_over_the_limit_is_413(client, auth, db, app):
    limit = app.state.settings.max_body_bytes
    assert limit == 5 * 1024 * 1024
    r = client.post(URL, json=incident(summary="x" * 6_000_000), headers=auth())
    problem = assert_problem(r, 413)
    assert str(limit) in problem["detail"]
    assert count(db, Record) == 0


def test_a_body_over_the_limit_without_a_content_length_is_413(client, auth, db):
    def chunks() -> Iterator[bytes]:
        yield b'{"summary": "'
        for _ in range(6):
            yield b"x" * 1024 * 1024
        yield b'"}'

    r = client.post(URL, content=chunks(), headers={**auth(), **JSON})
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert_problem(r, 413)
    assert count(db, Record) == 0


def test_a_content_length_that_is_not_a_number_is_400(client, auth, db):
    r = client.post(URL, content=b"{}", headers={**auth(), **JSON, "Content-Length": "lots"})
    assert_problem(r, 400)


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("text/plain", id="text-plain"),
        pytest.param("application/x-www-form-urlencoded", id="form"),
        pytest.param("multipart/form-data; boundary=xyz", id="multipart"),
        pytest.param("application/xml", id="xml"),
        pytest.param(None, id="missing"),
    ],
)
def test_a_body_that_is_not_json_is_415(client, auth, db, content_type):
    headers = auth()
    if content_type:
        headers["Content-Type"] = content_type
    r = client.post(URL, content=json.dumps(incident()).encode(), headers=headers)
    if content_type is None:
        assert "content-type" not in {k.lower() for k in r.request.headers}
    assert_problem(r, 415)
    assert count(db, Record) == 0


def test_json_with_a_charset_parameter_is_accepted(client, auth, db):
    r = client.post(
        URL,
        content=json.dumps(incident()).encode(),
        headers={**auth(), "Content-Type": "application/json; charset=utf-8"},
    )
    assert r.status_code == 201, r.text


def test_script_in_free_text_is_stored_verbatim_as_text(client, auth, db):
    script = '<script>alert(1)</script> & "quotes" \' <img src=x onerror=alert(2)>'
    r = client.post(URL, json=incident(summary=script), headers=auth())
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/json")
    with db.read_session() as s:
        assert s.scalar(select(RecordVersion.body))["summary"] == script


def test_sql_in_free_text_is_stored_verbatim(client, auth, db):
    sql = "Robert'); DROP TABLE record;--"
    r = client.post(URL, json=incident(summary=sql, source_ref="X-1'--"), headers=auth())
    assert r.status_code == 422  # a source_ref is a reference, not free text
    r = client.post(URL, json=incident(summary=sql), headers=auth())
    assert r.status_code == 201, r.text
    with db.read_session() as s:
        assert s.scalar(select(RecordVersion.body))["summary"] == sql
    assert count(db, Record) == 1


# ---- Headers on every response --------------------------------------------------------------------


def _requests(auth):
    ok = {**auth(), **JSON}
    return {
        "201-created": ("POST", URL, json.dumps(incident()).encode(), ok),
        "200-health": ("GET", "/healthz", None, {}),
        "400-malformed": ("POST", URL, b"{", ok),
        "401-no-token": ("POST", URL, json.dumps(incident()).encode(), JSON),
        "403-wrong-agency": ("POST", "/api/v1/ae-attendances", json.dumps(BUILDERS["ae_attendance"]()).encode(), ok),
        "404-no-route": ("GET", "/api/v1/nothing-here", None, {}),
        "405-wrong-method": ("GET", URL, None, auth()),
        "413-too-large": ("POST", URL, b"x" * (5 * 1024 * 1024 + 1), ok),
        "415-not-json": ("POST", URL, b"{}", {**auth(), "Content-Type": "text/plain"}),
        "422-invalid": ("POST", URL, json.dumps(incident(version=0)).encode(), ok),
    }


@pytest.mark.parametrize(
    "name",
    [
        "201-created",
        "200-health",
        "400-malformed",
        "401-no-token",
        "403-wrong-agency",
        "404-no-route",
        "405-wrong-method",
        "413-too-large",
        "415-not-json",
        "422-invalid",
    ],
)
def test_every_response_is_no_store_with_a_request_id(client, auth, db, name):
    method, url, content, headers = _requests(auth)[name]
    r = client.request(method, url, content=content, headers=headers)
    assert r.status_code == int(name[:3]), r.text
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["x-request-id"]
    if r.status_code >= 400:
        assert_problem(r, r.status_code)


def test_each_request_gets_its_own_id(client, auth, db):
    ids = {client.get("/healthz").headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3


def test_a_client_cannot_override_cache_control(client, auth, db):
    r = client.get("/healthz", headers={"Cache-Control": "max-age=3600"})
    assert r.headers["cache-control"] == "no-store"


# ---- The batch endpoint ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("batch", "fields"),
    [
        pytest.param({"records": [1, "incident"]}, ["records.0", "records.1"], id="items-not-objects"),
        pytest.param({"records": [{"type": "burglary", "record": incident()}]}, ["records.0.type"], id="unknown-type"),
        pytest.param(
            {"records": [{"type": "incident", "record": [incident()]}]}, ["records.0.record"], id="record-not-an-object"
        ),
        pytest.param({"records": [{"type": "incident"}]}, ["records.0.record"], id="record-missing"),
        pytest.param(
            {"records": [{"type": "incident", "record": incident(), "agency": "health"}]},
            ["records.0.agency"],
            id="unknown-item-field",
        ),
        pytest.param({"records": []}, ["records"], id="empty-batch"),
        pytest.param({"records": {"type": "incident", "record": incident()}}, ["records"], id="records-not-a-list"),
        pytest.param([{"type": "incident", "record": incident()}], [""], id="body-a-bare-list"),
    ],
)
def test_a_malformed_batch_is_422_naming_the_field(client, auth, db, batch, fields):
    r = client.post("/api/v1/batch", json=batch, headers=auth())
    problem = assert_problem(r, 422)
    assert [e["field"] for e in problem["errors"]] == fields
    assert count(db, Record) == 0


def test_a_batch_of_malformed_json_is_400(client, auth, db):
    r = client.post("/api/v1/batch", content=b'{"records": [', headers={**auth(), **JSON})
    assert_problem(r, 400)
    assert count(db, Record) == 0
