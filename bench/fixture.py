"""The benchmarks' shared fixture: a desk with N published advisories, built through the actions.

Every advisory is created and published by ``do_create_advisory`` and
``do_publish_advisory`` (and a few withdrawn by ``do_withdraw_advisory``), so
the rows (revisions, audit chain, incident events) are exactly what the desk
would hold. The one shortcut: artifact regeneration is switched off during the
load and run once at the end (``regenerate_everything``), because regenerating
the index, feeds and handbook page after each of 10,000 publications would
take hours and produce the same files. The result (database, signing key,
served copy) is kept in ``--cache`` and copied for each run, so the load is
paid once: about 10 to 20 minutes for 10,000 on this machine.

Use from a benchmark::

    home = fixture.prepare(count=10_000)   # before Django is set up
    fixture.setup_django(home)
"""

# A benchmark runs local tools (wrk, nginx, hugo, granian) with fixed arguments, uses
# seeded pseudo-random text and scratch directories under /tmp: none of it is input.
# ruff: noqa: S108, S311

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = Path(os.environ.get("HERALD_BENCH_CACHE", "/tmp/herald-bench-cache"))
WORDS = [
    "dashboard",
    "token",
    "session",
    "export",
    "import",
    "report",
    "customer",
    "region",
    "cloud",
    "service",
    "request",
    "header",
    "cookie",
    "redirect",
    "permission",
    "role",
    "admin",
    "user",
    "project",
    "query",
    "filter",
    "cache",
    "queue",
    "worker",
    "upload",
    "download",
    "archive",
    "password",
    "reset",
    "email",
    "link",
    "invite",
    "webhook",
    "signature",
    "payload",
    "parser",
    "template",
    "script",
    "input",
    "output",
    "validation",
    "escape",
    "encode",
    "decode",
]


