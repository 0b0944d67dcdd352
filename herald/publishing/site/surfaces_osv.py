"""OSV on the public site: one document per vulnerability of a public advisory, and
the data-source files.

Layout, as osv.dev serves a data source (``gs://osv-vulnerabilities/<ECOSYSTEM>/``):

- ``osv/<ID>.json``: the document; withdrawn advisories stay, with ``withdrawn``.
  ``<ID>`` is the OSV id (``Publisher.osv_id``: "x_" then the advisory's identifier
  by default); an advisory about several vulnerabilities has one document each,
  ``<ID>``, ``<ID>-2``, ``<ID>-3``... (``herald.publishing.render.osv.osv_id_list``).
  An advisory published before ids took a prefix keeps the same bytes (its first
  document's) at ``osv/<identifier>.json``, the address its document was served at, so nothing
  already published moves (``has_former_address``); a newer one has no such copy;
- ``osv/all.zip``: every document, ``<ID>.json`` at the root of the archive;
- ``osv/modified_id.csv``: ``<modified>,<ID>`` per document, newest first, so a
  mirror fetches only what changed since its last run. The time is Herald's last
  change of the advisory (an imported document's ``modified`` stays its source's;
  Herald's is its ``database_specific.herald.modified``).

Each document is validated before it is stored; an invalid one refuses the
publication, naming the advisory field at fault (``herald.publishing.site.surfaces``).
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import Count

from herald.advisories.models import Advisory, SourceDocument, Vulnerability
from herald.advisories.queries import PUBLIC_STATES
from herald.advisories.snapshot import AdvisorySnapshot
from herald.core.caches import ProcessCache
from herald.core.dbfunctions import UtcText
from herald.publishing.models import Artifact
from herald.publishing.render.osv import (
    document_modified,
    document_moment,
    osv_id_list,
    render_osv_documents,
)
from herald.publishing.render.publisher import Publisher, json_bytes
from herald.publishing.render.schemas import osv_schema_problems
from herald.publishing.site.surfaces import (
    CSV,
    JSON,
    ZIP,
    is_stored,
    refuse,
    site_publisher,
    stored,
)
from herald.publishing.store.artifacts import (
    BuildContext,
    Rendered,
    advisory_builder,
    read_many,
    read_one,
    read_with_etag,
    site_builder,
    warmer,
)

ZIP_PATH = "osv/all.zip"

PREFIX = "osv/"
# A fixed member time keeps the archive's bytes (and ETag) stable when no document
# changed; the documents carry their own "modified".
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def osv_path(osv_id: str) -> str:
    return f"{PREFIX}{osv_id}.json"


def has_former_address(identifier: str, publisher: Publisher) -> bool:
    """Whether the advisory's document was served at ``osv/<identifier>.json``, its
    address before OSV ids took a prefix.

    The stored copy there is the record of it: only desks from before the prefix
    wrote one for a new advisory, and a stored file is never deleted (a backup
    carries it). Such an advisory keeps that copy, its identifier as an alias
    and ``/v1/vulns/<identifier>``; one published since has none of them.
    """
    return publisher.osv_id(identifier) != identifier and is_stored(osv_path(identifier))


def render_checked(snapshot: AdvisorySnapshot, publisher: Publisher) -> dict[str, bytes]:
    """OSV id -> bytes of every document of ``snapshot`` (one per vulnerability);
    ``ValidationError`` naming the field if one is invalid."""
    former_id = has_former_address(snapshot.identifier, publisher)
    out: dict[str, bytes] = {}
    for doc in render_osv_documents(snapshot, publisher, former_id=former_id):
        problems = osv_schema_problems(doc, registered=not publisher.osv_id_prefix)
        refuse("OSV", f"OSV {doc['id']}.json", doc, problems)
        out[doc["id"]] = json_bytes(doc)
    return out


@advisory_builder("osv")
def build_osv(snapshot: AdvisorySnapshot, context: BuildContext) -> Iterator[Rendered]:
    publisher = site_publisher(context.profile)
    documents = render_checked(snapshot, publisher)
    for osv_id, content in documents.items():
        yield Rendered(osv_path(osv_id), content, JSON)
    if has_former_address(snapshot.identifier, publisher):
        first = documents[publisher.osv_id(snapshot.identifier)]
        yield Rendered(osv_path(snapshot.identifier), first, JSON)


def _documents(context: BuildContext) -> dict[str, bytes]:
    """OSV id -> OSV bytes of every public document: stored, then the changed ones."""
    docs = {
        path[len(PREFIX) : -len(".json")]: content
        for path, content in stored(PREFIX, ".json").items()
        if "/" not in path[len(PREFIX) :]
    }
    publisher = site_publisher(context.profile)
    for snapshot in context.changed:
        docs |= render_checked(snapshot, publisher)
    public = _public_identifiers(publisher)
    # A stored file whose advisory is no longer public (never the case today: a
    # public advisory stays public), or whose vulnerability the advisory no longer
    # has, must not be listed.
    return {identifier: docs[identifier] for identifier in sorted(public & set(docs))}


def public_osv_ids(publisher: Publisher, **filters: object) -> dict[str, list[str]]:
    """Advisory identifier -> the OSV ids of its documents, for the public advisories
    (narrowed by ``filters`` on ``Advisory``): one per vulnerability, one per CVE id
    as the advisory stores them (``simple_vulnerabilities``)."""
    rows = Advisory.objects.filter(state__in=PUBLIC_STATES, **filters).order_by()
    several = _several_vulnerabilities()
    return {
        identifier: osv_id_list(identifier, several.get(pk, 1), publisher)
        for pk, identifier in rows.values_list("pk", "identifier")
    }


def _several_vulnerabilities() -> dict[int, int]:
    """Advisory pk -> its number of vulnerabilities, for those with more than one.

    Most advisories have one, which is one OSV document as for none: grouping the
    vulnerabilities alone (by their advisory index) and listing only the few with
    several costs a fraction of counting them per advisory in a join, which was a
    quarter of a publication at 10,000 advisories (issue 15's benchmarks)."""
    return dict(
        Vulnerability.objects.order_by()
        .values("advisory_id")
        .annotate(count=Count("pk"))
        .filter(count__gt=1)
        .values_list("advisory_id", "count")
    )


def _source_modified() -> dict[int, dt.datetime]:
    """Advisory pk -> its source's ``modified``, for advisories with exactly one source
    that gives one (few: imported ones)."""
    single = (
        SourceDocument.objects.order_by()
        .values("advisory_id")
        .annotate(count=Count("pk"))
        .filter(count=1)
        .values("advisory_id")
    )
    rows = SourceDocument.objects.filter(advisory_id__in=single).order_by()
    return {
        pk: modified for pk, modified in rows.values_list("advisory_id", "modified") if modified
    }


def _modified(context: BuildContext) -> dict[str, str]:
    """OSV id -> Herald's last change of its advisory (``utc()`` text)."""
    # updated_at is never empty; formatted by the database (see UtcText).
    publisher = site_publisher(context.profile)
    out: dict[str, str] = {}
    # An imported one-vulnerability advisory's document carries its source's
    # ``modified`` (render.osv: ``document_modified``); so does its line here.
    several = _several_vulnerabilities()
    sources = _source_modified()
    for pk, identifier, modified in (
        Advisory.objects.filter(state__in=PUBLIC_STATES)
        .order_by()
        .annotate(modified=UtcText("updated_at"))
        .values_list("pk", "identifier", "modified")
    ):
        count = several.get(pk, 1)
        if count == 1 and pk in sources:
            modified = document_moment(sources[pk])
        for osv_id in osv_id_list(identifier, count, publisher):
            out[osv_id] = modified
    for snapshot in context.changed:
        for number, osv_id in enumerate(
            osv_id_list(snapshot.identifier, len(snapshot.vulnerabilities), publisher)
        ):
            out[osv_id] = document_modified(snapshot, number)
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


def modified_csv(modified: dict[str, str], identifiers: set[str]) -> bytes:
    """osv.dev's modified_id.csv: ``<modified>,<id>`` lines, newest first."""
    rows = sorted(
        ((modified[i], i) for i in identifiers if i in modified),
        key=lambda row: (row[0], row[1]),
        reverse=True,
    )
    return "".join(f"{when},{ident}\n" for when, ident in rows).encode()


# --- all.zip, built from deflated members ------------------------------------------
#
# Deflating 10,000 documents on every publication costs more than the rest of the
# publication. The archive is the documents' deflate streams, each behind a local
# header, then the central directory: so a publication reads the members of the
# stored archive back (their deflated bytes and CRC), deflates only the changed
# documents, and lays the archive out again. The bytes are those ``zip_of`` (the
# ``zipfile`` module) writes for the same documents; the tests hold both to that.
# ``zipfile`` cannot take a member already deflated, so it would deflate them all:
# measured with `bench/caches.py --advisories 500` (two runs, shared machine), one
# member changed, this writer 0.6 ms, ``zipfile`` 121-324 ms, the same bytes.

_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_DOS_TIME = (ZIP_EPOCH[3] << 11) | (ZIP_EPOCH[4] << 5) | (ZIP_EPOCH[5] // 2)
_DOS_DATE = ((ZIP_EPOCH[0] - 1980) << 9) | (ZIP_EPOCH[1] << 5) | ZIP_EPOCH[2]
_EXTERNAL_ATTR = 0o644 << 16
_CREATE_SYSTEM = zipfile.ZipInfo().create_system
_VERSION = 20  # deflate, no ZIP64
_MAX_MEMBERS = 0xFFFF - 1  # beyond, or beyond 4 GiB, zipfile writes ZIP64 records
_MAX_OFFSET = 0xFFFFFFFF - 1


@dataclass(frozen=True)
class Member:
    """One document of the archive: its deflate stream, CRC-32 and size."""

    identifier: str
    crc: int
    size: int
    deflated: bytes


def member_of(identifier: str, content: bytes) -> Member:
    """Deflated as zipfile deflates at level 6 (raw deflate, wbits -15)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = packer.compress(content) + packer.flush()
    return Member(identifier, zlib.crc32(content), len(content), deflated)


def _name(identifier: str) -> tuple[bytes, int]:
    """The member's file name and its flag bits (0x800: the name is UTF-8)."""
    try:
        return f"{identifier}.json".encode("ascii"), 0
    except UnicodeEncodeError:
        return f"{identifier}.json".encode(), 0x800


def zip_from_members(members: Iterable[Member]) -> bytes | None:
    """The archive of ``members`` in the order given; None when it would need ZIP64."""
    parts = zip_parts(members)
    return None if parts is None else b"".join(parts)


def zip_parts(members: Iterable[Member]) -> list[bytes] | None:
    """``zip_from_members`` in pieces: one per member, one per directory record, the
    end record (so that the archive is stored as blocks, see ``Rendered.of_parts``)."""
    parts: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for member in members:
        name, flags = _name(member.identifier)
        local = _LOCAL.pack(
            b"PK\x03\x04",
            _VERSION,
            0,
            flags,
            zipfile.ZIP_DEFLATED,
            _DOS_TIME,
            _DOS_DATE,
            member.crc,
            len(member.deflated),
            member.size,
            len(name),
            0,
        )
        central.append(
            _CENTRAL.pack(
                b"PK\x01\x02",
                _VERSION,
                _CREATE_SYSTEM,
                _VERSION,
                0,
                flags,
                zipfile.ZIP_DEFLATED,
                _DOS_TIME,
                _DOS_DATE,
                member.crc,
                len(member.deflated),
                member.size,
                len(name),
                0,
                0,
                0,
                0,
                _EXTERNAL_ATTR,
                offset,
            )
            + name
        )
        parts.append(b"".join((local, name, member.deflated)))
        offset += len(local) + len(name) + len(member.deflated)
        if offset > _MAX_OFFSET or len(central) > _MAX_MEMBERS:
            return None
    directory_size = sum(len(record) for record in central)
    if offset + directory_size > _MAX_OFFSET:
        return None
    end = _END.pack(b"PK\x05\x06", 0, 0, len(central), len(central), directory_size, offset, 0)
    return [*parts, *central, end]


def members_of(archive: bytes) -> dict[str, Member] | None:
    """The members of an archive ``zip_from_members`` wrote; None for anything else
    (the caller then deflates every document again)."""
    if len(archive) < _END.size or archive[-_END.size : -_END.size + 4] != b"PK\x05\x06":
        return None
    _, _, _, _, count, size, start, comment = _END.unpack_from(archive, len(archive) - _END.size)
    if comment or start + size != len(archive) - _END.size:
        return None
    members: dict[str, Member] = {}
    position = start
    try:
        for _ in range(count):
            fields = _CENTRAL.unpack_from(archive, position)
            if fields[0] != b"PK\x01\x02" or fields[6] != zipfile.ZIP_DEFLATED:
                return None
            crc, packed, size_, name_len, extra_len, comment_len = (
                fields[9],
                fields[10],
                fields[11],
                fields[12],
                fields[13],
                fields[14],
            )
            local_at = fields[18]
            name = archive[position + _CENTRAL.size : position + _CENTRAL.size + name_len]
            position += _CENTRAL.size + name_len + extra_len + comment_len
            local = _LOCAL.unpack_from(archive, local_at)
            if local[0] != b"PK\x03\x04" or local[10] != name_len or local[11] != 0:
                return None
            data_at = local_at + _LOCAL.size + name_len
            filename = name.decode("utf-8")
            if not filename.endswith(".json"):
                return None
            identifier = filename[: -len(".json")]
            members[identifier] = Member(
                identifier, crc, size_, archive[data_at : data_at + packed]
            )
    except (struct.error, UnicodeDecodeError):
        return None
    return members if position == start + size else None


# The members of the archive this process built last, tagged with its ETag. A
# publication reads the stored archive's members only when the stored one is another
# (written by another process, or this process's transaction rolled back): 12 MB read
# and parsed less. Measured with `bench/caches.py --advisories 500` (0.6 MB): the
# members kept, under 0.1 ms; read back and parsed from the stored archive, 10-99 ms.
_last_archive: ProcessCache[str, Member] = ProcessCache("osv archive members")


def _keep_archive(etag: str, members: dict[str, Member]) -> None:
    _last_archive.replace(dict(members), tag=etag)


@warmer("osv-archive")
def _warm_archive(profile: object) -> None:
    stored_archive = read_with_etag(ZIP_PATH)
    members = None if stored_archive is None else members_of(stored_archive[1])
    if stored_archive is not None and members is not None:
        _keep_archive(stored_archive[0], members)


def _public_identifiers(publisher: Publisher) -> set[str]:
    """The OSV ids of the public advisories' documents."""
    return {osv_id for ids in public_osv_ids(publisher).values() for osv_id in ids}


def _members_incrementally(context: BuildContext) -> dict[str, Member] | None:
    """OSV id -> member of every public document, from the stored archive plus
    what changed since; None when there is no usable stored archive."""
    stored_row = Artifact.objects.filter(path=ZIP_PATH).values_list("generation", "etag").first()
    if stored_row is None:
        return None
    row, etag = stored_row
    if _last_archive.tag == etag:
        members = dict(_last_archive.entries())  # the archive this process built is stored
    else:
        archive = read_one(ZIP_PATH)
        parsed = None if archive is None else members_of(archive)
        if parsed is None:
            return None
        members = parsed
    publisher = site_publisher(context.profile)
    fresh: dict[str, bytes] = {}
    for snapshot in context.changed:
        fresh |= render_checked(snapshot, publisher)
    public = _public_identifiers(publisher)
    # Documents stored since the archive was (outside a site regeneration), and
    # public advisories the archive does not hold: read those documents.
    # By generation alone (an index range of a few rows), the paths sifted here.
    newer = Artifact.objects.filter(generation__gt=row).order_by().values_list("path", flat=True)
    wanted = {
        path[len(PREFIX) : -len(".json")]
        for path in newer
        if path.startswith(PREFIX) and path.endswith(".json") and "/" not in path[len(PREFIX) :]
    }
    wanted |= public - set(members)
    wanted &= public  # not the copies at the documents' former addresses
    wanted -= set(fresh)
    if wanted:
        for path, content in read_many(
            Artifact.objects.filter(path__in=[osv_path(identifier) for identifier in wanted])
        ):
            fresh[path[len(PREFIX) : -len(".json")]] = content
        # A public advisory without a stored document is not listed, as before.
        for identifier in wanted - set(fresh):
            members.pop(identifier, None)
    for identifier, content in fresh.items():
        members[identifier] = member_of(identifier, content)
    return {identifier: members[identifier] for identifier in sorted(public & set(members))}


@site_builder("osv-index")
def build_osv_index(context: BuildContext) -> Iterator[Rendered]:
    if not context.changed and not context.everything and is_stored(ZIP_PATH):
        # No advisory changed in this regeneration: the archive and index stand.
        return
    members = None if context.everything else _members_incrementally(context)
    if members is None:
        docs = _documents(context)
        members = {
            identifier: member_of(identifier, content) for identifier, content in docs.items()
        }
    parts = zip_parts(members.values())
    if parts is None:
        yield Rendered(ZIP_PATH, zip_of(_documents(context)), ZIP)
    else:  # in parts (one per document): the archive of 10,000 is stored as blocks
        archive = Rendered.of_parts(ZIP_PATH, parts, ZIP)
        _keep_archive(archive.etag, members)
        yield archive
    yield Rendered(f"{PREFIX}modified_id.csv", modified_csv(_modified(context), set(members)), CSV)
