"""Single-record ingest: Shield beside the floor (shared/bench/baseline_app.py), in one run.

    python tests/perf/bench_ingest.py [--db sqlite|postgresql] [--seconds 10] [--connections 8]
                                      [--rounds 3] [--warmup 5] [--children cohort|many|one]

Both apps run as one uvicorn worker on the same kind of database, driven by wrk with the same
connection count. The two servers are started together and timed in alternating rounds (floor,
Shield, floor, Shield, ...), so that a slow spell of a shared machine falls on both; the figure
reported is the ratio of their total requests over the rounds, with each round's ratio beside it.
Each server's CPU time per request (from /proc) is printed too: it moves less than requests/s on
a busy machine, and shows whether a change cut work or only waiting. On PostgreSQL the Shield
database is analysed before each round, as autovacuum would (see ``_analyze``). Before the rounds,
each server takes ``--warmup`` seconds of the same load, not counted: a service at 08:30 on a
Monday has tables in use, and the first round used to start on empty ones (planned as empty on
PostgreSQL: 0.36-0.44 where the later rounds gave 0.47-0.56). ``--warmup 0`` measures from cold.

Workloads (``--children``):
- ``cohort`` (default): PPNs about 1,600 synthetic children, about 2.5 each, each child described
  as police describe them (``identity_data``: a police person id on most, name variants, a missing
  or mistyped date of birth now and then), so identity resolution meets what it meets in life.
- ``many``: every PPN about a different child whose name matches others' (a near-duplicate per
  post, so nearly every post opens a possible match: identity resolution's worst case).
- ``one``: every PPN about the same child (a child with thousands of records), each submitted a
  second after the last, ten hours after its incident, as a child's history grows. (Until
  2026-12-01 they all had one timestamp: a history of ties, which a new record reorders.)
Not part of the test suite (pytest does not collect it). Needs ``wrk`` (Debian package).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT.parent / "shared" / "bench"
PG_ADMIN = os.environ.get("SHIELD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# Each PPN about the same child, a second after the one before (across rounds too: ``TIME_BASE``).
ONE_CHILD_LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer TOKEN"
counter = OFFSET
request = function()
  counter = counter + 1
  local at = TIME_BASE + counter - OFFSET
  local incident, submitted = os.date("!%Y-%m-%dT%H:%M:%SZ", at - 36000), os.date("!%Y-%m-%dT%H:%M:%SZ", at)
  return wrk.format(nil, "/api/v1/ppns", nil, string.format(BODY, counter, incident, submitted))
end
"""
# 2025-06-01T00:00:00Z, and seconds between the starts of the warm-up's and the rounds' times.
ONE_CHILD_START = 1_748_736_000
ONE_CHILD_ROUND_SECONDS = 200_000
# Each PPN about a child of its own, whose given name, family name and date of birth cycle at
# different periods: every post a new child with namesakes.
MANY_CHILDREN_LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer TOKEN"
given = {"Alex", "Jordan", "Kai", "Leon", "Omar", "Tyler", "Aisha", "Maya", "Zara", "Ellie", "Bilal"}
family = {"Smith", "Khan", "Ahmed", "Brown", "Wilson", "Patel", "Hussain", "Taylor", "Clarke", "Walker",
          "Okafor", "Nowak", "Begum"}
