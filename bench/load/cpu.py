"""CPU time of the processes behind a load test, read from /proc (Linux).

A process tree's CPU is, for the root and every live descendant, its own utime + stime plus
cutime + cstime (the CPU of its children that have exited and been reaped). So a gunicorn
worker recycled mid-run (max_requests) or a PostgreSQL backend whose connection closed still
counts: its time moves from "live" into its parent's cutime/cstime, and the sum only grows.
"""

import os
import resource
from dataclasses import dataclass

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class _Proc:
    pid: int
    ppid: int
    comm: str
    ticks: int  # utime + stime + cutime + cstime


def _read(pid: int) -> _Proc | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:  # gone between the listing and the read
        return None
    # The command name sits in parentheses and may contain spaces: split after the last one.
    comm = data[data.index("(") + 1 : data.rindex(")")]
    fields = data[data.rindex(")") + 2 :].split()
    # fields[0] is field 3 of proc(5) (state): ppid is field 4, utime..cstime fields 14..17.
    return _Proc(pid, int(fields[1]), comm, sum(int(v) for v in fields[11:15]))


def _processes() -> dict[int, _Proc]:
    procs = {}
    for name in os.listdir("/proc"):
        if name.isdigit() and (proc := _read(int(name))) is not None:
            procs[proc.pid] = proc
    return procs


def _tree_ticks(procs: dict[int, _Proc], root: int) -> int:
    children: dict[int, list[int]] = {}
    for proc in procs.values():
        children.setdefault(proc.ppid, []).append(proc.pid)
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        if pid in procs:
            total += procs[pid].ticks
            stack.extend(children.get(pid, ()))
    return total


def _roots_named(procs: dict[int, _Proc], comm: str) -> list[int]:
    """Processes called `comm` whose parent is not: the postmaster, redis-server, beam.smp."""
    return [p.pid for p in procs.values() if p.comm == comm and procs.get(p.ppid, _Proc(0, 0, "", 0)).comm != comm]


def _machine_busy_ticks() -> int:
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in f.readline().split()[1:9])
    return user + nice + system + irq + softirq + steal


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds used so far, per group."""

    seconds: dict[str, float]

    def minus(self, earlier: "CpuSample") -> dict[str, float]:
        return {k: v - earlier.seconds.get(k, 0.0) for k, v in self.seconds.items()}


# Groups reported per scenario; "machine" is every core's busy time, "other" is computed.
SERVER_GROUPS = ("gunicorn", "celery", "postgres", "redis", "rabbitmq")


def sample(*, gunicorn_pid: int | None, celery_pid: int | None) -> CpuSample:
    """One reading of every group. Locust's CPU comes from this process's reaped children
    (`locust_seconds`), since each Locust run is a child that has exited when it is read."""
    procs = _processes()
    ticks = {
        "gunicorn": _tree_ticks(procs, gunicorn_pid) if gunicorn_pid else 0,
        "celery": _tree_ticks(procs, celery_pid) if celery_pid else 0,
        # Every PostgreSQL process of the server (backends are the postmaster's children). The
        # server is shared: other people's tests on it show up here and in "other" alike.
        "postgres": sum(_tree_ticks(procs, pid) for pid in _roots_named(procs, "postgres")),
        "redis": sum(_tree_ticks(procs, pid) for pid in _roots_named(procs, "redis-server")),
        "rabbitmq": sum(_tree_ticks(procs, pid) for pid in _roots_named(procs, "beam.smp")),
        "machine": _machine_busy_ticks(),
    }
    seconds = {k: v / CLOCK_TICKS for k, v in ticks.items()}
    seconds["locust"] = locust_seconds()
    own = resource.getrusage(resource.RUSAGE_SELF)
    seconds["orchestrator"] = own.ru_utime + own.ru_stime
    return CpuSample(seconds)


def locust_seconds() -> float:
    """CPU of this process's exited children: the Locust runs (nothing else exits while one
    runs; gunicorn and Celery are children too but stay alive until the end)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def per_request_ms(
    delta: dict[str, float], requests: int, *, locust_load_seconds: float | None = None
) -> dict[str, float]:
    """CPU ms per request per server group; "locust": the load generator while it generated load
    (its start-up left out, when the run reported it); "other": machine time that none of our
    processes account for (someone else's work on this machine, noise in the figures)."""
    n = max(requests, 1)
    accounted = sum(delta.get(k, 0.0) for k in (*SERVER_GROUPS, "locust", "orchestrator"))
    out = {k: delta.get(k, 0.0) * 1000 / n for k in SERVER_GROUPS}
    out["server"] = sum(out[k] for k in SERVER_GROUPS)
    out["locust"] = (locust_load_seconds if locust_load_seconds is not None else delta.get("locust", 0.0)) * 1000 / n
    out["other"] = max(delta.get("machine", 0.0) - accounted, 0.0) * 1000 / n
    return out
