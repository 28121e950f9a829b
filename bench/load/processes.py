"""The processes a load run starts (gunicorn, the Celery worker, Locust) and their teardown.

Each child runs in its own session (process group), so stopping it reaches its workers too and
a Ctrl-C in the terminal reaches only the orchestrator, which then stops them in order. Each
child also gets SIGTERM from the kernel if the orchestrator dies without cleaning up (Linux
PR_SET_PDEATHSIG), so a killed run leaves no gunicorn behind.
"""

import ctypes
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None


class Children:
    """Every long-running child of the run; `stop_all()` in a finally block ends them."""

    def __init__(self) -> None:
        self._children: list[Child] = []

    def start(self, name: str, argv: list[str], *, env: dict, cwd: Path, log_path: Path) -> Child:
        log = open(log_path, "ab")  # noqa: SIM115 - stays open for the child's lifetime
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()  # the child has its own descriptor
        child = Child(name, process, log_path)
        self._children.append(child)
        return child

    def stop(self, child: Child, *, timeout: float = 30.0) -> None:
        """SIGTERM to the child's process group (gunicorn and Celery shut down gracefully on it),
        SIGKILL after `timeout`."""
        if child.alive():
            _signal_group(child.pid, signal.SIGTERM)
            try:
                child.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                _signal_group(child.pid, signal.SIGKILL)
                child.process.wait(timeout=10)
        # Workers of a killed master may linger in the group a moment longer.
        _signal_group(child.pid, signal.SIGKILL)
        if child in self._children:
            self._children.remove(child)

    def stop_all(self) -> None:
        for child in reversed(list(self._children)):
            try:
                self.stop(child)
            except Exception as error:  # noqa: BLE001 - stop the others whatever happens to one
                print(f"  could not stop {child.name} (pid {child.pid}): {error}")


def _signal_group(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)  # the child is its group's leader (start_new_session)
    except (ProcessLookupError, PermissionError):
        pass


def wait_for_http(url: str, *, child: Child, timeout: float = 60.0) -> float:
    """Poll `url` until it answers 200; seconds waited. Fails early when the child has died."""
    started = time.monotonic()
    while True:
        if not child.alive():
            raise RuntimeError(f"{child.name} exited with {child.process.returncode}; see {child.log_path}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our loopback server
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"{url} did not answer within {timeout:.0f} s; see {child.log_path}")
        time.sleep(0.2)


def worker_pids(master_pid: int) -> list[int]:
    """Live children of a master process (gunicorn workers, Celery pool processes)."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                data = f.read()
        except OSError:
            continue
        if int(data[data.rindex(")") + 2 :].split()[1]) == master_pid:
            pids.append(int(name))
    return pids


def log_problems(path: Path, *, since: int = 0, limit: int = 40) -> list[str]:
    """Lines of a log from byte offset `since` on that look like trouble: tracebacks and the
    line after them, ERROR/CRITICAL lines, gunicorn's worker timeouts, deadlocks."""
    if not path.exists():
        return []
    with open(path, "rb") as f:
        f.seek(since)
        lines = f.read().decode(errors="replace").splitlines()
    markers = ("Traceback", "ERROR", "CRITICAL", "WORKER TIMEOUT", "deadlock", "Error:", "FATAL", "PANIC")
    found = []
    for i, line in enumerate(lines):
        if any(marker in line for marker in markers):
            found.append(line.rstrip())
            if line.startswith("Traceback"):
                # The exception line at the end of the traceback tells the most.
                end = next((j for j in range(i + 1, len(lines)) if lines[j] and not lines[j].startswith(" ")), None)
                if end is not None:
                    found.append(lines[end].rstrip())
        if len(found) >= limit:
            found.append("  ... (more in the log)")
            break
    return found
