"""The ``shield`` command: serve, migrate, token, demo, import, policy, audit, quality."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.exc import OperationalError

from app.config import ConfigError, Settings, get_settings
from app.policy.loader import PolicyError

# One development token per role, each with an agency (and org) a real holder of the role would have.
DEV_IDENTITIES: list[tuple[str, str, str, str | None]] = [
    ("police-rms", "police", "agency_system", None),
    ("ae-navigator-system", "health", "agency_system", None),
    ("yjs-case-system", "yjs", "agency_system", None),
    ("school-mis", "education", "agency_system", None),
    ("shield-chair", "police", "shield_chair", None),
    ("shield-member-education", "education", "shield_member", None),
    ("front-door-sw", "social_care", "front_door_social_worker", None),
    ("navigator", "health", "navigator", None),
    ("yjs-practitioner", "yjs", "yjs_practitioner", None),
    ("dsl", "education", "education_dsl", "990101"),
    ("ppn-quality-lead", "police", "ppn_quality_lead", None),
    ("privacy-officer", "partnership", "privacy_officer", None),
    ("identity-steward", "partnership", "identity_steward", None),
]


def _clock(settings: Settings):  # noqa: ANN202
    from app.db import utc_now
    from app.records.kinds import Clock

    return Clock(now=utc_now(), tz=ZoneInfo(settings.timezone), skew=settings.clock_skew)


def cmd_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from app.migrate import upgrade

    upgrade(settings.database_url)
    print(f"database at the latest migration ({_safe_url(settings.database_url)})")
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    from app.policy.engine import held_roles
    from app.policy.loader import load_policy
    from app.security.caller import Caller
    from app.security.tokens import mint

    if not settings.jwt_secret:
        print("SHIELD_JWT_SECRET is not set: tokens are minted with it", file=sys.stderr)
        return 2
    # A token for a role or agency the policy does not know would be refused on every request.
    policy = load_policy(settings.policy_dir)
    for what, value, known in (("agency", args.agency, policy.agencies), ("role", args.role, policy.roles)):
        if value not in known:
            print(f"no {what} {value!r} in {settings.policy_dir}; one of: {', '.join(sorted(known))}", file=sys.stderr)
            return 2
    # The policy engine's own test: a token whose role its agency does not hold would be granted nothing.
    if not held_roles(policy, Caller(sub=args.sub, agency=args.agency, roles=(args.role,))):
        holders = ", ".join(policy.roles[args.role].agencies)
        print(f"the role {args.role!r} is held in {holders} only (roles.yaml)", file=sys.stderr)
        return 2
    print(mint(settings, sub=args.sub, agency=args.agency, roles=[args.role], org=args.org, minutes=args.minutes))
    return 0


PROGRESS_EVERY = 100_000


def _progress_bar(label: str):  # noqa: ANN202
    """A progress bar on standard error, shown only when that is a terminal: standard output
    keeps the summary, for a file or a script."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    return Progress(*columns, console=console, disable=not console.is_terminal)


def _progress_import(settings: Settings, lines: Iterator[str] | Iterator[bytes], total: int | None, label: str) -> int:
    from app.db import Database
    from app.people.linking import Thresholds
    from app.policy.loader import load_policy
    from app.records.bulk import ImportReport, import_lines

    policy = load_policy(settings.policy_dir)
    db = Database(settings.database_url)
    started = time.perf_counter()
    interactive = sys.stderr.isatty()
    last = [started]
    seen = ImportReport()

    def on_line(report: ImportReport) -> None:
        nonlocal seen
        seen = report
        progress.update(task, completed=report.lines)
        if not interactive and report.lines and report.lines % PROGRESS_EVERY == 0:
            # Without a terminal (a long load in a log): the rate overall and over the last stretch,
            # so a load that slows as the database grows shows it.
            now = time.perf_counter()
            overall, recent = report.lines / (now - started), PROGRESS_EVERY / (now - last[0])
            print(
                f"{report.lines:>10,} lines: {overall:,.0f}/s overall, {recent:,.0f}/s for the last {PROGRESS_EVERY:,}",
                file=sys.stderr,
                flush=True,
            )
            last[0] = now

    with _progress_bar(label) as progress:
        task = progress.add_task(label, total=total)
        try:
            report = import_lines(
                db, lines, policy, _clock(settings), on_line=on_line, thresholds=Thresholds.from_settings(settings)
            )
        except KeyboardInterrupt:
            progress.stop()
            stored = seen.created + seen.amended + seen.unchanged + seen.superseded
            print(
                f"interrupted: {stored} of the {seen.lines} lines read were stored, each chunk whole; "
                "run the same import again to finish (lines stored already come back unchanged)",
                file=sys.stderr,
            )
            return 130
    elapsed = time.perf_counter() - started
    db.dispose()
    for number, message in report.errors[:50]:
        print(f"line {number}: {message}", file=sys.stderr)
    if report.failed > 50:
        print(f"... and {report.failed - 50} more bad lines", file=sys.stderr)
    rate = report.lines / elapsed if elapsed else 0.0
    print(
        f"{report.lines} lines in {elapsed:.1f}s ({rate:,.0f}/s): {report.created} created, "
        f"{report.amended} amended, {report.unchanged} unchanged, {report.superseded} superseded, "
        f"{report.failed} rejected"
    )
    return 1 if report.failed else 0


