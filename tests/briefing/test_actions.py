"""Meeting actions: the chair creates and closes, the owner agency moves its own on, everything audited."""

from __future__ import annotations

import pytest

from app.policy.loader import load_policy
from tests.briefing.builders import Night, briefing, seed_night
from tests.conftest import ROOT
from tests.seeding import rows_of_request

POLICY = load_policy(ROOT / "policies")
PURPOSE = {"X-Access-Purpose": "project_shield_meeting"}


@pytest.fixture
def night(client, auth, db) -> Night:
    return seed_night(client, auth)


def chair(auth):
    return {**auth("police", "shield_chair"), **PURPOSE}


def member(auth, agency):
    return {**auth(agency, "shield_member", sub=f"{agency}-member"), **PURPOSE}


def create(client, auth, night, day="2026-11-05", **overrides):
    body = {
        "child_id": night.aisha,
        "incident_id": None,
        "description": "YJS to visit and check safety plan",
        "owner_agency": "yjs",
        "due_on": "2026-11-06",
        **overrides,
    }
    return client.post(f"/api/v1/briefings/{day}/actions", json=body, headers=chair(auth))


def test_an_open_action_shows_in_every_briefing_until_done_and_overdue_stands_out(client, auth, db, night):
    r = create(client, auth, night)
    assert r.status_code == 201, r.text
    action = r.json()
    assert (action["status"], action["meeting_date"], action["owner_agency"]) == ("open", "2026-11-05", "yjs")
    [row] = rows_of_request(db, r)
    assert (row["action"], row["outcome"], row["child_ids"]) == ("create_meeting_action", "ALLOW", [night.aisha])
    assert action["action_id"] in row["record_ids"]

    body = briefing(client, auth, POLICY).json()
    [listed] = body["open_actions"]
    assert listed["action_id"] == action["action_id"] and listed["overdue"] is True
    aisha = next(c for i in body["incidents"] for c in i["children"] if c["child_id"] == night.aisha)
    assert [a["action_id"] for a in aisha["open_actions"]] == [action["action_id"]]
    # The meeting that set the action is one of the child's earlier Shield discussions.
    assert "2026-11-05" in aisha["earlier_shield_discussions"]
    page = briefing(client, auth, POLICY, format="html").text
    assert "OVERDUE" in page and 'class="overdue"' in page

    done = client.patch(
        f"/api/v1/actions/{action['action_id']}",
        json={"status": "done", "outcome_note": "Visited; plan in place"},
        headers=chair(auth),
    )
    assert done.status_code == 200, done.text
    assert briefing(client, auth, POLICY).json()["open_actions"] == []


def test_the_owner_agency_moves_its_own_action_on_but_cannot_close_it(client, auth, db, night):
    action_id = create(client, auth, night).json()["action_id"]
    url = f"/api/v1/actions/{action_id}"
    r = client.patch(url, json={"status": "in_progress", "outcome_note": "Visit booked"}, headers=member(auth, "yjs"))
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["outcome_note"]) == ("in_progress", "Visit booked")
    [row] = rows_of_request(db, r)
    assert (row["action"], row["outcome"], row["actor_agency"]) == ("update_meeting_action", "ALLOW", "yjs")
    for status in ("done", "cancelled", "open"):
        r = client.patch(url, json={"status": status}, headers=member(auth, "yjs"))
        assert r.status_code == 403, (status, r.text)
        [row] = rows_of_request(db, r)
        assert (row["action"], row["outcome"]) == ("update_meeting_action", "DENY")


def test_another_agency_may_not_update_an_action_it_does_not_own(client, auth, db, night):
    action_id = create(client, auth, night).json()["action_id"]
    r = client.patch(f"/api/v1/actions/{action_id}", json={"outcome_note": "not ours"}, headers=member(auth, "health"))
    assert r.status_code == 403
    listed = client.get("/api/v1/actions", headers=chair(auth)).json()["items"]
    assert listed[0]["outcome_note"] is None


def test_updating_an_action_that_is_not_there_is_404_and_on_record(client, auth, db, night):
    missing = "6f1c0a52-3c1e-4d7e-9a51-2f8a0c7b1d90"
    r = client.patch(f"/api/v1/actions/{missing}", json={"outcome_note": "guess"}, headers=chair(auth))
    assert r.status_code == 404, r.text
    [row] = rows_of_request(db, r)
    assert (row["action"], row["outcome"], row["reason"]) == ("update_meeting_action", "DENY", "not_found")
    assert row["record_ids"] == [missing] and row["child_ids"] == []


def test_only_the_chair_creates_actions(client, auth, db, night):
    r = client.post(
        "/api/v1/briefings/2026-11-05/actions",
        json={"child_id": night.aisha, "description": "x", "owner_agency": "yjs", "due_on": "2026-11-06"},
        headers=member(auth, "yjs"),
    )
    assert r.status_code == 403
    [row] = rows_of_request(db, r)
    assert (row["action"], row["outcome"]) == ("manage_actions", "DENY")


