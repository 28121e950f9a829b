"""Real-HTTP load test (`make bench-load`): Locust against gunicorn with the production
settings, PostgreSQL, Redis and a real Celery worker on RabbitMQ, on this machine.

The orchestrator (this process) creates a scratch database, seeds it through the Django services,
starts the Celery worker and, for each gunicorn configuration of the sweep, gunicorn; runs the
scenarios as headless Locust child processes (bench/load/locustfile.py) with pre-signed initData
headers handed over in a plan file; checks the ledgers; prints the figures; and always stops
what it started. Exit code 1 on any failed request or failed check (never on a timing).

Scenarios: (a) check-in burst, (b) Mini App opens in steps of concurrent users, (c) signups
under one hot leader, (d) the same signups across unrelated trees. bench/README.md describes
them, the environment variables and how to read the output.
"""

import concurrent.futures
import http.client
import json
import math
import os
import secrets
import shutil
import signal
import socket
import sys
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
# Run as a script, this directory would come first on sys.path, and its modules would be
# shadowed by (or shadow) bench/'s own scripts of the same name: import everything from the
# repository root instead (`bench` is a namespace package there).
sys.path[0] = str(REPO)

from bench.load import checks, cpu, figures, seed  # noqa: E402
from bench.load.processes import Children, log_problems, wait_for_http, worker_pids  # noqa: E402
from bench.scratch_db import recreate_database, scratch_database  # noqa: E402

BOT_TOKEN = "4242:BENCH-LOAD"
QUEUE = "bench_load"
USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36 Telegram-Android/11.2"
)
# Outside services point at a closed loopback port: nothing in a run may reach the internet.
CLOSED_PORT_URL = "http://127.0.0.1:9"
# Per open of the Mini App: /me always (the home screen), then each tab with its probability.
# 1 + 0.4 + 0.3 + 0.3 = 2 requests per open: /me 50 %, network 20 %, tasks 15 %, leaderboard 15 %.
OPEN_MIX = {"network": 0.4, "tasks": 0.3, "leaderboard": 0.3}
BIN = Path(sys.executable).parent


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


QUICK = _flag("BENCH_LOAD_QUICK")


def _setting(name: str, default, quick=None):
    """The environment's value (as the default's type), else the quick-mode or normal default."""
    value = os.environ.get(name, "").strip()
    if value:
        return type(default)(value)
    return quick if QUICK and quick is not None else default


@dataclass(frozen=True)
class WorkerConfig:
    kind: str  # sync | gthread
    workers: int
    threads: int = 1

    @classmethod
    def parse(cls, text: str) -> "WorkerConfig":
        kind, _, shape = text.partition(":")
        if kind not in ("sync", "gthread") or not shape:
            raise SystemExit(f"BENCH_LOAD_WORKERS: cannot read {text!r} (use sync:3 or gthread:2x4)")
        workers, _, threads = shape.partition("x")
        return cls(kind, int(workers), int(threads or (4 if kind == "gthread" else 1)))

    @property
    def label(self) -> str:
        return f"sync:{self.workers}" if self.kind == "sync" else f"gthread:{self.workers}x{self.threads}"


def _today_default() -> str:
    """p2phub/gunicorn.conf.py's default on this machine: sync, cores + 1."""
    return f"sync:{max(os.cpu_count() or 1, 1) + 1}"


@dataclass
class Config:
    database_url: str
    redis_url: str
    broker_url: str
    bind: str
    out: Path
    sweep: list[WorkerConfig]  # the first one is the primary: scenarios (c) and (d) run there
    checkins: int
    sweep_checkins: bool
    members: int
    steps: list[int]
    step_seconds: float
    warmup_seconds: float
    p95_bar_ms: float
    signups: int
    signup_users: int
    signup_rounds: int
    celery_concurrency: int
    fold_seconds: float
    slow_ms: int
    seed_processes: int
    scenarios: list[str]

    @classmethod
    def from_environment(cls) -> "Config":
        sweep = " ".join(dict.fromkeys([_today_default(), "sync:2", "sync:3", "sync:5", "gthread:2x4", "gthread:3x2"]))
        return cls(
            database_url=_setting("BENCH_DATABASE_URL", "postgres://root@127.0.0.1:5432/test"),
            # db 5 by default: the other Redis databases belong to other people's tests (it is flushed).
            redis_url=_setting("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5"),
            broker_url=_setting("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"),
            bind=_setting("BENCH_LOAD_BIND", "127.0.0.1:8765"),
            out=Path(_setting("BENCH_LOAD_OUT", "/tmp/p2phub-bench-load")),
            sweep=[
                WorkerConfig.parse(t)
                for t in _setting("BENCH_LOAD_WORKERS", sweep, f"{_today_default()} gthread:2x4").split()
            ],
            checkins=_setting("BENCH_LOAD_CHECKINS", 1000, 200),
            sweep_checkins=_setting("BENCH_LOAD_SWEEP_CHECKIN", 0) == 1,
            members=_setting("BENCH_LOAD_MEMBERS", 3000, 500),
            steps=[int(n) for n in _setting("BENCH_LOAD_STEPS", "5 10 20 40 80", "5 20").split()],
            step_seconds=_setting("BENCH_LOAD_STEP_SECONDS", 10.0, 5.0),
            warmup_seconds=_setting("BENCH_LOAD_WARMUP_SECONDS", 2.0, 1.0),
            p95_bar_ms=_setting("BENCH_LOAD_P95_MS", 200.0),
            signups=_setting("BENCH_LOAD_SIGNUPS", 2000, 200),
            signup_users=_setting("BENCH_LOAD_SIGNUP_USERS", 20),
            signup_rounds=_setting("BENCH_LOAD_SIGNUP_ROUNDS", 4, 1),
            celery_concurrency=_setting("BENCH_LOAD_CELERY_CONCURRENCY", 2),
            fold_seconds=_setting("BENCH_LOAD_FOLD_SECONDS", 10.0),
            slow_ms=_setting("BENCH_LOAD_SLOW_MS", 200),
            seed_processes=_setting("BENCH_LOAD_SEED_PROCESSES", 2),
            scenarios=[x for x in _setting("BENCH_LOAD_SCENARIOS", "a b c d").split() if x in ("a", "b", "c", "d")],
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.bind}"


