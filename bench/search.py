"""Benchmark: desk search over N advisories, full-text index against a LIKE baseline.

Usage::

    .venv/bin/python bench/search.py --advisories 10000 --repeat 20
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/herald .venv/bin/python bench/search.py

It creates a scratch database (a temporary SQLite file under a temporary
HERALD_HOME, or a ``herald_bench_search`` database beside the one DATABASE_URL
names, dropped afterwards), migrates it, inserts ``--advisories`` advisories
with realistic text (identifier, CVE ids, title, summary, a few paragraphs),
then times the same queries two ways in the same run:

- ``index``: what the desk runs (``herald.web.search``: FTS5 on SQLite, the
  GIN-indexed tsvector on PostgreSQL, plus the exact identifier/CVE lookups);
- ``baseline``: the same search with ``icontains`` on every field (LIKE/ILIKE).

It prints the median and 95th percentile per query kind, in milliseconds.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

WORDS = (  # noqa: SIM905  (a paragraph of words reads better than a list of strings)
    "token session cookie header redirect injection script stored reflected tenant "
    "dashboard webhook export import billing invoice password reset login oauth saml "
    "scim api key secret bucket storage upload download archive parser template render "
    "query filter search index cache queue worker scheduler region cluster node proxy "
    "gateway certificate signature verification bypass escalation privilege admin role "
    "permission audit log leak exposure timing race condition overflow denial service"
).split()


def setup(advisories: int) -> str | None:
    """Django on a scratch database; returns the PostgreSQL database to drop, if any."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    os.environ["HERALD_HOME"] = tempfile.mkdtemp(prefix="herald-bench-search-")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herald.settings")
    os.environ["HERALD_LOG_LEVEL"] = "WARNING"
    scratch = None
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        base, _ = url.rsplit("/", 1)
        scratch = "herald_bench_search"
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {scratch}")
            conn.execute(f"CREATE DATABASE {scratch}")
        os.environ["DATABASE_URL"] = f"{base}/{scratch}"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    populate(advisories)
    return scratch


SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "bu", "da", "fe", "gi", "ho",
             "ju"]  # fmt: skip
# A vocabulary with a natural (Zipf) spread: the security words above are the
# common ones, thousands of made-up words the rare ones, as in real prose.
VOCABULARY = WORDS + [a + b + c for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES]
WEIGHTS = [1 / (rank + 1) for rank in range(len(VOCABULARY))]


def text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choices(VOCABULARY, weights=WEIGHTS, k=n))


def populate(n: int) -> None:
    """Rows written directly, in bulk: this measures reads, not the actions' write path."""
    from django.utils import timezone

    from herald.advisories.models import Advisory
    from herald.incidents.models import Incident

    rng = random.Random(42)  # noqa: S311  (benchmark data, not security)
    now = timezone.now()
    incident = Incident.objects.create(
        identifier="INC-BENCH-1", title="Bench", declared_at=now, declared_by="bench"
    )
    batch = []
    for i in range(n):
        batch.append(
            Advisory(
                identifier=f"NW-{2000 + i // 1000}-{i % 1000 + 1:04d}",
                incident=incident,
                title=text(rng, 6).capitalize(),
                summary=text(rng, 15),
                description="\n\n".join(text(rng, 60) for _ in range(3)),
                affected_users=text(rng, 20),
                resolution=text(rng, 30),
                cve_ids=[f"CVE-{2000 + i // 1000}-{10000 + i}"],
                severity=rng.choice(["low", "medium", "high", "critical"]),
                state="published",
                created_at=now,
                updated_at=now,
                published_at=now,
                created_by="bench",
            )
        )
        if len(batch) == 1000:
            Advisory.objects.bulk_create(batch)
            batch = []
    Advisory.objects.bulk_create(batch)


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--advisories", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    scratch = setup(args.advisories)
    try:
        from django.db import connection

        from herald.web.search import engine, search_advisories

        kind = engine()
        queries = {
            "identifier": ["NW-2005-0420", "NW-2009-0001", "nw-2003-0777"],
            "cve": ["CVE-2004-14321", "CVE-2008-18000"],
            "common word": ["token", "webhook"],
            "rare word": ["kalomi", "zebuju"],
            "two words": ["stored script", "privilege zeruka"],
            "no match": ["nonexistentword"],
        }
        print(f"{args.advisories} advisories on {connection.vendor}; index engine: {kind}")
        header = f"{'query kind':<14} {'index p50':>10} {'p95':>8} {'baseline p50':>13} {'p95':>8}"
        print(header + "  hits")
        for label, qs in queries.items():
            fast: list[float] = []
            slow: list[float] = []
            hits = 0
            for q in qs:
                hits = len(search_advisories(q, kind=kind))
                fast += timed(functools.partial(search_advisories, q, kind=kind), args.repeat)
                slow += timed(functools.partial(search_advisories, q, kind="like"), args.repeat)

            def p95(xs: list[float]) -> float:
                return sorted(xs)[int(len(xs) * 0.95) - 1]

            print(
                f"{label:<14} {statistics.median(fast):>8.2f}ms {p95(fast):>6.2f}ms "
                f"{statistics.median(slow):>11.2f}ms {p95(slow):>6.2f}ms  {hits}"
            )
    finally:
        if scratch:
            from django.db import connections

            connections.close_all()
            import psycopg

            base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
            with psycopg.connect(base + "/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {scratch}")


if __name__ == "__main__":
    main()
