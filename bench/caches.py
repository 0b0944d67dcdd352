"""Benchmark (issue 14): what each publishing process cache and the ZIP writer buy.

Usage::

    .venv/bin/python bench/caches.py --advisories 2000

On the benchmarks' fixture (``bench/fixture.py``: N published advisories, built once),
for each cache of ``herald.core.caches``: the cached step with the kept parts (what a
publication after the first does) and the same step with the cache emptied (what a
process's first publication, or a publication without the cache, does); the median
of a few runs each. Then the OSV archive: the hand-written writer laying out the kept
deflated members (one re-deflated) against ``zipfile`` deflating every document, and
the check that both write the same bytes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixture


def median_ms(step: Callable[[], object], before: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(5):
        if before is not None:
            before()
        began = time.perf_counter()
        step()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def row(label: str, fast: tuple[str, float], slow: tuple[str, float], note: str = "") -> None:
    ratio = slow[1] / fast[1]
    print(f"{label:<44} {fast[0]} {fast[1]:8.1f}   {slow[0]} {slow[1]:8.1f}   x{ratio:5.1f} {note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--advisories", type=int, default=2000)
    args = parser.parse_args()
    home = fixture.prepare(args.advisories)
    fixture.setup_django(home)
    fixture.register_surfaces()

    from herald.core import caches
    from herald.core.models import VendorProfile
    from herald.publishing.site import builders, surfaces_csaf, surfaces_osv
    from herald.publishing.site.surfaces import site_publisher
    from herald.publishing.store import artifacts
    from herald.publishing.store.artifacts import read_one, read_with_etag

    profile = VendorProfile.get()
    artifacts.warm()
    print(f"{args.advisories} published advisories; median of 5 runs, ms")

    def compare(label: str, step: Callable[[], object], cache: str) -> None:
        step()  # fills the cache (and the page cache of the database)
        warm = median_ms(step)
        cold = median_ms(step, caches.named(cache).clear)
        step()
        row(label, ("kept", warm), ("emptied", cold))

    compare(
        "handbook page (handbook texts)", lambda: builders._handbook.page(profile), "handbook texts"
    )
    compare("CSAF feed entries (csaf entries)", surfaces_csaf.entries, "csaf entries")
    publisher = site_publisher(profile)
    listed = surfaces_csaf.entries()
    updated = surfaces_csaf.utc_datetime(max(e.current_utc for e in listed))
    compare(
        "CSAF ROLIE feed (csaf rolie entry texts)",
        lambda: surfaces_csaf.rolie_feed_parts(publisher, listed, updated),
        "csaf rolie entry texts",
    )

    # The OSV archive's members: kept, or read back from the stored archive.
    stored = read_with_etag(surfaces_osv.ZIP_PATH)
    assert stored is not None
    kept = caches.named("osv archive members")
    warm = median_ms(lambda: dict(kept.entries()))
    cold = median_ms(lambda: surfaces_osv.members_of(read_one(surfaces_osv.ZIP_PATH) or b""))
    row("OSV archive members (osv archive members)", ("kept", warm), ("emptied", cold))

    # The ZIP writer: every document's deflate stream kept, one changed.
    members = surfaces_osv.members_of(stored[1])
    assert members is not None
    docs = {i: read_one(f"osv/{i}.json") or b"" for i in sorted(members)}
    changed = next(iter(docs))

    def handwritten() -> bytes | None:
        fresh = dict(members)
        fresh[changed] = surfaces_osv.member_of(changed, docs[changed])
        return surfaces_osv.zip_from_members(fresh[i] for i in sorted(fresh))

    ours = median_ms(handwritten)
    theirs = median_ms(lambda: surfaces_osv.zip_of(docs))
    same = handwritten() == surfaces_osv.zip_of(docs)
    size = len(stored[1]) / 1e6
    label = f"OSV all.zip, {len(docs)} documents, {size:.1f} MB"
    row(label, ("hand-written", ours), ("zipfile", theirs), f"same bytes: {same}")


if __name__ == "__main__":
    main()