counter = OFFSET
request = function()
  counter = counter + 1
  local g = given[(counter % #given) + 1]
  local f = family[(math.floor(counter / 7) % #family) + 1]
  local d = string.format("20%02d-%02d-%02d", 9 + counter % 7, 1 + counter % 12, 1 + counter % 27)
  return wrk.format(nil, "/api/v1/ppns", nil, string.format(BODY, counter, g, f, d))
end
"""
# Each PPN about the child of the next record of a synthetic cohort (PEOPLE: the persons' JSON).
COHORT_LUA = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer TOKEN"
people = {PEOPLE}
counter = OFFSET
request = function()
  counter = counter + 1
  local person = people[(counter % #people) + 1]
  return wrk.format(nil, "/api/v1/ppns", nil, string.format(BODY, counter, person))
end
"""
COHORT_CHILDREN = 1600
# wrk prints p50/p90/p99 only; this reports p95 for both apps the same way.
DONE_LUA = r"""
done = function(summary, latency, requests)
  io.write(string.format("P50_MS %.3f\nP95_MS %.3f\n", latency:percentile(50) / 1000, latency:percentile(95) / 1000))
end
"""

PPN_BODY = {
    "source_ref": "BENCH-PPN-%d",
    "version": 1,
    "occurrence_ref": "13/555/26",
    "incident_occurred_at": "2026-11-20T22:15:00Z",
    "submitted_at": "2026-11-21T08:00:00Z",
    "officer": {"id": "PC1", "team": "Leeds East NPT", "district": "Leeds East"},
    "risk_grade": "medium",
    "concern_types": ["serious_violence"],
    "reason_for_referral": "Witnessed a stabbing near school; frightened and not sleeping.",
    "child_present": True,
    "child_spoken_to": True,
    "voice_of_child": "Says he does not feel safe walking home.",
    "person": {
        "given_name": "Alex",
        "family_name": "Smith",
        "date_of_birth": "2010-01-02",
        "sex": "male",
        "postcode": "LS9 7AB",
        "ethnicity": {"self_defined": "W1"},
    },
}


def _pg_database(name: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def _serve(args: list[str], env: dict[str, str], port: int, health: str, log: Path) -> subprocess.Popen[bytes]:
    """Start a server; its log goes to ``log``. Shield logs a JSON line per request, as in
    production: into a pipe nobody read, it filled the pipe and the server stopped answering."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise SystemExit(f"port {port} is taken (a server left from an earlier run?)")
    with log.open("wb") as stderr:
        proc = subprocess.Popen(  # noqa: S603 - our own uvicorn with fixed arguments
            [sys.executable, "-m", "uvicorn", *args, "--port", str(port), "--log-level", "warning", "--no-access-log"],
            env=env,
            cwd=env.get("BENCH_CWD", str(ROOT)),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{health}", timeout=1).status_code < 500:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server on port {port} did not start: {log.read_text(errors='replace')[-2000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(url: str, script: Path, seconds: int, connections: int, server: int) -> dict[str, float]:
    cpu = _cpu_seconds(server)
    out = subprocess.run(  # noqa: S603
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cpu = _cpu_seconds(server) - cpu
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    # The server's CPU per request holds up better than requests/s on a machine others are using.
    result = {
        "rps": rps,
        "requests": requests,
        "non_2xx": float(non2xx.group(1)) if non2xx else 0.0,
        "cpu_ms": 1000 * cpu / requests,
    }
    for key in ("P50_MS", "P95_MS"):
        m = re.search(rf"{key} ([\d.]+)", out)
        if m:
            result[key.lower()] = float(m.group(1))
    return result


def _analyze(url: str) -> None:
    """What autovacuum does as tables grow, done before each round: it is off on some machines
    (this one's PostgreSQL), and tables grown from empty without it keep no statistics, so the
    planner scans tables it believes empty (rounds grew slower: ratio 0.39, 0.28, 0.26)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
    engine.dispose()


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _cohort_people() -> list[str]:
    """Persons (as JSON) of police records about a synthetic cohort, in arrival order."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import identity_data

    people = identity_data.children(COHORT_CHILDREN, seed=7)
    rng = identity_data.random.Random(8)
    out = []
    for index, _ in identity_data.records(people, seed=9):
        person = identity_data.describe(rng, people[index], "police")
        if (person["date_of_birth"] or "") > PPN_BODY["incident_occurred_at"]:  # type: ignore[operator]
            continue  # a mistyped year after the incident: a 422, which is not what this times
        out.append(json.dumps({**person, "ethnicity": PPN_BODY["person"]["ethnicity"]}))  # type: ignore[index]
    return out


def _shield_script(children: str, token: str, offset: int, people: list[str], seconds_on: int = 0) -> str:
    """The wrk script for a workload, its request counter starting at ``offset`` (new records each
    round); for ``one``, its first PPN ``seconds_on`` after ``ONE_CHILD_START``."""
    if children == "cohort":
        template: dict[str, object] = {**PPN_BODY, "person": "PERSON"}
        body = json.dumps(template).replace('"PERSON"', "%s")
        lua = COHORT_LUA.replace("PEOPLE", ",".join(_lua_string(p) for p in people))
    elif children == "many":
        person = {**PPN_BODY["person"], "given_name": "%s", "family_name": "%s", "date_of_birth": "%s"}  # type: ignore[dict-item]
        body, lua = json.dumps({**PPN_BODY, "person": person}), MANY_CHILDREN_LUA
    else:
        timed = {**PPN_BODY, "incident_occurred_at": "%s", "submitted_at": "%s"}
        body, lua = json.dumps(timed), ONE_CHILD_LUA.replace("TIME_BASE", str(ONE_CHILD_START + seconds_on))
    return lua.replace("TOKEN", token).replace("BODY", _lua_string(body)).replace("OFFSET", str(offset)) + DONE_LUA


def _migrate_and_token(env: dict[str, str]) -> str:
    def cli(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
            [sys.executable, "-m", "app.cli", *args], env=env, cwd=ROOT, check=True, capture_output=True, text=True
        )
        return done.stdout.strip()

    cli("migrate")
    return cli("token", "--sub", "bench", "--agency", "police", "--role", "agency_system", "--minutes", "120")


def _total(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Over the rounds: requests/s of all requests, CPU per request, and the median latencies."""
    requests = sum(r["requests"] for r in rounds)
    seconds = sum(r["requests"] / r["rps"] for r in rounds)
    out = {
        "rps": round(requests / seconds, 1),
        "non_2xx": sum(r["non_2xx"] for r in rounds),
        "cpu_ms": round(sum(r["cpu_ms"] * r["requests"] for r in rounds) / requests, 3),
    }
    for key in ("p50_ms", "p95_ms"):
        values = sorted(r[key] for r in rounds if key in r)
        if values:
            out[key] = values[len(values) // 2]
    return out


def run(
    db: str, seconds: int, connections: int, children: str = "cohort", rounds: int = 3, warmup: int = 5
) -> dict[str, object]:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (apt-get install wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="shield-bench-"))
    if db == "sqlite":
        floor_url, shield_url = f"sqlite:///{tmp}/floor.db", f"sqlite:///{tmp}/shield.db"
    else:
        floor_url = _pg_database("shield_bench_floor")
        shield_url = _pg_database("shield_bench_app")
    floor_lua = tmp / "floor.lua"
    floor_lua.write_text((BENCH / "baseline_post.lua").read_text() + DONE_LUA)
    secret = "bench-secret-" + "x" * 40
    env = {**os.environ, "SHIELD_DATABASE_URL": shield_url, "SHIELD_JWT_SECRET": secret}
    token = _migrate_and_token(env)
    people = _cohort_people() if children == "cohort" else []

    floor_env = {**os.environ, "PYTHONPATH": str(BENCH), "DB": floor_url, "BENCH_CWD": str(tmp)}
    floor = _serve(["baseline_app:app"], floor_env, 8901, "/rec/1", tmp / "floor.log")
    shield = _serve(["--factory", "app.main:app_factory"], env, 8902, "/healthz", tmp / "shield.log")
    floor_rounds, shield_rounds = [], []
    try:
        if warmup:
            # Not counted: both servers past their first requests (connection pools, caches), and the
            # Shield database past empty, so the first round's statistics describe tables in use.
            _wrk("http://127.0.0.1:8901/rec", floor_lua, warmup, connections, floor.pid)
            script = tmp / "shield-warmup.lua"
            script.write_text(_shield_script(children, token, rounds * 1_000_000, people))
            _wrk("http://127.0.0.1:8902", script, warmup, connections, shield.pid)
        for n in range(rounds):
            floor_rounds.append(_wrk("http://127.0.0.1:8901/rec", floor_lua, seconds, connections, floor.pid))
            if db == "postgresql":
                _analyze(shield_url)
            script = tmp / f"shield-{n}.lua"
            seconds_on = (n + 1) * ONE_CHILD_ROUND_SECONDS  # after the warm-up's and the last round's
            script.write_text(_shield_script(children, token, n * 1_000_000, people, seconds_on))
            shield_rounds.append(_wrk("http://127.0.0.1:8902", script, seconds, connections, shield.pid))
    finally:
        _stop(floor)
        _stop(shield)
    shutil.rmtree(tmp, ignore_errors=True)
    floor_total, shield_total = _total(floor_rounds), _total(shield_rounds)
    return {
        "db": db,
        "seconds": seconds,
        "connections": connections,
        "children": children,
        "rounds": rounds,
        "warmup_seconds": warmup,
        "floor": floor_total,
        "shield": shield_total,
        "ratio": round(shield_total["rps"] / floor_total["rps"], 3),
        "round_ratios": [round(s["rps"] / f["rps"], 3) for f, s in zip(floor_rounds, shield_rounds, strict=True)],
        "cpu_ratio": round(floor_total["cpu_ms"] / shield_total["cpu_ms"], 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per server (default 3)")
    parser.add_argument(
        "--warmup", type=int, default=5, help="seconds of load per server before the rounds, not counted (default 5)"
    )
    parser.add_argument(
        "--children",
        choices=["cohort", "many", "one"],
        default="cohort",
        help="whom the PPNs are about (see the description above); default: a synthetic cohort",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the result as JSON")
    args = parser.parse_args()
    result = run(args.db, args.seconds, args.connections, args.children, args.rounds, args.warmup)
    floor, shield = result["floor"], result["shield"]
    print(
        f"single-record ingest on {args.db}, {args.connections} connections, {args.rounds} rounds of "
        f"{args.seconds}s per server after {args.warmup}s of warm-up, workload '{args.children}'"
    )
    print(f"{'':10}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'non-2xx':>10}{'CPU ms/req':>12}")
    for name, r in (("floor", floor), ("shield", shield)):
        print(
            f"{name:10}{r['rps']:>10.1f}{r.get('p50_ms', 0):>10.2f}{r.get('p95_ms', 0):>10.2f}{int(r['non_2xx']):>10}"
            f"{r['cpu_ms']:>12.2f}"
        )
    rounds = ", ".join(f"{r:.2f}" for r in result["round_ratios"])  # type: ignore[attr-defined]
    print(
        f"ratio shield/floor: {result['ratio']:.2f} (rounds: {rounds}; "
        f"server CPU per request, floor/shield: {result['cpu_ratio']:.2f})"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
