"""Serving published artifacts without the database or Django on the request path.

Two parts:

**The site copy** (``SiteStore``, ``sync``). Each machine keeps the artifacts on
its disk under ``HERALD_SITE_DIR`` (default ``HERALD_HOME/site``): one *bundle*
file per artifact at ``files/<path>``, holding a header (ETag, content type,
Last-Modified) and the bytes as stored, gzip-compressed and brotli-compressed,
each precompressed once here rather than per request. ``sync`` copies the rows
whose generation is newer than the copy's (the incremental case), or compares
every ETag (a new machine, a restored database), writes each bundle with an
atomic rename, and then replaces ``STATE``. A file lock lets one process at a
time sync a directory.

Who syncs: the process that committed a publication, right after the commit
(``sync_after_commit``), which covers a single machine at once; and in every web
process a poller thread that asks the database for ``max(generation)`` (one
index lookup) every ``HERALD_SITE_POLL`` seconds, which covers other machines,
the worker, the CLI, and a missed sync. The poller never runs on the request
path: when the database is locked or gone, requests keep being answered from
the copy.

**The front** (``Front``), a WSGI app placed before Django (``herald.wsgi``).
For GET and HEAD it maps the URL to a bundle (``/x/`` is ``x/index.html``),
keeps recently served bundles in process memory, and answers with a strong
ETag per encoding, Last-Modified, 304 for ``If-None-Match`` /
``If-Modified-Since``, ``Cache-Control`` for CDNs and ``Vary: Accept-Encoding``.
Anything else (not an artifact, another method, an HTML page requested with a
session cookie, which may carry messages) goes to Django. Each process checks
``STATE`` (one ``stat``) at most every ``CHECK_INTERVAL`` seconds and drops its
memory copy when it changed, so the bundles of one sync replace the previous
ones together: a new advisory appears on every surface within a poll interval
plus the sync, well under a second.

Why files rather than a per-process copy of every artifact in memory: memory
stays one cached working set per process plus the OS page cache, shared by all
processes (10,000 advisories make about 100,000 files with their compressed
forms); a process that starts while the database is unreachable still serves;
and the database sees one small poll per process instead of every process
loading every artifact after every publication.
"""

from __future__ import annotations

import contextlib
import email.utils
import fcntl
import itertools
import json
import logging
import os
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brotli
from django.conf import settings

from herald.core.security_headers import security_headers, wsgi_is_secure

logger = logging.getLogger(__name__)

MAGIC = b"HERALD-ARTIFACT 1\n"
CHECK_INTERVAL = 0.05  # seconds between two looks at STATE in a serving process
ENCODINGS = ("identity", "gzip", "br")
# Smaller files go out as they are (nginx's guides set gzip_min_length 1000 alike):
# a compressed 700-byte signature saves a packet's tail, and an export would write
# two more files for each of the 10,000 .asc signatures.
COMPRESS_FROM = 1024
HEALTHZ = b'{"status": "ok"}'
HEALTHZ_HEADERS = (
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("Content-Length", str(len(HEALTHZ))),
)
StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


# ---------------------------------------------------------------- compression


def compressible(content_type: str) -> bool:
    kind = content_type.split(";", 1)[0].strip().lower()
    return (
        kind.startswith("text/")
        or kind.endswith(("+xml", "+json", "/json", "/xml", "/javascript"))
        or kind in ("application/pgp-keys", "application/pgp-signature")
    )


def compress(content: bytes, content_type: str, *, fast: bool = False) -> tuple[bytes, bytes]:
    """(gzip, brotli) forms of ``content``; empty when not worth sending.

    Levels trade size for time: a publication compresses a few files and can afford
    more effort (``fast=False``); a full export compresses every file, and very large
    ones (the handbook page of 10,000 advisories) are compressed fast either way so
    that a publication stays visible within a second.
    """
    if len(content) < COMPRESS_FROM or not compressible(content_type):
        return b"", b""
    large = len(content) > 1_000_000
    # gzip 9 saves ~2% over 6 at ten times the time: not worth it anywhere.
    gzip_level = 1 if large else 6
    brotli_quality = 4 if large else (5 if fast else 9)
    # wbits 31: a gzip container, which is what "Content-Encoding: gzip" means.
    packer = zlib.compressobj(gzip_level, zlib.DEFLATED, 31)
    gz = packer.compress(content) + packer.flush()
    br = brotli.compress(content, quality=brotli_quality)
    limit = len(content) * 0.95  # not worth a variant when it saves almost nothing
    return (gz if len(gz) < limit else b""), (br if len(br) < limit else b"")


