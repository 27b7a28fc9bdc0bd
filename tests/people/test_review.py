"""The steward's review: evidence within policy, merge and split keep every record, all audited."""

from __future__ import annotations

import uuid

from sqlalchemy import insert

from app.models import ChildIdentifier
from tests.factories import NHS_A, NHS_B, incident, ppn
from tests.people.helpers import POLICY, anonymous_person, outcome, post_ppn
from tests.seeding import audit_rows, reader, rows_of_request

REVIEW = "/api/v1/identity/review"


def _possible_match(client, auth, db):
    """Aisha at LS9, then Aisha at a new address with a police person id: a possible match."""
    older = post_ppn(client, auth, "P-1", anonymous_person())
    newer = post_ppn(
        client, auth, "P-2", anonymous_person(postcode="LS8 3QT", sex=None, identifiers={"police_person_id": "WYP-9"})
    )
    assert outcome(db, older, newer) == "review"
    return older, newer


def _records_of(client, auth, child_id):
    r = client.get(f"/api/v1/children/{child_id}/record", headers=reader(auth, POLICY, "front_door_social_worker"))
    assert r.status_code == 200, r.text
    return sorted(x["source_ref"] for x in r.json()["records"])


def test_the_steward_sees_both_children_side_by_side_with_identity_fields_only(client, auth, db):
    older, newer = _possible_match(client, auth, db)
    r = client.get(REVIEW, headers=reader(auth, POLICY, "identity_steward"))
    assert r.status_code == 200, r.text
    [item] = r.json()["items"]
    assert {item["record_child"]["child_id"], item["candidate"]["child_id"]} == {older, newer}
    assert item["evidence"]["postcode"] == "differ" and item["evidence"]["given_name"] == "exact"
    for side in (item["record_child"], item["candidate"]):
        assert set(side["identity"]) <= {"given_name", "family_name", "date_of_birth", "sex", "identifiers"}
        assert "postcode" not in side["identity"]
    [row] = rows_of_request(db, r)
    assert row["action"] == "review_identity" and set(row["child_ids"]) == {older, newer}
    assert row["field_groups"] == ["person.identity"]


def test_only_the_steward_reviews(client, auth, db):
    _possible_match(client, auth, db)
    r = client.get(REVIEW, headers=reader(auth, POLICY, "front_door_social_worker"))
    assert r.status_code == 403


def test_merge_keeps_every_record_later_records_land_on_the_survivor_and_split_undoes_it(client, auth, db):
    older, newer = _possible_match(client, auth, db)
    steward = reader(auth, POLICY, "identity_steward")
    [item] = client.get(REVIEW, headers=steward).json()["items"]

    merged = client.post(
        f"{REVIEW}/{item['id']}", json={"decision": "merge", "reason": "Same school and GP"}, headers=steward
    )
    assert merged.status_code == 200, merged.text
    assert merged.json()["surviving_child_id"] == older
    assert _records_of(client, auth, older) == ["P-1", "P-2"]
    # A worker still holding the absorbed child's id is shown the child they were merged into.
    absorbed = client.get(f"/api/v1/children/{newer}/record", headers=reader(auth, POLICY, "front_door_social_worker"))
    assert absorbed.status_code == 200 and absorbed.json()["child_id"] == older
    assert _records_of(client, auth, newer) == ["P-1", "P-2"]

    # Later: the absorbed child's police person id, and an amendment of its record, find the survivor.
    later = post_ppn(client, auth, "P-3", anonymous_person(given_name="Ash", identifiers={"police_person_id": "WYP-9"}))
    amended = client.post(
        "/api/v1/ppns",
        json=ppn(source_ref="P-2", version=2, risk_grade="low", person=anonymous_person(postcode="LS8 3QT")),
        headers=auth("police"),
    )
    assert later == older and amended.json()["children"][0]["child_id"] == older
    assert _records_of(client, auth, older) == ["P-1", "P-2", "P-3"]

    again = client.post(
        f"{REVIEW}/{item['id']}", json={"decision": "reject", "reason": "Changed my mind"}, headers=steward
    )
    assert again.status_code == 409

    split = client.post(
        f"/api/v1/identity/merges/{merged.json()['merge_id']}/split",
        json={"reason": "GP confirms two different girls"},
        headers=steward,
    )
    assert split.status_code == 200, split.text
    # What the merge moved goes back (P-2, amended since, is still the same record and person);
    # a record that arrived for the survivor since (P-3) stays with it.
    assert _records_of(client, auth, newer) == ["P-2"]
    assert _records_of(client, auth, older) == ["P-1", "P-3"]

    decisions = [r for r in audit_rows(db) if r["action"] == "review_identity" and r["reason"] in ("merge", "split")]
    assert [r["reason"] for r in decisions] == ["merge", "split"]
    assert all(set(r["child_ids"]) == {older, newer} for r in decisions)
    assert all("Same school" not in str(r) for r in decisions)  # the reason stays with the merge, not the audit


