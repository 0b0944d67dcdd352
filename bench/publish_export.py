"""Benchmark (issue 3, Performance): publishing one more advisory at 10,000, and a full
static export, next to Hugo building 10,000 pages of the same size in the same run.

Usage (needs Debian's hugo package)::

    .venv/bin/python bench/publish_export.py --advisories 10000 --publishes 5

Measures, on the embedded default (SQLite under a copy of the fixture, see
``bench/fixture.py``):

(a) publishing one more advisory with ``do_publish_advisory``: the transaction
    that writes the revision and regenerates every artifact it changes (its
    page and standard documents, the index, archive, feeds, handbook page,
    security.txt), then the copy into the served site (compression included),
    i.e. until ``herald serve`` answers with it. Target: under one second.
(b) ``herald export site DIR`` from scratch (with .gz/.br copies, and without),
    then again after one more publication (only the changed files).
(c) ``hugo`` building a site of as many pages, each page's Markdown the
    advisory's own text, so that pages are of the same size; its output size is
    printed beside ours. Target: (b) within three times (c).
"""

# A benchmark runs local tools (wrk, nginx, hugo, granian) with fixed arguments, uses
# seeded pseudo-random text and scratch directories under /tmp: none of it is input.
# ruff: noqa: S311, S603, S607

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fixture