# The first bytes of files that are not JSON Lines but are often given for them.
_COMPRESSED = {b"\x1f\x8b": "gzip", b"PK": "zip", b"BZ": "bzip2", b"\xfd7": "xz"}


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from app.migrate import upgrade

    if args.file == "-":
        upgrade(settings.database_url)
        return _progress_import(settings, iter(sys.stdin.buffer), None, "importing standard input")
    path = Path(args.file)
    try:
        # Lines as bytes, split at "\n" only: each is decoded on its own, so a line that is not
        # UTF-8 is reported by number, and a carriage return inside a line does not end it.
        fh = path.open("rb")
    except OSError as exc:  # missing, a directory, not readable
        print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    with fh:
        kind = _COMPRESSED.get(fh.peek(2)[:2])
        if kind:
            print(f"{path}: {kind}-compressed; decompress it first (JSON Lines are read as text)", file=sys.stderr)
            return 2
        total = None
        if path.is_file():  # counted for the progress bar; a pipe cannot be read twice
            total = sum(1 for _ in fh)
            fh.seek(0)
        upgrade(settings.database_url)
        return _progress_import(settings, iter(fh), total, f"importing {path.name}")


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from app.demo.generator import generate

    lines = (json.dumps(line) for line in generate(args.records, seed=args.seed))
    if args.jsonl:
        path = Path(args.jsonl)
        try:
            with path.open("w", encoding="utf-8") as out:
                count = sum(out.write(line + "\n") > 0 for line in lines)
        except OSError as exc:  # no such directory, no permission, the disk full
            print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        print(f"wrote {count} demo records to {path}")
        return 0
    from app.migrate import upgrade

    upgrade(settings.database_url)
    if _holds_records(settings):
        print(
            "the database already holds records: demo data goes into an empty database only (it is dated "
            "from now, and a second load clashes with the first); give another SHIELD_DATABASE_URL, or --jsonl FILE",
            file=sys.stderr,
        )
        return 1
    return _progress_import(settings, lines, args.records, "loading demo data")


def cmd_policy_check(settings: Settings, _args: argparse.Namespace) -> int:
    from app.policy.loader import PolicyError, load_policy
    from app.quality.rules import load_rules

    try:
        policy = load_policy(settings.policy_dir)
        load_rules(settings.policy_dir)
    except PolicyError as exc:
        print(f"policy error: {exc}", file=sys.stderr)
        return 1
    print(f"{settings.policy_dir}: {len(policy.roles)} roles, {len(policy.agencies)} agencies, PPN quality rules: OK")
    return 0


def cmd_policy_table(settings: Settings, _args: argparse.Namespace) -> int:
    from app.policy.loader import PolicyError, load_policy
    from app.policy.table import roles_table

    try:
        print(roles_table(load_policy(settings.policy_dir)))
    except PolicyError as exc:
        print(f"policy error: {exc}", file=sys.stderr)
        return 1
    return 0


def _head(value: str) -> tuple[int, str]:
    seq, _, digest = value.partition(":")
    if not (seq.isdigit() and re.fullmatch(r"[0-9a-f]{64}", digest)):
        raise argparse.ArgumentTypeError("give the head as SEQ:HASH, as verify printed it")
    return int(seq), digest


def cmd_audit_verify(settings: Settings, args: argparse.Namespace) -> int:
    from app.audit.chain import verify
    from app.db import Database
    from app.migrate import current_revision

    db = Database(settings.database_url)
    with db.read_session() as session:
        if current_revision(session.connection()) is None:
            print("this database holds no Shield schema: nothing to verify (run `shield migrate`)", file=sys.stderr)
            return 2
        result = verify(session.connection(), expect=args.expect_head)
    db.dispose()
    if result.ok:
        print(f"audit chain verified: {result.rows} rows, unbroken")
        if result.head_seq is not None:
            # Removing the newest rows leaves a whole, shorter chain: only a head kept elsewhere shows it.
            print(f"head: {result.head_seq}:{result.head_hash}")
            print("keep it outside this database: `shield audit verify --expect-head HEAD` checks it is still there")
        return 0
    print(f"audit chain BROKEN at row {result.first_bad_seq}: {result.problem}", file=sys.stderr)
    return 1