def test_split_returns_the_absorbed_childs_records(client, auth, db):
    older, newer = _possible_match(client, auth, db)
    steward = reader(auth, POLICY, "identity_steward")
    [item] = client.get(REVIEW, headers=steward).json()["items"]
    merge_id = client.post(
        f"{REVIEW}/{item['id']}", json={"decision": "merge", "reason": "Same school and GP"}, headers=steward
    ).json()["merge_id"]
    assert _records_of(client, auth, older) == ["P-1", "P-2"]
    r = client.post(
        f"/api/v1/identity/merges/{merge_id}/split", json={"reason": "GP confirms two girls"}, headers=steward
    )
    assert r.status_code == 200
    assert _records_of(client, auth, older) == ["P-1"] and _records_of(client, auth, newer) == ["P-2"]
    assert (
        client.post(
            f"/api/v1/identity/merges/{merge_id}/split", json={"reason": "GP confirms two girls"}, headers=steward
        ).status_code
        == 409
    )


def test_reject_leaves_both_children_apart(client, auth, db):
    older, newer = _possible_match(client, auth, db)
    steward = reader(auth, POLICY, "identity_steward")
    [item] = client.get(REVIEW, headers=steward).json()["items"]
    r = client.post(
        f"{REVIEW}/{item['id']}", json={"decision": "reject", "reason": "Different mothers named"}, headers=steward
    )
    assert r.json()["status"] == "rejected"
    assert client.get(REVIEW, headers=steward).json()["items"] == []
    assert _records_of(client, auth, older) == ["P-1"] and _records_of(client, auth, newer) == ["P-2"]


def _merge(client, steward, review_id) -> str:
    r = client.post(
        f"{REVIEW}/{review_id}", json={"decision": "merge", "reason": "Same school and GP"}, headers=steward
    )
    assert r.status_code == 200, r.text
    return r.json()["merge_id"]


def _split(client, steward, merge_id) -> None:
    r = client.post(
        f"/api/v1/identity/merges/{merge_id}/split", json={"reason": "GP confirms two girls"}, headers=steward
    )
    assert r.status_code == 200, r.text


def _reviews(client, steward) -> dict[tuple[str, str], str]:
    items = client.get(REVIEW, headers=steward).json()["items"]
    return {(i["record_child"]["child_id"], i["candidate"]["child_id"]): i["id"] for i in items}


def test_splitting_a_chain_of_merges_from_the_first_returns_each_child_its_own_records(client, auth, db):
    """C merged into B, then B into A; C split off first, then B. The second split must not take
    C's records (moved by the first merge into B, so also in the second merge's list) to B."""
    a = post_ppn(client, auth, "P-A", anonymous_person())
    b = post_ppn(client, auth, "P-B", anonymous_person(postcode="LS8 3QT"))
    c = post_ppn(client, auth, "P-C", anonymous_person(postcode="LS16 5NS"))
    steward = reader(auth, POLICY, "identity_steward")
    reviews = _reviews(client, steward)
    c_into_b = _merge(client, steward, reviews[(c, b)])
    b_into_a = _merge(client, steward, reviews[(b, a)])
    assert _records_of(client, auth, a) == ["P-A", "P-B", "P-C"]

    _split(client, steward, c_into_b)
    assert _records_of(client, auth, c) == ["P-C"]
    assert _records_of(client, auth, a) == ["P-A", "P-B"]
    _split(client, steward, b_into_a)
    assert [_records_of(client, auth, x) for x in (a, b, c)] == [["P-A"], ["P-B"], ["P-C"]]
    # C's description went back with it: a record describing C exactly finds C, not B.
    assert post_ppn(client, auth, "P-C2", anonymous_person(postcode="LS16 5NS")) == c


