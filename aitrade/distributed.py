"""Where work runs: in this process, over local processes (``--jobs N``), or on a Dask cluster.

Tasks are plain JSON-able dicts and results are JSON-able dicts; bulky data
travels through Parquet files in the run folder, so nothing is pickled but the
small task descriptions the pool itself carries. Dask is the optional extra
``dist`` (``pip install 'aitrade[dist]'``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from multiprocessing import get_context
from typing import Any

from aitrade.errors import UserError

EXECUTORS = ("local", "dask")
Task = dict[str, Any]


def _init_worker() -> None:
    import torch  # noqa: PLC0415 (only inside workers)

    torch.set_num_threads(1)


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Train in this process on one torch thread (restored after).

    The fold nets are small: spread over every core, torch spends more time
    synchronising threads than computing (and fights any other load on the
    machine), while one thread gives identical results faster.
    """
    import torch  # noqa: PLC0415

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def run_tasks(
    fn: Callable[[Task], dict[str, Any]],
    tasks: list[Task],
    *,
    jobs: int = 1,
    executor: str = "local",
    scheduler: str | None = None,
) -> Iterator[dict[str, Any]]:
    """Yield ``fn(task)`` for every task as each finishes (order not guaranteed)."""
    if executor not in EXECUTORS:
        raise UserError(f"unknown executor {executor!r}; allowed: {', '.join(EXECUTORS)}")
    if jobs < 1:
        raise UserError(f"--jobs must be at least 1, got {jobs}")
    if executor == "dask":
        yield from _dask(fn, tasks, jobs, scheduler)
        return
    if jobs == 1 or len(tasks) <= 1:
        with one_torch_thread():
            for task in tasks:
                yield fn(task)
        return
    workers = min(jobs, len(tasks), os.cpu_count() or 1)
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"), initializer=_init_worker) as pool:
        futures = [pool.submit(fn, t) for t in tasks]
        for fut in as_completed(futures):
            yield fut.result()


def _dask(
    fn: Callable[[Task], dict[str, Any]], tasks: list[Task], jobs: int, scheduler: str | None
) -> Iterator[dict[str, Any]]:
    try:
        from dask.distributed import Client, LocalCluster  # noqa: PLC0415
        from dask.distributed import as_completed as dask_completed  # noqa: PLC0415
    except ImportError as exc:
        raise UserError("the dask executor needs the optional extra: pip install 'aitrade[dist]'") from exc
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.WARNING
        )
        client = Client(cluster)
    try:
        futures = client.map(fn, tasks, pure=False)
        for fut in dask_completed(futures):
            yield fut.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
