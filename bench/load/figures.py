"""Figures of one Locust run from its raw request records (bench/load/locustfile.py writes them):
exact latency percentiles, throughput over a stated window, errors with samples."""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an ascending list; NaN when empty."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class Latency:
    count: int
    p50: float
    p95: float
    p99: float
    max: float

    @classmethod
    def of(cls, values: list[float]) -> "Latency":
        ordered = sorted(values)
        return cls(
            len(ordered),
            percentile(ordered, 50),
            percentile(ordered, 95),
            percentile(ordered, 99),
            ordered[-1] if ordered else math.nan,
        )


@dataclass
class RunFigures:
    requests: int  # every request the run sent (warm-up included)
    errors: int
    error_samples: list[str]
    measured: int  # requests inside the measurement window
    seconds: float  # length of the window
    latency: Latency
    by_name: dict[str, Latency] = field(default_factory=dict)
    send_spread: float = math.nan  # first to last request start (the check-in burst)
    locust_cpu_seconds: float | None = None  # the load generator's CPU while generating load

    @property
    def throughput(self) -> float:
        return self.measured / self.seconds if self.seconds > 0 else math.nan


def load_records(path: Path) -> tuple[dict, list[list]]:
    with open(path) as f:
        data = json.load(f)
    return data, data["records"]


def of_run(path: Path, *, warmup: float | None = None) -> RunFigures:
    """Without `warmup`: every request counts and the window runs from the first request's start
    to the last one's end (a fixed batch of work: the check-in burst, the signups). With
    `warmup` (a timed run): requests started in the first `warmup` seconds after all users were
    spawned are left out of the latency and throughput figures (connections opening, first
    requests of each worker) but their errors still count."""
    data, records = load_records(path)
    errors = [r for r in records if not r[3]]
    samples = []
    for name, _start, _ms, _ok, status, error in errors[:200]:
        text = f"{name}: {error or f'HTTP {status}'}"
        if text not in samples:
            samples.append(text)
    measured = records
    if warmup is not None and data.get("spawned_at"):
        cutoff = data["spawned_at"] + warmup
        measured = [r for r in records if r[1] >= cutoff]
        begin = cutoff
    else:
        begin = min((r[1] for r in records), default=0.0)
    end = max((r[1] + r[2] / 1000 for r in measured), default=begin)
    names = sorted({r[0] for r in measured})
    starts = [r[1] for r in records]
    return RunFigures(
        requests=len(records),
        errors=len(errors),
        error_samples=samples[:8],
        measured=len(measured),
        seconds=end - begin,
        latency=Latency.of([r[2] for r in measured]),
        by_name={n: Latency.of([r[2] for r in measured if r[0] == n]) for n in names},
        send_spread=(max(starts) - min(starts)) if starts else math.nan,
        locust_cpu_seconds=data.get("cpu_seconds"),
    )


def of_paths(paths: list[Path]) -> RunFigures:
    """Batch runs taken together: throughput = all requests / the sum of the runs' windows;
    percentiles over every request of every run."""
    parts = [of_run(p) for p in paths]
    latencies, by_name_values = [], {}
    for p in paths:
        _data, records = load_records(p)
        latencies += [r[2] for r in records]
        for r in records:
            by_name_values.setdefault(r[0], []).append(r[2])
    samples = [s for part in parts for s in part.error_samples]
    return RunFigures(
        requests=sum(part.requests for part in parts),
        errors=sum(part.errors for part in parts),
        error_samples=samples[:8],
        measured=sum(part.measured for part in parts),
        seconds=sum(part.seconds for part in parts),
        latency=Latency.of(latencies),
        by_name={n: Latency.of(v) for n, v in by_name_values.items()},
        locust_cpu_seconds=sum(part.locust_cpu_seconds or 0.0 for part in parts),
    )
