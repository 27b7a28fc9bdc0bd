"""The printable pages as a person sees them: headless Chromium against a real server.

Debian's chromium (``/usr/bin/chromium``, installed by ``.ci/run``) is driven by Playwright. Each
test reads the page's rendered text, not its markup: what is on screen, what the role's policy
keeps off it, and that hostile free text shows as text and runs nothing. A screenshot of each
page is written to ``build/test-artifacts/`` (``SHIELD_TEST_ARTIFACTS`` to move it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.policy.loader import load_policy
from tests.briefing.builders import HOSTILE, MEETING, seed_night
from tests.conftest import ROOT
from tests.seeding import post, ppn_body, reader, seed_child_in_every_scope
from tests.server import free_port, start_server, stop, wait_until_up

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(os.environ.get("SHIELD_TEST_ARTIFACTS", ROOT / "build" / "test-artifacts"))
POLICY = load_policy(ROOT / "policies")

pytestmark = pytest.mark.slow


@pytest.fixture
def server(db, database_url, tmp_path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "server.log"
    proc, log = start_server(database_url, port, log_path)
    try:
        wait_until_up(proc, base, log_path)
        yield base
    finally:
        stop(proc)
        log.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium; .ci/run does): browser tests skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        # --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
        instance = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield instance
        instance.close()


def see(browser, url: str, headers: dict[str, str], shot: str) -> tuple[str, list[str]]:
    """The page's visible text and any dialogs a script on it opened; a screenshot as an artefact."""
    context = browser.new_context(extra_http_headers=headers, viewport={"width": 1240, "height": 1754})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    response = page.goto(url)
    assert response is not None and response.status == 200, response and response.status
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    text = page.inner_text("body")
    context.close()
    return text, dialogs


def briefing_url(base: str) -> str:
    return f"{base}/api/v1/briefings/daily?date={MEETING.isoformat()}&format=html"


def test_the_chair_sees_the_nights_incidents_by_area_and_hostile_text_as_text(client, auth, server, browser, backend):
    seed_night(client, auth)
    headers = reader(auth, POLICY, "shield_chair", sub="chair-browser")
    text, dialogs = see(browser, briefing_url(server), headers, f"briefing-chair-{backend}")
    assert dialogs == [], "a script in the page ran"
    assert HOSTILE in text  # the ward someone typed script into, shown as the characters typed
    assert "LS9" in text and "LS6" in text
    assert text.index("LS6") < text.index("LS9")  # grouped by area
    assert "13/INC-MAIN/26" in text  # the chair's police detail
    assert "Aisha" not in text and "Harehills Avenue" not in text  # no names or addresses on the page


def test_an_education_member_sees_no_police_detail(client, auth, server, browser, backend):
    seed_night(client, auth)
    headers = reader(auth, POLICY, "shield_member", sub="edu-browser")
    headers.update(auth("education", "shield_member", sub="edu-browser"))
    text, dialogs = see(browser, briefing_url(server), headers, f"briefing-education-{backend}")
    assert dialogs == []
    assert "LS9" in text
    assert "13/INC-MAIN/26" not in text


def record_url(base: str, child_id: str) -> str:
    return f"{base}/api/v1/children/{child_id}/record?format=html"


def test_the_front_door_sees_the_whole_record_with_its_flags_and_hostile_text_as_text(
    client, auth, server, browser, backend
):
    child = seed_child_in_every_scope(client, auth)
    reason = f"{HOSTILE} Mum reports he is being groomed to carry drugs to Bradford."
    post(client, auth, "ppn", ppn_body(child.person, ref="PPN-HOSTILE", reason_for_referral=reason))
    headers = reader(auth, POLICY, "front_door_social_worker", sub="fd-browser")
    text, dialogs = see(browser, record_url(server, child.child_id), headers, f"record-front-door-{backend}")
    assert dialogs == [], "a script in the page ran"
    assert HOSTILE in text
    assert "A weapon was involved" in text and "Attended A&E after an assault" in text
    assert "Education records" in text  # SEND known only to education: the front door is told
    for source in ("INC-A", "PPN-A", "AE-A", "YJS-A", "SCH-A"):
        assert source in text, f"{source} missing from the chronology"


def test_a_navigator_sees_no_education_record_or_send_flag(client, auth, server, browser, backend):
    child = seed_child_in_every_scope(client, auth)
    headers = reader(auth, POLICY, "navigator", sub="nav-browser")
    text, dialogs = see(browser, record_url(server, child.child_id), headers, f"record-navigator-{backend}")
    assert dialogs == []
    assert "Attended A&E after an assault" in text and "AE-A" in text
    assert "Education records" not in text and "SCH-A" not in text
    assert "EHC" not in text and "ehcp" not in text.lower()


def test_an_agency_developer_sees_each_records_example_in_the_api_docs_with_no_internet(
    database_url, tmp_path, monkeypatch, browser, backend
):
    monkeypatch.setenv("SHIELD_API_DOCS", "true")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc, log = start_server(database_url, port, tmp_path / "server.log")
    try:
        wait_until_up(proc, base, tmp_path / "server.log")
        context = browser.new_context(viewport={"width": 1240, "height": 1754})
        page = context.new_page()
        elsewhere: list[str] = []

        def loopback_only(route) -> None:  # as on a machine with no internet
            if route.request.url.startswith(base + "/"):
                route.continue_()
            else:
                elsewhere.append(route.request.url)
                route.abort()

        page.route("**/*", loopback_only)
        page.goto(f"{base}/docs")
        for summary, source_ref in [("Post an incident", "WYP-INC-1"), ("Post an A&E attendance", "LTH-AE-1")]:
            page.get_by_text(summary, exact=True).click()
            page.get_by_text(f'"{source_ref}"').first.wait_for()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"api-docs-{backend}.png"), full_page=True)
        text = page.inner_text("body")
        context.close()
    finally:
        stop(proc)
        log.close()
    assert elsewhere == []
    assert '"category": "wounding"' in text and '"navigator_status": "triage"' in text
