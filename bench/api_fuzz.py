"""Property-based API run (`make fuzz-api`): Schemathesis over /api/schema/ as a member and as staff.

A scratch SQLite database in a temp dir is migrated and seeded (`seed_demo --members 60`), a
`runserver` on a free loopback port serves it, and `schemathesis run` goes over every operation
of the schema twice: with a member's `Authorization: tma <initData>` (`demo_init_data`) and with
the demo staff user's session (admin / p2phub-demo, signed in through /admin/login/; the CSRF
cookie and `X-CSRFToken` go with every request so unsafe methods pass CSRF). Outside services
(TON indexer, Telegram Bot API) point at a closed loopback port; bench/schemathesis.toml accepts
the documented 503 their operations then answer. The database and the server go away at the
end; 5xx answers in the server log are counted (tracebacks printed for any but 503).

Knobs (environment): FUZZ_MAX_EXAMPLES (30), FUZZ_CHECKS (not_a_server_error,
status_code_conformance,content_type_conformance,response_schema_conformance; "all" works too),
FUZZ_WORKERS (1: SQLite under a threaded runserver), FUZZ_SEED (2026), FUZZ_PHASES
(examples,coverage,fuzzing), FUZZ_MAX_TIME (unset; a budget that fuzzing repeats until spent),
FUZZ_ONLY (member|staff), FUZZ_KEEP=1 keeps the temp dir. Throttle rates are raised for the
server so the run exercises the views rather than the throttle (429 is documented all the
same). Exit status: non-zero when either run failed.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
MEMBER_TELEGRAM_ID = "990000000000"
STAFF_USER, STAFF_PASSWORD = "admin", "p2phub-demo"
DEFAULT_CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env, *args, capture=False) -> str:
    result = subprocess.run(
        [PY, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True, stdout=subprocess.PIPE if capture else None
    )
    return result.stdout or ""


def wait_until_up(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"runserver exited with {server.returncode}")
        try:
            if requests.get(f"{base}/health/ping/", timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    sys.exit("runserver did not come up")


def member_header(env) -> str:
    out = manage(env, "demo_init_data", MEMBER_TELEGRAM_ID, capture=True)
    match = re.search(r"(tma \S+)", out)
    if not match:
        sys.exit(f"demo_init_data printed no 'tma ...' header:\n{out}")
    return match.group(1)


def staff_headers(base: str) -> list[str]:
    session = requests.Session()
    login = f"{base}/admin/login/"
    session.get(login, timeout=10).raise_for_status()
    answer = session.post(
        login,
        data={
            "username": STAFF_USER,
            "password": STAFF_PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "next": "/admin/",
        },
        headers={"Referer": login},
        timeout=10,
        allow_redirects=False,
    )
    if answer.status_code != 302 or "sessionid" not in session.cookies:
        sys.exit(f"staff sign-in failed: {answer.status_code}")
    csrf, sessionid = session.cookies["csrftoken"], session.cookies["sessionid"]
    # Confirm the session really is staff before fuzzing with it.
    probe = requests.get(f"{base}/api/v1/staff/commission-stats/", cookies={"sessionid": sessionid}, timeout=10)
    if probe.status_code != 200:
        sys.exit(f"staff session is not accepted by /api/v1/staff/commission-stats/: {probe.status_code}")
    return [f"Cookie: sessionid={sessionid}; csrftoken={csrf}", f"X-CSRFToken: {csrf}"]


def schemathesis(base: str, label: str, headers: list[str], report_dir: Path) -> int:
    schemathesis_bin = str(Path(PY).with_name("schemathesis"))
    cmd = [
        schemathesis_bin,
        "--config-file",
        str(ROOT / "bench" / "schemathesis.toml"),
        "run",
        f"{base}/api/schema/",
        "--checks",
        os.environ.get("FUZZ_CHECKS", DEFAULT_CHECKS),
        "--max-examples",
        os.environ.get("FUZZ_MAX_EXAMPLES", "30"),
        "--phases",
        os.environ.get("FUZZ_PHASES", "examples,coverage,fuzzing"),
        "--workers",
        os.environ.get("FUZZ_WORKERS", "1"),
        "--seed",
        os.environ.get("FUZZ_SEED", "2026"),
        "--request-timeout",
        "15",
        "--suppress-health-check",
        "all",
        "--report",
        "junit",
        "--report-dir",
        str(report_dir / label),
    ]
    if os.environ.get("FUZZ_MAX_TIME"):  # a budget that fuzzing repeats until spent: off by default
        cmd += ["--max-time", os.environ["FUZZ_MAX_TIME"]]
    for header in headers:
        cmd += ["-H", header]
    print(f"\n=== schemathesis as {label} ===", flush=True)
    print(" ".join(c if not c.startswith(("tma ", "Authorization", "Cookie", "X-CSRF")) else "<secret>" for c in cmd))
    return subprocess.run(cmd, cwd=ROOT).returncode


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="p2phub-fuzz-"))
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp / 'fuzz.sqlite3'}",
        "DJANGO_DOT_ENV_FILE": str(tmp / "no.env"),  # a local .env must not point us at a real database
        "THROTTLE_ANON": "100000/min",
        "THROTTLE_USER": "100000/min",
        "THROTTLE_PAYMENTS": "100000/min",
        "THROTTLE_PAYOUTS": "100000/min",
        "PYTHONUNBUFFERED": "1",
        # Loopback only: outside services point at a closed local port (their views answer 503).
        "TON_API_BASE_URL": "http://127.0.0.1:9/ton",
        "TON_RATE_URL": "http://127.0.0.1:9/rates",
        "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/telegram",
    }
    for name in ("DJANGO_ENV", "REDIS_URL", "CELERY_BROKER_URL", "SENTRY_DSN"):
        env.pop(name, None)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env["SITE_URL"] = base
    server = None
    log_path = tmp / "runserver.log"
    try:
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "seed_demo", "--members", "60")
        with open(log_path, "w") as log:
            server = subprocess.Popen(
                [PY, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_up(base, server)
        runs = {"member": lambda: [f"Authorization: {member_header(env)}"], "staff": lambda: staff_headers(base)}
        only = os.environ.get("FUZZ_ONLY")
        codes = {}
        for label, headers in runs.items():
            if only and only != label:
                continue
            codes[label] = schemathesis(base, label, headers(), tmp / "reports")
        log_text = log_path.read_text(errors="replace")
        statuses = Counter(re.findall(r'HTTP/1\.[01]" (5\d\d) ', log_text))
        print(f"\nserver log: 5xx answers {dict(statuses) or 'none'}")
        if statuses.keys() - {"503"}:  # tracebacks of real server errors
            print("\n".join(line for line in log_text.splitlines() if "Error" in line or "Traceback" in line)[-4000:])
        print("exit codes:", codes, f"(reports in {tmp / 'reports'})" if os.environ.get("FUZZ_KEEP") else "")
        return 0 if all(code == 0 for code in codes.values()) else 1
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if os.environ.get("FUZZ_KEEP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
