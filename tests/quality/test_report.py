"""GET /api/v1/quality/ppns: figures equal hand-computed ones on a small known data set.

The data set, posted through the API with times relative to now (T0 is three days ago):

| PPN | child (ethnicity)   | district, team        | submitted   | delay | findings                      |
|-----|---------------------|-----------------------|-------------|-------|-------------------------------|
| Q-1 | 1 (A3: Asian)       | Leeds East, East NPT  | T0 + 2h     | 2h    | none                          |
| Q-2 | 2 (NS, officer IC1) | Leeds East, East CID  | T0 + 30h    | 30h   | culture notes, SEND, late     |
| Q-3 | 3 (B1: Black)       | Leeds West, West NPT  | T0 + 5h     | -     | thin reason, no incident time |
| Q-4 | 4 (M1: Mixed)       | Leeds West, (no team) | 40 days ago | 10h   | voice of the child            |

and one incident at T0 (crime ref of Q-1, serious injury): child 1 the victim, child 5 (W1) an
arrested suspect with no PPN, child 2 a witness with only an officer-defined ethnicity.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.models import AuditEvent
from app.quality.rules import PPN_RULES
from tests.factories import incident
from tests.quality.builders import PURPOSE, at, child, complete_ppn, hours_ago, without

URL = "/api/v1/quality/ppns"
TZ = ZoneInfo("Europe/London")


@pytest.fixture
def lead(auth):
    return {**auth("police", "ppn_quality_lead"), **PURPOSE}


@pytest.fixture
def known(client, auth):
    """Post the data set; return the submission times by PPN."""
    t0 = hours_ago(72)
    old = hours_ago(40 * 24 + 10)
    ppns = {
        "Q-1": complete_ppn(
            person=child(1, ethnicity={"self_defined": "A3"}),
            officer={"id": "PC1", "team": "East NPT", "district": "Leeds East"},
            incident_occurred_at=at(t0),
            submitted_at=at(t0 + timedelta(hours=2)),
        ),
        "Q-2": complete_ppn(
            person=without(child(2, ethnicity={"self_defined": "NS", "officer_defined": "IC1"}), "culture_notes"),
            officer={"id": "DC2", "team": "East CID", "district": "Leeds East"},
            incident_occurred_at=at(t0),
            submitted_at=at(t0 + timedelta(hours=30)),
        ),
        "Q-3": complete_ppn(
            person=child(3, ethnicity={"self_defined": "B1"}),
            officer={"id": "PC3", "team": "West NPT", "district": "Leeds West"},
            reason_for_referral="Child involved, see log.",
            incident_occurred_at=None,
            submitted_at=at(t0 + timedelta(hours=5)),
        ),
        "Q-4": complete_ppn(
            person=child(4, ethnicity={"self_defined": "M1"}),
            officer={"id": "PC4", "district": "Leeds West"},
            voice_of_child=None,
            incident_occurred_at=at(old),
            submitted_at=at(old + timedelta(hours=10)),
        ),
    }
    for ref, body in ppns.items():
        r = client.post("/api/v1/ppns", json={**body, "source_ref": ref}, headers=auth())
        assert r.status_code == 201, r.text
    event = incident(
        occurred_at=at(t0),
        reported_at=at(t0 + timedelta(minutes=20)),
        persons=[
            {"role": "victim", "arrested": False, "person": child(1, ethnicity={"self_defined": "A3"})},
            {"role": "suspect", "arrested": True, "person": child(5, ethnicity={"self_defined": "W1"})},
            {"role": "witness", "arrested": False, "person": child(2, ethnicity={"officer_defined": "IC1"})},
        ],
    )
    assert client.post("/api/v1/incidents", json=event, headers=auth()).status_code == 201
    return {ref: body["submitted_at"] for ref, body in ppns.items()}


def rules_of(scope: dict) -> dict[str, tuple[int, float | None]]:
    return {r["rule_id"]: (r["failures"], r["rate"]) for r in scope["rules"]}


def test_the_overall_figures(client, lead, known):
    r = client.get(URL, headers=lead)
    assert r.status_code == 200, r.text
    report = r.json()
    overall = report["overall"]
    assert report["group_by"] is None and report["groups"] == []
    assert overall["ppns"] == 4
    assert overall["no_findings"] == {"count": 1, "rate": 0.25}
    assert overall["ethnicity_recorded"] == {"count": 3, "rate": 0.75}
    # Delays 2h, 30h and 10h (Q-3 has no incident time): median 10; p90 at rank 1.8 -> 10 + 0.8 * 20.
    assert overall["submission_delay"] == {"measured": 3, "median_hours": 10.0, "p90_hours": 26.0}
    failing = {
        "cultural_background_missing",
        "send_not_recorded",
        "submitted_late",
        "referral_reason_thin",
        "incident_time_missing",
        "voice_of_child_missing",
    }
    assert rules_of(overall) == {r: (1, 0.25) if r in failing else (0, 0.0) for r in PPN_RULES}
    assert report["incidents_without_ppn"] == {
        "window_hours": 24.0,
        "injury_severities": ["minor", "moderate", "serious", "life_threatening", "fatal"],
        "eligible_incidents": 1,
        "incidents": 1,
        "children": 1,
        "rate": 1.0,
    }


def test_disproportionality_against_the_reference_population(client, lead, known):
    d = client.get(URL, headers=lead).json()["disproportionality"]
    assert "Youth Justice Plan" in d["source"]
    by_group = {
        g["group"]: (g["reference_percent"], g["ppn_children"], g["ppn_percent"], g["ppn_ratio"]) for g in d["groups"]
    }
    # Children in PPNs with a stated ethnicity: Asian, Black, Mixed, one each (child 2 not stated).
    assert by_group == {
        "White": (80.0, 0, 0.0, 0.0),
        "Mixed": (5.0, 1, 33.33, 6.667),
        "Asian": (10.0, 1, 33.33, 3.333),
        "Black": (4.0, 1, 33.33, 8.333),
        "Other": (1.0, 0, 0.0, 0.0),
    }
    # Children in the incident: Asian (child 1), White (child 5); child 2 not stated.
    incidents = {g["group"]: (g["incident_children"], g["incident_percent"], g["incident_ratio"]) for g in d["groups"]}
    assert incidents["Asian"] == (1, 50.0, 5.0) and incidents["White"] == (1, 50.0, 0.625)
    assert incidents["Black"] == (0, 0.0, 0.0)
    assert d["not_stated"] == {"ppn_children": 1, "incident_children": 1}


def test_a_child_counts_once_in_the_group_of_their_latest_stated_ethnicity(client, auth, lead, db):
    for n, (older, newer) in enumerate([("W1", "NS"), ("B1", "A1")]):
        for i, code in enumerate((older, newer)):
            submitted = hours_ago(48 - 24 * i)
            body = complete_ppn(
                source_ref=f"L-{n}-{i}",
                person=child(10 + n, ethnicity={"self_defined": code, "officer_defined": "IC1"}),
                incident_occurred_at=at(submitted - timedelta(hours=1)),
                submitted_at=at(submitted),
            )
            assert client.post("/api/v1/ppns", json=body, headers=auth()).status_code == 201
    groups = client.get(URL, headers=lead).json()["disproportionality"]["groups"]
    counted = {g["group"]: g["ppn_children"] for g in groups}
    assert counted == {"White": 1, "Mixed": 0, "Asian": 1, "Black": 0, "Other": 0}


def test_grouped_by_district(client, lead, known):
    groups = client.get(URL, params={"group_by": "district"}, headers=lead).json()["groups"]
    assert [g["group"] for g in groups] == ["Leeds East", "Leeds West"]
    east, west = groups
    assert (east["ppns"], east["no_findings"], east["ethnicity_recorded"]) == (
        2,
        {"count": 1, "rate": 0.5},
        {"count": 1, "rate": 0.5},
    )
    # 2h and 30h: median 16; p90 at rank 0.9 -> 2 + 0.9 * 28.
    assert east["submission_delay"] == {"measured": 2, "median_hours": 16.0, "p90_hours": 27.2}
    assert rules_of(east)["submitted_late"] == (1, 0.5) and rules_of(east)["referral_reason_thin"] == (0, 0.0)
    assert (west["ppns"], west["no_findings"]["count"], west["ethnicity_recorded"]["rate"]) == (2, 0, 1.0)
    assert west["submission_delay"] == {"measured": 1, "median_hours": 10.0, "p90_hours": 10.0}
    assert rules_of(west)["referral_reason_thin"] == (1, 0.5) and rules_of(west)["voice_of_child_missing"] == (1, 0.5)


def test_grouped_by_team_with_the_unrecorded_team_last(client, lead, known):
    groups = client.get(URL, params={"group_by": "team"}, headers=lead).json()["groups"]
    assert [(g["group"], g["ppns"]) for g in groups] == [("East CID", 1), ("East NPT", 1), ("West NPT", 1), (None, 1)]
    assert rules_of(groups[-1])["voice_of_child_missing"] == (1, 1.0)


def test_grouped_by_local_calendar_month(client, lead, known):
    expected = Counter(datetime.fromisoformat(s).astimezone(TZ).strftime("%Y-%m") for s in known.values())
    groups = client.get(URL, params={"group_by": "month"}, headers=lead).json()["groups"]
    assert [(g["group"], g["ppns"]) for g in groups] == sorted(expected.items())
    assert len(groups) >= 2  # Q-4 is 40 days back: always an earlier month


def test_the_period_is_inclusive_local_days(client, lead, known):
    today = datetime.now(UTC).astimezone(TZ).date()
    recent = client.get(URL, params={"from": (today - timedelta(days=10)).isoformat()}, headers=lead).json()
    assert recent["overall"]["ppns"] == 3 and recent["from"] == (today - timedelta(days=10)).isoformat()
    old_day = datetime.fromisoformat(known["Q-4"]).astimezone(TZ).date().isoformat()
    only_q4 = client.get(URL, params={"from": old_day, "to": old_day}, headers=lead).json()
    assert only_q4["overall"]["ppns"] == 1
    assert rules_of(only_q4["overall"])["voice_of_child_missing"] == (1, 1.0)


def test_each_read_is_audited_without_child_ids(client, lead, known, db):
    client.get(URL, headers=lead)
    client.get(URL, params={"format": "csv"}, headers=lead)
    with db.read_session() as s:
        rows = s.execute(
            select(AuditEvent.action, AuditEvent.outcome, AuditEvent.purpose, AuditEvent.child_ids).where(
                AuditEvent.action == "read_quality_report"
            )
        ).all()
    assert rows == [("read_quality_report", "ALLOW", "ppn_quality_assurance", [])] * 2


def test_csv_has_one_header_row_and_every_figure(client, lead, known):
    r = client.get(URL, params={"group_by": "district", "format": "csv"}, headers=lead)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0] == ["section", "group", "measure", "value"]
    values = {(s, g, m): v for s, g, m, v in rows[1:]}
    assert values[("overall", "", "ppns")] == "4"
    assert values[("overall", "", "delay_p90_hours")] == "26.0"
    assert values[("group", "Leeds East", "rate:submitted_late")] == "0.5"
    assert values[("incidents_without_ppn", "", "incidents")] == "1"
    assert values[("disproportionality", "Black", "ppn_ratio")] == "8.333"


def test_csv_cells_cannot_run_as_formulas(client, auth, lead):
    body = complete_ppn(officer={"id": "PC1", "team": '=HYPERLINK("http://x.test","click")', "district": "@SUM(A1)"})
    body["submitted_at"] = at(hours_ago(2))
    body["incident_occurred_at"] = at(hours_ago(3))
    assert client.post("/api/v1/ppns", json=body, headers=auth()).status_code == 201
    text = client.get(URL, params={"group_by": "team", "format": "csv"}, headers=lead).text
    groups = {row[1] for row in csv.reader(io.StringIO(text)) if row[0] == "group"}
    assert groups == {'\'=HYPERLINK("http://x.test","click")'}


def test_html_figures_have_the_same_decimals_down_a_column(client, lead, known):
    page = client.get(URL, params={"format": "html"}, headers=lead).text
    black = page[page.index("<tr><td>Black</td>") :]
    cells = re.findall(r"<td class='n'>([^<]*)</td>", black[: black.index("</tr>")])
    assert cells[3] == "8.33"  # the PPN ratio, 8.333 in the CSV: two decimals like the others
    assert all(re.fullmatch(r"\d+\.\d", cells[i]) for i in (0, 2, 5))  # percentages: one decimal
    assert "90th percentile 26.0 " in page


def test_html_is_printable_self_contained_and_escaped(client, auth, lead, known):
    body = complete_ppn(
        source_ref="H-1",
        officer={"id": "PC1", "team": "<script>alert(1)</script>", "district": "Leeds <b>North</b>"},
        submitted_at=at(hours_ago(2)),
        incident_occurred_at=at(hours_ago(3)),
    )
    assert client.post("/api/v1/ppns", json=body, headers=auth()).status_code == 201
    r = client.get(URL, params={"group_by": "team", "format": "html"}, headers=lead)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in r.headers["content-security-policy"]
    page = r.text
    assert page.startswith("<!doctype html>") and "<svg" in page and "@media print" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script" not in page and "<b>" not in page
    assert "src=" not in page and "href=" not in page and "url(" not in page  # no external assets
    assert "<td>SEND not recorded<br>" in page and "<td>Voice of child missing<br>" in page  # rules by name


@pytest.mark.parametrize("role", ["agency_system", "shield_member", "front_door_social_worker", "privacy_officer"])
def test_roles_without_the_report_action_are_refused(client, auth, role):
    r = client.get(URL, headers={**auth("police", role), **PURPOSE})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("application/problem+json")


def test_a_purpose_is_required(client, auth):
    assert client.get(URL, headers=auth("police", "ppn_quality_lead")).status_code == 400
    wrong = client.get(URL, headers={**auth("police", "ppn_quality_lead"), "X-Access-Purpose": "audit_review"})
    assert wrong.status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-11-20", "to": "2026-11-01"}, "query.from"),
        ({"from": "2026-13-01"}, "query.from"),
        ({"to": "yesterday"}, "query.to"),
        ({"group_by": "ward"}, "query.group_by"),
        ({"format": "pdf"}, "query.format"),
    ],
)
def test_bad_parameters_are_a_422_naming_the_parameter(client, lead, params, field):
    r = client.get(URL, params=params, headers=lead)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == [field]
