"""The audit chain's anchor outside the database: signed checkpoints in an append-only file.

The chain in the database shows an edit, an insertion or a removal in the middle,
but someone who can write to the database can also delete its newest events with
the head row, or recompute every hash with Herald's own function. So after each
transaction that recorded events commits, one line is appended to
``HERALD_AUDIT_ANCHOR_DIR/anchor.jsonl`` (default ``HERALD_HOME/audit``): the
sequence number and hash of the chain's head, the time, and an OpenPGP signature
made with the anchor key kept beside it (``anchor-key.pgp``, mode 600). The
database holds neither the file nor the key, so it cannot rewrite them; verify
compares the chain against every checkpoint.

The anchor has its own key rather than the publishing key: audit sits below every
domain app, and the publishing key rotates and keeps its certificates in the
database, which is exactly what the anchor must not trust. Ed25519 signatures by
Sequoia (pysequoia, already used for publishing) cost about 0.1 ms to make or check,
and ``gpg --verify`` can check them with ``anchor-cert.asc``.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pysequoia as pgp
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from herald.audit.models import AuditEvent, AuditHead

# pysequoia 0.1.x marks some Cert helpers deprecated in favour of Tsk; we use Tsk.
warnings.filterwarnings("ignore", category=DeprecationWarning, module="pysequoia")

logger = logging.getLogger("herald.audit.anchor")

ANCHOR_FILE = "anchor.jsonl"
KEY_FILE = "anchor-key.pgp"
CERT_FILE = "anchor-cert.asc"
FORMAT = 1

_lock = threading.Lock()
_signers: dict[str, tuple[float, pgp.PySigner]] = {}
_written: dict[str, tuple[int, str]] = {}  # anchor file -> the head last written to it


def anchor_dir() -> Path:
    configured = getattr(settings, "HERALD_AUDIT_ANCHOR_DIR", None)
    return Path(configured or settings.HERALD_HOME / "audit")


def anchor_path() -> Path:
    return anchor_dir() / ANCHOR_FILE


def _message(seq: int, head_hash: str, at: str) -> bytes:
    return f"herald-audit-checkpoint:{FORMAT}:{seq}:{head_hash}:{at}".encode()


def _ensure_key(directory: Path) -> Path:
    """The anchor key's path, generated on first use.

    Written to a private temporary name and linked into place: a process that
    loses the race to create it never sees a half-written key.
    """
    key_path = directory / KEY_FILE
    if key_path.exists():
        return key_path
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    tsk = pgp.Tsk.generate(user_id="Herald audit anchor")
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".anchor-key-")  # mode 600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(str(tsk))
        try:
            os.link(temporary, key_path)
        except FileExistsError:
            return key_path
    finally:
        os.unlink(temporary)
    cert_temporary = directory / f".{CERT_FILE}.{os.getpid()}"
    cert_temporary.write_text(str(tsk.extract_certificate()))
    os.replace(cert_temporary, directory / CERT_FILE)
    return key_path


def _signer(directory: Path) -> pgp.PySigner:
    key_path = _ensure_key(directory)
    mtime = key_path.stat().st_mtime
    cached = _signers.get(str(key_path))
    if cached is None or cached[0] != mtime:
        cached = (mtime, pgp.Tsk.from_bytes(key_path.read_bytes()).signer())
        _signers[str(key_path)] = cached
    return cached[1]


def fingerprint() -> str | None:
    """The anchor key's fingerprint, to note down somewhere the server cannot reach."""
    cert_path = anchor_dir() / CERT_FILE
    if not cert_path.exists():
        return None
    return str(pgp.Cert.from_bytes(cert_path.read_bytes()).fingerprint).lower()


def write_checkpoint(*, unless_written: bool = False) -> int:
    """Append a signed checkpoint of the chain's committed head; its sequence number.

    Reads the head from the database, so it records only what is committed. One
    ``write`` with ``O_APPEND`` of a line well under the pipe buffer: processes that
    checkpoint at once do not interleave their lines. ``unless_written``: skip when
    this process already wrote this very head (the other events of one transaction).
    """
    head = AuditHead.objects.filter(pk=1).first()
    seq, head_hash = (head.seq, head.hash) if head is not None else (0, "0" * 64)
    directory = anchor_dir()
    path = anchor_path()
    with _lock:
        if unless_written and _written.get(str(path)) == (seq, head_hash):
            return seq
        at = timezone.now().isoformat()
        signer = _signer(directory)
        signature = pgp.sign(signer, _message(seq, head_hash, at), mode=pgp.SignatureMode.DETACHED)
        line = json.dumps(
            {"v": FORMAT, "seq": seq, "hash": head_hash, "at": at, "sig": signature.decode()},
            separators=(",", ":"),
        )
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
        _written[str(path)] = (seq, head_hash)
    logger.info("audit checkpoint #%s %s", seq, head_hash)
    return seq


