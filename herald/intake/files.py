"""Files from outside: what they really are, what they may be called, and where they live.

The type of an attachment is detected from its first bytes; what the sender
declared is recorded but never trusted. Files are stored by content hash under
the intake storage root (HERALD_HOME/intake), which no web server serves.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from herald.intake.conf import storage_root

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
    (b"MZ", "application/x-msdownload"),
    (b"\x7fELF", "application/x-executable"),
    (b"-----BEGIN PGP SIGNATURE-----", "application/pgp-signature"),
    (b"-----BEGIN PGP PUBLIC KEY BLOCK-----", "application/pgp-keys"),
)
_HTML = re.compile(rb"^\s*(<!doctype html|<html|<script|<svg|<\?xml)", re.IGNORECASE)


def detect_type(data: bytes) -> str:
    """The content type the bytes themselves show.

    Markup is called ``text/html`` even when it was sent as text: it is refused,
    because a browser that ever rendered it would run its script.
    """
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    head = data[:4096]
    if _HTML.match(head):
        return "text/html"
    if b"\x00" in head:
        return "application/octet-stream"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the 4096th byte is still text.
        if exc.start < len(head) - 4:
            return "application/octet-stream"
    return "text/plain"


def safe_filename(name: str | None, fallback: str) -> str:
    """A file name with no path, no control characters, of sensible length."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = name.strip().strip(".")
    if not name:
        return fallback
    if len(name) > 120:
        stem, dot, ext = name.rpartition(".")
        name = (stem[:100] + dot + ext[:16]) if dot and len(ext) <= 16 else name[:120]
    return name


@dataclass(frozen=True)
class Stored:
    path: str
    sha256: str
    size: int


def store_bytes(data: bytes, folder: str) -> Stored:
    """Write ``data`` once, named by its hash; return where, relative to the storage root."""
    digest = hashlib.sha256(data).hexdigest()
    relative = Path(folder) / digest[:2] / digest
    target = storage_root() / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temp = target.with_name(f".{digest}.{os.getpid()}.tmp")
        # Written then renamed: a reader never sees half a file, and a crash
        # leaves only a temp file behind, never a wrong one under the hash.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(temp, target)
    return Stored(path=str(relative), sha256=digest, size=len(data))


def open_stored(path: str) -> Path:
    """The file for a stored relative path; refuses anything outside the storage root."""
    root = storage_root().resolve()
    target = (root / path).resolve()
    if root not in target.parents:
        raise FileNotFoundError(path)
    return target