# --- environment ---------------------------------------------------------------------------------
def server_environment(cfg: Config, database_url: str, run_dir: Path) -> dict[str, str]:
    """What gunicorn and the Celery worker run with: production settings behind a TLS proxy.

    Behind the proxy: the proxy terminates TLS and sends `X-Forwarded-Proto: https`, which the
    production settings trust (SECURE_PROXY_SSL_HEADER), so SECURE_SSL_REDIRECT stays on as in
    a deployment; and it appends the client address to `X-Forwarded-For`, trusted with
    NUM_PROXIES=1, so every member has their own IP for fraud scoring and throttles."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "GUNICORN_", "CELERY_", "TELEGRAM_", "THROTTLE_", "TON_", "SENTRY_"))
        and k not in ("DATABASE_URL", "REDIS_URL", "WEB_CONCURRENCY", "NUM_PROXIES", "PROMETHEUS_MULTIPROC_DIR")
    }
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "p2phub.settings",
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": database_url,
        "REDIS_URL": cfg.redis_url,
        "CELERY_BROKER_URL": cfg.broker_url,
        "CELERY_TASK_DEFAULT_QUEUE": QUEUE,  # never eat (or feed) anybody else's tasks
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_SEND_ENABLED": "0",
        "TELEGRAM_API_BASE_URL": CLOSED_PORT_URL,
        "TON_API_BASE_URL": CLOSED_PORT_URL,
        "TON_RATE_URL": CLOSED_PORT_URL,
        "THROTTLE_USER": "100000000/min",
        "THROTTLE_ANON": "100000000/min",
        "LOG_LEVEL": "ERROR",
        "NUM_PROXIES": "1",
        "GUNICORN_ACCESS_LOG": "",  # off: no line formatted per request
        # Multiprocess metrics, as a deployment with several workers per host runs them.
        "PROMETHEUS_MULTIPROC_DIR": str(run_dir / "prometheus"),
    }


def _orchestrator_django(server_env: dict[str, str]) -> None:
    """This process runs Django with the servers' settings (same database, Redis, secret and so
    the same IP hash salt) but eager Celery: the seeding's after-commit tasks run here instead
    of queueing thousands of messages for the worker to chew on during the first scenario."""
    os.environ.update(server_env)
    os.environ.pop("CELERY_BROKER_URL")
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR")  # the seeding's counters are nobody's metrics
    warnings.filterwarnings("ignore", message="No directory at")
    import django

    django.setup()


def _scratch_database_logging(maintenance_url: str, name: str, slow_ms: int) -> None:
    """Slow statements and lock waits of the scratch database only, into the server's log."""
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as conn:
        try:
            conn.execute(f'ALTER DATABASE "{name}" SET log_min_duration_statement = {int(slow_ms)}')
            conn.execute(f'ALTER DATABASE "{name}" SET log_lock_waits = on')
        except psycopg.Error as error:
            print(f"  (slow statement logging not set: {error})")


def _postgres_log() -> Path | None:
    logs = sorted(Path("/var/log/postgresql").glob("postgresql-*.log")) if Path("/var/log/postgresql").is_dir() else []
    return logs[-1] if logs else None


