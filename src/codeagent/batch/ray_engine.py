"""The `ray` batch engine: the same jobs and the same `run_one` as Ray tasks.

`ray.init(address=...)`: an address such as "ray://head:10001" or "auto" joins a
running cluster; none starts a local one for this batch (and shuts it down after).
Each attempt is one Ray task in a fresh worker process (`max_calls=1`, like the local
engine's process per attempt), never retried by Ray (`max_retries=0`): a worker that
dies is recorded as `crashed`, one past its timeout is cancelled with force (its
process killed) and recorded as `timeout`. At most `workers` attempts are in flight
(default: the cluster's CPUs), so an attempt's clock starts when it can run.

On a multi-node cluster, DIR should be a path every node can write (shared storage);
otherwise each attempt's folder (session log, worker output) stays on its node.
Workers get the driver's CODEAGENT_* settings, OPENAI_BASE_URL and git config
variables; API keys are never shipped: set them in the nodes' environment.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

from codeagent.batch.engine import Job, OnResult, OnStart
from codeagent.batch.results import failure_record
from codeagent.batch.worker import execute
from codeagent.errors import ConfigError


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ConfigError("the ray engine needs Ray", hint="pip install 'codeagent[ray]'") from None
    return ray


def _remote_execute(run_one: Callable[..., dict[str, Any]], job: Job) -> dict[str, Any]:
    """Runs in the Ray worker (a process of its own, max_calls=1): output to the
    attempt's worker.log, then the same wrapper the local engine's child calls."""
    attempt_dir = Path(job.attempt_dir)
    attempt_dir.mkdir(parents=True, exist_ok=True)
    log = os.open(attempt_dir / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    return execute(run_one, job.task, job.attempt, attempt_dir)


FORWARDED = ("OPENAI_BASE_URL", "GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM", "NO_COLOR")


def forwarded_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The driver's codeagent settings and git config for the workers; never a key
    (API keys belong in the cluster nodes' own environment)."""
    environ = dict(os.environ if environ is None else environ)
    return {k: v for k, v in environ.items()
            if (k.startswith("CODEAGENT_") and k != "CODEAGENT_API_KEY") or k in FORWARDED}


class RayEngine:
    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None, **init_kwargs: Any):
        self.ray = _import_ray()
        self.address = address
        self.init_kwargs = init_kwargs
        self._started_here = False
        self._connect()
        self.workers = workers or max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def _connect(self) -> None:
        if self.ray.is_initialized():
            return
        kwargs = {"include_dashboard": False, "log_to_driver": False, **self.init_kwargs}
        try:
            self.ray.init(address=self.address, **kwargs)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise ConfigError(f"cannot start or reach the Ray cluster {self.address or '(local)'}: {exc}") from None
        self._started_here = True

    def run(self, jobs: list[Job], run_one: Callable[..., dict[str, Any]], on_result: OnResult,
            on_start: OnStart | None = None) -> None:
        ray = self.ray
        remote = ray.remote(num_cpus=1, max_retries=0, max_calls=1,
                            runtime_env={"env_vars": forwarded_env()})(_remote_execute)
        run_one_ref = ray.put(run_one)
        pending = list(jobs)
        pending.reverse()
        running: dict[Any, tuple[Job, float]] = {}
        try:
            while pending or running:
                while pending and len(running) < self.workers:
                    job = pending.pop()
                    running[remote.remote(run_one_ref, job)] = (job, time.monotonic())
                    if on_start:
                        on_start(job)
                nearest = min(started + job.timeout for job, started in running.values())
                ready, _ = ray.wait(list(running), num_returns=1, timeout=max(0.0, nearest - time.monotonic()))
                for ref in ready:
                    job, started = running.pop(ref)
                    on_result(job, self._get(ref, job, started))
                self._expire(running, on_result)
        finally:
            for ref in running:
                ray.cancel(ref, force=True)

    def _get(self, ref: Any, job: Job, started: float) -> dict[str, Any]:
        ray = self.ray
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:  # the wrapper failed itself (e.g. unpicklable task)
            reason, error = f"exception:{type(exc.cause).__name__}", str(exc)[-4000:]
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.RayError) as exc:
            reason, error = f"crashed:{type(exc).__name__}", str(exc)[-4000:]
        return failure_record(job.task, job.attempt, "crashed", reason, error=error,
                              wall_time=time.monotonic() - started)

    def _expire(self, running: dict[Any, tuple[Job, float]], on_result: OnResult) -> None:
        now = time.monotonic()
        for ref, (job, started) in list(running.items()):
            if started + job.timeout <= now:
                self.ray.cancel(ref, force=True)
                del running[ref]
                on_result(job, failure_record(job.task, job.attempt, "timeout", f"timeout:{job.timeout:g}s",
                                              error=f"cancelled after {job.timeout:g}s wall clock",
                                              wall_time=now - started))

    def close(self) -> None:
        """Shut down the local cluster this engine started; leave a joined one alone."""
        if self._started_here and self.ray.is_initialized():
            self.ray.shutdown()
            self._started_here = False
