"""gunicorn settings for `make serve` (`gunicorn p2phub.wsgi -c p2phub/gunicorn.conf.py`).

Every value can be overridden from the environment; the command line (`--bind` from the
Makefile) wins over this file.

Sync workers, cores + 1 of them, chosen from `make bench-load`'s worker sweep (Mini App opens
at p95 < 200 ms, 2 cores, PostgreSQL + Redis + a Celery worker on the same machine). Two sweeps,
the second in a different order so that a warmer cache favours neither: sync:3 297 and 331 req/s
(5.9 and 5.2 ms of server CPU per request), sync:5 (the old 2 x cores + 1) 197 and 280 (9.0 and
6.2 ms), gthread:3x2 263 and 282, sync:2 246, gthread:2x4 239. A warm request waits on one short
query and a Redis round trip, so it is CPU-bound: processes beyond the cores only add switches,
memory and database connections, and threads share one interpreter lock with little I/O to
overlap. The one extra process covers those waits. `GUNICORN_WORKER_CLASS` / `GUNICORN_THREADS` (gthread) and
WEB_CONCURRENCY stay for other hardware: re-run the sweep there.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def default_workers(cores: int | None = None) -> int:
    cores = cores if cores is not None else multiprocessing.cpu_count()
    return max(cores, 1) + 1


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# WEB_CONCURRENCY is the name platforms (Heroku, Render, Dokku) set for this.
workers = _int("WEB_CONCURRENCY", default_workers())
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "").strip() or "sync"
# Threads per worker; gunicorn itself runs a `sync` worker with threads > 1 as `gthread`.
threads = _int("GUNICORN_THREADS", 1)
# A request still running after this is killed and logged; the load balancer's timeout should
# be a little longer. Graceful restarts wait as long for requests in flight.
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then (with jitter, so not all at once) to bound slow leaks.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# Access and error logs to stdout/stderr; the access line carries the request id we echo back.
# An empty GUNICORN_ACCESS_LOG turns the access log off (no line is even formatted).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms [%({x-request-id}o)s] "%(a)s"'


def child_exit(server, worker):
    """Prometheus multiprocess mode (p2phub.metrics): a worker that exits is marked dead; the
    counts it made stay in the sum /metrics serves."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
