"""Where jobs run: a local pool of long-lived worker processes (each imports nbgrader and torch once
and grades many submissions), or a Dask distributed cluster (``--scheduler ADDRESS``). Jobs are plain
data in, plain data out (see job.py), so both engines run exactly the same function."""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import as_completed as _local_completed

from . import job


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


class LocalPool:
    kind = "local"

    def __init__(self, workers: int | None = None):
        self.workers = workers or default_workers()
        self._ex = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                       initializer=job.warm)

    def submit(self, fn, *args):
        return self._ex.submit(fn, *args)

    def as_completed(self, futures):
        return _local_completed(futures)

    def close(self):
        self._ex.shutdown(wait=True, cancel_futures=True)


class DaskPool:
    kind = "dask"

    def __init__(self, address):
        from distributed import Client

        self.client = address if hasattr(address, "submit") else Client(address)
        self._own = not hasattr(address, "submit")
        info = self.client.scheduler_info()
        self.workers = sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()) or 1
        self.client.run(job.warm)  # import nbgrader/torch once on every worker

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)

    def as_completed(self, futures):
        from distributed import as_completed

        return as_completed(futures)

    def close(self):
        if self._own:
            self.client.close()


def make_pool(workers: int | None = None, scheduler=None):
    return DaskPool(scheduler) if scheduler else LocalPool(workers)
