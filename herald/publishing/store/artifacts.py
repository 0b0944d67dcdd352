"""Published artifacts: every public byte, rendered once when it changes.

A *builder* turns public advisories into ``Rendered`` files (a path, bytes and a
content type). ``regenerate`` runs the builders inside the caller's transaction,
so a publication writes its revision and every artifact it changes atomically
(DESIGN.md "The flow"), and refuses the publication when a builder finds its
output invalid (the builder raises ``ValidationError`` naming the field).

Two kinds of builder:

- advisory builders: ``(snapshot, context) -> Iterable[Rendered]``, run for each
  advisory that changed (its page, OSV, CSAF, CVE documents...);
- site builders: ``(context) -> Iterable[Rendered]``, run on every regeneration
  (index page, feeds, indexes, security.txt...). They read what they need
  through ``context`` so that nothing is loaded twice.

A site builder may give a large listing as *parts* (``Rendered.of_parts``): the
file is then stored as blocks when large (``herald.publishing.store.blocks``), so a
publication writes the few kilobytes it changed rather than the whole file. Read
stored bytes with ``read_one`` and ``read_many``, whichever way they are stored.

Serving reads ``Artifact`` rows (or their copy on disk), never the advisories.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from herald.advisories.models import Advisory
from herald.advisories.queries import public_advisories
from herald.advisories.snapshot import AdvisorySnapshot, snapshot_of
from herald.core.ids import next_number
from herald.core.models import VendorProfile
from herald.publishing.models import Artifact, Regeneration
from herald.publishing.store import blocks

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rendered:
    path: str  # URL path without the leading slash, e.g. "osv/NW-2026-0001.json"
    content: bytes
    content_type: str
    # The content cut where its entries meet (header, one per advisory, footer), for
    # storage as blocks; empty for a file that is stored whole.
    parts: tuple[bytes, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.path.startswith("/") or ".." in self.path.split("/"):
            raise ValueError(f"Artifact paths are relative and stay inside the site: {self.path}")

    @functools.cached_property
    def etag(self) -> str:
        """``etag_of(content)``, computed once (a large page is hashed once a publication)."""
        return etag_of(self.content)

    @classmethod
    def of_parts(cls, path: str, parts: Iterable[bytes], content_type: str) -> Rendered:
        """A file given as the parts it is made of (its content is their join)."""
        pieces = tuple(parts)
        return cls(path, b"".join(pieces), content_type, pieces)


@dataclass
class BuildContext:
    """What builders share during one regeneration; loaded lazily, once."""

    profile: VendorProfile
    changed: Sequence[AdvisorySnapshot] = ()
    # True when every file is being rebuilt (upgrade, profile edit): site builders
    # then write their per-product and per-period files for all of them, not only
    # for the products and periods of ``changed``.
    everything: bool = False
    _all_public: list[AdvisorySnapshot] | None = field(default=None, repr=False)

    def all_public(self) -> list[AdvisorySnapshot]:
        """Every public advisory (published or withdrawn), newest first."""
        if self._all_public is None:
            self._all_public = [snapshot_of(a) for a in public_advisories()]
        return self._all_public


AdvisoryBuilder = Callable[[AdvisorySnapshot, BuildContext], Iterable[Rendered]]
SiteBuilder = Callable[[BuildContext], Iterable[Rendered]]
Warmer = Callable[[VendorProfile], object]
_advisory_builders: dict[str, AdvisoryBuilder] = {}
_site_builders: dict[str, SiteBuilder] = {}
_warmers: dict[str, Warmer] = {}


def advisory_builder(name: str) -> Callable[[AdvisoryBuilder], AdvisoryBuilder]:
    def register(fn: AdvisoryBuilder) -> AdvisoryBuilder:
        _advisory_builders[name] = fn
        return fn

    return register


def site_builder(name: str) -> Callable[[SiteBuilder], SiteBuilder]:
    def register(fn: SiteBuilder) -> SiteBuilder:
        _site_builders[name] = fn
        return fn

    return register


def warmer(name: str) -> Callable[[Warmer], Warmer]:
    """Register what fills a builder's in-process memory of the stored files (the
    lines of the large listings), so that ``warm`` can do it before the first
    publication of a process rather than during it."""

    def register(fn: Warmer) -> Warmer:
        _warmers[name] = fn
        return fn

    return register


def warm() -> None:
    """Fill the builders' memories from the database; errors are logged, not raised.

    Run in the background when a web or worker process starts (``start_warming``):
    its first publication then costs what later ones do (at 10,000 advisories about
    0.5 s instead of 1.4 s)."""
    _load_builders()
    try:
        profile = VendorProfile.get()
    except Exception:
        logger.exception("could not warm the publication builders")
        return
    for name, fn in _warmers.items():
        try:
            fn(profile)
        except Exception:
            logger.exception("could not warm %s", name)


def _warm_then_close() -> None:
    from django.db import connection

    try:
        warm()
    finally:
        connection.close()  # the connection Django opened for this thread


def start_warming() -> threading.Thread | None:
    """``warm`` in a daemon thread, unless ``HERALD_WARM_PUBLISHING`` is off."""
    from django.conf import settings

    if not settings.HERALD_WARM_PUBLISHING:
        return None
    thread = threading.Thread(target=_warm_then_close, name="herald-warm-publishing", daemon=True)
    thread.start()
    return thread


@functools.cache
def _load_builders() -> None:
    """Import the modules that register builders (once, after apps are ready)."""
    from importlib import import_module

    from django.conf import settings

    for module in getattr(settings, "HERALD_ARTIFACT_BUILDERS", ()):
        import_module(module)


def etag_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()[:32]


@dataclass(frozen=True)
class RegenerateResult:
    generation: int
    changed: tuple[str, ...]


def render_all(
    advisories: Iterable[Advisory] | None = None, *, site: bool = True, everything: bool = False
) -> tuple[BuildContext, list[Rendered]]:
    """Render without writing: what publication would produce (also for checks).

    ``site=False`` leaves the site-wide files out (a batch of a full rebuild);
    ``everything=True`` asks site builders for all their files (see BuildContext).
    """
    _load_builders()
    snapshots = [snapshot_of(a) for a in advisories or () if a.is_public]
    context = BuildContext(profile=VendorProfile.get(), changed=snapshots, everything=everything)
    out: list[Rendered] = []
    for snapshot in snapshots:
        for build in _advisory_builders.values():
            out.extend(build(snapshot, context))
    if site:
        for build_site in _site_builders.values():
            out.extend(build_site(context))
    return context, out


def regenerate(
    advisories: Iterable[Advisory] | None = None, *, site: bool = True, everything: bool = False
) -> RegenerateResult:
    """Render for ``advisories`` (plus the site-wide files) and store what changed.

    Runs in the caller's transaction; unchanged files keep their ETag and generation.
    Its duration is recorded beside (``Regeneration``) for the metrics.
    """
    started = time.monotonic()
    with transaction.atomic():
        # The counter's row lock first, rendering after: a second regeneration waits
        # here for the first to commit and then renders the site-wide files with its
        # changes. Rendered before the lock, it would write, last, files without them.
        generation = next_number("artifacts")
        _, rendered = render_all(advisories, site=site, everything=everything)
        now = timezone.now()
        paths = [r.path for r in rendered]
        existing: dict[str, tuple[str, bool]] = {
            path: (etag, bool(listed))
            for path, etag, listed in Artifact.objects.filter(path__in=paths).values_list(
                "path", "etag", "blocks"
            )
        }
        changed: list[str] = []
        for item in rendered:
            etag = item.etag
            before = existing.get(item.path)
            if before is not None and before[0] == etag:
                continue
            values: dict[str, Any] = {
                "content": item.content,
                "blocks": [],
                "content_type": item.content_type,
                "etag": etag,
                "generation": generation,
                "updated_at": now,
            }
            if item.parts and len(item.content) >= blocks.threshold():
                values["content"] = b""
                values["blocks"] = blocks.store(item.path, blocks.group(item.parts))
            elif before is not None and before[1]:
                blocks.drop(item.path)  # stored whole from now on
            # An UPDATE by path, not update_or_create: that reads the old row first,
            # content included (megabytes for the archive and the handbook page).
            if before is None or not Artifact.objects.filter(path=item.path).update(**values):
                Artifact.objects.create(path=item.path, **values)
            existing[item.path] = (etag, bool(values["blocks"]))
            changed.append(item.path)
        Regeneration.objects.create(
            generation=generation,
            finished_at=timezone.now(),
            seconds=time.monotonic() - started,
            changed=len(changed),
        )
    return RegenerateResult(generation=generation, changed=tuple(changed))


def regenerate_everything(*, batch: int = 200) -> RegenerateResult:
    """Every public advisory and every site file: after an upgrade or a profile edit.

    Advisories are rendered ``batch`` at a time, each batch in its own transaction
    (when not called inside one): with 10,000 advisories a single transaction would
    hold every rendered byte in memory and, on SQLite, the write lock for minutes,
    stopping publications meanwhile. The site-wide files come last, once.
    """
    pks = list(public_advisories().order_by("pk").values_list("pk", flat=True))
    changed: list[str] = []
    for start in range(0, len(pks), batch):
        chunk = public_advisories().filter(pk__in=pks[start : start + batch])
        changed.extend(regenerate(list(chunk), site=False).changed)
    last = regenerate(everything=True)
    return RegenerateResult(generation=last.generation, changed=(*changed, *last.changed))


# --- reading stored bytes -----------------------------------------------------------


# The columns ``bodies`` reads a stored artifact from.
BODY_COLUMNS = ("content", "blocks")


def bodies(
    path: str, content: Any, listed: list[str], *, gzip: bool = False
) -> tuple[bytes, bytes | None]:
    """(bytes, gzip form) of an artifact row's ``BODY_COLUMNS``, however it is stored.

    The gzip form comes only with ``gzip`` and only for a file stored as blocks,
    joined from theirs (``blocks.gzip_of``); None tells the caller to compress."""
    if not listed:
        return bytes(content), None
    whole, gz = blocks.load(path, listed, deflated=gzip)
    return whole, gz if gzip else None


def read_many(rows: QuerySet[Artifact]) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of each artifact in ``rows``, joined from blocks when stored so."""
    for path, content, listed in rows.values_list("path", *BODY_COLUMNS).iterator(200):
        yield path, bodies(path, content, listed)[0]


def read_one(path: str) -> bytes | None:
    """The stored bytes of the artifact at ``path``; None when there is none."""
    found = read_with_etag(path)
    return None if found is None else found[1]


def read_with_etag(path: str) -> tuple[str, bytes] | None:
    """(ETag, bytes) of the artifact at ``path``, of one version; None when none.

    Blocks are named by their digest, so the blocks an artifact row lists are
    that row's bytes even if a publication stores a newer version meanwhile (a
    block it has deleted since raises ``blocks.MissingBlock``)."""
    row = Artifact.objects.filter(path=path).values_list("etag", *BODY_COLUMNS).first()
    if row is None:
        return None
    etag, content, listed = row
    return etag, bodies(path, content, listed)[0]