# ---------------------------------------------------------------- the site copy


@dataclass(frozen=True)
class Bundle:
    etag: str
    content_type: str
    modified: int  # Last-Modified, seconds since the epoch (HTTP dates are whole seconds)
    bodies: tuple[bytes, bytes, bytes]  # identity, gzip, br (b"" when absent)


def pack(content: bytes, content_type: str, etag: str, modified: float, *,
         fast: bool = False, gz: bytes | None = None) -> bytes:  # fmt: skip
    """The bundle of one artifact; ``gz`` given (a file stored as blocks, see
    ``herald.publishing.store.blocks``) is its gzip form, and it gets no brotli form."""
    if gz is None:
        gz, br = compress(content, content_type, fast=fast)
    else:
        br = b""
    header = {
        "etag": etag,
        "type": content_type,
        "modified": int(modified),
        "sizes": [len(content), len(gz), len(br)],
    }
    return MAGIC + json.dumps(header).encode() + b"\n" + content + gz + br


def unpack(data: bytes) -> Bundle:
    if not data.startswith(MAGIC):
        raise ValueError("not an artifact bundle")
    end = data.index(b"\n", len(MAGIC))
    header = json.loads(data[len(MAGIC) : end])
    raw, gz, br = header["sizes"]
    start = end + 1
    bodies = (
        data[start : start + raw],
        data[start + raw : start + raw + gz],
        data[start + raw + gz : start + raw + gz + br],
    )
    return Bundle(header["etag"], header["type"], int(header["modified"]), bodies)


def read_header(path: Path) -> dict[str, Any] | None:
    try:
        with path.open("rb") as fh:
            head = fh.read(len(MAGIC) + 4096)
    except OSError:
        return None
    if not head.startswith(MAGIC) or b"\n" not in head[len(MAGIC) :]:
        return None
    end = head.index(b"\n", len(MAGIC))
    header: dict[str, Any] = json.loads(head[len(MAGIC) : end])
    return header


def safe_relative(path: str) -> str | None:
    """``path`` as a file name under the site, or None when it could leave it."""
    if not path or "\x00" in path or "\\" in path:
        return None
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    return path


