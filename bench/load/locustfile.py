"""Locust users of `make bench-load` (bench/load/run.py starts this headless, once per run).

Everything a run needs comes from the plan file named by BENCH_LOAD_PLAN, written by the
orchestrator: signed `Authorization: tma <initData>` headers, each member's client IP, the
mode and its parameters. This process does no Django work and signs nothing; it only sends
requests and records each one (name, start time, latency, outcome) into the plan's result file
when it quits, so the orchestrator computes exact percentiles and throughput windows itself.

Modes:
- `checkin`: one user per member; every user waits until all are spawned, then all fire their
  single `POST /api/v1/me/checkin/` together, and the run ends when the last one answered.
- `open`: Mini App opens back to back (no think time) until `seconds` after the spawn: `/me`
  every open, then the network, tasks and leaderboard tabs each with its own probability.
- `signup`: the users share one list of first requests of new Telegram users
  (`GET /api/v1/me/` with start_param); each is sent once; the run ends when all answered.

Every request carries `X-Forwarded-For: <the member's IP>` (the server trusts one proxy) and
`X-Forwarded-Proto: https`, as a TLS-terminating proxy in front of gunicorn sends them.
"""

import json
import os
import random
import resource
import time

import gevent
from gevent.event import Event
from locust import FastHttpUser, constant, events, task
from locust.exception import StopUser

with open(os.environ["BENCH_LOAD_PLAN"]) as _plan_file:
    PLAN = json.load(_plan_file)

MODE = PLAN["mode"]
JOBS = PLAN.get("jobs", [])
MEMBERS = PLAN.get("members", [])
MIX = PLAN.get("mix", {})
USERS = PLAN["users"]
BASE_HEADERS = {"User-Agent": PLAN["user_agent"], "X-Forwarded-Proto": "https", "Accept": "application/json"}

# [name, start (epoch s), latency ms, ok, status, error]
records: list[list] = []
all_spawned = Event()
state = {"spawned_at": None, "cpu_at_spawn": None, "finished_users": 0, "next_job": 0}
_rng = random.Random(PLAN.get("seed", 1))


@events.request.add_listener
def _record(name, start_time, response_time, response=None, exception=None, **kwargs):
    status = getattr(response, "status_code", 0) or 0
    records.append(
        [name, start_time, response_time, exception is None, status, str(exception)[:400] if exception else ""]
    )


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@events.spawning_complete.add_listener
def _spawned(user_count, **kwargs):
    state["spawned_at"] = time.time()
    state["cpu_at_spawn"] = _cpu_seconds()
    all_spawned.set()


@events.quitting.add_listener
def _write_results(environment, **kwargs):
    # The load generator's own CPU while it generated load (not its start-up and imports).
    load_cpu = _cpu_seconds() - state["cpu_at_spawn"] if state["cpu_at_spawn"] is not None else None
    with open(PLAN["result"], "w") as f:
        json.dump(
            {"spawned_at": state["spawned_at"], "quit_at": time.time(), "cpu_seconds": load_cpu, "records": records}, f
        )


def _user_finished(environment) -> None:
    """Called once by each user as it stops; the last one ends the run (from a greenlet of its
    own: quitting kills every user greenlet, the caller's included)."""
    state["finished_users"] += 1
    if state["finished_users"] == USERS:
        gevent.spawn_later(0.05, environment.runner.quit)
    raise StopUser()


def _headers(member: dict) -> dict:
    return {**BASE_HEADERS, "Authorization": member["auth"], "X-Forwarded-For": member["ip"]}


def _failure_text(response) -> str:
    body = (response.text or "")[:300].replace("\n", " ") if response.content else ""
    return f"HTTP {response.status_code}: {body or getattr(response, 'error', None) or 'no response'}"


class Member(FastHttpUser):
    wait_time = constant(0)
    # A check-in burst queues hundreds of requests at the server at once: allow for the queue.
    network_timeout = PLAN.get("timeout", 60.0)
    connection_timeout = PLAN.get("timeout", 60.0)

    @task
    def run_plan(self):
        getattr(self, f"_{MODE}")()

    # --- checkin --------------------------------------------------------------------------------
    def _checkin(self):
        job = JOBS[state["next_job"]]
        state["next_job"] += 1
        all_spawned.wait()  # the burst: everyone fires as soon as the last user exists
        with self.client.post(
            "/api/v1/me/checkin/", name="checkin", headers=_headers(job), catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(_failure_text(response))
            else:
                body = response.json()
                if body.get("already_checked_in") or body.get("awarded_xp") != job["expect_xp"]:
                    response.failure(
                        f"unexpected check-in answer {body} (expected {job['expect_xp']} XP, a first check-in)"
                    )
        _user_finished(self.environment)

    # --- open -----------------------------------------------------------------------------------
    def _open(self):
        all_spawned.wait()
        if time.time() >= state["spawned_at"] + PLAN["seconds"]:
            _user_finished(self.environment)
        headers = _headers(_rng.choice(MEMBERS))
        self._get("/api/v1/me/", "me", headers)
        for name, path in (
            ("network", "/api/v1/me/network/"),
            ("tasks", "/api/v1/tasks/"),
            ("leaderboard", "/api/v1/leaderboard/?board=xp"),
        ):
            if _rng.random() < MIX[name]:
                self._get(path, name, headers)

    def _get(self, path: str, name: str, headers: dict) -> None:
        with self.client.get(path, name=name, headers=headers, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(_failure_text(response))

    # --- signup ---------------------------------------------------------------------------------
    def _signup(self):
        all_spawned.wait()
        if state["next_job"] >= len(JOBS):
            _user_finished(self.environment)
        job = JOBS[state["next_job"]]
        state["next_job"] += 1
        with self.client.get("/api/v1/me/", name="signup", headers=_headers(job), catch_response=True) as response:
            if response.status_code != 200:
                response.failure(_failure_text(response))
            else:
                referrer = response.json().get("referrer") or {}
                if referrer.get("referral_code") != job["referrer_code"]:
                    response.failure(f"joined under {referrer or 'nobody'}, expected {job['referrer_code']}")
