"""The A&E follow-up queue: exact at the 24-hour boundary, within the navigator's scope, audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.navigator import queue as q
from app.policy import deps
from app.policy.loader import load_policy
from tests.conftest import ROOT
from tests.seeding import ae_body, full_person, nhs_number, post, reader, rows_of_request, seed_outsider

POLICY = load_policy(ROOT / "policies")
URL = "/api/v1/navigator/follow-ups"


def attendance(arrived: datetime, severity: str = "serious", status: str = "triage", contact=None) -> q.Attendance:
    return q.Attendance("r", "c", arrived, status, severity, contact)


@pytest.mark.parametrize(
    ("since_arrival", "overdue"),
    [
        (timedelta(hours=23, minutes=59, seconds=59), False),
        (timedelta(hours=24), False),  # exactly 24h00m00s: contact now still meets the standard
        (timedelta(hours=24, microseconds=1), True),
        (timedelta(days=3), True),
    ],
)
def test_overdue_is_exact_at_24_hours(since_arrival, overdue):
    now = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)  # across the spring clock change in London
    assert q.is_overdue(attendance(now - since_arrival), now) is overdue


@pytest.mark.parametrize(
    "a",
    [
        attendance(datetime(2026, 1, 1, tzinfo=UTC), severity="moderate"),
        attendance(datetime(2026, 1, 1, tzinfo=UTC), severity="fatal"),
        attendance(datetime(2026, 1, 1, tzinfo=UTC), severity=None),
        attendance(datetime(2026, 1, 1, tzinfo=UTC), status="in_contact"),
        attendance(datetime(2026, 1, 1, tzinfo=UTC), contact=datetime(2026, 1, 1, 5, tzinfo=UTC)),
    ],
)
def test_only_serious_injuries_still_awaiting_contact_are_overdue(a):
    assert not q.is_overdue(a, datetime(2026, 2, 1, tzinfo=UTC))


def at_clock(monkeypatch, now: datetime) -> None:
    """The time the policy check (and so the queue) reads as now."""
    monkeypatch.setattr(deps, "utc_now", lambda: now)


def navigator(auth, **extra):
    return reader(auth, POLICY, "navigator", **extra)


def arrive(client, auth, ref: str, arrived: datetime, **overrides) -> dict:
    fields = {"assault_at": None, "first_contact_at": None, "navigator_status": "triage", **overrides}
    return post(
        client,
        auth,
        "ae_attendance",
        ae_body(
            full_person(identifiers={"nhs_number": nhs_number()}), ref=ref, arrived_at=arrived.isoformat(), **fields
        ),
    )


def test_the_overdue_list_is_exact_at_the_24_hour_boundary(client, auth, db, monkeypatch):
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    exact = arrive(client, auth, "AE-EXACT", now - timedelta(hours=24))
    late = arrive(client, auth, "AE-LATE", now - timedelta(hours=24, seconds=1))
    moderate = arrive(
        client, auth, "AE-MOD", now - timedelta(hours=48), injury_severity="moderate", navigator_status="waiting_list"
    )
    arrive(
        client,
        auth,
        "AE-SEEN",
        now - timedelta(hours=30),
        first_contact_at=(now - timedelta(hours=2)).isoformat(),
        navigator_status="in_contact",
    )
    at_clock(monkeypatch, now)
    r = client.get(URL, headers=navigator(auth))
    assert r.status_code == 200, r.text
    body = r.json()
    assert [i["record_id"] for i in body["overdue"]] == [late["id"]]
    waiting = {i["record_id"]: i for i in body["waiting"]}
    assert list(waiting) == [moderate["id"], exact["id"]]  # longest wait first
    assert waiting[exact["id"]]["waited_seconds"] == 24 * 3600
    assert datetime.fromisoformat(waiting[exact["id"]]["due_by"]) == now
    assert waiting[moderate["id"]]["due_by"] is None
    assert body["counts"]["overdue"] == 1 and body["counts"]["waiting"] == 2
    assert body["counts"]["by_status"] == {"triage": 2, "waiting_list": 1, "in_contact": 1}
    # The navigator sees the child to contact: name within policy, never another agency's detail.
    assert body["overdue"][0]["fields"]["person"]["given_name"] == "Aisha"


def test_the_queue_holds_only_children_in_the_navigators_scope(client, auth, db):
    outsider = seed_outsider(client, auth)  # A&E 200 days ago: outside the 90-day scope
    mine = arrive(client, auth, "AE-MINE", datetime.now(UTC) - timedelta(hours=2), navigator_status="waiting_list")
    body = client.get(URL, headers=navigator(auth)).json()
    listed = {i["child_id"] for part in ("overdue", "waiting", "not_contactable") for i in body[part]}
    assert listed == {mine["children"][0]["child_id"]}
    assert outsider.child_id not in str(body)
    assert sum(body["counts"]["by_status"].values()) == 1


def test_not_contactable_for_over_n_days_prompts_to_close(client, auth, db, monkeypatch, settings):
    child = full_person()
    first = ae_body(child, ref="AE-NC", days=2, navigator_status="not_contactable", first_contact_at=None)
    out = post(client, auth, "ae_attendance", first)
    post(client, auth, "ae_attendance", {**first, "version": 2, "assault_location_description": "Amended"})
    fd = reader(auth, POLICY, "front_door_social_worker")
    versions = client.get(f"/api/v1/children/{out['children'][0]['child_id']}/record", headers=fd).json()
    became = datetime.fromisoformat(versions["records"][0]["versions"][0]["received_at"])
    days = settings.not_contactable_days

    at_clock(monkeypatch, became + timedelta(days=days))  # exactly N days: not yet over
    assert client.get(URL, headers=navigator(auth)).json()["not_contactable"] == []
    at_clock(monkeypatch, became + timedelta(days=days, seconds=1))
    body = client.get(URL, headers=navigator(auth)).json()
    [item] = body["not_contactable"]
    # The amendment (same status) did not restart the clock.
    assert item["record_id"] == out["id"] and datetime.fromisoformat(item["not_contactable_since"]) == became
    assert "record the outcome" in item["prompt"] and f"{days} days" in item["prompt"]
    assert body["counts"]["not_contactable"] == 1 and body["not_contactable_days"] == days


def test_the_read_is_audited_with_the_children_and_attendances_on_the_page(client, auth, db):
    a = arrive(client, auth, "AE-A", datetime.now(UTC) - timedelta(hours=30))
    b = arrive(client, auth, "AE-B", datetime.now(UTC) - timedelta(hours=3))
    r = client.get(URL, headers=navigator(auth))
    [row] = rows_of_request(db, r)
    assert (row["action"], row["outcome"], row["purpose"]) == ("read_follow_ups", "ALLOW", "navigator_follow_up")
    assert sorted(row["child_ids"]) == sorted(x["children"][0]["child_id"] for x in (a, b))
    assert sorted(row["record_ids"]) == sorted([a["id"], b["id"]])
    assert "ae_attendance.ae_summary" in row["field_groups"] and "person.identity" in row["field_groups"]
    assert "Aisha" not in str(row)


def test_a_page_is_bounded_and_counts_still_count_everything(client, auth, db):
    for n in range(3):
        arrive(client, auth, f"AE-P{n}", datetime.now(UTC) - timedelta(hours=2 + n), navigator_status="waiting_list")
    r = client.get(URL, params={"limit": 2, "offset": 1}, headers=navigator(auth))
    body = r.json()
    assert len(body["waiting"]) == 2 and body["counts"]["waiting"] == 3
    [row] = rows_of_request(db, r)
    assert len(row["child_ids"]) == 2  # only the page was disclosed
    too_big = client.get(URL, params={"limit": 201}, headers=navigator(auth))
    assert too_big.status_code == 422 and too_big.headers["content-type"].startswith("application/problem+json")


def test_roles_without_the_action_or_purpose_are_refused_and_audited(client, auth, db):
    arrive(client, auth, "AE-R", datetime.now(UTC) - timedelta(hours=30))
    r = client.get(URL, headers=reader(auth, POLICY, "front_door_social_worker"))
    assert r.status_code == 403 and "Aisha" not in r.text
    [row] = rows_of_request(db, r)
    assert (row["action"], row["outcome"], row["reason"]) == ("read_follow_ups", "DENY", "action_not_granted")
    assert client.get(URL, headers=navigator(auth, **{"X-Access-Purpose": ""})).status_code == 400


def test_the_not_contactable_days_come_from_the_environment(monkeypatch):
    from app.config import ConfigError, Settings

    monkeypatch.setenv("SHIELD_NOT_CONTACTABLE_DAYS", "21")
    assert Settings.from_env().not_contactable_days == 21
    monkeypatch.delenv("SHIELD_NOT_CONTACTABLE_DAYS")
    assert Settings.from_env().not_contactable_days == 14
    for bad in ("0", "two weeks"):
        monkeypatch.setenv("SHIELD_NOT_CONTACTABLE_DAYS", bad)
        with pytest.raises(ConfigError, match="SHIELD_NOT_CONTACTABLE_DAYS"):
            Settings.from_env()
