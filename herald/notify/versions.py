"""Version comparison for matching customers' deployments against affected ranges.

Products use dotted numeric versions with an optional suffix (``1.4.2``,
``2024.06``, ``v3.1.0-rc1``); this compares them piece by piece, numbers as
numbers, and a pre-release suffix before the release it precedes. Which rows
cover a version, and what a version that does not parse means, is
``herald.notify.scope``.
"""

from __future__ import annotations

import re

_PIECE = re.compile(r"\d+|[a-z]+")


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    text = version.strip().lower().removeprefix("v")
    main, _, suffix = text.partition("-")
    pieces: list[tuple[int, int | str]] = [
        (1, int(p)) if p.isdigit() else (0, p) for p in _PIECE.findall(main)
    ]
    # 1.0-rc1 sorts before 1.0; 1.0 (no suffix) after every suffix of it.
    pieces.append((0, suffix) if suffix else (2, ""))
    return tuple(pieces)


def _cmp(a: str, b: str) -> int:
    ka, kb = list(version_key(a)), list(version_key(b))
    # Pad the shorter main part with zeros: 1.2 == 1.2.0.
    while len(ka) < len(kb):
        ka.insert(len(ka) - 1, (1, 0))
    while len(kb) < len(ka):
        kb.insert(len(kb) - 1, (1, 0))
    for x, y in zip(ka, kb, strict=True):
        if x == y:
            continue
        if x[0] != y[0]:
            return -1 if x[0] < y[0] else 1
        if isinstance(x[1], int) and isinstance(y[1], int):
            return -1 if x[1] < y[1] else 1
        return -1 if str(x[1]) < str(y[1]) else 1
    return 0


def is_version(version: str) -> bool:
    """Whether ``version`` can be compared at all (it has a number or a word)."""
    return bool(version.strip()) and bool(_PIECE.search(version.lower()))


def compare_versions(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is before, the same as, or after ``b``."""
    return _cmp(a, b)
