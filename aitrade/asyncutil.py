"""Running a coroutine from synchronous code without fighting a running loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion and return its result.

    With no loop running in this thread, ``asyncio.run`` is used. Inside a
    running loop (a Jupyter kernel) the coroutine runs on a private loop in a
    worker thread, so the kernel's loop is never re-entered or patched.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aitrade-sync") as pool:
        return pool.submit(asyncio.run, coro).result()