def _checkpoint_after_commit() -> None:
    try:
        write_checkpoint(unless_written=True)
    except Exception:
        # The change is committed; the missing checkpoint shows in verify as events
        # after the last checkpoint, and the next commit checkpoints them.
        logger.exception("could not write the audit checkpoint")


def checkpoint_after_commit() -> None:
    """Called by ``record`` for each event: a checkpoint once the transaction commits.

    Each event's callback reads the committed head (one query by primary key); the
    first writes it, and the others of the same transaction find it written. A
    rolled-back transaction or savepoint takes its callbacks with it.
    """
    transaction.on_commit(_checkpoint_after_commit)


@dataclass(frozen=True)
class Checkpoint:
    line: int
    seq: int
    hash: str
    at: str


@dataclass(frozen=True)
class AnchorReport:
    problems: list[str]
    checkpoints: int
    last: Checkpoint | None
    unanchored: int  # events after the last checkpoint: covered by the chain only


def _read_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            yield number, raw.decode("utf-8", errors="replace")


def check_anchor() -> AnchorReport:
    """Compare the chain in the database with every signed checkpoint."""
    directory = anchor_dir()
    path = anchor_path()
    chain_end = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    problems: list[str] = []
    if not path.exists():
        if chain_end:
            problems.append(
                f"not anchored: {path} is missing, so removal of the newest events or a "
                "recomputed chain cannot be ruled out (deleted? run `herald audit anchor` "
                "to start a new anchor from today's chain)"
            )
        return AnchorReport(problems, 0, None, chain_end)
    cert_path = directory / CERT_FILE
    try:
        cert = pgp.Cert.from_bytes(cert_path.read_bytes())
    except FileNotFoundError:
        problems.append(f"the anchor certificate {cert_path} is missing: no checkpoint verifies")
        return AnchorReport(problems, 0, None, chain_end)
    checkpoints: dict[int, Checkpoint] = {}
    for number, text in _read_lines(path):
        try:
            entry = json.loads(text)
            seq, head_hash, at = int(entry["seq"]), str(entry["hash"]), str(entry["at"])
            signature = pgp.Sig.from_bytes(str(entry["sig"]).encode())
            result = pgp.verify(
                bytes=_message(seq, head_hash, at), store=lambda ids: [cert], signature=signature
            )
            if not result.valid_sigs:
                raise ValueError("no valid signature")
        except Exception:  # any damage to a line: unreadable JSON, bad signature
            problems.append(f"anchor line {number} is damaged or forged (signature fails)")
            continue
        earlier = checkpoints.get(seq)
        if earlier is not None and earlier.hash != head_hash:
            problems.append(f"anchor lines {earlier.line} and {number} disagree about event #{seq}")
        checkpoints[seq] = Checkpoint(number, seq, head_hash, at)
    if not checkpoints:
        if chain_end:
            problems.append(f"not anchored: {path} holds no valid checkpoint")
        return AnchorReport(problems, 0, None, chain_end)
    last = checkpoints[max(checkpoints)]
    if last.seq > chain_end:
        problems.append(
            f"the anchor saw event #{last.seq} at {last.at}, but the chain ends at "
            f"#{chain_end}: newest events removed"
        )
    seqs = sorted(s for s in checkpoints if 0 < s <= chain_end)
    for start in range(0, len(seqs), 1000):
        chunk = seqs[start : start + 1000]
        stored = dict(AuditEvent.objects.filter(seq__in=chunk).values_list("seq", "hash"))
        for seq in chunk:
            if seq not in stored:
                problems.append(f"event #{seq}, checkpointed at {checkpoints[seq].at}, is missing")
            elif stored[seq] != checkpoints[seq].hash:
                problems.append(
                    f"event #{seq} does not match its checkpoint of {checkpoints[seq].at}: "
                    "the chain was rewritten or recomputed from there"
                )
    return AnchorReport(problems, len(checkpoints), last, max(0, chain_end - last.seq))