def setup_django(home: Path) -> None:
    os.environ["HERALD_HOME"] = str(home)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "herald.settings")
    os.environ.setdefault("HERALD_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    # A fixture kept from an older tree gets this tree's migrations (a no-op otherwise),
    # and the planner statistics for any index they add, as `herald setup` does.
    call_command("migrate", verbosity=0)
    from herald.core.maintenance import refresh_planner_statistics

    refresh_planner_statistics()
    register_surfaces()


def register_surfaces() -> list[str]:
    """Every builder in the tree, the standard formats included when they exist."""
    import importlib

    found = []
    for name in ("surfaces_osv", "surfaces_csaf", "surfaces_cve"):
        # herald.publishing.site since the publishing package was split (issue 14).
        for package in ("herald.publishing.site", "herald.publishing"):
            try:
                importlib.import_module(f"{package}.{name}")
            except ImportError:
                continue
            found.append(name)
            break
    return found


def prose(rng: random.Random, words: int) -> str:
    sentences = []
    while words > 0:
        n = min(words, rng.randint(8, 18))
        sentence = " ".join(rng.choice(WORDS) for _ in range(n))
        sentences.append(sentence.capitalize() + ".")
        words -= n
    return " ".join(sentences)


def advisory_values(i: int, rng: random.Random, published: dt.datetime) -> dict[str, object]:
    day = published.date()
    severity = rng.choice(("low", "medium", "medium", "high", "critical"))
    current = i % 500 == 0  # about 20 of 10,000 still current, as on a real page
    values: dict[str, object] = {
        "title": f"{prose(rng, 6)[:-1]} in the {rng.choice(WORDS)} {rng.choice(WORDS)}",
        "summary": prose(rng, 20),
        "description": "\n\n".join(prose(rng, 60) for _ in range(3)),
        "severity": severity,
        "affected_users": f"Cloud customers in the {rng.choice(('US', 'EU'))} region. "
        + prose(rng, 25),
        "resolution": f"Fixed in [#{1000 + i}](https://github.com/example/app/pull/{1000 + i}). "
        + prose(rng, 40),
        "discovered_at": day - dt.timedelta(days=20),
        "reported_at": day - dt.timedelta(days=19),
        "fixed_at": day - dt.timedelta(days=5),
        "status": "fixed" if current else "resolved",
        "cve_ids": [f"CVE-{published.year}-{10000 + i}"] if i % 3 else [],
        "cwe_ids": ["CWE-79"] if i % 2 else ["CWE-89"],
        "affected": [
            {
                "product": rng.choice(("cloud", "server", "sdk")),
                "deployment": "cloud",
                "introduced": "1.0.0",
                "fixed": f"1.{i % 50}.{i % 7 + 1}",
                "status": "fixed",
            }
        ],
        "credits": [{"name": f"Researcher {i % 97}", "type": "FINDER"}],
    }
    if i % 4 == 0:
        values["cvss_v3_vector"] = "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N"
    return values


def load(count: int, *, seed: int = 7) -> None:
    """Create and publish ``count`` advisories through the actions (Django is set up)."""
    from django.core.management import call_command

    # The record-level writes, not the publication actions: the bulk load renders
    # every artifact once at the end (regenerate_everything) instead of per advisory.
    from herald.advisories.actions import write_draft, write_publication, write_withdrawal
    from herald.core.models import Product, VendorProfile
    from herald.publication.actions import do_declare_incident
    from herald.publishing.store.artifacts import regenerate_everything
    from herald.publishing.store.signing import ensure_signing_key

    call_command("migrate", verbosity=0)
    profile = VendorProfile.get()
    profile.name, profile.advisory_prefix = "Northwind", "NW"
    profile.save()
    for slug, name, ecosystem, package in (
        ("cloud", "Northwind Cloud", "", ""),
        ("server", "Northwind Server", "", ""),
        ("sdk", "Northwind SDK", "PyPI", "northwind-sdk"),
    ):
        Product.objects.get_or_create(
            slug=slug, defaults={"name": name, "ecosystem": ecosystem, "package_name": package}
        )
    ensure_signing_key()
    incident = do_declare_incident(title="Bench load", acting_user=None, reason="benchmark")
    rng = random.Random(seed)
    start = dt.datetime(2016, 1, 4, 9, tzinfo=dt.UTC)
    span = (dt.datetime(2026, 6, 1, tzinfo=dt.UTC) - start).total_seconds()
    began = time.monotonic()
    for i in range(count):
        published = start + dt.timedelta(seconds=span * i / count)
        values = advisory_values(i, rng, published)
        draft = write_draft(acting_user=None, incident=incident, **values).advisory
        advisory = write_publication(draft, acting_user=None, published_at=published).advisory
        if i % 200 == 7:
            write_withdrawal(advisory, acting_user=None, reason="Duplicate of another one.")
        if (i + 1) % 1000 == 0:
            rate = (i + 1) / (time.monotonic() - began)
            print(f"  {i + 1} advisories published ({rate:.0f}/s)", flush=True)
    began = time.monotonic()
    result = regenerate_everything()
    print(f"  artifacts rendered: {len(result.changed)} in {time.monotonic() - began:.0f}s")
    # As herald setup and the daily task leave a real installation.
    from herald.core.maintenance import refresh_planner_statistics

    refresh_planner_statistics()


def prepare(count: int, cache: Path = DEFAULT_CACHE) -> Path:
    """A fresh HERALD_HOME holding ``count`` published advisories; built once, then copied."""
    source = cache / f"home-{count}"
    if not (source / "READY").exists():
        shutil.rmtree(source, ignore_errors=True)
        source.mkdir(parents=True)
        print(f"Building the fixture of {count} advisories in {source} (once) ...", flush=True)
        pid = os.fork()
        if pid == 0:  # a child with its own Django, so the caller can still set up its own
            try:
                setup_django(source)
                load(count)
                from django.db import connection

                with connection.cursor() as cursor:
                    cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                os._exit(0)
            except BaseException:
                import traceback

                traceback.print_exc()
                os._exit(1)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            raise SystemExit("building the fixture failed")
        (source / "READY").write_text(time.strftime("%Y-%m-%d %H:%M:%S"))
    home = Path(os.environ.get("HERALD_BENCH_HOME", "/tmp/herald-bench-home"))
    shutil.rmtree(home, ignore_errors=True)
    shutil.copytree(source, home, ignore=shutil.ignore_patterns("site", "export*"))
    return home