def tree_size(root: Path, pattern: str = "*") -> tuple[int, int]:
    files = [p for p in root.rglob(pattern) if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def publish_one(i: int) -> dict[str, float]:
    import random
    from unittest import mock

    from django.db import transaction

    from herald.incidents.models import Incident
    from herald.publication import actions as publication
    from herald.publication.actions import do_create_advisory, do_publish_advisory
    from herald.publishing.store import serving

    rng = random.Random(1000 + i)
    incident = Incident.objects.filter(status="open").first()
    now = __import__("django.utils.timezone", fromlist=["now"]).now()
    values = fixture.advisory_values(20_000 + i, rng, now)
    values["status"] = "fixed"
    draft = do_create_advisory(acting_user=None, incident=incident, **values)
    # The after-commit step syncs the served copy; time it separately. As before the
    # change, only the served copy and the publish hook leave "transaction": the
    # reporters' notice stays in it (it was an on-commit receiver before, too).
    # The garbage collector's passes during the publication (a full one walks every
    # object the process keeps: 200-300 ms at 10,000 advisories), timed by its callback.
    collected = [0.0, 0.0]  # seconds in all passes, in full (generation 2) passes
    pass_began = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            pass_began[0] = time.perf_counter()
            return
        seconds = time.perf_counter() - pass_began[0]
        collected[0] += seconds
        if info["generation"] == 2:
            collected[1] += seconds

    gc.callbacks.append(on_gc)
    with (
        mock.patch.object(publication.serving, "sync_after_commit", return_value=None),
        mock.patch.object(publication.publishing_tasks, "queue_publish_hook", return_value=None),
    ):
        began, cpu_began = time.perf_counter(), time.process_time()
        with transaction.atomic():
            do_publish_advisory(draft, acting_user=None)
        committed, cpu_committed = time.perf_counter(), time.process_time()
    serving.sync()
    served, cpu_served = time.perf_counter(), time.process_time()
    gc.callbacks.remove(on_gc)
    return {
        "transaction": committed - began,
        "sync": served - committed,
        "total": served - began,
        # CPU seconds of this process (its threads included): less moved than the wall
        # clock by other work on a shared machine.
        "cpu transaction": cpu_committed - cpu_began,
        "cpu sync": cpu_served - cpu_committed,
        "cpu total": cpu_served - cpu_began,
        "gc all passes": collected[0],
        "gc full passes": collected[1],
    }


def hugo_site(root: Path) -> Path:
    """A Hugo site with one page per public advisory, its text the advisory's Markdown."""
    from herald.advisories.queries import cve_ids_of, public_advisories
    from herald.advisories.snapshot import AdvisorySnapshot, simple_vulnerabilities
    from herald.publishing.render.markdown import advisory_blocks
    from herald.publishing.site.builders import _MARKDOWN_COLUMNS, _MARKDOWN_LISTS

    site = root / "hugo"
    (site / "content" / "advisories").mkdir(parents=True)
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "config.toml").write_text(
        'baseURL = "http://127.0.0.1/"\ntitle = "Northwind security advisories"\n'
        'disableKinds = ["taxonomy", "term", "RSS", "sitemap"]\n'
    )
    # A layout like ours: a page with a header, the facts and the prose sections.
    (site / "layouts" / "_default" / "baseof.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title>'
        '<link rel="stylesheet" href="/static/herald/web.css"></head><body><header>Northwind '
        'security</header><main>{{ block "main" . }}{{ end }}</main><footer>Security contact'
        "</footer></body></html>\n"
    )
    (site / "layouts" / "_default" / "single.html").write_text(
        '{{ define "main" }}<article><h1>{{ .Title }}</h1>{{ .Content }}</article>{{ end }}\n'
    )
    (site / "layouts" / "_default" / "list.html").write_text(
        '{{ define "main" }}<ul>{{ range .Pages }}<li><a href="{{ .RelPermalink }}">'
        "{{ .Title }}</a></li>{{ end }}</ul>{{ end }}\n"
    )
    rows = public_advisories().select_related(None).prefetch_related(None)
    # The CVE ids live on the vulnerabilities (issue 15): read as the handbook page does.
    values = list(rows.values("pk", *_MARKDOWN_COLUMNS))
    cves = cve_ids_of(row["pk"] for row in values)
    for row in values:
        pk = row.pop("pk")
        lists = {name: tuple(row.pop(name) or ()) for name in _MARKDOWN_LISTS}
        vulnerabilities = simple_vulnerabilities(cve_ids=cves[pk])
        snapshot = AdvisorySnapshot(**row, **lists, vulnerabilities=vulnerabilities)
        body = "\n\n".join(advisory_blocks(snapshot)[1:])
        title = snapshot.title.replace('"', "'")
        (site / "content" / "advisories" / f"{snapshot.identifier.lower()}.md").write_text(
            f'---\ntitle: "{snapshot.identifier}: {title}"\n---\n\n{body}\n'
        )
    return site


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--advisories", type=int, default=10_000)
    parser.add_argument("--publishes", type=int, default=5)
    parser.add_argument(
        "--cold",
        action="store_true",
        help="publish without warming the process first (a process's first publication)",
    )
    parser.add_argument(
        "--publish-only",
        action="store_true",
        help="stop after (a): no export, hugo or plain loop (a quick before/after of publication)",
    )
    args = parser.parse_args()

    home = fixture.prepare(args.advisories)
    fixture.setup_django(home)
    from herald.publishing.models import Artifact
    from herald.publishing.store import serving
    from herald.publishing.store.siteexport import export_site

    print(f"Fixture: {args.advisories} published advisories in {home}")
    print(f"Standard-format builders registered: {fixture.register_surfaces() or 'none'}")
    began = time.perf_counter()
    serving.sync()
    seconds = time.perf_counter() - began
    print(f"Served copy materialised (first start of a machine): {seconds:.1f}s")
    print(f"Artifacts: {Artifact.objects.count()}")

    if not args.cold:
        from herald.publishing.store.artifacts import warm

        began = time.perf_counter()
        warm()
        print(
            f"Publishing process warmed (in the background at its start): "
            f"{time.perf_counter() - began:.1f}s"
        )

    print(f"\n(a) Publishing one more advisory, {args.publishes} times:")
    runs = [publish_one(i) for i in range(args.publishes)]
    for i, run in enumerate(runs, 1):
        print(
            f"  publication {i}: total {run['total'] * 1000:5.0f} ms, "
            f"CPU {run['cpu total'] * 1000:5.0f} ms, gc {run['gc all passes'] * 1000:4.0f} ms "
            f"(full passes {run['gc full passes'] * 1000:4.0f} ms)"
        )
    for name in runs[0]:
        values = [r[name] for r in runs]
        print(
            f"  {name:<16} median {statistics.median(values) * 1000:7.0f} ms   "
            f"first {values[0] * 1000:7.0f} ms   max {max(values) * 1000:7.0f} ms"
        )
    if args.publish_only:
        return

    work = Path(tempfile.mkdtemp(prefix="herald-bench-export-"))
    try:
        print("\n(b) herald export site:")
        timings = {}
        for label, compress in (("with .gz/.br", True), ("no compression", False)):
            out = work / f"site-{'z' if compress else 'plain'}"
            began = time.perf_counter()
            result = export_site(out, precompress=compress)
            timings[label] = time.perf_counter() - began
            files, size = tree_size(out, "*.html")
            print(
                f"  full export, {label:<15} {timings[label]:6.1f}s  "
                f"({len(result.written)} files; {files} HTML pages, "
                f"{size / files / 1024:.1f} KiB each)"
            )
        publish_one(args.publishes)
        began = time.perf_counter()
        result = export_site(work / "site-z")
        print(
            f"  export again after one publication: {time.perf_counter() - began:6.2f}s "
            f"({len(result.written)} files rewritten, {result.unchanged} untouched)"
        )

        print("\n(c) hugo, same run:")
        site = hugo_site(work)
        version = subprocess.run(["hugo", "version"], capture_output=True, text=True).stdout.strip()
        began = time.perf_counter()
        subprocess.run(
            ["hugo", "--quiet", "-s", str(site), "-d", str(work / "hugo-out")], check=True
        )
        hugo = time.perf_counter() - began
        files, size = tree_size(work / "hugo-out" / "advisories", "*.html")
        print(f"  {version}")
        print(f"  hugo build: {hugo:6.1f}s ({files} pages, {size / files / 1024:.1f} KiB each)")
        for label, seconds in timings.items():
            print(f"  export {label} / hugo: {seconds / hugo:.2f}x (target <= 3x)")

        # The export writes six times as many files as Hugo: how long does merely
        # writing them take on this disk? A plain loop, the same paths and bytes.
        print("\n(d) the same files written by a plain Python loop, same run:")
        from herald.publishing.store.artifacts import read_many

        stored = dict(read_many(Artifact.objects.all()))
        began = time.perf_counter()
        for path, content in stored.items():
            target = work / "plain-loop" / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        loop = time.perf_counter() - began
        print(f"  {len(stored)} files: {loop:6.1f}s, {loop / hugo:.2f}x hugo")
        print(f"  export no compression / plain loop: {timings['no compression'] / loop:.2f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
