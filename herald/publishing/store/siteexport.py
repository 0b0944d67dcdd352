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

Speed (a full export writes three files for each of tens of thousands of
artifacts): the bytes, and their gzip and brotli forms, come from this
machine's served copy (``HERALD_SITE_DIR``, see ``serving``) whenever its bundle
holds the same ETag, so nothing is compressed twice; only the artifacts without
a current bundle are read from the database (streamed, only the columns needed)
and compressed here. The files are written by worker processes (forked, one per
core: Python holds the GIL between system calls, processes do not share it).
Into an empty directory the files are written at their paths directly; into a
directory exported before, each one is written beside and renamed over, so a
static server reading it sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import itertools
import json
import multiprocessing
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from herald.core.errors import HeraldError
from herald.publishing.models import Artifact
from herald.publishing.store.artifacts import BODY_COLUMNS, bodies, etag_of
from herald.publishing.store.serving import MAGIC, compress, safe_relative

MANIFEST = ".herald-export.json"
TMP = ".herald-tmp"
LOCK = ".herald-export.lock"
SIBLINGS = (".gz", ".br")
PARALLEL_MIN = 500  # fewer files than this: write them in this process (forking costs more)
BATCH = 256  # artifacts per task sent to a worker process, and rows per database fetch


@dataclass(frozen=True)
class ExportResult:
    written: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: int

    @property
    def changed(self) -> tuple[str, ...]:
        return (*self.written, *self.removed)


@dataclass(frozen=True)
class _Plan:
    """What every writer (this process or a worker) needs to know, fixed per export."""

    root: str
    tmp: str
    bundles: str  # the served copy's files/ directory
    fresh: bool  # the directory held nothing: write at the final paths, no rename
    precompress: bool
    chmod: bool  # the umask would not leave a new file readable by the web server


# One artifact to write: (path, etag, content type, mtime, content or None to take
# it from the served copy's bundle, its gzip form when stored as blocks or None).
_Job = tuple[str, str, str, float, bytes | None, bytes | None]


def export_site(directory: Path | str, *, precompress: bool = True) -> ExportResult:
    """Write (or bring up to date) the public surface under ``directory``."""
    root = Path(directory)
    if root.exists() and not root.is_dir():
        raise HeraldError(f"{root} is not a directory")
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root):
        return _export(root, precompress=precompress)


def _export(root: Path, *, precompress: bool) -> ExportResult:
    fresh = _is_empty(root)
    record = None if fresh else _read_manifest(root)
    meta: dict[str, tuple[str, str, float]] = {
        path: (etag, content_type, updated_at.timestamp())
        for path, etag, content_type, updated_at in Artifact.objects.values_list(
            "path", "etag", "content_type", "updated_at"
        ).order_by()
        if safe_relative(path) is not None
    }
    wanted = {path: value[0] for path, value in meta.items()}
    if record is None:
        record = {} if fresh else _hash_existing(root, wanted)
    stale = [path for path, etag in wanted.items() if record.get(path) != etag]
    if not fresh:
        # Someone may have deleted an exported file by hand: write it again.
        stale_set = set(stale)
        stale += [p for p in wanted if p not in stale_set and not (root / p).is_file()]
    tmp = root / TMP
    tmp.mkdir(exist_ok=True)
    plan = _Plan(
        root=str(root),
        tmp=str(tmp),
        bundles=str(Path(settings.HERALD_SITE_DIR) / "files"),
        fresh=fresh,
        precompress=precompress,
        chmod=_umask() & 0o644 != 0,
    )
    written: list[str] = []
    try:
        _make_directories(root, stale)
        jobs = [(path, *meta[path], None, None) for path in stale]
        with _Writers(plan, parallel=len(stale) >= PARALLEL_MIN) as writers:
            missing: list[str] = []
            for path, done in writers.run(jobs):
                (written if done else missing).append(path)
            # No current bundle in the served copy: from the database, compressed here.
            for path, done in writers.run(_from_database(missing, meta)):
                assert done
                written.append(path)
        for path in written:
            record[path] = wanted[path]
        removed = sorted(set(record) - set(wanted))
        for path in removed:
            for name in (path, *(path + suffix for suffix in SIBLINGS)):
                with contextlib.suppress(FileNotFoundError):
                    (root / name).unlink()
            del record[path]
        _write_manifest(root, plan, record)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ExportResult(tuple(sorted(written)), tuple(removed), len(wanted) - len(written))


def _from_database(paths: list[str], meta: dict[str, tuple[str, str, float]]) -> Iterator[_Job]:
    """The stored bytes of ``paths``, streamed a batch of rows at a time."""
    if not paths:
        return
    columns = ("path", *BODY_COLUMNS)
    if len(paths) * 2 > len(meta):
        # Most of the table: one pass over it beats thousands of IN lists.
        wanted = set(paths)
        rows: Iterable[tuple[str, Any, Any]] = (
            row
            for row in Artifact.objects.values_list(*columns).order_by().iterator(BATCH)
            if row[0] in wanted
        )
    else:
        rows = itertools.chain.from_iterable(
            Artifact.objects.filter(path__in=paths[start : start + BATCH])
            .values_list(*columns)
            .order_by()
            for start in range(0, len(paths), BATCH)
        )
    for path, content, listed in rows:
        # Stored as blocks: the gzip form comes joined from theirs, no brotli form.
        yield (path, *meta[path], *bodies(path, content, listed, gzip=True))