def test_a_split_after_an_amendment_reordered_the_people_moves_the_same_person_back(client, auth, db):
    """The merge moved X's row in incident I-X (its first person). An amendment of I-X then lists
    another child, Z, first. The split returns X's row wherever it now stands, and leaves Z's."""
    seraphina = anonymous_person(given_name="Seraphina", family_name="Montgomerie", date_of_birth="2010-08-28")
    crispin = anonymous_person(
        given_name="Crispin", family_name="Oddingley", date_of_birth="2009-02-02", sex="male", postcode="LS8 1AB"
    )
    victim = {"role": "victim", "arrested": False, "person": {**seraphina, "postcode": "LS27 0QE"}}
    suspect = {"role": "suspect", "arrested": True, "person": crispin}

    def post_incident(ref, version, persons):
        body = incident(source_ref=ref, version=version, crime_ref=None, persons=persons)
        r = client.post("/api/v1/incidents", json=body, headers=auth("police"))
        assert r.status_code in (200, 201), r.text
        return [c["child_id"] for c in r.json()["children"]]

    [y] = post_incident("I-Y", 1, [{**victim, "person": seraphina}])
    x, z = post_incident("I-X", 1, [victim, suspect])
    steward = reader(auth, POLICY, "identity_steward")
    merge_id = _merge(client, steward, _reviews(client, steward)[(x, y)])
    assert post_incident("I-X", 2, [suspect, victim]) == [z, y]

    _split(client, steward, merge_id)
    assert _records_of(client, auth, x) == ["I-X"]
    assert _records_of(client, auth, y) == ["I-Y"]
    assert _records_of(client, auth, z) == ["I-X"]
    record = client.get(f"/api/v1/children/{z}/record", headers=reader(auth, POLICY, "front_door_social_worker"))
    [subject] = [p for p in record.json()["records"][0]["fields"]["persons"] if p["subject"]]
    assert subject["role"] == "suspect"


def test_the_meetings_actions_about_a_child_follow_a_merge_and_go_back_with_the_split(client, auth, db):
    older, newer = _possible_match(client, auth, db)
    chair = {**auth("police", "shield_chair"), "X-Access-Purpose": "project_shield_meeting"}

    def act(child_id: str, description: str) -> str:
        body = {"child_id": child_id, "description": description, "owner_agency": "yjs", "due_on": "2026-11-06"}
        r = client.post("/api/v1/briefings/2026-11-05/actions", json=body, headers=chair)
        assert r.status_code == 201, r.text
        return r.json()["action_id"]

    def children_of_actions() -> dict[str, str]:
        r = client.get("/api/v1/actions", params={"status": "open"}, headers=chair)
        assert r.status_code == 200, r.text
        return {a["action_id"]: a["child_id"] for a in r.json()["items"]}

    before = act(newer, "YJS to visit")
    steward = reader(auth, POLICY, "identity_steward")
    merge_id = _merge(client, steward, _reviews(client, steward)[(newer, older)])
    assert children_of_actions() == {before: older}
    # A chair still holding the absorbed child's id records the action about the child it now is.
    after = act(newer, "School to share attendance")
    assert children_of_actions() == {before: older, after: older}

    _split(client, steward, merge_id)
    assert children_of_actions() == {before: newer, after: older}


def test_the_disclosure_log_of_a_merged_child_holds_what_was_read_under_each_of_its_ids(client, auth, db):
    older, newer = _possible_match(client, auth, db)
    unrelated = post_ppn(client, auth, "P-9", anonymous_person(given_name="Zara", family_name="Khan"))
    front_door = reader(auth, POLICY, "front_door_social_worker")
    reads = [client.get(f"/api/v1/children/{c}/record", headers=front_door) for c in (newer, older, unrelated)]
    assert [r.status_code for r in reads] == [200, 200, 200]
    seqs = [next(r["seq"] for r in rows_of_request(db, read) if r["action"] == "read_child_record") for read in reads]
    steward = reader(auth, POLICY, "identity_steward")
    _merge(client, steward, _reviews(client, steward)[(newer, older)])

    officer = reader(auth, POLICY, "privacy_officer", sub="dpo-1")
    for asked in (older, newer):
        log = client.get("/api/v1/audit/events", params={"child_id": asked}, headers=officer).json()
        shown = [e["seq"] for e in log if e["action"] == "read_child_record"]
        assert shown == [seqs[1], seqs[0]], asked  # both reads, newest first; not the unrelated child's


def test_a_merge_refused_for_one_childs_two_nhs_numbers_says_so(client, auth, db):
    # Linked before a second NHS number was refused, a child may hold two: the refusal said "the
    # two children hold different values" though the other child held none.
    older, newer = _possible_match(client, auth, db)
    with db.writing() as s:
        for value in (NHS_A, NHS_B):
            s.execute(insert(ChildIdentifier).values(child_id=uuid.UUID(older), scheme="nhs_number", value=value))
    [review] = client.get(REVIEW, headers=reader(auth, POLICY, "identity_steward")).json()["items"]
    decided = client.post(
        f"{REVIEW}/{review['id']}",
        json={"decision": "merge", "reason": "Same child: same name, date of birth and school"},
        headers=reader(auth, POLICY, "identity_steward"),
    )
    assert decided.status_code == 409
    assert decided.json()["detail"].startswith(f"child {older} holds 2 nhs_number values")
