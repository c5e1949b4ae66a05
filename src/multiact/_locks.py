"""Locks that a forked child finds free.

``os.fork`` copies a lock as it is: one that another thread of the parent held at
that moment stays held in the child, where no thread will release it, and the
child's first call that needs it waits for ever (DataLoader workers and
``multiprocessing`` fork by default on Linux).  A :class:`ForkSafeLock` is given a
new inner lock in every forked child.  Not for a fork by the thread that holds one
(multiact never forks; decision 120).
"""

from __future__ import annotations

import os
import threading
import weakref

__all__ = ["ForkSafeLock"]

_ALL: weakref.WeakSet = weakref.WeakSet()


class ForkSafeLock:
    """A ``threading.Lock`` (``threading.RLock`` with ``reentrant``), new and free
    in a forked child."""

    __slots__ = ("_make", "_lock", "__weakref__")

    def __init__(self, reentrant: bool = False):
        self._make = threading.RLock if reentrant else threading.Lock
        self._lock = self._make()
        _ALL.add(self)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self):
        return self._lock.__enter__()

    def __exit__(self, *exc):
        return self._lock.__exit__(*exc)

    def _renew(self) -> None:
        self._lock = self._make()


def _after_fork_in_child():
    for lock in list(_ALL):
        lock._renew()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