def test_a_closed_action_is_changed_only_by_the_chair(client, auth, db, night):
    action_id = create(client, auth, night).json()["action_id"]
    url = f"/api/v1/actions/{action_id}"
    assert client.patch(url, json={"status": "cancelled"}, headers=chair(auth)).status_code == 200
    assert client.patch(url, json={"outcome_note": "late note"}, headers=member(auth, "yjs")).status_code == 403
    reopened = client.patch(url, json={"status": "open"}, headers=chair(auth))
    assert reopened.status_code == 200 and reopened.json()["status"] == "open"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"owner_agency": "mi5"}, "owner_agency"),
        ({"child_id": "00000000-0000-4000-8000-000000000000"}, "child_id"),
        ({"child_id": None, "incident_id": "00000000-0000-4000-8000-000000000000"}, "incident_id"),
        ({"due_on": "2026-11-01"}, "due_on"),
    ],
)
def test_an_action_about_nothing_known_is_422_naming_the_field(client, auth, db, night, overrides, field):
    r = create(client, auth, night, **overrides)
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field]


def test_a_refused_action_is_on_record_with_the_child_and_incident_asked_about(client, auth, db, night):
    # The answer says whether the child was in that incident: asking is a look-up, and audited.
    r = create(client, auth, night, child_id=night.bystander, incident_id=night.incident)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["detail"] == "this child is not involved in that incident"
    [row] = rows_of_request(db, r)
    assert (row["action"], row["outcome"], row["reason"]) == ("create_meeting_action", "DENY", "not_valid")
    assert (row["child_ids"], row["record_ids"]) == ([night.bystander], [night.incident])


def test_an_action_needs_a_child_or_an_incident_and_a_meeting_day(client, auth, db, night):
    assert create(client, auth, night, child_id=None).status_code == 422
    r = create(client, auth, night, day="2026-11-07")  # a Saturday
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path.day"
    r = create(client, auth, night, incident_id=night.at_end)  # Aisha is not in that incident
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "child_id"
    ok = create(client, auth, night, incident_id=night.incident)
    assert ok.status_code == 201 and ok.json()["incident_id"] == night.incident


def test_listing_is_paged_by_cursor_with_a_maximum_page_size(client, auth, db, night):
    ids = [create(client, auth, night, due_on=f"2026-11-{10 + i:02d}").json()["action_id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        params = {"status": "open", "limit": 2, **({"cursor": cursor} if cursor else {})}
        r = client.get("/api/v1/actions", params=params, headers=member(auth, "education"))
        assert r.status_code == 200, r.text
        seen += [a["action_id"] for a in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == ids
    [row] = rows_of_request(db, r)
    assert (row["action"], row["child_ids"]) == ("read_meeting_actions", [night.aisha])
    assert client.get("/api/v1/actions", params={"limit": 201}, headers=chair(auth)).status_code == 422
    assert (
        client.get("/api/v1/actions", params={"status": "open", "cursor": "bogus!"}, headers=chair(auth)).status_code
        == 422
    )
    assert client.get("/api/v1/actions", params={"status": "done"}, headers=chair(auth)).json()["items"] == []
    # The README's URL, with an empty cursor: the first page.
    first = client.get("/api/v1/actions?status=open&limit=50&cursor=", headers=chair(auth))
    assert first.status_code == 200 and first.json()["items"]


def test_an_action_is_set_at_a_meeting_that_has_happened_and_shows_from_that_meeting_on(client, auth, db, night):
    ahead = create(client, auth, night, day="2030-01-07", due_on="2030-01-08")
    assert ahead.status_code == 422, ahead.text
    assert [(e["field"], e["detail"]) for e in ahead.json()["errors"]] == [
        ("path.day", "the meeting on 2030-01-07 has not happened yet")
    ]
    # MEETING's briefing shows what that meeting and earlier ones set, not what later ones did.
    earlier = create(client, auth, night, day="2026-11-05").json()["action_id"]
    later = create(client, auth, night, day="2026-11-12", due_on="2026-11-13").json()["action_id"]
    body = briefing(client, auth, POLICY).json()
    assert [a["action_id"] for a in body["open_actions"]] == [earlier]
    aisha = next(c for i in body["incidents"] for c in i["children"] if c["child_id"] == night.aisha)
    assert [a["action_id"] for a in aisha["open_actions"]] == [earlier]
    assert "2026-11-12" not in aisha["earlier_shield_discussions"]
    listed = client.get("/api/v1/actions", params={"status": "open"}, headers=chair(auth)).json()["items"]
    assert {a["action_id"] for a in listed} == {earlier, later}