class SiteStore:
    """The served copy of the artifacts on this machine's disk."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root or settings.HERALD_SITE_DIR)
        self.files = self.root / "files"
        self.tmp = self.root / "tmp"
        self.state_path = self.root / "STATE"

    def ensure(self) -> None:
        for directory in (self.root, self.files, self.tmp):
            directory.mkdir(parents=True, exist_ok=True)

    def bundle_path(self, artifact_path: str) -> Path:
        relative = safe_relative(artifact_path)
        if relative is None:
            raise ValueError(f"unsafe artifact path {artifact_path!r}")
        return self.files / relative

    def read_state(self) -> dict[str, int]:
        try:
            data = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}
        return {k: int(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def write_state(self, generation: int, count: int) -> None:
        state = {"generation": generation, "count": count, "synced_at": time.time_ns()}
        self._replace(self.state_path, json.dumps(state).encode())

    def write(self, artifact_path: str, data: bytes) -> bool:
        """Write a packed bundle; True when the path did not exist before."""
        target = self.bundle_path(artifact_path)
        created = not target.exists()
        target.parent.mkdir(parents=True, exist_ok=True)
        self._replace(target, data)
        return created

    def remove(self, artifact_path: str) -> None:
        with contextlib.suppress(FileNotFoundError, ValueError):
            self.bundle_path(artifact_path).unlink()

    def local_etags(self) -> dict[str, str]:
        """path -> ETag of every bundle on disk (reads each header: for full syncs only)."""
        found: dict[str, str] = {}
        for directory, _, names in os.walk(self.files):
            for name in names:
                path = Path(directory) / name
                header = read_header(path)
                if header is not None:
                    found[path.relative_to(self.files).as_posix()] = str(header["etag"])
        return found

    @contextlib.contextmanager
    def locked(self, *, blocking: bool) -> Iterator[bool]:
        """Hold the directory's sync lock; yields False when another process holds it."""
        self.ensure()
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # closing releases the lock

    def _replace(self, target: Path, data: bytes) -> None:
        # Written beside, then renamed over: a reader sees the old file or the new one.
        fd, temporary = tempfile.mkstemp(dir=self.tmp, prefix="part-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


@dataclass(frozen=True)
class SyncResult:
    generation: int
    written: tuple[str, ...]
    removed: tuple[str, ...]
    full: bool


def database_generation() -> int:
    """The newest artifact generation in the database: one index lookup."""
    from django.db.models import Max

    from herald.publishing.models import Artifact

    return int(Artifact.objects.aggregate(g=Max("generation"))["g"] or 0)


def sync(store: SiteStore | None = None, *, blocking: bool = True,
         full: bool = False) -> SyncResult | None:  # fmt: skip
    """Bring this machine's copy up to the database; None when another process is at it."""
    from django.db.models import Count, Max

    from herald.publishing.models import Artifact

    store = store or SiteStore()
    with store.locked(blocking=blocking) as held:
        if not held:
            return None
        state = store.read_state()
        totals = Artifact.objects.aggregate(g=Max("generation"), n=Count("id"))
        generation, count = int(totals["g"] or 0), int(totals["n"])
        if not full and state.get("generation") == generation and state.get("count") == count:
            return SyncResult(generation, (), (), False)
        incremental = not full and "generation" in state and generation >= state["generation"]
        if incremental:
            rows = Artifact.objects.filter(generation__gt=state["generation"])
            # A publication brings a few files: compress them well. A rebuild of
            # everything brings thousands: compress them fast.
            fast = rows.count() > 1000
            written, created = _write_rows(store, rows, fast=fast)
            if state.get("count", 0) + created == count:
                store.write_state(generation, count)
                return SyncResult(generation, written, (), False)
            # Rows went missing or appeared outside the generations seen (a restored
            # or replaced database): compare everything.
        return _full_sync(store, generation, count)


def _write_rows(store: SiteStore, rows: Any, *, fast: bool) -> tuple[tuple[str, ...], int]:
    from herald.publishing.store.artifacts import bodies

    # (path, content, content type, etag, modified, gzip form or None to compress)
    Job = tuple[str, bytes, str, str, float, bytes | None]

    def job(row: Any) -> Job:
        # In this thread, which owns the database connection: a file stored as
        # blocks is read whole here, its gzip form joined from theirs.
        content, gz = bodies(row.path, row.content, row.blocks, gzip=True)
        return row.path, content, row.content_type, row.etag, row.updated_at.timestamp(), gz

    def packed(item: Job) -> tuple[str, bytes]:
        path, content, content_type, etag, modified, gz = item
        return path, pack(content, content_type, etag, modified, fast=fast, gz=gz)

    written: list[str] = []
    created = 0
    chunk: list[Job] = []
    # zlib and brotli release the GIL: compress on every core, a bounded chunk at a
    # time so that a full sync never holds every artifact in memory.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for row in itertools.chain(rows.iterator(chunk_size=200), [None]):
            if row is not None:
                chunk.append(job(row))
                if len(chunk) < 64:
                    continue
            for path, data in pool.map(packed, chunk):
                created += store.write(path, data)
                written.append(path)
            chunk = []
    return tuple(written), created


def _full_sync(store: SiteStore, generation: int, count: int) -> SyncResult:
    from herald.publishing.models import Artifact

    wanted = dict(Artifact.objects.values_list("path", "etag"))
    local = store.local_etags()
    stale = [path for path, etag in wanted.items() if local.get(path) != etag]
    written: list[str] = []
    for start in range(0, len(stale), 500):
        rows = Artifact.objects.filter(path__in=stale[start : start + 500])
        written.extend(_write_rows(store, rows, fast=True)[0])
    removed = sorted(set(local) - set(wanted))
    for path in removed:
        store.remove(path)
    store.write_state(generation, count)
    return SyncResult(generation, tuple(written), tuple(removed), True)


def sync_after_commit() -> None:
    """Right after a publication commits: this machine's copy, now. Never raises:
    the publication is committed, and the pollers retry within a poll interval."""
    try:
        sync(blocking=True)
    except Exception:
        logger.exception("could not update the served copy of the artifacts")


class Poller(threading.Thread):
    """Per web process: notice new artifacts in the database, off the request path."""

    def __init__(self, store: SiteStore, interval: float) -> None:
        super().__init__(name="herald-site-poller", daemon=True)
        self.store = store
        self.interval = interval
        self.stopped = threading.Event()
        self._last_error = 0.0

    def run(self) -> None:
        from django.db import connection

        while not self.stopped.is_set():
            try:
                state = self.store.read_state()
                if database_generation() != state.get("generation") or not state:
                    sync(self.store, blocking=False)
            except Exception:
                # Database locked or unreachable: keep serving the copy, say so once a minute.
                if time.monotonic() - self._last_error > 60:
                    self._last_error = time.monotonic()
                    logger.warning("artifact poll failed; serving the local copy", exc_info=True)
                with contextlib.suppress(Exception):
                    connection.close()
            self.stopped.wait(self.interval)
        connection.close()


# ---------------------------------------------------------------- the front


class _Entry:
    """One artifact ready to answer: per encoding the body and the 200 and 304 headers."""

    __slots__ = ("etag", "html", "modified", "ok", "size", "unmodified")

    def __init__(self, bundle: Bundle, common: list[tuple[str, str]]) -> None:
        self.etag = bundle.etag
        self.modified = bundle.modified
        self.html = bundle.content_type.startswith("text/html")
        last_modified = email.utils.formatdate(bundle.modified, usegmt=True)
        self.ok: dict[str, tuple[bytes, list[tuple[str, str]]]] = {}
        self.unmodified: dict[str, list[tuple[str, str]]] = {}
        self.size = 0
        for name, body in zip(ENCODINGS, bundle.bodies, strict=True):
            if name != "identity" and not body:
                continue
            suffix = "" if name == "identity" else "-" + ("gz" if name == "gzip" else name)
            headers = [
                ("ETag", f'"{bundle.etag}{suffix}"'),
                ("Last-Modified", last_modified),
                *common,
            ]
            if not self.html:
                # Public documents for tools (feeds, OSV, CSAF): readable cross-origin.
                headers.append(("Access-Control-Allow-Origin", "*"))
            self.unmodified[name] = list(headers)
            headers = [("Content-Type", bundle.content_type), *headers]
            if name != "identity":
                headers.append(("Content-Encoding", name))
            headers.append(("Content-Length", str(len(body))))
            self.ok[name] = (body, headers)
            self.size += len(body)


class Front:
    """WSGI: artifacts from the site copy, everything else from ``app`` (Django)."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        store: SiteStore | None = None,
        cache_bytes: int | None = None,
        cache_control: str | None = None,
    ) -> None:
        self.app = app
        self.store = store or SiteStore()
        self.cache_bytes = (
            cache_bytes if cache_bytes is not None else settings.HERALD_SITE_CACHE_BYTES
        )
        self.common = [
            ("Cache-Control", cache_control or settings.HERALD_CACHE_CONTROL),
            ("Vary", "Accept-Encoding"),
            # The headers Django's pages get, from the same function...
            *security_headers(secure=False),
        ]
        # ... and what a request over HTTPS gets on top (HSTS when configured).
        plain = set(security_headers(secure=False))
        self.https_only = [h for h in security_headers(secure=True) if h not in plain]
        self.session_cookies = (settings.SESSION_COOKIE_NAME + "=", "messages=")
        self._entries: dict[str, _Entry] = {}
        self._cached = 0
        self._marker: tuple[int, int] | None = None
        self._next_check = 0.0
        self._encodings: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method != "GET" and method != "HEAD":
            return self.app(environ, start_response)
        path = environ.get("PATH_INFO") or "/"
        if path == "/healthz":
            # Liveness, answered here: no Django, no database (docs/operations.md).
            start_response("200 OK", list(HEALTHZ_HEADERS))
            return [b""] if method == "HEAD" else [HEALTHZ]
        now = time.monotonic()
        if now >= self._next_check:
            self._next_check = now + CHECK_INTERVAL
            self._check_state()
        entry = self._entries.get(path)
        if entry is None:
            entry = self._load(path)
            if entry is None:
                return self.app(environ, start_response)
        if entry.html:
            cookie = environ.get("HTTP_COOKIE")
            if cookie and any(name in cookie for name in self.session_cookies):
                return self.app(environ, start_response)
        encoding = self._encoding(environ.get("HTTP_ACCEPT_ENCODING"))
        if encoding not in entry.ok:
            encoding = "identity"
        https_only = self.https_only if self.https_only and wsgi_is_secure(environ) else []
        if self._not_modified(entry, environ):
            start_response("304 Not Modified", entry.unmodified[encoding] + https_only)
            return [b""]
        body, headers = entry.ok[encoding]
        start_response("200 OK", headers + https_only if https_only else headers)
        return [b""] if method == "HEAD" else [body]

    # -- cache

    def _check_state(self) -> None:
        try:
            st = os.stat(self.store.state_path)
            marker = (st.st_ino, st.st_mtime_ns)
        except OSError:
            marker = (0, 0)
        if marker != self._marker:
            # A sync finished: forget every bundle held, so all surfaces change together.
            with self._lock:
                self._marker = marker
                self._entries = {}
                self._cached = 0

    def _load(self, url_path: str) -> _Entry | None:
        try:
            path = url_path.encode("latin-1").decode("utf-8")  # PEP 3333: bytes as latin-1
        except UnicodeError:
            return None
        relative = path[1:]
        if relative == "" or relative.endswith("/"):
            relative += "index.html"
        if safe_relative(relative) is None:
            return None
        marker = self._marker
        try:
            with open(self.store.files / relative, "rb") as fh:
                data = fh.read()
        except OSError:  # missing, a directory, unreadable: not an artifact here
            return None
        try:
            entry = _Entry(unpack(data), self.common)
        except (ValueError, KeyError):
            logger.error("damaged artifact bundle %s", relative)
            return None
        if entry.size <= self.cache_bytes // 8:
            with self._lock:
                if self._marker is not marker:
                    # A sync finished while this was read: it may be the older bundle.
                    return entry
                while self._entries and self._cached + entry.size > self.cache_bytes:
                    oldest = next(iter(self._entries))
                    self._cached -= self._entries.pop(oldest).size
                self._entries[url_path] = entry
                self._cached += entry.size
        return entry

    # -- HTTP

    def _encoding(self, accept: str | None) -> str:
        if not accept:
            return "identity"
        chosen = self._encodings.get(accept)
        if chosen is None:
            chosen = choose_encoding(accept)
            if len(self._encodings) < 1024:  # clients send few distinct headers
                self._encodings[accept] = chosen
        return chosen

    @staticmethod
    def _not_modified(entry: _Entry, environ: dict[str, Any]) -> bool:
        match = environ.get("HTTP_IF_NONE_MATCH")
        if match is not None:
            # RFC 9110 §13.1.2: weak comparison; every encoding's tag starts with the etag.
            return match.strip() == "*" or f'"{entry.etag}' in match
        since = environ.get("HTTP_IF_MODIFIED_SINCE")
        if since is not None:
            try:
                parsed = email.utils.parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
            return entry.modified <= parsed.timestamp()
        return False


def choose_encoding(accept: str) -> str:
    """br, gzip or identity from an Accept-Encoding header (q=0 refuses one)."""
    weights: dict[str, float] = {}
    for item in accept.split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        params = params.strip().replace(" ", "")
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        weights[name.strip().lower()] = q
    star = weights.get("*", 0.0)
    best, best_q = "identity", 0.0
    for name in ("br", "gzip"):
        q = weights.get(name, star)
        if q > best_q:
            best, best_q = name, q
    return best


def front(app: WSGIApp, *, poll: bool = True) -> Front:
    """The production entry point: the front, and this process's poller thread."""
    served = Front(app)
    if poll and settings.HERALD_SITE_POLL > 0:
        Poller(served.store, settings.HERALD_SITE_POLL).start()
    return served
