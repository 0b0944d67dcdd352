"""OSV on the public site: one document per public advisory, and the data-source files.

Layout, as osv.dev serves a data source (``gs://osv-vulnerabilities/<ECOSYSTEM>/``):

- ``osv/<ID>.json``: the document; withdrawn advisories stay, with ``withdrawn``;
- ``osv/all.zip``: every document, ``<ID>.json`` at the root of the archive;
- ``osv/modified_id.csv``: ``<modified>,<ID>`` per document, newest first, so a
  mirror fetches only what changed since its last run.

Each document is validated before it is stored; an invalid one refuses the
publication, naming the advisory field at fault (``herald.publishing.surfaces``).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator

from herald.advisories.models import Advisory
from herald.advisories.queries import PUBLIC_STATES
from herald.advisories.snapshot import AdvisorySnapshot
from herald.publishing.artifacts import BuildContext, Rendered, advisory_builder, site_builder
from herald.publishing.osv import render_osv
from herald.publishing.publisher import Publisher, json_bytes, utc
from herald.publishing.schemas import osv_problems
from herald.publishing.surfaces import (
    CSV,
    JSON,
    ZIP,
    is_stored,
    refuse,
    site_publisher,
    stored,
)

PREFIX = "osv/"
# A fixed member time keeps the archive's bytes (and ETag) stable when no document
# changed; the documents carry their own "modified".
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def osv_path(identifier: str) -> str:
    return f"{PREFIX}{identifier}.json"


def render_checked(snapshot: AdvisorySnapshot, publisher: Publisher) -> bytes:
    """The OSV bytes of ``snapshot``; ``ValidationError`` naming the field if invalid."""
    doc = render_osv(snapshot, publisher)
    problems = osv_problems(doc, ecosystems=frozenset({publisher.ecosystem}))
    refuse("OSV", f"OSV {snapshot.identifier}.json", doc, problems)
    return json_bytes(doc)


@advisory_builder("osv")
def build_osv(snapshot: AdvisorySnapshot, context: BuildContext) -> Iterator[Rendered]:
    publisher = site_publisher(context.profile)
    yield Rendered(osv_path(snapshot.identifier), render_checked(snapshot, publisher), JSON)


def _documents(context: BuildContext) -> dict[str, bytes]:
    """identifier -> OSV bytes of every public advisory: stored, then the changed ones."""
    docs = {
        path[len(PREFIX) : -len(".json")]: content
        for path, content in stored(PREFIX, ".json").items()
        if "/" not in path[len(PREFIX) :]
    }
    publisher = site_publisher(context.profile)
    for snapshot in context.changed:
        docs[snapshot.identifier] = render_checked(snapshot, publisher)
    public = set(
        Advisory.objects.filter(state__in=PUBLIC_STATES).values_list("identifier", flat=True)
    )
    # A stored file whose advisory is no longer public (never the case today: a
    # public advisory stays public) must not be listed.
    return {identifier: docs[identifier] for identifier in sorted(public & set(docs))}


def _modified(context: BuildContext) -> dict[str, dt.datetime]:
    """identifier -> the OSV "modified" of each public advisory, from the table."""
    # updated_at is never empty, so it is what the renderer's modified_at() gives.
    out: dict[str, dt.datetime] = dict(
        Advisory.objects.filter(state__in=PUBLIC_STATES).values_list("identifier", "updated_at")
    )
    for snapshot in context.changed:
        moment = snapshot.updated_at or snapshot.withdrawn_at or snapshot.published_at
        if moment is not None:
            out[snapshot.identifier] = moment
    return out


def zip_of(docs: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for identifier, content in docs.items():
            info = zipfile.ZipInfo(f"{identifier}.json", date_time=ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, content)
    return buffer.getvalue()


def modified_csv(modified: dict[str, dt.datetime], identifiers: set[str]) -> bytes:
    rows = sorted(
        ((utc(modified[i]), i) for i in identifiers if i in modified),
        key=lambda row: (row[0], row[1]),
        reverse=True,
    )
    return "".join(f"{when},{ident}\n" for when, ident in rows).encode()


@site_builder("osv-index")
def build_osv_index(context: BuildContext) -> Iterator[Rendered]:
    if not context.changed and not context.everything and is_stored(f"{PREFIX}all.zip"):
        # No advisory changed in this regeneration: the archive and index stand.
        return
    docs = _documents(context)
    yield Rendered(f"{PREFIX}all.zip", zip_of(docs), ZIP)
    yield Rendered(f"{PREFIX}modified_id.csv", modified_csv(_modified(context), set(docs)), CSV)