def cmd_quality_recheck(settings: Settings, args: argparse.Namespace) -> int:
    import uuid

    from app.db import Database
    from app.migrate import upgrade
    from app.quality.recheck import RecheckReport, count_ppns, recheck
    from app.quality.rules import load_rules

    rules = load_rules(settings.policy_dir)
    upgrade(settings.database_url)
    after = uuid.UUID(args.after) if args.after else None
    db = Database(settings.database_url)
    total = count_ppns(db, after)
    seen: list[RecheckReport] = []

    def advance(r: RecheckReport) -> None:
        seen[:] = [r]
        progress.update(task, completed=r.checked)

    try:
        with _progress_bar("rechecking PPNs") as progress:
            task = progress.add_task("recheck", total=total)
            report = recheck(
                db,
                rules,
                after=after,
                chunk=args.chunk,
                on_chunk=advance,
            )
    except KeyboardInterrupt:
        if seen and seen[0].last_id:
            done = seen[0]
            print(
                f"interrupted: {done.checked} PPNs rechecked and committed ({done.changed} changed); "
                f"resume with: shield quality recheck --after {done.last_id}",
                file=sys.stderr,
            )
        return 130
    finally:
        db.dispose()
    for record_id in report.unreadable[:50]:
        print(f"PPN {record_id}: stored body no longer valid under the PPN schema; left unchanged", file=sys.stderr)
    print(f"{report.checked} PPNs rechecked against {rules.source}: {report.changed} changed")
    return 1 if report.unreadable else 0


def _dev_settings(settings: Settings) -> Settings:
    from dataclasses import replace

    from app.security.tokens import mint, new_secret

    if not settings.jwt_secret and settings.jwt_jwks is None:
        settings = replace(settings, jwt_secret=new_secret())
        print(f"Development secret (SHIELD_JWT_SECRET): {settings.jwt_secret}")
    from app.policy.loader import load_policy

    policy = load_policy(settings.policy_dir)
    minutes = min(720, settings.jwt_max_lifetime_minutes)  # a working day, where the service allows one
    print(f"Development tokens (valid {minutes / 60:g} hours). Reads need the header X-Access-Purpose: <purpose>.")
    for sub, agency, role, org in DEV_IDENTITIES:
        token = mint(settings, sub=sub, agency=agency, roles=[role], org=org, minutes=minutes)
        purpose = policy.roles[role].purposes[0] if policy.roles[role].purposes else "-"
        print(f"\n  {role} ({agency}{', org ' + org if org else ''}); purpose {purpose}\n    {token}")
    return settings


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    from dataclasses import replace

    import uvicorn

    from app.logs import configure_logging
    from app.main import create_app
    from app.migrate import upgrade

    if args.dev:
        settings = replace(_dev_settings(settings), api_docs=True)
    settings.check_can_serve()
    configure_logging(settings.log_level)
    upgrade(settings.database_url, alembic_logging=False)
    if args.demo:
        _load_demo_once(settings, args.demo_records)
    app = create_app(settings)
    docs = "API docs: /docs, " if settings.api_docs else ""
    print(f"\nShield on http://{args.host}:{args.port}  ({docs}health: /healthz, /readyz)")
    example = _example_child(settings)
    if example:
        print(
            "A child in the data, as the Front Door sees them (use the front_door_social_worker token):\n"
            f"  curl -s http://{args.host}:{args.port}/api/v1/children/{example}/record "
            '-H "Authorization: Bearer $TOKEN" -H "X-Access-Purpose: front_door_decision"'
        )
    # Our JSON access line replaces uvicorn's, which would log query strings.
    uvicorn.run(app, host=args.host, port=args.port, log_config=None, access_log=False)
    return 0


def _holds_records(settings: Settings) -> bool:
    from sqlalchemy import select

    from app.db import Database
    from app.records.models import Record

    db = Database(settings.database_url)
    with db.read_session() as session:
        found = session.execute(select(Record.id).limit(1)).first() is not None
    db.dispose()
    return found


def _load_demo_once(settings: Settings, records: int) -> None:
    """Demo data goes into an empty database only: it is dated relative to now, so loading it
    again later would clash with itself (same references, different times)."""
    from app.demo.generator import generate

    if _holds_records(settings):
        print("The database already holds records: demo data not loaded again.")
        return
    lines = (json.dumps(line) for line in generate(records))
    _progress_import(settings, lines, records, "loading demo data")