class _Writers:
    """Write jobs in worker processes (or here, for a few), a batch per task.

    Batches are handed out as the database rows arrive, from this thread only
    (a database connection belongs to its thread), two at a time so that the
    workers write while the next batch is read.
    """

    def __init__(self, plan: _Plan, *, parallel: bool) -> None:
        self.plan = plan
        self.pool: Any = None
        self.processes = os.cpu_count() or 1
        if parallel and self.processes > 1:
            # fork: the workers inherit the plan and never touch the database.
            context = multiprocessing.get_context("fork")
            self.pool = context.Pool(self.processes, _init_worker, (plan,))

    def __enter__(self) -> _Writers:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self.pool is not None:
            # close(), not terminate(), when all went well: terminate() can kill a
            # worker while it holds the task queue's lock, and the next worker then
            # waits on that lock for ever (seen once in CI: the export hung).
            if exc_type is None:
                self.pool.close()
            else:
                self.pool.terminate()
            self.pool.join()

    def run(self, jobs: Iterable[_Job]) -> Iterator[tuple[str, bool]]:
        batches = _batched(jobs, BATCH)
        if self.pool is None:
            for batch in batches:
                yield from _write_batch(batch, self.plan)
            return
        pending: list[Any] = []
        width = 2 * self.processes
        for batch in batches:
            pending.append(self.pool.apply_async(_write_batch, (batch,)))
            while len(pending) >= width:
                yield from pending.pop(0).get()
        for result in pending:
            yield from result.get()


def _batched(items: Iterable[_Job], size: int) -> Iterator[list[_Job]]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


_PLAN: _Plan | None = None


def _init_worker(plan: _Plan) -> None:
    global _PLAN
    _PLAN = plan


def _write_batch(batch: list[_Job], plan: _Plan | None = None) -> list[tuple[str, bool]]:
    plan = plan or _PLAN
    assert plan is not None
    return [(job[0], _write_one(job, plan)) for job in batch]


def _write_one(job: _Job, plan: _Plan) -> bool:
    """Write one artifact and its siblings; False when its bundle was not current."""
    path, etag, content_type, mtime, content, joined_gz = job
    if content is None:
        bodies = _current_bundle(plan.bundles, path, etag)
        if bodies is None:
            return False
        content, gz, br = bodies
        if not plan.precompress:
            gz = br = b""
    elif plan.precompress and joined_gz is not None:
        gz, br = joined_gz, b""
    elif plan.precompress:
        gz, br = compress(content, content_type, fast=True)
    else:
        gz = br = b""
    target = os.path.join(plan.root, path)
    # Siblings first, the file itself last: a server never pairs a new file with an
    # old compressed copy for long, and a stale sibling is removed, not left behind.
    for suffix, data in ((".gz", gz), (".br", br)):
        if data:
            _put(plan, target + suffix, data, mtime)
        elif not plan.fresh:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(target + suffix)
    _put(plan, target, content, mtime)
    return True


def _current_bundle(files: str, path: str, etag: str) -> tuple[bytes, bytes, bytes] | None:
    """(plain, gzip, brotli) from the served copy when its bundle holds ``etag``.

    The same layout as ``serving.unpack``, read here without the JSON of the bodies'
    headers twice; the plain bytes are checked against the ETag, so a damaged or
    half-written bundle is never exported.
    """
    try:
        with open(os.path.join(files, path), "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    if not data.startswith(MAGIC):
        return None
    try:
        end = data.index(b"\n", len(MAGIC))
        header = json.loads(data[len(MAGIC) : end])
        if header["etag"] != etag:
            return None
        raw, gz, br = (int(size) for size in header["sizes"])
    except (ValueError, KeyError, TypeError):
        return None
    start = end + 1
    if len(data) != start + raw + gz + br:
        return None
    plain = data[start : start + raw]
    if etag_of(plain) != etag:
        return None
    return plain, data[start + raw : start + raw + gz], data[start + raw + gz :]


def _put(plan: _Plan, target: str, data: bytes, mtime: float) -> None:
    """Write ``target`` with ``mtime``: in place into a fresh export, else by rename."""
    if plan.fresh:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            _fill(fd, data, mtime, plan.chmod)
        finally:
            os.close(fd)
        return
    temporary = os.path.join(plan.tmp, f"{os.getpid()}-{next(_names)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    try:
        try:
            _fill(fd, data, mtime, plan.chmod)
        finally:
            os.close(fd)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


_names = itertools.count()


def _fill(fd: int, data: bytes, mtime: float, chmod: bool) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    if chmod:
        os.fchmod(fd, 0o644)  # a static server must read it, whatever the umask
    os.utime(fd, (mtime, mtime))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _is_empty(root: Path) -> bool:
    """Nothing in the directory but this module's own lock (and a crashed run's scratch)."""
    with os.scandir(root) as entries:
        return all(entry.name in (LOCK, TMP) for entry in entries)


def _make_directories(root: Path, paths: Iterable[str]) -> None:
    """Every directory the files need, each created once, parents before children."""
    made: set[str] = set()
    for path in paths:
        parent = os.path.dirname(path)
        if parent and parent not in made:
            os.makedirs(os.path.join(root, parent), exist_ok=True)
            while parent and parent not in made:
                made.add(parent)
                parent = os.path.dirname(parent)


def _read_manifest(root: Path) -> dict[str, str] | None:
    try:
        data = json.loads((root / MANIFEST).read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        return None
    return {str(k): str(v) for k, v in data.get("files", {}).items()}


def _write_manifest(root: Path, plan: _Plan, record: dict[str, str]) -> None:
    data = json.dumps({"format": 1, "files": dict(sorted(record.items()))}, indent=0)
    atomic = dataclasses.replace(plan, fresh=False)  # always by rename: the next run reads it
    _put(atomic, str(root / MANIFEST), data.encode(), os.path.getmtime(plan.tmp))


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
    fd = os.open(root / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
