"""Process caches: what a process keeps between publications, by name, with one reset.

A publication at 10,000 advisories rebuilds a few site-wide files (the handbook
page, the OSV archive, the CSAF ROLIE feed) from one part per advisory. Each part
is a function of its advisory's row, so a process keeps the parts it built and
renders only what changed. Every such cache is a ``ProcessCache`` made here, never
a bare module-level dict, so that:

- each says what it holds and the measured reason it exists (at its definition);
- ``reset_all()`` empties every one: what a new process knows. The tests call it
  before each test (``conftest.py``), so no test leans on another's leftovers;
- a test holds each cached path equal to the plain one
  (``herald/publishing/tests/test_caches.py``);
- ``bench/caches.py`` measures what each buys (the figures stand at each definition).

A cache is never the truth: its user checks the ``tag`` (what the entries were
built against, e.g. the ETag of the stored file) or keys entries by everything
they depend on, and rebuilds when in doubt.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

_ALL: dict[str, ProcessCache[object, object]] = {}
_LOCK = threading.Lock()


class ProcessCache(Generic[K, V]):
    """Entries kept by this process, replaced as a whole generation at a time.

    ``replace`` keeps exactly the entries given (the parts still listed), so the
    cache never outgrows the public site; ``tag`` says what they were built against.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.tag: str | None = None
        self._entries: dict[K, V] = {}
        with _LOCK:
            if name in _ALL:
                raise ValueError(f"a process cache named {name!r} exists already")
            _ALL[name] = self  # type: ignore[assignment]  # held only to be cleared

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def entries(self) -> Mapping[K, V]:
        """The entries as they are now (read-only: change them with ``replace``)."""
        return self._entries

    def replace(self, entries: dict[K, V], *, tag: str | None = None) -> None:
        """Keep exactly ``entries`` (built against ``tag``), dropping the rest."""
        self._entries = entries
        self.tag = tag

    def clear(self) -> None:
        self._entries = {}
        self.tag = None

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<ProcessCache {self.name}: {len(self._entries)} entries, tag {self.tag!r}>"


def reset_all() -> None:
    """Empty every process cache: afterwards the process knows what a new one knows."""
    with _LOCK:
        caches = list(_ALL.values())
    for cache in caches:
        cache.clear()


def named(name: str) -> ProcessCache[object, object]:
    """The cache called ``name`` (for tests and the benchmark)."""
    return _ALL[name]
