"""The chronology: every record type about the child, newest first on real instants and dates,
with each record's versions; the HTML page; the audit row."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import get_args
from zoneinfo import ZoneInfo

from app.policy.loader import load_policy
from app.records.checks import age_on
from app.records.codes import SCHEME_NAMES, EthnicityScheme
from tests.conftest import ROOT
from tests.seeding import (
    ae_body,
    education_body,
    full_person,
    incident_body,
    post,
    ppn_body,
    reader,
    rows_of_request,
    seed_child_in_every_scope,
    yjs_body,
)

POLICY = load_policy(ROOT / "policies")


def record_of(client, auth, child_id: str, role: str = "front_door_social_worker", **params):
    return client.get(f"/api/v1/children/{child_id}/record", params=params, headers=reader(auth, POLICY, role))


def _base() -> datetime:
    return datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=20)


def seed_interleaved(client, auth) -> tuple[str, dict[str, str]]:
    """One record of each type, at times that sort wrongly as text: an incident half a second after
    a PPN in the same second ("...00.500000Z" sorts before "...00Z" as a string), and a date-only
    YJS case on the day of an A&E attendance."""
    base = _base()
    child = full_person()
    other = full_person(given_name="Kyle", family_name="Walker", identifiers={"police_person_id": "WYP-X"})
    at = base - timedelta(days=5)
    bodies = {
        "education_report": education_body(child, reported_on=(base - timedelta(days=8)).date().isoformat()),
        "ppn": ppn_body(child, incident_occurred_at=(at - timedelta(days=1)).isoformat(), submitted_at=at.isoformat()),
        "incident": incident_body(
            child, other, occurred_at=(at + timedelta(milliseconds=500)).isoformat(), reported_at=None
        ),
        "ae_attendance": ae_body(
            child,
            days=0,
            arrived_at=(base - timedelta(days=3)).isoformat(),
            assault_at=None,
            first_contact_at=None,
            navigator_status="waiting_list",
        ),
        "yjs_case": yjs_body(child, started_on=(base - timedelta(days=3)).date().isoformat()),
    }
    ids, child_id = {}, None
    for record_type, body in bodies.items():
        out = post(client, auth, record_type, body)
        ids[record_type] = out["id"]
        child_id = child_id or out["children"][0]["child_id"]
        assert out["children"][0]["child_id"] == child_id
    return child_id, ids


def test_the_chronology_merges_all_five_record_types_newest_first(client, auth, db):
    child_id, ids = seed_interleaved(client, auth)
    r = record_of(client, auth, child_id)
    assert r.status_code == 200, r.text
    order = [rec["record_type"] for rec in r.json()["records"]]
    # The date-only YJS case sits at the start of its day, so after that day's A&E attendance.
    assert order == ["ae_attendance", "yjs_case", "incident", "ppn", "education_report"]
    assert [rec["id"] for rec in r.json()["records"]] == [ids[t] for t in order]


def test_records_at_the_same_instant_come_out_in_the_same_order_every_time(client, auth, db):
    child = full_person()
    other = full_person(given_name="Kyle", identifiers={"police_person_id": "WYP-T"})
    when = (_base() - timedelta(days=2)).isoformat()
    child_id = None
    for ref in ("INC-B", "INC-A", "INC-C"):
        out = post(client, auth, "incident", incident_body(child, other, ref=ref, occurred_at=when, reported_at=None))
        child_id = child_id or out["children"][0]["child_id"]
    reads = [[rec["source_ref"] for rec in record_of(client, auth, child_id).json()["records"]] for _ in range(3)]
    assert reads[0] == ["INC-C", "INC-B", "INC-A"]
    assert reads[0] == reads[1] == reads[2]


def test_an_amended_record_shows_its_current_version_and_its_history(client, auth, db):
    child = full_person()
    other = full_person(given_name="Kyle", identifiers={"police_person_id": "WYP-V"})
    first = incident_body(child, other, ref="INC-V")
    out = post(client, auth, "incident", first)
    post(client, auth, "incident", {**first, "version": 2, "summary": "Amended: the weapon was a bottle."})
    r = record_of(client, auth, out["children"][0]["child_id"])
    [rec] = r.json()["records"]
    assert (rec["version"], rec["amended"]) == (2, True)
    assert [v["version"] for v in rec["versions"]] == [1, 2]
    assert rec["versions"][0]["received_at"] <= rec["versions"][1]["received_at"]
    assert rec["fields"]["summary"] == "Amended: the weapon was a bottle."


def test_the_html_page_escapes_hostile_text_and_runs_nothing(client, auth, db):
    hostile = '"><img src=x onerror=alert(1)><script>alert(2)</script>'
    child = full_person(given_name="</title><script>alert(3)</script>", culture_notes=hostile)
    other = full_person(given_name="Kyle", identifiers={"police_person_id": "WYP-H"})
    out = post(client, auth, "incident", incident_body(child, other, ref="INC-H", summary=hostile))
    r = record_of(client, auth, out["children"][0]["child_id"], format="html")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in r.headers["content-security-policy"]
    page = r.text
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "&lt;/title&gt;&lt;script&gt;alert(3)" in page
    assert "src=" not in page.replace("src=x", "")  # nothing fetched: no external assets at all
    # Flags come first, each linking to the records that raised it on the same page.
    assert page.index("<h2>Flags</h2>") < page.index("<h2>Chronology")
    assert f'href="#r-{out["id"]}"' in page and f'id="r-{out["id"]}"' in page


def _article(page: str, record_id: str) -> str:
    start = page.index(f'<article id="r-{record_id}"')
    return page[start : page.index("</article>", start)]


def test_the_html_page_gives_times_in_local_time_and_codes_with_their_meaning(client, auth, db):
    # 23:30 UTC on 1 July is half past midnight on 2 July in London (British Summer Time).
    body = ppn_body(full_person(), incident_occurred_at="2026-07-01T22:00:00Z", submitted_at="2026-07-01T23:30:00Z")
    out = post(client, auth, "ppn", body)
    child_id = out["children"][0]["child_id"]
    page = record_of(client, auth, child_id, format="html").text
    article = _article(page, out["id"])
    assert "<h3>Thu 02 Jul 2026 00:30 · Police protection notification" in article
    assert "<dt>submitted at</dt><dd>Thu 02 Jul 2026 00:30</dd>" in article
    assert "<dt>incident occurred at</dt><dd>Wed 01 Jul 2026 23:00</dd>" in article
    assert "Times are local (Europe/London)" in page
    assert "A3: Asian - Bangladeshi" in page and "IC4: Asian - Indian subcontinent" in page
    # The JSON is for machines: instants stay UTC, in ISO 8601.
    [record] = record_of(client, auth, child_id).json()["records"]
    assert record["fields"]["submitted_at"] == "2026-07-01T23:30:00Z"


def test_the_html_page_gives_the_childs_age_dates_as_dates_and_initials_in_capitals(client, auth, db):
    # Born on the 1st of the month six months from now, 15 years ago: no birthday falls between
    # the server's reading of "today" and the test's, whenever the test runs.
    today = datetime.now(ZoneInfo("Europe/London")).date()
    born = date(today.year - 15 + (today.month + 5) // 12, (today.month + 5) % 12 + 1, 1)
    child = full_person(date_of_birth=born.isoformat())
    out = post(client, auth, "yjs_case", yjs_body(child, started_on="2026-10-01"))
    page = record_of(client, auth, out["children"][0]["child_id"], format="html").text
    age = age_on(born, today)
    assert age == 14  # six months from a birthday, whenever the test runs
    assert f"<h1><bdi>{child['given_name']} {child['family_name']}</bdi>, age {age}</h1>" in page
    assert f"<dt>date of birth</dt><dd>{born:%d %b %Y} <span class=muted>(age {age})</span></dd>" in page
    article = _article(page, out["id"])
    assert "<dt>started on</dt><dd>Thu 01 Oct 2026</dd>" in article
    assert "<dt>order type</dt><dd>referral order</dd>" in article  # a code, read as words
    assert "<dt>NHS number</dt>" in page and "<dt>YJS ID</dt>" in page and "<dt>RoSH level</dt>" in page
    # The JSON keeps the date of birth as it was recorded, and no age.
    identity = record_of(client, auth, out["children"][0]["child_id"]).json()["identity"]
    assert identity["date_of_birth"] == child["date_of_birth"] and "age" not in identity


def test_the_html_page_shows_only_where_a_record_describes_the_child_differently(client, auth, db):
    child = full_person()
    born = date.fromisoformat(child["date_of_birth"])
    typo = born + timedelta(days=1)
    moved = {
        **child,
        "address": "3 Old Street, Leeds",
        "postcode": "LS8 1AA",
        "culture_notes": None,
        "date_of_birth": typo.isoformat(),
    }
    earlier = _base() - timedelta(days=9)
    times = {"incident_occurred_at": earlier.isoformat(), "submitted_at": (earlier + timedelta(hours=3)).isoformat()}
    older = post(client, auth, "ppn", ppn_body(moved, ref="PPN-OLD", **times))
    newer = post(client, auth, "ppn", ppn_body(child, ref="PPN-NEW"))
    child_id = newer["children"][0]["child_id"]
    assert older["children"][0]["child_id"] == child_id
    page = record_of(client, auth, child_id, format="html").text
    identity = page[page.index("<h2>Identity</h2>") : page.index("<h2>Chronology")]
    assert "12 Harehills Avenue, Leeds" in identity  # the newest address is the child's
    old, new = _article(page, older["id"]), _article(page, newer["id"])
    assert "as in Identity above, except:" in old
    assert "3 Old Street, Leeds" in old and "LS8 1AA" in old
    assert f"<dt>date of birth</dt><dd>{typo:%d %b %Y}</dd>" in old  # a date, as the Identity shows one
    assert "Aisha" not in old and "Harehills" not in old  # what agrees is not repeated
    assert "culture notes" not in old  # nor what this record left out and another recorded
    assert "as in Identity above</span>" in new and "except" not in new
    # Every value of the child still shows once: the culture notes in the Identity section.
    assert page.count(child["culture_notes"]) == 1


def test_the_html_page_names_the_fields_a_reader_would_otherwise_have_to_guess(client, auth, db):
    child = full_person()
    other = full_person(
        given_name="Kyle",
        family_name="Brown",
        date_of_birth="2010-05-02",
        identifiers={"police_person_id": "WYP-P-99"},
        ethnicity={"self_defined": "WBRI", "officer_defined": "IC1"},
    )
    out = post(client, auth, "incident", incident_body(other, child))  # the child is the suspect
    [mine] = [c for c in out["children"] if c["role"] == "suspect"]
    page = record_of(client, auth, mine["child_id"], format="html").text
    article = _article(page, out["id"])
    # Which of an incident's people is this child, said in those words, once per person; the
    # other person's description is not the front door's to read.
    assert article.count("<dt>this child</dt><dd>no</dd>") == 1
    assert article.count("<dt>this child</dt><dd>yes</dd>") == 1
    assert "<dt>subject</dt>" not in article and "Kyle" not in page
    # Ethnicity: the code as recorded, the 18+1 code it maps to, and the scheme in words.
    identity = page[page.index("<h2>Identity</h2>") : page.index("<h2>Chronology")]
    assert "<dt>self-defined, as recorded</dt><dd>A3</dd>" in identity
    assert "<dt>self-defined, 18+1 code</dt><dd>A3: Asian - Bangladeshi</dd>" in identity
    assert "<dt>recorded in</dt><dd>police_18_1: police 18+1</dd>" in identity
    assert "<dt>officer-defined</dt><dd>IC4: Asian - Indian subcontinent</dd>" in identity


def test_every_ethnicity_scheme_has_a_name_for_the_page():
    assert set(SCHEME_NAMES) == set(get_args(EthnicityScheme))


def test_the_html_page_shows_only_what_the_role_reads(client, auth, db):
    seeded = seed_child_in_every_scope(client, auth)
    page = record_of(client, auth, seeded.child_id, role="navigator", format="html").text
    assert "Education report" not in page and "ehcp" not in page
    assert seeded.person["culture_notes"] in page  # navigators read ethnicity and culture


def test_the_html_read_is_audited_like_the_json_read(client, auth, db):
    seeded = seed_child_in_every_scope(client, auth)
    r = record_of(client, auth, seeded.child_id, format="html")
    [row] = [row for row in rows_of_request(db, r) if row["action"] == "read_child_record"]
    assert row["outcome"] == "ALLOW" and row["child_ids"] == [seeded.child_id]
    assert sorted(row["record_ids"]) == sorted(seeded.records.values())


def test_counts_by_record_type_over_30_90_and_365_days_cover_only_readable_types(client, auth, db):
    seeded = seed_child_in_every_scope(client, auth)
    child = seeded.person
    post(client, auth, "ae_attendance", ae_body(child, ref="AE-OLD", days=100))
    post(client, auth, "ae_attendance", ae_body(child, ref="AE-MID", days=45))
    counts = record_of(client, auth, seeded.child_id).json()["counts"]
    assert counts["ae_attendance"] == {"last_30_days": 1, "last_90_days": 2, "last_365_days": 3}
    assert counts["yjs_case"] == {"last_30_days": 0, "last_90_days": 1, "last_365_days": 1}  # started 60 days ago
    assert counts["education_report"] == {"last_30_days": 1, "last_90_days": 1, "last_365_days": 1}
    navigator = record_of(client, auth, seeded.child_id, role="navigator").json()["counts"]
    assert "education_report" not in navigator  # a count would reveal records the navigator cannot read
    assert navigator["ae_attendance"] == counts["ae_attendance"]


def test_a_record_whose_description_of_the_child_the_role_may_not_read_does_not_claim_to_agree():
    from app.frontdoor.render import to_html

    record = {
        "id": "r1",
        "record_type": "ppn",
        "agency": "police",
        "source_ref": "PPN-1",
        "version": 1,
        "amended": False,
        "versions": [{"version": 1, "received_at": "2026-11-01T10:00:00Z"}],
        "event_at": "2026-11-01T09:00:00Z",
        "fields": {"risk_grade": "high", "person": {}},
    }
    out = {
        "child_id": "c1",
        "identity": {"given_name": "Aisha"},
        "break_glass": False,
        "flags": [],
        "counts": {},
        "records": [record],
    }
    page = to_html(out, "Europe/London", datetime(2026, 11, 30, 8, 30, tzinfo=UTC))
    assert "as in Identity above" not in page
    assert "<h3>Sun 01 Nov 2026 09:00 · Police protection notification" in page  # GMT again by November


def test_a_flags_records_are_listed_newest_first_like_the_chronology():
    from app.frontdoor.render import to_html

    def record(rid: str, day: int) -> dict:
        return {
            "id": rid,
            "record_type": "incident",
            "agency": "police",
            "source_ref": rid,
            "version": 1,
            "amended": False,
            "versions": [{"version": 1, "received_at": f"2026-11-{day:02d}T10:00:00Z"}],
            "event_at": f"2026-11-{day:02d}T09:00:00Z",
            "fields": {},
        }

    out = {
        "child_id": "c1",
        "identity": None,
        "break_glass": False,
        "flags": [{"code": "repeat_incidents", "message": "3 or more", "record_ids": ["r-2", "r-20", "r-9"]}],
        "counts": {},
        "records": [record("r-20", 20), record("r-9", 9), record("r-2", 2)],  # the chronology: newest first
    }
    page = to_html(out, "Europe/London", datetime(2026, 11, 30, 8, 30, tzinfo=UTC))
    flags = page[page.index("<h2>Flags</h2>") : page.index("</ul>")]
    assert flags.index("Fri 20 Nov") < flags.index("Mon 09 Nov") < flags.index("Mon 02 Nov")