def _example_child(settings: Settings) -> str | None:
    """The child with the most records, to show what a cross-agency record looks like."""
    from sqlalchemy import func, select

    from app.db import Database
    from app.records.models import RecordSubject

    db = Database(settings.database_url)
    with db.read_session() as session:
        child = session.scalar(
            select(RecordSubject.child_id)
            .group_by(RecordSubject.child_id)
            .order_by(func.count().desc(), RecordSubject.child_id)
            .limit(1)
        )
    db.dispose()
    return str(child) if child else None


def _at_least(low: int, high: int | None = None):  # noqa: ANN202 - an argparse type
    """A whole number from ``low`` (to ``high``): refused by argparse, with usage, not a traceback."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
        if number < low or (high is not None and number > high):
            raise argparse.ArgumentTypeError(
                f"must be from {low}" + (f" to {high}" if high else " up") + f", got {number}"
            )
        return number

    return parse


def _record_id(value: str) -> str:
    import uuid

    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a record id (a UUID): {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shield",
        description="Shield: multi-agency information sharing about children affected by serious youth violence.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate the database, then serve the API")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    serve.add_argument("--port", type=_at_least(1, 65535), default=8000, help="port (default %(default)s)")
    serve.add_argument("--dev", action="store_true", help="generate a JWT secret if none is set; print tokens")
    serve.add_argument("--demo", action="store_true", help="load synthetic demo data first")
    serve.add_argument("--demo-records", type=_at_least(1), default=3000, help=argparse.SUPPRESS)
    serve.set_defaults(func=cmd_serve)

    sub.add_parser("migrate", help="upgrade the database to the latest migration").set_defaults(func=cmd_migrate)

    token = sub.add_parser("token", help="mint an HS256 token (development and tests)")
    token.add_argument("--sub", required=True, help="who the token is for: the name the audit records")
    token.add_argument("--agency", required=True, help="an agency in policies/agencies.yaml, such as police")
    token.add_argument("--role", required=True, help="a role in policies/roles.yaml, such as front_door_social_worker")
    token.add_argument("--org", help="the organisation within the agency (a school's URN, for education_dsl)")
    token.add_argument(
        "--minutes", type=_at_least(1), default=60, help="minutes until it expires (default %(default)s)"
    )
    token.set_defaults(func=cmd_token)

    demo = sub.add_parser("demo", help="load realistic synthetic Leeds data")
    demo.add_argument("--records", type=_at_least(1), default=3000, help="how many records (default %(default)s)")
    demo.add_argument(
        "--seed", type=int, default=20240301, help="the same seed gives the same people and events, dated back from now"
    )
    demo.add_argument("--jsonl", metavar="FILE", help="write the records to FILE instead of loading them")
    demo.set_defaults(func=cmd_demo)

    imp = sub.add_parser("import", help="bulk import a JSON Lines file")
    imp.add_argument(
        "file",
        help='UTF-8 JSON Lines, one {"type": ..., "agency": ..., "record": {...}} per line, or - for standard '
        "input; safe to run again",
    )
    imp.set_defaults(func=cmd_import)

    policy = sub.add_parser("policy", help="policy files")
    policy_sub = policy.add_subparsers(dest="policy_command", required=True)
    policy_sub.add_parser("check", help="validate the policy files").set_defaults(func=cmd_policy_check)
    policy_sub.add_parser("table", help="print each role's access as a Markdown table").set_defaults(
        func=cmd_policy_table
    )

    audit = sub.add_parser("audit", help="the audit trail")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="check the audit hash chain; name the first bad row")
    verify.add_argument(
        "--expect-head",
        type=_head,
        metavar="SEQ:HASH",
        help="a head an earlier verify printed: the chain must still hold it (newest rows removed, or rewritten, fail)",
    )
    verify.set_defaults(func=cmd_audit_verify)

    quality = sub.add_parser("quality", help="PPN quality")
    quality_sub = quality.add_subparsers(dest="quality_command", required=True)
    recheck = quality_sub.add_parser(
        "recheck", help="re-evaluate every stored PPN against the current policies/ppn_quality.yaml"
    )
    recheck.add_argument("--chunk", type=_at_least(1), default=1000, help="PPNs per committed transaction")
    recheck.add_argument(
        "--after", type=_record_id, metavar="RECORD_ID", help="resume after this PPN record id (printed on interrupt)"
    )
    recheck.set_defaults(func=cmd_quality_recheck)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = get_settings()
        return int(args.func(settings, args))
    except (ConfigError, PolicyError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        # The database did not answer (not running, wrong host or port, refused the login): say
        # which one, without a traceback. The driver's first line says why; it holds no record data.
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        print(f"database error: {_safe_url(get_settings().database_url)}: {reason}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
