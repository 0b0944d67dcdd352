"""``herald export site DIR``: the whole public surface as files, for any static host or CDN.

Every artifact is written at its path (``security/advisories/index.html``...),
with ``.gz`` and ``.br`` siblings where compression pays (nginx ``gzip_static``
and ``brotli_static`` serve them as they are), and its modification time set to
the artifact's, so a static server's Last-Modified matches ``herald serve``.

``DIR/.herald-export.json`` records the ETag of each file written. Exporting
again compares the database's ETags with it and rewrites only what changed,
removes what is no longer published, and leaves every other file untouched (its
mtime too, so rsync, ``aws s3 sync`` and CDN purges see only the change). A
directory without the record is compared by hashing the files already there.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from herald.core.errors import HeraldError
from herald.publishing.artifacts import etag_of
from herald.publishing.models import Artifact
from herald.publishing.serving import compress, safe_relative

MANIFEST = ".herald-export.json"
TMP = ".herald-tmp"
SIBLINGS = (".gz", ".br")


@dataclass(frozen=True)
class ExportResult:
    written: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int

    @property
    def changed(self) -> tuple[str, ...]:
        return (*self.written, *self.removed)


def export_site(directory: Path | str, *, precompress: bool = True) -> ExportResult:
    """Write (or bring up to date) the public surface under ``directory``."""
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise HeraldError(f"{root} is not a directory")
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        return _export(root, precompress=precompress)


def _export(root: Path, *, precompress: bool) -> ExportResult:
    record = _read_manifest(root)
    wanted = {
        path: etag
        for path, etag in Artifact.objects.values_list("path", "etag")
        if safe_relative(path) is not None
    }
    if record is None:
        record = _hash_existing(root, wanted)
    stale = [path for path, etag in wanted.items() if record.get(path) != etag]
    # Someone may have deleted an exported file by hand: write it again.
    stale += [path for path in wanted if path not in stale and not (root / path).is_file()]
    tmp = root / TMP
    tmp.mkdir(exist_ok=True)
    written: list[str] = []
    try:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for start in range(0, len(stale), 200):
                rows = Artifact.objects.filter(path__in=stale[start : start + 200]).only(
                    "path", "content", "content_type", "etag", "updated_at"
                )
                jobs = [(root, tmp, row, precompress) for row in rows]
                for path in pool.map(_write_one, jobs):
                    record[path] = wanted[path]
                    written.append(path)
        removed = sorted(set(record) - set(wanted))
        for path in removed:
            for name in (path, *(path + suffix for suffix in SIBLINGS)):
                with contextlib.suppress(FileNotFoundError):
                    (root / name).unlink()
            del record[path]
        _write_manifest(root, tmp, record)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ExportResult(tuple(sorted(written)), tuple(removed), len(wanted) - len(written))


def _write_one(job: tuple[Path, Path, Any, bool]) -> str:
    root, tmp, row, precompress = job
    content = bytes(row.content)
    target = root / row.path
    target.parent.mkdir(parents=True, exist_ok=True)
    mtime = row.updated_at.timestamp()
    gz, br = compress(content, row.content_type, fast=True) if precompress else (b"", b"")
    # Siblings first, the file itself last: a server never pairs a new file with an
    # old compressed copy for long, and a stale sibling is removed, not left behind.
    for suffix, data in ((".gz", gz), (".br", br)):
        sibling = target.with_name(target.name + suffix)
        if data:
            _replace(tmp, sibling, data, mtime)
        else:
            with contextlib.suppress(FileNotFoundError):
                sibling.unlink()
    _replace(tmp, target, content, mtime)
    return str(row.path)


def _replace(tmp: Path, target: Path, data: bytes, mtime: float) -> None:
    fd, temporary = tempfile.mkstemp(dir=tmp)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; a static server must read it
        os.utime(temporary, (mtime, mtime))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_manifest(root: Path) -> dict[str, str] | None:
    try:
        data = json.loads((root / MANIFEST).read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        return None
    return {str(k): str(v) for k, v in data.get("files", {}).items()}


def _write_manifest(root: Path, tmp: Path, record: dict[str, str]) -> None:
    data = json.dumps({"format": 1, "files": dict(sorted(record.items()))}, indent=0)
    _replace(tmp, root / MANIFEST, data.encode(), os.path.getmtime(tmp))


def _hash_existing(root: Path, wanted: dict[str, str]) -> dict[str, str]:
    """For a directory exported before without a record (or by an older version)."""
    found: dict[str, str] = {}
    for path in wanted:
        with contextlib.suppress(OSError):
            found[path] = etag_of((root / path).read_bytes())
    return found


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    """Two exports of one directory at once (two workers) would race; take turns."""
    fd = os.open(root / ".herald-export.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
