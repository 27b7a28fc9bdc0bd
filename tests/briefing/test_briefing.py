"""The daily briefing on a known night: each section's content, per-role views, formats, audit."""

from __future__ import annotations

import csv
import io
import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from app.briefing.window import MeetingCalendar, load_holidays
from app.main import create_app
from app.policy.loader import load_policy
from tests.briefing.builders import HOSTILE, MEETING, Night, briefing, seed_night
from tests.conftest import ROOT
from tests.seeding import SCHOOL_A, full_person, incident_body, nhs_number, post, ppn_body, rows_of_request

POLICY = load_policy(ROOT / "policies")


@pytest.fixture
def night(client, auth, db) -> Night:
    return seed_night(client, auth)


def _incident(body, incident_id):
    return next(i for i in body["incidents"] if i["incident_id"] == incident_id)


def _child(incident, child_id):
    return next(c for c in incident["children"] if c["child_id"] == child_id)


def test_the_window_holds_the_nights_incidents_and_the_cutoff_belongs_to_the_next_meeting(client, auth, night):
    r = briefing(client, auth, POLICY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["window"] == {
        "from": "2026-11-09T09:00:00+00:00",
        "to": "2026-11-10T09:00:00+00:00",
        "previous_meeting": "2026-11-09",
        "timezone": "Europe/London",
        "meeting_time": "09:00",
    }
    ids = [i["incident_id"] for i in body["incidents"]]
    # At Monday's cut-off exactly: in this window (it starts there). At Tuesday's: the next meeting's.
    assert sorted(ids) == sorted([night.incident, night.at_start])
    assert night.at_end not in ids
    # Grouped by area: LS6 before LS9.
    assert [i["location"]["postcode_district"] for i in body["incidents"]] == ["LS6", "LS9"]
    r = client.get(
        "/api/v1/briefings/daily",
        params={"date": "2026-11-11"},
        headers={**briefing_headers(auth), "X-Access-Purpose": "project_shield_meeting"},
    )
    assert [i["incident_id"] for i in r.json()["incidents"]] == [night.at_end]


def briefing_headers(auth, role="shield_chair", agency="police"):
    return {**auth(agency, role), "X-Access-Purpose": "project_shield_meeting"}


def test_each_child_carries_what_the_partnership_knows(client, auth, night):
    body = briefing(client, auth, POLICY).json()
    incident = _incident(body, night.incident)
    assert incident["location"] == {"postcode_district": "LS9", "ward": HOSTILE}
    assert (incident["category"], incident["weapon"], incident["injury_severity"]) == ("wounding", "knife", "serious")
    assert incident["reported_late"] is False
    aisha = _child(incident, night.aisha)
    assert aisha["role"] == "victim" and aisha["arrested"] is False
    assert aisha["age"] == 15  # born 14 March 2011
    assert aisha["prior_incidents_90d"] == 2
    assert aisha["earlier_shield_discussions"] == ["2026-11-02", "2026-10-21"]
    assert aisha["open_yjs_case"] == {"held_by": "yjs", "since": "2026-06-01"}
    assert aisha["ae_attendance"]["arrived_at"] == "2026-11-09T23:00:00+00:00"
    assert aisha["ae_attendance"]["navigator_status"] == "in_contact"
    ppn = aisha["ppn"]
    assert (ppn["sent"], ppn["sent_in_time"], ppn["hours_after_incident"]) == (True, True, 9.8)
    kyle = _child(incident, night.kyle)
    assert (kyle["role"], kyle["arrested"], kyle["age"], kyle["prior_incidents_90d"]) == ("suspect", True, 16, 0)
    assert kyle["open_yjs_case"] is None and kyle["ae_attendance"] is None
    assert kyle["ppn"]["sent"] is False and kyle["ppn"]["overdue"] is True
    assert kyle["ppn"]["due_by"] == "2026-11-10T22:15:00+00:00"


def test_sections_cumulative_harm_ae_and_missing_ppns(client, auth, night):
    body = briefing(client, auth, POLICY).json()
    harm = {c["child_id"]: c for c in body["cumulative_harm"]}
    # Aisha and the bystander: three incidents each in the 90 days; Kyle has one.
    assert set(harm) == {night.aisha, night.bystander}
    assert harm[night.aisha]["incidents_90d"] == harm[night.bystander]["incidents_90d"] == 3
    [ae] = body["ae_attendances"]
    assert (ae["child_id"], ae["navigator_status"], ae["age"]) == (night.aisha, "in_contact", 15)
    missing = {(m["incident_id"], m["child_id"]) for m in body["missing_ppns"]}
    assert (night.incident, night.kyle) in missing  # the arrested child, no PPN
    assert (night.incident, night.aisha) not in missing
    assert all(m["ppn"]["sent_in_time"] is False for m in body["missing_ppns"])


def test_a_late_ppn_says_how_late(client, auth, night):
    post(
        client,
        auth,
        "ppn",
        {
            **_ppn_for(night.kyle_person),
            "submitted_at": "2026-11-11T04:15:00+00:00",
        },
    )
    body = briefing(client, auth, POLICY).json()
    kyle = _child(_incident(body, night.incident), night.kyle)
    assert kyle["ppn"]["sent"] is True and kyle["ppn"]["sent_in_time"] is False
    assert (kyle["ppn"]["hours_after_incident"], kyle["ppn"]["hours_late"]) == (30.0, 6.0)


def _ppn_for(person):
    return ppn_body(
        person,
        ref="PPN-KYLE",
        occurrence_ref="13/INC-MAIN/26",
        incident_occurred_at="2026-11-09T22:15:00+00:00",
        arrested=True,
    )


def test_the_chair_sees_police_detail_and_no_health_detail_or_school(client, auth, night):
    body = briefing(client, auth, POLICY, role="shield_chair", agency="police").json()
    incident = _incident(body, night.incident)
    assert incident["crime_ref"] == "13/INC-MAIN/26"
    assert incident["summary"] == "Child stabbed in the leg by another youth; taken to LGI."
    aisha = _child(incident, night.aisha)
    assert "school_urn" not in aisha
    assert "assault_method" not in aisha["ae_attendance"] and "injury_severity" not in aisha["ae_attendance"]
    assert "incident.police_detail" in body["field_groups"]
    assert not any(g.startswith("person.") for g in body["field_groups"])


def test_an_education_member_sees_the_school_and_no_police_detail(client, auth, night):
    body = briefing(client, auth, POLICY, role="shield_member", agency="education").json()
    incident = _incident(body, night.incident)
    assert "crime_ref" not in incident and "summary" not in incident
    aisha = _child(incident, night.aisha)
    kyle = _child(incident, night.kyle)
    assert aisha["school_urn"] == SCHOOL_A
    assert "arrested" not in aisha and "arrested" not in kyle
    assert "assault_method" not in aisha["ae_attendance"]
    assert "person.school" in body["field_groups"]


def test_health_detail_only_for_the_health_member_the_policy_names(client, auth, night):
    health = briefing(client, auth, POLICY, role="shield_member", agency="health").json()
    yjs = briefing(client, auth, POLICY, role="shield_member", agency="yjs").json()
    assert _child(_incident(health, night.incident), night.aisha)["ae_attendance"]["assault_method"] == "knife"
    assert health["ae_attendances"][0]["assault_method"] == "knife"
    assert "assault_method" not in _child(_incident(yjs, night.incident), night.aisha)["ae_attendance"]
    assert "assault_method" not in yjs["ae_attendances"][0]
    assert "school_urn" not in _child(_incident(yjs, night.incident), night.aisha)


def test_no_name_date_of_birth_or_address_in_any_format(client, auth, night):
    for fmt in ("json", "html", "csv"):
        for role, agency in (("shield_chair", "police"), ("shield_member", "education"), ("shield_member", "health")):
            text = briefing(client, auth, POLICY, role=role, agency=agency, format=fmt).text
            for person in (night.aisha_person, night.kyle_person):
                for value in (
                    person["given_name"],
                    person["family_name"],
                    person["date_of_birth"],
                    person["address"],
                    person["postcode"],
                    person["identifiers"]["nhs_number"],
                ):
                    assert value not in text, (fmt, role, agency, value)
            assert "Harehills Lane" not in text  # the location description is not an area


@pytest.mark.parametrize("role", ["front_door_social_worker", "navigator", "agency_system", "privacy_officer"])
def test_roles_without_read_briefing_are_refused_and_audited(client, auth, db, night, role):
    r = client.get(
        "/api/v1/briefings/daily",
        params={"date": MEETING.isoformat()},
        headers={**auth("social_care", role), "X-Access-Purpose": "project_shield_meeting"},
    )
    assert r.status_code == 403
    assert night.aisha not in r.text
    [row] = rows_of_request(db, r)
    assert (row["action"], row["outcome"], row["reason"]) == ("read_briefing", "DENY", "action_not_granted")


def test_a_purpose_is_required(client, auth, night):
    r = client.get(
        "/api/v1/briefings/daily", params={"date": MEETING.isoformat()}, headers=auth("police", "shield_chair")
    )
    assert r.status_code == 400


@pytest.mark.parametrize(("day", "why"), [("2026-11-14", "Saturday"), ("2026-12-25", "Friday 25 December")])
def test_a_day_without_a_meeting_is_422_naming_the_date(client, auth, db, day, why):
    r = client.get("/api/v1/briefings/daily", params={"date": day}, headers=briefing_headers(auth))
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert error["field"] == "query.date" and why in error["detail"]


def test_each_pull_is_audited_with_the_children_and_groups_disclosed(client, auth, db, night):
    for role, agency in (("shield_chair", "police"), ("shield_member", "education")):
        r = briefing(client, auth, POLICY, role=role, agency=agency, format="html")
        assert r.status_code == 200
        [row] = rows_of_request(db, r)
        assert (row["action"], row["outcome"], row["purpose"]) == ("read_briefing", "ALLOW", "project_shield_meeting")
        assert row["actor_roles"] == [role] and row["actor_agency"] == agency
        assert {night.aisha, night.kyle} <= set(row["child_ids"])
        assert night.incident in row["record_ids"] and night.at_end not in row["record_ids"]
        body = briefing(client, auth, POLICY, role=role, agency=agency).json()
        assert set(row["field_groups"]) == set(body["field_groups"])
        named = {i for entry in body["cumulative_harm"] for i in entry["incident_ids"]}
        assert set(night.earlier) & named and named <= set(row["record_ids"])  # the earlier incidents too
        assert ("person.school" in row["field_groups"]) is (agency == "education")
        text = json.dumps(row, default=str)
        assert night.aisha_person["family_name"] not in text and HOSTILE not in text


def test_the_html_page_leaves_out_the_ae_columns_the_role_may_not_read(client, auth, night):
    def ae_section(page: str) -> str:
        start = page.index("A&amp;E attendances after assault")
        return page[start : page.index("<h2>", start)]

    chair = ae_section(briefing(client, auth, POLICY, format="html").text)
    assert "<th>navigator</th>" in chair
    assert "<th>method</th>" not in chair and "<th>injury</th>" not in chair  # not an empty column
    health = ae_section(briefing(client, auth, POLICY, role="shield_member", agency="health", format="html").text)
    assert "<th>method</th>" in health and "<th>injury</th>" in health and "knife" in health
    # Codes read as words, and dates as dates, as in the rest of the page.
    assert "<td>in contact</td>" in chair and "in_contact" not in chair
    page = briefing(client, auth, POLICY, format="html").text
    assert "open YJS case (YJS, since Mon 01 Jun 2026)" in page
    assert "discussed Mon 02 Nov 2026, Wed 21 Oct 2026" in page
    # Counts read as a sentence would say them (Aisha has two, Kyle none).
    assert "2 prior incidents in 90 days" in page and "no prior incidents in 90 days" in page
    assert "(s)" not in page
    assert "Since the meeting on Mon 09 Nov 2026: " in page
    assert "<h2>No PPN within 24 hours</h2>" in page
    # A weapon or an injury says which it is: "serious" alone could be either.
    assert "robbery · knife · serious injury" in page


def test_the_html_page_is_self_contained_printable_and_escapes_free_text(client, auth, night):
    r = briefing(client, auth, POLICY, format="html")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    page = r.text
    assert HOSTILE not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "<script" not in page.lower() and "src=" not in page and "href=" not in page
    assert "@page" in page and "A4" in page
    assert page.index(">LS6 <") < page.index(">LS9 <")  # grouped by area


def test_a_child_whose_age_no_record_gives_reads_not_known(client, auth, night):
    unknown = full_person(identifiers={"nhs_number": nhs_number()}, given_name="Dee", date_of_birth=None)
    known = full_person(identifiers={"nhs_number": nhs_number()}, given_name="Eve")
    out = post(
        client,
        auth,
        "incident",
        {
            **_incident_with_ward("Burmantofts", night),
            "persons": [
                {"role": "victim", "arrested": False, "person": unknown},
                {"role": "suspect", "arrested": False, "person": known},
            ],
        },
    )
    dee = next(c["child_id"] for c in out["children"] if c["role"] == "victim")
    assert _child(_incident(briefing(client, auth, POLICY).json(), out["id"]), dee)["age"] is None
    page = briefing(client, auth, POLICY, format="html").text
    row = page[page.index(f">{dee[:8]}<") :]
    row = row[: row.index("</tr>")]
    assert '<span class="muted">not known</span>' in row


def test_csv_is_one_row_per_incident_child_with_formula_cells_neutralised(client, auth, night):
    post(
        client,
        auth,
        "incident",
        {
            **_incident_with_ward('=HYPERLINK("http://evil")', night),
        },
    )
    r = briefing(client, auth, POLICY, format="csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    pairs = {(row["incident_id"], row["child_id"]) for row in rows}
    assert (night.incident, night.aisha) in pairs and (night.incident, night.kyle) in pairs
    assert len(rows) == len(pairs) == 6
    evil = next(row for row in rows if row["ward"].startswith("'"))
    assert evil["ward"] == '\'=HYPERLINK("http://evil")'
    aisha = next(row for row in rows if row["child_id"] == night.aisha and row["incident_id"] == night.incident)
    assert (aisha["age"], aisha["ppn_sent_in_time"], aisha["arrested"]) == ("15", "yes", "no")
    member = briefing(client, auth, POLICY, role="shield_member", agency="yjs", format="csv").text
    assert "arrested" not in member.splitlines()[0] and "school_urn" not in member.splitlines()[0]


def _incident_with_ward(ward, night):
    return incident_body(
        full_person(identifiers={"nhs_number": nhs_number()}, given_name="Ann"),
        full_person(identifiers={"nhs_number": nhs_number()}, given_name="Bob"),
        ref="INC-EVIL",
        occurred_at="2026-11-10T01:00:00+00:00",
        reported_at="2026-11-10T01:30:00+00:00",
        location={"postcode_district": "LS11", "ward": ward},
    )


def test_areas_come_in_the_order_of_their_district_numbers_not_as_text(client, auth, night):
    for n, district in enumerate(("LS10", "LS2", "LS16")):
        body = _incident_with_ward("Somewhere", night)
        post(
            client,
            auth,
            "incident",
            {**body, "source_ref": f"INC-AREA-{n}", "location": {"postcode_district": district}},
        )
    body = briefing(client, auth, POLICY).json()
    districts = list(dict.fromkeys(i["location"]["postcode_district"] for i in body["incidents"]))
    assert districts == ["LS2", "LS6", "LS9", "LS10", "LS16"]
    page = briefing(client, auth, POLICY, format="html").text
    assert page.index(">LS9 <") < page.index(">LS10 <") < page.index(">LS16 <")


def test_a_role_that_may_not_read_the_area_gets_incidents_in_time_order(client, auth, db, night, settings, tmp_path):
    # A partnership may one day place the district outside a role's groups; the order of the
    # incidents must then not give it away.
    policies = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", policies)
    groups = policies / "field_groups.yaml"
    text = groups.read_text(encoding="utf-8")
    text = text.replace("injury_severity, location.postcode_district,", "injury_severity,")
    text = text.replace("police_detail: [reported_at,", "police_detail: [location.postcode_district, reported_at,")
    groups.write_text(text, encoding="utf-8")
    policy = load_policy(policies)
    assert "location.postcode_district" not in policy.record_groups["incident"]["incident_summary"]
    for n, (district, hour) in enumerate((("LS2", 4), ("LS10", 3), ("LS16", 2))):
        body = _incident_with_ward("Somewhere", night)
        post(
            client,
            auth,
            "incident",
            {
                **body,
                "source_ref": f"INC-TIME-{n}",
                "occurred_at": f"2026-11-10T0{hour}:00:00+00:00",
                "reported_at": "2026-11-10T05:00:00+00:00",
                "location": {"postcode_district": district},
            },
        )
    with TestClient(create_app(replace(settings, policy_dir=policies), db=db), raise_server_exceptions=False) as c:
        member = briefing(c, auth, policy, role="shield_member", agency="yjs").json()["incidents"]
        chair = briefing(c, auth, policy).json()["incidents"]
        page = briefing(c, auth, policy, role="shield_member", agency="yjs", format="html").text
    assert all("postcode_district" not in i["location"] for i in member)
    times = [i["occurred_at"] for i in member]
    assert len(times) == 5 and times == sorted(times)
    # Not "not recorded": it was recorded, and is withheld.
    assert "(area not shared with your role) <span class='muted'>(5)</span>" in page
    assert "area not recorded" not in page
    # The chair reads the area, so theirs still comes by area.
    districts = list(dict.fromkeys(i["location"]["postcode_district"] for i in chair))
    assert districts == ["LS2", "LS6", "LS9", "LS10", "LS16"]


def test_an_incident_reported_after_its_window_closed_appears_in_the_current_briefing(client, auth, db):
    calendar = MeetingCalendar(ZoneInfo("Europe/London"), time(9), load_holidays(None))
    current = calendar.meeting_of(datetime.now(UTC))
    old = calendar.window(current).start.replace(microsecond=0) - timedelta(days=3)
    late = post(
        client,
        auth,
        "incident",
        incident_body(
            full_person(identifiers={"nhs_number": nhs_number()}),
            full_person(identifiers={"nhs_number": nhs_number()}),
            ref="INC-LATE",
            occurred_at=old.isoformat(),
            reported_at=old.isoformat(),
        ),
    )["id"]
    r = client.get("/api/v1/briefings/daily", params={"date": current.isoformat()}, headers=briefing_headers(auth))
    assert r.status_code == 200, r.text
    entry = _incident(r.json(), late)
    assert entry["reported_late"] is True


def test_a_child_named_twice_in_one_incident_counts_it_once(client, auth, night):
    twice = incident_body(
        night.aisha_person, night.aisha_person, ref="INC-TWICE", occurred_at="2026-11-05T18:00:00+00:00"
    )
    twice["persons"][1]["role"] = "witness"
    twice_id = post(client, auth, "incident", twice)["id"]
    body = briefing(client, auth, POLICY).json()
    assert _child(_incident(body, night.incident), night.aisha)["prior_incidents_90d"] == 3
    harm = {c["child_id"]: c for c in body["cumulative_harm"]}
    assert harm[night.aisha]["incidents_90d"] == 4
    assert harm[night.aisha]["incident_ids"].count(twice_id) == 1


def test_the_missing_ppns_are_those_of_children_the_rule_says_need_one(client, auth, night):
    """policies/ppn_quality.yaml: a child needs a PPN when arrested, or a victim of an incident with
    an injury listed. A witness, a suspect not arrested, a victim with no injury: not missing."""
    persons = [
        {"role": "witness", "arrested": False, "person": full_person(given_name="Will", identifiers={})},
        {"role": "suspect", "arrested": False, "person": full_person(given_name="Sid", identifiers={})},
        {"role": "suspect", "arrested": True, "person": full_person(given_name="Art", identifiers={})},
    ]
    at = "2026-11-10T01:00:00+00:00"
    quiet = incident_body(night.kyle_person, night.kyle_person, ref="INC-Q", occurred_at=at, reported_at=at)
    quiet["persons"] = persons
    injured = {**quiet, "source_ref": "INC-V", "injury_severity": "none", "crime_ref": "13/INC-V/26"}
    injured["persons"] = [
        {"role": "victim", "arrested": False, "person": full_person(given_name="Vic", identifiers={})}
    ]
    ids = [post(client, auth, "incident", body) for body in (quiet, injured)]
    body = briefing(client, auth, POLICY).json()
    missing = [
        (m["incident_id"], m["role"], m["arrested"])
        for m in body["missing_ppns"]
        if m["incident_id"] in {i["id"] for i in ids}
    ]
    assert missing == [(ids[0]["id"], "suspect", True)]
