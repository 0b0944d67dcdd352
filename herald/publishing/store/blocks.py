"""Large artifacts stored as content-defined blocks, so a publication costs what it changes.

At 10,000 advisories three site-wide files are large: the handbook page (~22 MB),
the OSV archive (~12 MB) and the CSAF ROLIE feed (~11 MB). A publication changes a
few kilobytes of each, near the top. Stored whole, every publication wrote all
45 MB to the database, and every machine read them back and compressed them
again: most of the time between "publish" and the public seeing it.

So a builder may give a file as *parts* (its header, one part per advisory, its
footer), and a file of parts larger than ``HERALD_ARTIFACT_BLOCKS_FROM`` is
stored as blocks:

- Parts are grouped into blocks. A block ends after a part whose CRC-32 has its
  low five bits clear (about 32 parts a block) or once it reaches ``MAX_BLOCK``.
  The boundaries depend on the parts' own bytes, not on their positions, so adding
  or changing one advisory changes the block it falls in and leaves the others as
  they were (content-defined chunking, as rsync and backup tools use it).
- Each block is stored once per artifact (``ArtifactBlock``), keyed by its
  SHA-256; the artifact row lists the digests in order. A publication inserts the
  few new blocks and deletes those no longer listed.
- Each block keeps its raw deflate stream, ended by a sync flush. The gzip form of
  the whole file is then a gzip header, the blocks' streams one after another, an
  empty final block, and the CRC-32 and length of the whole: one valid gzip
  member (RFC 1951 lets a stream run over any number of blocks; pigz compresses
  in parallel the same way). No large file is compressed again on a publication.
  Brotli has no such form, so these files are served as gzip or identity.

Readers never see blocks: ``herald.publishing.store.artifacts.read_one`` and
``read_many`` give the bytes of any artifact, however it is stored.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterable, Sequence

from django.conf import settings

from herald.publishing.models import ArtifactBlock

MAX_BLOCK = 1 << 20  # no block grows past this, whatever the parts' checksums say
BOUNDARY_MASK = 0x1F  # a block ends after a part whose CRC-32 & mask == 0
DEFLATE_LEVEL = 6
# RFC 1952: magic, deflate, no flags, no mtime (stable bytes), no extra flags, unknown OS.
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
FINAL_BLOCK = b"\x03\x00"  # an empty fixed-Huffman block with BFINAL set
_DELETE_BATCH = 500


def threshold() -> int:
    """Files of parts at least this large are stored as blocks."""
    return int(settings.HERALD_ARTIFACT_BLOCKS_FROM)


def group(parts: Iterable[bytes]) -> list[bytes]:
    """The blocks of a file given as ``parts``: content-defined, never empty."""
    blocks: list[bytes] = []
    current: list[bytes] = []
    size = 0
    crc32 = zlib.crc32
    for part in parts:
        if not part:
            continue
        current.append(part)
        size += len(part)
        if size >= MAX_BLOCK or not crc32(part) & BOUNDARY_MASK:
            blocks.append(b"".join(current))
            current, size = [], 0
    if current:
        blocks.append(b"".join(current))
    return blocks


def digest_of(block: bytes) -> str:
    return hashlib.sha256(block).hexdigest()


def deflate(block: bytes) -> bytes:
    """``block`` as raw deflate that another block's stream may follow."""
    packer = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    return packer.compress(block) + packer.flush(zlib.Z_SYNC_FLUSH)


def gzip_of(deflated: Iterable[bytes], content: bytes) -> bytes:
    """The gzip member of ``content`` from its blocks' deflate streams, in order."""
    trailer = struct.pack("<LL", zlib.crc32(content), len(content) & 0xFFFFFFFF)
    return b"".join((GZIP_HEADER, *deflated, FINAL_BLOCK, trailer))


def store(path: str, blocks: Sequence[bytes]) -> list[str]:
    """Write the blocks of ``path`` that are not stored yet, delete those it no longer
    uses, and return the digests in order (the artifact row's ``blocks``)."""
    digests = [digest_of(block) for block in blocks]
    have = set(ArtifactBlock.objects.filter(path=path).values_list("digest", flat=True))
    new: dict[str, bytes] = {}
    for digest, block in zip(digests, blocks, strict=True):
        if digest not in have and digest not in new:
            new[digest] = block
    ArtifactBlock.objects.bulk_create(
        [
            ArtifactBlock(path=path, digest=digest, content=block, deflated=deflate(block))
            for digest, block in new.items()
        ],
        batch_size=100,
    )
    drop(path, keep=set(digests), have=have)
    return digests


def drop(path: str, *, keep: set[str] | None = None, have: set[str] | None = None) -> None:
    """Delete the blocks of ``path`` (all, or those not in ``keep``)."""
    if keep is None:
        ArtifactBlock.objects.filter(path=path).delete()
        return
    if have is None:
        have = set(ArtifactBlock.objects.filter(path=path).values_list("digest", flat=True))
    stale = sorted(have - keep)
    for start in range(0, len(stale), _DELETE_BATCH):
        ArtifactBlock.objects.filter(
            path=path, digest__in=stale[start : start + _DELETE_BATCH]
        ).delete()


class MissingBlock(LookupError):
    """An artifact lists a block that is not stored: the database is damaged."""


def load(path: str, digests: Sequence[str], *, deflated: bool = False) -> tuple[bytes, bytes]:
    """(content, gzip) of a file stored as blocks; gzip is b"" unless ``deflated``."""
    columns = ("digest", "content", "deflated") if deflated else ("digest", "content")
    rows = {
        row[0]: row[1:] for row in ArtifactBlock.objects.filter(path=path).values_list(*columns)
    }
    try:
        ordered = [rows[digest] for digest in digests]
    except KeyError as exc:
        raise MissingBlock(f"{path}: block {exc.args[0]} is listed but not stored") from exc
    content = b"".join(bytes(row[0]) for row in ordered)
    if not deflated:
        return content, b""
    return content, gzip_of((bytes(row[1]) for row in ordered), content)
