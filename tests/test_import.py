"""Bulk import of JSON Lines: bad lines are reported by number, good lines load, re-runs add nothing."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select

from app.models import Record, RecordVersion
from app.policy.loader import load_policy
from app.records import bulk
from app.records.bulk import import_lines
from app.records.kinds import Clock
from tests.conftest import ROOT
from tests.factories import BUILDERS, TYPES, ae_attendance, incident, person, ppn, yjs_case


def count(db, model) -> int:
    with db.read_session() as s:
        return s.scalar(select(func.count()).select_from(model))


def clock() -> Clock:
    return Clock(now=datetime.now(UTC), tz=ZoneInfo("Europe/London"), skew=timedelta(minutes=5))


def line(record_type: str, record: dict[str, Any], agency: str | None = None) -> str:
    return json.dumps({"type": record_type, "agency": agency or TYPES[record_type][0], "record": record}) + "\n"


GOOD_AND_BAD = [
    line("incident", incident(source_ref="IMP-1")),  # 1 good
    "\n",  # 2 blank
    '{"type": "incident", "agency": "police", "record": {\n',  # 3 bad JSON
    line("burglary", incident(source_ref="IMP-4"), agency="police"),  # 4 unknown type
    line("ae_attendance", ae_attendance(source_ref="IMP-5"), agency="police"),  # 5 not police's to post
    line("ppn", ppn(source_ref="IMP-6", person=person(identifiers={"nhs_number": "9434765871"}))),  # 6 bad NHS
    line("yjs_case", yjs_case(source_ref="IMP-7", shoe_size=9)),  # 7 unknown field
    line("ppn", ppn(source_ref="IMP-8")),  # 8 good
    "   \n",  # 9 blank
    line("education_report", BUILDERS["education_report"](source_ref="IMP-10")),  # 10 good
    line("incident", incident(source_ref="IMP-1", weapon="firearm")),  # 11 same version, new body
    line("incident", incident(source_ref="IMP-12", persons=[]), agency="police"),  # 12 no persons
]
GOOD_REFS = ["IMP-1", "IMP-10", "IMP-8"]


def run(db, settings, lines):
    return import_lines(db, lines, load_policy(settings.policy_dir), clock())


def test_bad_lines_are_reported_by_number_and_good_lines_load(db, settings):
    report = run(db, settings, GOOD_AND_BAD)
    errors = dict(report.errors)
    assert sorted(errors) == [3, 4, 5, 6, 7, 11, 12]
    assert "JSON" in errors[3]
    assert errors[4].startswith("type:")
    assert "police" in errors[5] and "ae_attendance" in errors[5]
    assert errors[6].startswith("person.identifiers.nhs_number:")
    assert errors[7].startswith("shoe_size:") and "unknown field" in errors[7]
    assert "version" in errors[11]
    assert errors[12].startswith("persons:")
    assert (report.lines, report.created, report.failed) == (10, 3, 7)
    with db.read_session() as s:
        assert sorted(s.scalars(select(Record.source_ref))) == GOOD_REFS
        # The conflicting line 11 did not change line 1's record.
        body = s.scalar(select(RecordVersion.body).join(Record).where(Record.source_ref == "IMP-1"))
        assert body["weapon"] == "knife"
    assert count(db, RecordVersion) == 3


def test_running_the_same_file_again_stores_nothing_new(db, settings):
    first = run(db, settings, GOOD_AND_BAD)
    second = run(db, settings, GOOD_AND_BAD)
    assert (second.created, second.amended, second.superseded, second.unchanged) == (0, 0, 0, 3)
    assert second.errors == first.errors
    assert count(db, Record) == 3
    assert count(db, RecordVersion) == 3


def test_a_file_of_only_blank_lines_loads_nothing_and_reports_nothing(db, settings):
    report = run(db, settings, ["\n", "  \n", "\t\n", ""])
    assert (report.lines, report.created, report.failed) == (0, 0, 0)
    assert count(db, Record) == 0


def test_an_amendment_later_in_the_file_is_applied(db, settings):
    report = run(db, settings, [line("incident", incident()), line("incident", incident(version=2, weapon="firearm"))])
    assert (report.created, report.amended, report.failed) == (1, 1, 0)
    assert count(db, Record) == 1 and count(db, RecordVersion) == 2


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        pytest.param('{"type": "incident", "record": {}}', "agency", id="missing-agency"),
        pytest.param(
            '{"type": "incident", "agency": "police", "record": {}, "owner": "health"}',
            "owner",
            id="unknown-line-field",
        ),
        pytest.param('{"type": "incident", "agency": "police", "record": []}', "record", id="record-not-an-object"),
        pytest.param('["incident"]', "not an object", id="line-not-an-object"),
        pytest.param("null", "not an object", id="line-null"),
    ],
)
def test_a_malformed_line_is_reported_by_number(db, settings, bad, field):
    report = run(db, settings, [line("incident", incident()), bad + "\n"])
    assert [n for n, _ in report.errors] == [2]
    assert report.errors[0][1].startswith(f"{field}:")
    assert report.created == 1


def test_an_unknown_field_of_the_line_is_named_as_the_lines_not_the_records(db, settings):
    bad = '{"type": "incident", "agency": "police", "record": {}, "owner": "health"}\n'
    [(_, message)] = run(db, settings, [bad]).errors
    assert message == "owner: unknown field: a line has only type, agency and record"


def test_an_unknown_agency_is_reported_with_the_agencies_there_are_and_not_echoed(db, settings):
    # A mis-mapped column can put a name where the agency belongs: the message lists the real ones.
    report = run(db, settings, [line("incident", incident(), agency="Aisha Begum 2010-05-07")])
    [(number, message)] = report.errors
    assert number == 1 and message.startswith("agency: not one of the partnership's: ")
    assert "police" in message and "Aisha" not in message
    assert count(db, Record) == 0


def test_an_ethnicity_no_code_list_knows_is_refused_without_echoing_it(db, settings):
    who = person(ethnicity={"self_defined": "Aisha Begum 2010-05-07", "officer_defined": "IC3"})
    [(_, message)] = run(db, settings, [line("ppn", ppn(person=who))]).errors
    assert message.startswith("person.ethnicity.self_defined: unknown self-defined ethnicity: use a police 18+1 code")
    assert "Aisha" not in message and "2010" not in message


def test_an_unknown_field_with_a_very_long_name_is_named_shortened(db, settings):
    body = incident(**{"x" * 1_000_000: 1})
    [(_, message)] = run(db, settings, [line("incident", body)]).errors
    assert message.startswith("x" * 63 + "…: unknown field") and len(message) < 200


# Lines as ``shield import`` reads a file: bytes, each with its line end.
NOT_JSON_LINES = [
    (b'{"type": "incident", "agency": "police", "record": {"source_ref": "Caf\xe9"}}\n', "not UTF-8 text (byte 0xE9"),
    (b"[" * 100_000 + b"]" * 100_000 + b"\n", "not valid JSON here: nested too deeply"),
    (b'{"type": "incident", "version": ' + b"9" * 5000 + b"}\n", "not valid JSON here: Exceeds the limit"),
    # Cut off at the end of the line (a truncated export): placed there, not at column 1.
    (b'{"type": "incident", "agency": "police"\r\n', "not valid JSON: Expecting ',' delimiter at column 40"),
    (b'{"type": "incident\x00"}\n', "not valid JSON: Invalid control character at column 19"),
]


@pytest.mark.parametrize(("bad", "message"), NOT_JSON_LINES, ids=["latin-1", "deep", "digits", "cut-off", "nul"])
def test_a_line_that_is_not_json_this_import_reads_is_reported_and_the_rest_load(db, settings, bad, message):
    good = [line("incident", incident(source_ref=f"OK-{i}")).encode() for i in range(2)]
    report = run(db, settings, [good[0], bad, good[1]])
    [(number, said)] = report.errors
    assert number == 2 and said.startswith(message), said
    assert report.created == 2


@pytest.mark.parametrize(("bad", "message"), NOT_JSON_LINES[:3], ids=["latin-1", "deep", "digits"])
def test_such_a_line_in_a_later_chunk_parsed_in_the_other_process_is_reported_too(
    db, settings, monkeypatch, bad, message
):
    # Chunks after the first are parsed in a spawned process: an error there stopped the import
    # part-way, the first chunks stored and the rest not.
    monkeypatch.setattr(bulk, "CHUNK", 2)
    good = [line("incident", incident(source_ref=f"OK-{i}")).encode() for i in range(7)]
    report = run(db, settings, [*good[:5], bad, *good[5:]])
    [(number, said)] = report.errors
    assert number == 6 and said.startswith(message), said
    assert report.created == 7


def test_a_byte_order_mark_before_the_first_line_is_not_an_error(db, settings):
    report = run(db, settings, [b"\xef\xbb\xbf" + line("incident", incident()).encode()])
    assert (report.errors, report.created) == ([], 1)


# ---- The `shield import` command, end to end (SQLite only) -----------------------------------------


def test_a_conflicting_version_is_reported_and_every_other_line_in_its_chunk_loads(db, settings):
    # The conflict sends the chunk down the careful, line-by-line path: it must lose nothing.
    lines = [line("incident", incident(source_ref=f"C-{i}", crime_ref=f"13/{i}/26")) for i in range(5)]
    lines.insert(3, line("incident", incident(source_ref="C-1", crime_ref="13/1/26", weapon="firearm")))
    report = run(db, settings, lines)
    assert [n for n, _ in report.errors] == [4]
    assert "different body" in report.errors[0][1]
    assert (report.created, count(db, Record)) == (5, 5)


def run_cli(tmp_path: Path, path: Path | str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIELD_")}
    env.update(SHIELD_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}", SHIELD_POLICY_DIR=str(ROOT / "policies"))
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "import", str(path)],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def shield_import(tmp_path: Path, lines: list[str]) -> tuple[subprocess.CompletedProcess[str], str]:
    path = tmp_path / "records.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return run_cli(tmp_path, path), f"sqlite:///{tmp_path / 'cli.db'}"


def stored_refs(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(conn.scalars(select(Record.source_ref)))
    finally:
        engine.dispose()


def summary(stdout: str) -> dict[str, int]:
    last = stdout.strip().splitlines()[-1]
    return {word: int(n) for n, word in re.findall(r"(\d+) (created|amended|unchanged|superseded|rejected)", last)}


def test_the_import_command_reports_bad_lines_and_exits_1(tmp_path):
    lines = [
        line("incident", incident(source_ref="CLI-1")),
        line("ppn", ppn(source_ref="CLI-2", person=person(identifiers={"nhs_number": "9434765871"}))),
        "{not json\n",
        line("ppn", ppn(source_ref="CLI-4")),
    ]
    result, url = shield_import(tmp_path, lines)
    assert result.returncode == 1, result.stderr
    assert re.search(r"^line 2: person\.identifiers\.nhs_number", result.stderr, re.M)
    assert re.search(r"^line 3: not valid JSON", result.stderr, re.M)
    assert summary(result.stdout) == {"created": 2, "amended": 0, "unchanged": 0, "superseded": 0, "rejected": 2}
    assert stored_refs(url) == ["CLI-1", "CLI-4"]


def test_the_import_command_exits_0_for_a_clean_file_and_is_safe_to_rerun(tmp_path):
    lines = [line(t, BUILDERS[t](source_ref=f"CLEAN-{t}")) for t in TYPES]
    first, url = shield_import(tmp_path, lines)
    assert first.returncode == 0, first.stderr
    assert summary(first.stdout)["created"] == len(TYPES) and summary(first.stdout)["rejected"] == 0
    again, _ = shield_import(tmp_path, lines)
    assert again.returncode == 0, again.stderr
    assert summary(again.stdout) == {
        "created": 0,
        "amended": 0,
        "unchanged": len(TYPES),
        "superseded": 0,
        "rejected": 0,
    }
    assert stored_refs(url) == sorted(f"CLEAN-{t}" for t in TYPES)


def test_the_import_command_refuses_a_missing_file(tmp_path):
    result = run_cli(tmp_path, tmp_path / "missing.jsonl")
    assert result.returncode == 2
    assert result.stderr.strip() == f"{tmp_path / 'missing.jsonl'}: No such file or directory"


def test_the_import_command_names_a_directory_and_a_compressed_file_without_a_traceback(tmp_path):
    directory = run_cli(tmp_path, tmp_path)
    assert (directory.returncode, directory.stderr.strip()) == (2, f"{tmp_path}: Is a directory")
    packed = tmp_path / "records.jsonl.gz"
    packed.write_bytes(gzip.compress(line("incident", incident()).encode()))
    result = run_cli(tmp_path, packed)
    assert result.returncode == 2
    assert result.stderr.strip() == f"{packed}: gzip-compressed; decompress it first (JSON Lines are read as text)"


def test_the_import_command_reads_lines_as_an_export_writes_them(tmp_path):
    """A BOM, Windows line ends, a carriage return inside a line, a line in Latin-1: each bad line
    named by its number in the file, the others stored."""
    lines = [
        b"\xef\xbb\xbf" + line("incident", incident(source_ref="EX-1")).encode().replace(b"\n", b"\r\n"),
        line("incident", incident(source_ref="EX-2", summary="Two lines\rof text")).encode().replace(b"\\r", b"\r"),
        line("incident", incident(source_ref="EX-3", summary="Caf\u00e9")).encode().replace(b"\\u00e9", b"\xe9"),
        line("incident", incident(source_ref="EX-4")).encode().replace(b"\n", b"\r\n"),
    ]
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"".join(lines))
    result = run_cli(tmp_path, path)
    assert result.returncode == 1
    errors = [x for x in result.stderr.splitlines() if x.startswith("line ")]
    assert [x.split(":")[0] for x in errors] == ["line 2", "line 3"], result.stderr
    assert "Invalid control character at column" in errors[0] and "not UTF-8 text" in errors[1]
    assert summary(result.stdout)["created"] == 2
    assert stored_refs(f"sqlite:///{tmp_path / 'cli.db'}") == ["EX-1", "EX-4"]


def test_the_import_command_reads_standard_input(tmp_path):
    lines = "".join(line(t, BUILDERS[t](source_ref=f"IN-{t}")) for t in TYPES)
    result = run_cli(tmp_path, "-", stdin=lines)
    assert result.returncode == 0, result.stderr
    assert summary(result.stdout)["created"] == len(TYPES)
