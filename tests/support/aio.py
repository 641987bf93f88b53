"""Run a coroutine to completion from synchronous test code, whatever the calling thread holds.

Playwright's sync API keeps an event loop running in the xdist worker's main thread once a
browser test has run there, and asyncio.run() refuses to start inside a running loop; a short-lived
thread always has none.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_coroutine(coro: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aio") as pool:
        return pool.submit(asyncio.run, coro).result()