# --- broker --------------------------------------------------------------------------------------
class Broker:
    """The run's queue on RabbitMQ: its depth, its consumers, and the fold ticks beat would send."""

    def __init__(self, url: str):
        from celery import Celery

        self.url = url
        # A bare Celery app just to publish by task name: the orchestrator's Django runs eagerly.
        self._app = Celery("bench-load-ticks", broker=url)
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def queue_state(self) -> tuple[int, int] | None:
        """(ready messages, consumers), None while the queue does not exist."""
        from kombu import Connection

        with Connection(self.url, connect_timeout=5) as conn:
            try:
                _name, messages, consumers = conn.channel().queue_declare(QUEUE, passive=True)
            except Exception:  # noqa: BLE001 - 404: not declared yet
                return None
            return messages, consumers

    def purge(self, *, delete: bool = False) -> None:
        from kombu import Connection

        with Connection(self.url, connect_timeout=5) as conn:
            try:
                channel = conn.channel()
                channel.queue_delete(QUEUE) if delete else channel.queue_purge(QUEUE)
            except Exception:  # noqa: BLE001 - no such queue: nothing to purge
                pass

    def wait_for_consumer(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.queue_state()
            if state and state[1] > 0:
                return
            time.sleep(0.5)
        raise RuntimeError(f"no Celery worker consumed {QUEUE} within {timeout:.0f} s")

    def wait_drained(self, timeout: float = 120.0) -> float:
        """Until the queue has been empty twice in a row half a second apart; seconds waited."""
        started, empty = time.monotonic(), 0
        while time.monotonic() - started < timeout and empty < 2:
            state = self.queue_state()
            empty = empty + 1 if state is not None and state[0] == 0 else 0
            time.sleep(0.5)
        return time.monotonic() - started

    def start_fold_ticks(self, seconds: float) -> None:
        """`rewards.tasks.fold_balances` every `seconds`, as Celery beat's fold-balances entry
        (the rest of beat's schedule polls outside services and has no place in a load run)."""

        def tick():
            while not self._stop.wait(seconds):
                try:
                    self._app.send_task("rewards.tasks.fold_balances", queue=QUEUE)
                except Exception as error:  # noqa: BLE001 - a lost tick only delays a fold
                    print(f"  (fold tick not sent: {error})")

        self._ticker = threading.Thread(target=tick, name="fold-ticks", daemon=True)
        self._ticker.start()

    def stop_fold_ticks(self) -> None:
        self._stop.set()
        if self._ticker:
            self._ticker.join(timeout=5)


# --- the run -------------------------------------------------------------------------------------
@dataclass
class Scenario:
    """One scenario's figures as printed and compared in the sweep table."""

    title: str
    result: figures.RunFigures
    cpu_ms: dict[str, float]
    failures: list[str] = field(default_factory=list)


@dataclass
class OpenStep:
    users: int
    result: figures.RunFigures
    cpu_ms: dict[str, float]


class LoadRun:
    def __init__(self, cfg: Config, run_dir: Path, env: dict[str, str], children: Children, broker: Broker):
        self.cfg, self.run_dir, self.env, self.children, self.broker = cfg, run_dir, env, children, broker
        self.gunicorn = None
        self.celery = None
        self.failures: list[str] = []
        self._ips: dict[int, str] = {}

    # -- identities
    def ip(self, telegram_id: int) -> str:
        """Each member's own client address, from 198.18.0.0/15 (reserved for benchmarks; only
        ever a header value, never a destination)."""
        if telegram_id not in self._ips:
            n = len(self._ips)
            self._ips[telegram_id] = f"198.{18 + (n >> 16 & 1)}.{n >> 8 & 255}.{n & 255}"
        return self._ips[telegram_id]

    @staticmethod
    def auth(telegram_id: int, start_param: str = "") -> str:
        from p2phub.testing.telegram import signed_init_data

        init_data = signed_init_data(
            bot_token=BOT_TOKEN, user_id=telegram_id, first_name=seed.member_name(telegram_id), start_param=start_param
        )
        return f"tma {init_data}"

    def member(self, telegram_id: int, **extra) -> dict:
        return {"auth": self.auth(telegram_id, extra.pop("start_param", "")), "ip": self.ip(telegram_id), **extra}

    # -- processes
    def start_celery(self) -> None:
        self.celery = self.children.start(
            "celery worker",
            [
                str(BIN / "celery"),
                "-A",
                "p2phub",
                "worker",
                "-Q",
                QUEUE,
                "-c",
                str(self.cfg.celery_concurrency),
                "-n",
                f"bench-load-{uuid.uuid4().hex[:6]}@%h",
                "--loglevel=ERROR",
                "--without-gossip",
                "--without-mingle",
            ],
            env=self.env,
            cwd=REPO,
            log_path=self.run_dir / "celery.log",
        )
        self.broker.wait_for_consumer()

    def start_gunicorn(self, wc: WorkerConfig) -> float:
        env = {
            **self.env,
            "WEB_CONCURRENCY": str(wc.workers),
            "GUNICORN_WORKER_CLASS": wc.kind,
            "GUNICORN_THREADS": str(wc.threads),
        }
        started = time.monotonic()
        self.gunicorn = self.children.start(
            f"gunicorn {wc.label}",
            # gunicorn's control socket defaults to one path per user (~/.gunicorn/): keep ours
            # apart from any other gunicorn on the machine.
            [
                str(BIN / "gunicorn"),
                "p2phub.wsgi",
                "--config",
                "p2phub/gunicorn.conf.py",
                "--bind",
                self.cfg.bind,
                "--control-socket",
                str(self.run_dir / "gunicorn.ctl"),
            ],
            env=env,
            cwd=REPO,
            log_path=self.run_dir / f"gunicorn-{wc.label.replace(':', '-')}.log",
        )
        wait_for_http(f"{self.cfg.base_url}/health/ping/", child=self.gunicorn)
        while len(worker_pids(self.gunicorn.pid)) < wc.workers and time.monotonic() - started < 60:
            time.sleep(0.2)
        return time.monotonic() - started

    def stop_gunicorn(self) -> None:
        if self.gunicorn:
            self.children.stop(self.gunicorn)
            self.gunicorn = None

    def warm_up(self, population: seed.Seeded, wc: WorkerConfig) -> None:
        """A few of every Mini App request on every worker (thread) before anything is measured:
        each worker imports views and serializers on its first requests."""
        host, port = self.cfg.bind.rsplit(":", 1)
        tids = list(population.telegram_ids.values())[: 4 * wc.workers * wc.threads]
        paths = ["/api/v1/me/", "/api/v1/me/network/", "/api/v1/tasks/", "/api/v1/leaderboard/?board=xp"]

        def get(tid: int) -> list[int]:
            member = self.member(tid)
            headers = {
                "Authorization": member["auth"],
                "X-Forwarded-For": member["ip"],
                "X-Forwarded-Proto": "https",
                "User-Agent": USER_AGENT,
            }
            codes = []
            for path in paths:
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                conn.request("GET", path, headers=headers)
                codes.append(conn.getresponse().status)
                conn.close()
            return codes

        with concurrent.futures.ThreadPoolExecutor(max_workers=2 * wc.workers * wc.threads) as pool:
            codes = [c for result in pool.map(get, tids) for c in result]
        bad = [c for c in codes if c != 200]
        if bad:
            raise RuntimeError(f"warm-up: {len(bad)} of {len(codes)} requests failed (status {sorted(set(bad))})")

    def locust(self, label: str, plan: dict, *, users: int, max_seconds: float, drain: bool = False):
        """One headless Locust run; (result path, CPU seconds per group over the run)."""
        plan_path = self.run_dir / f"{label}.plan.json"
        result_path = self.run_dir / f"{label}.result.json"
        plan = {**plan, "users": users, "result": str(result_path), "user_agent": USER_AGENT}
        plan_path.write_text(json.dumps(plan))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_"))}
        env["BENCH_LOAD_PLAN"] = str(plan_path)
        before = cpu.sample(gunicorn_pid=self.gunicorn.pid, celery_pid=self.celery.pid)
        child = self.children.start(
            f"locust {label}",
            [
                str(BIN / "locust"),
                "-f",
                str(HERE / "locustfile.py"),
                "--headless",
                "-u",
                str(users),
                "-r",
                str(users),
                "-t",
                f"{math.ceil(max_seconds)}s",
                "--host",
                self.cfg.base_url,
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--stop-timeout",
                "10",
                "--exit-code-on-error",
                "0",
            ],
            env=env,
            cwd=REPO,
            log_path=self.run_dir / f"{label}.locust.log",
        )
        try:
            child.process.wait(timeout=max_seconds + 120)
        finally:
            self.children.stop(child)
        if drain:
            self.broker.wait_drained()
        after = cpu.sample(gunicorn_pid=self.gunicorn.pid, celery_pid=self.celery.pid)
        if child.process.returncode != 0 or not result_path.exists():
            raise RuntimeError(f"Locust run {label} failed (exit {child.process.returncode}); see {child.log_path}")
        return result_path, after.minus(before)

    # -- scenarios
    def scenario_checkins(self, cohort: seed.Seeded, label: str) -> Scenario:
        jobs = [self.member(tid, expect_xp=checks.FIRST_CHECKIN_XP) for tid in cohort.telegram_ids.values()]
        path, delta = self.locust(
            f"{label}-a", {"mode": "checkin", "jobs": jobs, "timeout": 120.0}, users=len(jobs), max_seconds=300
        )
        result = figures.of_run(path)
        failures = checks.check_checkins(cohort.pks) + checks.check_reconcile()
        return Scenario(f"(a) {len(jobs)} check-ins in the same second", result, _cpu_ms(delta, result), failures)

    def scenario_opens(self, population: seed.Seeded, label: str) -> list[OpenStep]:
        members = [self.member(tid) for tid in population.telegram_ids.values()]
        steps = []
        for users in self.cfg.steps:
            seconds = self.cfg.warmup_seconds + self.cfg.step_seconds
            path, delta = self.locust(
                f"{label}-b{users}",
                {"mode": "open", "members": members, "mix": OPEN_MIX, "seconds": seconds, "seed": users},
                users=users,
                max_seconds=seconds + 60,
            )
            result = figures.of_run(path, warmup=self.cfg.warmup_seconds)
            step = OpenStep(users, result, _cpu_ms(delta, result))
            steps.append(step)
            _print_open_step(step)
            if result.errors or result.latency.p95 >= self.cfg.p95_bar_ms:
                break  # past the knee: more users only queue longer
        return steps

    def scenario_signups(self, shape: str, jobs: list[tuple[int, int]], codes: dict[int, str], round_no: int):
        """One round of signups of one shape; `jobs` are (telegram id, referrer pk)."""
        plan_jobs = [self.member(tid, start_param=codes[ref], referrer_code=codes[ref]) for tid, ref in jobs]
        path, delta = self.locust(
            f"{shape}-round{round_no}",
            {"mode": "signup", "jobs": plan_jobs},
            users=min(self.cfg.signup_users, len(plan_jobs)),
            max_seconds=600,
            drain=True,
        )
        return path, delta


# --- output --------------------------------------------------------------------------------------
def _cpu_ms(delta: dict[str, float], result: figures.RunFigures) -> dict[str, float]:
    return cpu.per_request_ms(delta, result.requests, locust_load_seconds=result.locust_cpu_seconds)


def _ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def _cpu_line(cpu_ms: dict[str, float]) -> str:
    parts = " · ".join(f"{k} {cpu_ms[k]:.2f}" for k in cpu.SERVER_GROUPS)
    return (
        f"CPU ms/request: {parts} = server {cpu_ms['server']:.2f} | locust {cpu_ms['locust']:.2f}"
        f" | other {cpu_ms['other']:.2f}"
    )


def _latency_line(latency: figures.Latency) -> str:
    return (
        f"p50 {_ms(latency.p50)} ms · p95 {_ms(latency.p95)} ms · p99 {_ms(latency.p99)} ms · max {_ms(latency.max)} ms"
    )


def _print_scenario(s: Scenario, *, extra: str = "") -> None:
    f = s.result
    print(f"{s.title}: {f.requests} requests, {f.errors} errors, {f.throughput:.1f} req/s{extra}", flush=True)
    print(f"    latency {_latency_line(f.latency)}")
    print(f"    {_cpu_line(s.cpu_ms)}")
    for sample in f.error_samples:
        print(f"    error: {sample}")
    print(f"    checks: {'OK' if not s.failures else 'FAILED'}")
    for failure in s.failures:
        print(f"      - {failure}")


_OPEN_HEADER = (
    f"    {'users':>5} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'errors':>6}  "
    f"{'gunicorn':>8} {'celery':>6} {'pg':>6} {'server':>6} {'locust':>6} {'other':>6}  "
    "p95 per request (me/network/tasks/leaderboard)"
)


def _print_open_step(step: OpenStep) -> None:
    f, c = step.result, step.cpu_ms
    per_name = "/".join(
        _ms(f.by_name[n].p95) if n in f.by_name else "-" for n in ("me", "network", "tasks", "leaderboard")
    )
    print(
        f"    {step.users:>5} {f.throughput:>7.1f} {_ms(f.latency.p50):>6} {_ms(f.latency.p95):>6} "
        f"{_ms(f.latency.p99):>6} "
        f"{f.errors:>6}  {c['gunicorn']:>8.2f} {c['celery']:>6.2f} {c['postgres']:>6.2f} {c['server']:>6.2f} "
        f"{c['locust']:>6.2f} {c['other']:>6.2f}  {per_name}",
        flush=True,
    )
    for sample in f.error_samples:
        print(f"          error: {sample}")


def _best_step(steps: list[OpenStep], bar: float) -> OpenStep | None:
    ok = [s for s in steps if s.result.errors == 0 and s.result.latency.p95 < bar]
    return max(ok, key=lambda s: s.result.throughput) if ok else None


# --- main ----------------------------------------------------------------------------------------
def _stop_on_signal(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")  # unwinds through the teardown below


def _port_free(bind: str) -> bool:
    host, port = bind.rsplit(":", 1)
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) != 0


@dataclass
class Seeds:
    """What the scenarios run on; built before any server starts."""

    population: seed.Seeded
    cohorts: dict[WorkerConfig, seed.Seeded]
    trees: dict[str, seed.Seeded]  # shape ("c", "d") -> the seeded trees
    leaders: dict[str, list[int]]
    signups: dict[str, list[tuple[int, int]]]  # shape -> (telegram id, referrer pk) per signup


def _seed(cfg: Config) -> Seeds:
    started = time.monotonic()
    wants_checkins = "a" in cfg.scenarios
    with_checkins = [wc for i, wc in enumerate(cfg.sweep) if wants_checkins and (i == 0 or cfg.sweep_checkins)]
    shapes = [shape for shape in ("c", "d") if shape in cfg.scenarios]
    builds = [("mini_app_population", {"size": cfg.members, "first_telegram_id": 7_000_000_000})]
    # Quick mode: 64 referrers per shape instead of 384 (its 200 signups stay well apart).
    if "c" in shapes:
        builds.append(("hot_leader_tree", {"fanout": (2,) * 6} if QUICK else {}))
    if "d" in shapes:
        builds.append(("unrelated_trees", {"trees": 16, "fanout": (2, 2)} if QUICK else {}))
    builds += [
        ("checkin_cohort", {"size": cfg.checkins, "first_telegram_id": 7_100_000_000 + i * 1_000_000})
        for i in range(len(with_checkins))
    ]
    built = iter(seed.build_in_parallel(builds, processes=cfg.seed_processes))
    population = next(built)
    trees, leaders, referrers = {}, {}, {}
    if "c" in shapes:
        trees["c"], referrers["c"], leader = next(built)
        leaders["c"] = [leader]
    if "d" in shapes:
        trees["d"], referrers["d"], leaders["d"] = next(built)
    cohorts = dict(zip(with_checkins, built, strict=True))
    from django.db import connections

    from rewards.services import xp_fold_all

    xp_fold_all()
    connections.close_all()

    # Signups: referrer i % referrers, so one referrer's signups are hundreds of jobs apart and
    # nobody gets near REFERRAL_HOURLY_LIMIT (20/h): at most ceil(signups / referrers) each. Over
    # the limit the L1 award is withheld (SPEC §2) and the expected XP would be wrong.
    signups = {}
    for shape, first_telegram_id in (("c", 7_500_000_000), ("d", 7_600_000_000)):
        if shape not in shapes:
            continue
        pool = referrers[shape]
        if math.ceil(cfg.signups / len(pool)) > checks.REFERRAL_HOURLY_LIMIT:
            raise SystemExit(
                f"BENCH_LOAD_SIGNUPS={cfg.signups} over {len(pool)} referrers exceeds the velocity limit "
                f"of {checks.REFERRAL_HOURLY_LIMIT} signups per referrer and hour"
            )
        signups[shape] = [(first_telegram_id + i, pool[i % len(pool)]) for i in range(cfg.signups)]

    described = [f"{cfg.members} Mini App members (with downlines and referral XP)"]
    if cohorts:
        described.insert(0, f"{len(cohorts)} check-in cohort(s) of {cfg.checkins}")
    if "c" in trees:
        described.append(
            f"a hot tree ({len(trees['c'].pks)} members, {len(referrers['c'])} referrers 8 levels below one leader)"
        )
    if "d" in trees:
        described.append(
            f"{len(leaders['d'])} unrelated trees ({len(trees['d'].pks)} members, {len(referrers['d'])} referrers)"
        )
    print(f"seeded in {time.monotonic() - started:.0f} s: {', '.join(described)}", flush=True)
    return Seeds(population, cohorts, trees, leaders, signups)


def _run_configuration(run: LoadRun, cfg: Config, seeds: Seeds, wc: WorkerConfig, *, primary: bool):
    """Every scenario that runs on one gunicorn configuration; its sweep row."""
    boot = run.start_gunicorn(wc)
    print(f"\n== gunicorn {wc.label}{' (primary)' if primary else ''}: up in {boot:.1f} s", flush=True)
    run.warm_up(seeds.population, wc)
    label = wc.label.replace(":", "-")
    checkin = None
    if wc in seeds.cohorts:
        checkin = run.scenario_checkins(seeds.cohorts[wc], label)
        _print_scenario(checkin, extra=f" (all sent within {checkin.result.send_spread:.2f} s)")
        run.failures += checkin.failures + [f"(a) {wc.label}: {e}" for e in checkin.result.error_samples]
    best, steps = None, []
    if "b" in cfg.scenarios:
        print(
            f"(b) Mini App opens (/me 50 %, network 20 %, tasks 15 %, leaderboard 15 %) over {cfg.members} members, "
            f"{cfg.step_seconds:.0f} s per step after {cfg.warmup_seconds:.0f} s warm-up; CPU in ms per request:",
            flush=True,
        )
        print(_OPEN_HEADER)
        steps = run.scenario_opens(seeds.population, label)
        best = _best_step(steps, cfg.p95_bar_ms)
        print(
            f"    highest throughput with p95 < {cfg.p95_bar_ms:.0f} ms: "
            + (f"{best.result.throughput:.1f} req/s at {best.users} users" if best else "none"),
            flush=True,
        )
        run.failures += [f"(b) {wc.label} {s.users} users: {e}" for s in steps for e in s.result.error_samples]
    signup_summary = _run_signups(run, cfg, seeds) if primary and seeds.signups else None
    findings = [f"[gunicorn {wc.label}] {line}" for line in log_problems(run.gunicorn.log_path)]
    run.stop_gunicorn()
    return (wc, checkin, best, steps), signup_summary, findings


def main() -> int:
    cfg = Config.from_environment()
    signal.signal(signal.SIGTERM, _stop_on_signal)
    if not _port_free(cfg.bind):
        raise SystemExit(f"{cfg.bind} is in use (a server left from an earlier run?); set BENCH_LOAD_BIND")
    # Before anything is dropped or flushed: a second run at the same time would share the queue.
    broker = Broker(cfg.broker_url)
    state = broker.queue_state()
    if state and state[1]:
        raise SystemExit(f"queue {QUEUE} already has {state[1]} consumer(s): another bench-load run is active")
    started = time.monotonic()
    shutil.rmtree(cfg.out, ignore_errors=True)
    (cfg.out / "prometheus").mkdir(parents=True)
    maintenance_url, db_name, db_url = scratch_database(cfg.database_url, "load")
    recreate_database(maintenance_url, db_name)
    _scratch_database_logging(maintenance_url, db_name, cfg.slow_ms)
    pg_log = _postgres_log()
    pg_log_offset = pg_log.stat().st_size if pg_log else 0
    env = server_environment(cfg, db_url, cfg.out)

    import redis

    redis.Redis.from_url(cfg.redis_url).flushdb()
    broker.purge()
    print(
        f"bench-load{' (quick)' if QUICK else ''}: scenarios {' '.join(cfg.scenarios)}; gunicorn on {cfg.bind} "
        f"(DJANGO_ENV=production, behind-proxy headers X-Forwarded-Proto: https with SECURE_SSL_REDIRECT on, "
        f"X-Forwarded-For per member with NUM_PROXIES=1), PostgreSQL {db_name}, Redis {cfg.redis_url} (flushed), "
        f"Celery queue {QUEUE} ({cfg.celery_concurrency} processes), {os.cpu_count()} cores; outputs in {cfg.out}",
        flush=True,
    )

    _orchestrator_django(env)
    from django.core.management import call_command

    # No collectstatic: the measured requests are JSON API calls that serve no static file, and
    # compressing the static files takes longer than the rest of the setup together.
    call_command("migrate", verbosity=0)
    print(f"setup: migrated in {time.monotonic() - started:.0f} s; seeding …", flush=True)
    seeds = _seed(cfg)

    children = Children()
    run = LoadRun(cfg, cfg.out, env, children, broker)
    sweep_rows, signup_summary, findings = [], None, []
    try:
        run.start_celery()
        broker.start_fold_ticks(cfg.fold_seconds)
        for index, wc in enumerate(cfg.sweep):
            row, summary, problems = _run_configuration(run, cfg, seeds, wc, primary=index == 0)
            sweep_rows.append(row)
            signup_summary = signup_summary or summary
            findings += problems
        final = checks.check_reconcile()
        run.failures += final
        print(f"\nreconcile_ledger over every member after the run: {'OK' if not final else 'FAILED'}")
    finally:
        broker.stop_fold_ticks()
        children.stop_all()
        broker.purge(delete=True)
        if run.celery:
            findings += [f"[celery] {line}" for line in log_problems(run.celery.log_path)]

    _print_sweep(cfg, sweep_rows)
    if signup_summary:
        print(signup_summary)
    print(
        "\n== application problems seen under load (server logs; LOG_LEVEL=ERROR, slow statements >= "
        f"{cfg.slow_ms} ms and lock waits of {db_name})"
    )
    for line in (findings + _postgres_findings(pg_log, pg_log_offset, db_name)) or ["none"]:
        print(f"  {line}")
    print(f"\ntotal {time.monotonic() - started:.0f} s; raw records, plans and logs in {cfg.out}")
    if run.failures:
        print(f"RESULT: FAILED ({len(run.failures)} problem(s))")
        for failure in run.failures[:30]:
            print(f"  - {failure}")
        return 1
    print("RESULT: OK (no failed request, every ledger check passed)")
    return 0


def _run_signups(run: LoadRun, cfg: Config, seeds: Seeds) -> str:
    """(c) and (d), alternated in rounds (each round a share of each shape's signups), so load
    from other processes on this shared machine hits both shapes alike; then their checks."""
    size = math.ceil(cfg.signups / cfg.signup_rounds)
    codes = {pk: code for tree in seeds.trees.values() for pk, code in tree.codes.items()}
    paths = {shape: [] for shape in seeds.signups}
    deltas = {shape: {} for shape in seeds.signups}
    for r in range(cfg.signup_rounds):
        for shape, jobs in seeds.signups.items():
            part = jobs[r * size : (r + 1) * size]
            if not part:
                continue
            path, delta = run.scenario_signups(shape, part, codes, r + 1)
            paths[shape].append(path)
            for k, v in delta.items():
                deltas[shape][k] = deltas[shape].get(k, 0.0) + v
            f = figures.of_run(path)
            print(
                f"    round {r + 1} ({shape}): {f.requests} signups, {f.errors} errors, {f.throughput:.1f}/s",
                flush=True,
            )
    titles = {
        "c": f"(c) {cfg.signups} signups under one hot leader",
        "d": f"(d) {cfg.signups} signups across {len(seeds.leaders.get('d', []))} unrelated trees",
    }
    results = {}
    for shape, jobs in seeds.signups.items():
        tree = seeds.trees[shape]
        result = figures.of_paths(paths[shape])
        failures = checks.check_signups(jobs, tree.pks, tree.parent_of, seeds.leaders[shape]) + checks.check_reconcile()
        scenario = Scenario(titles[shape], result, _cpu_ms(deltas[shape], result), failures)
        _print_scenario(scenario, extra=f" ({cfg.signup_users} concurrent users, {cfg.signup_rounds} round(s))")
        run.failures += failures + [f"{shape}: {e}" for e in result.error_samples]
        results[shape] = result
    if len(results) < 2:
        return ""
    ratio = results["c"].throughput / results["d"].throughput if results["d"].throughput else math.nan
    cpu_c, cpu_d = (_cpu_ms(deltas[shape], results[shape])["server"] for shape in ("c", "d"))
    # The CPU ratio is the steadier one on a shared machine: other work slows a round's
    # throughput much more than it changes what one signup costs.
    return (
        f"\nsignups: hot (c) {results['c'].throughput:.1f}/s, spread (d) {results['d'].throughput:.1f}/s, "
        f"c/d = {ratio:.2f} (bar: >= 0.90); server CPU per signup c {cpu_c:.1f} ms, d {cpu_d:.1f} ms: "
        f"c/d by CPU (capacity) = {cpu_d / cpu_c:.2f}"
    )


def _print_sweep(cfg: Config, rows) -> None:
    """One line per gunicorn configuration: (b) at its best step under the bar and its peak over
    all steps, (a) the check-in burst where it ran. "other" is CPU of processes that are not the
    run's: where it is high, someone else's work on the machine depressed that line's figures."""
    print(
        f"\n== worker sweep: (b) the highest throughput with p95 < {cfg.p95_bar_ms:.0f} ms (and the peak of any step), "
        "(a) the check-in burst; CPU in ms per request"
    )
    print(
        f"  {'config':<13} {'(b) req/s':>9} {'users':>5} {'p95':>5} {'server':>6} {'gunicorn':>8} {'pg':>5} "
        f"{'other':>5} "
        f"{'peak':>6}  | {'(a) req/s':>9} {'p50':>6} {'p95':>6} {'p99':>6} {'server':>6} {'other':>5}"
    )
    for wc, checkin, best, steps in rows:
        if not steps:
            b = f"{'-':>9} {'':>5} {'':>5} {'':>6} {'':>8} {'':>5} {'':>5}"
        elif best:
            f, c = best.result, best.cpu_ms
            b = (
                f"{f.throughput:>9.1f} {best.users:>5} {_ms(f.latency.p95):>5} "
                f"{c['server']:>6.2f} {c['gunicorn']:>8.2f} {c['postgres']:>5.2f} {c['other']:>5.1f}"
            )
        else:
            b = f"{'none':>9} {'':>5} {'':>5} {'':>6} {'':>8} {'':>5} {'':>5}"
        peak = f"{max(s.result.throughput for s in steps):>6.1f}" if steps else f"{'':>6}"
        a = f"{'-':>9}"
        if checkin:
            f, c = checkin.result, checkin.cpu_ms
            a = (
                f"{f.throughput:>9.1f} {_ms(f.latency.p50):>6} {_ms(f.latency.p95):>6} {_ms(f.latency.p99):>6} "
                f"{c['server']:>6.2f} {c['other']:>5.1f}"
            )
        print(f"  {wc.label:<13} {b} {peak}  | {a}")
    print("  (server = gunicorn + celery + postgres + redis + rabbitmq; other = CPU of processes not the run's)")


def _postgres_findings(log: Path | None, offset: int, db_name: str, limit: int = 25) -> list[str]:
    """The server log's lines about the scratch database since the run began: errors, deadlocks,
    lock waits and slow statements (slowest first)."""
    if log is None:
        return ["(no PostgreSQL log found under /var/log/postgresql)"]
    with open(log, "rb") as f:
        f.seek(offset)
        lines = [line for line in f.read().decode(errors="replace").splitlines() if f"@{db_name}" in line]
    slow, other = [], []
    for line in lines:
        if "duration:" in line:
            try:
                ms = float(line.split("duration:")[1].split()[0])
            except (IndexError, ValueError):
                ms = 0.0
            slow.append((ms, line))
        elif any(
            marker in line
            for marker in ("ERROR", "FATAL", "deadlock", "still waiting", "acquired", "DETAIL", "STATEMENT")
        ):
            other.append(line)
    found = [f"[postgres] {line[:400]}" for line in other[:limit]]
    if slow:
        found.append(f"[postgres] {len(slow)} statement(s) took >= the slow threshold; slowest:")
        found += [f"[postgres]   {line[:400]}" for _ms_value, line in sorted(slow, reverse=True)[:8]]
    return found


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted")
