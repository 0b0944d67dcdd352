"""The delivery engine: claim due deliveries in batches, send them, record each result.

Claiming is one short transaction: pick the due rows through the partial index
(``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent workers skip
each other's rows instead of waiting; on SQLite the IMMEDIATE transaction
already holds the write lock) and mark them ``sending`` with this worker's token
and a lease in ``next_attempt_at``. The UPDATE repeats the due condition, so a
row is claimed by exactly one worker.

Each result is written as soon as the peer answers, conditional on the row
still carrying this worker's token: a worker whose lease ran out cannot
overwrite the one that took the row over. A worker killed mid-batch leaves its
rows ``sending``; when the lease ends they are due again and another worker
takes them, recording that the first one was lost. Only the one message whose
acceptance by the peer was not yet written can then go out twice, with the same
Message-ID and idempotency key, which is what SMTP cannot rule out.

Retries are scheduled (``failed`` with a later ``next_attempt_at``), never
looped in place; after the last delay the row is ``dead`` and shown on the desk.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import OperationalError, close_old_connections, connection, transaction
from django.db.models import F, Min
from django.utils import timezone

from herald.core.errors import ValidationError
from herald.notify import conf
from herald.notify.channels import (
    Envelope,
    PermanentError,
    Session,
    SMTPSession,
    TransientError,
    kind_of,
)
from herald.notify.models import Channel, Delivery, DeliveryAttempt, Message, Subscriber

logger = logging.getLogger(__name__)

UNFINISHED = (Delivery.Status.PENDING, Delivery.Status.FAILED, Delivery.Status.SENDING)
CLAIMED_FIELDS = (
    "id", "kind", "recipient", "idempotency_key", "rfc_message_id", "attempts", "message_id",
    "channel", "subscriber", "claimed_by", "status",
)  # fmt: skip


@dataclass
class DrainStats:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    lost: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, int]:
        return {"sent": self.sent, "failed": self.failed, "dead": self.dead, "lost": self.lost}


def worker_token() -> str:
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


T = TypeVar("T")


def _patiently(write: Callable[[], T], attempts: int = 20) -> T:
    """Run a short write again when SQLite says the database is locked.

    Losing a result write would leave a sent message ``sending``, to be sent
    again after the lease; waiting a little is always the better choice.
    """
    for attempt in range(attempts):
        try:
            return write()
        except OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(min(1.0, 0.02 * 2**attempt))
    raise AssertionError("unreachable")


def claim(token: str, limit: int, *, now: datetime | None = None) -> list[Delivery]:
    """Take up to ``limit`` due deliveries for ``token``; each is given to one worker only."""
    return _patiently(lambda: _claim(token, limit, now or timezone.now()))


def _claim(token: str, limit: int, now: datetime) -> list[Delivery]:
    lease_end = now + timedelta(seconds=conf.lease_seconds())
    with transaction.atomic():
        due = (
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status__in=UNFINISHED, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("id", "status")[:limit]
        )
        picked = list(due)
        if not picked:
            return []
        ids = [pk for pk, _ in picked]
        lost = [pk for pk, status in picked if status == Delivery.Status.SENDING]
        claimed = Delivery.objects.filter(
            id__in=ids, status__in=UNFINISHED, next_attempt_at__lte=now
        ).update(
            status=Delivery.Status.SENDING,
            claimed_by=token,
            next_attempt_at=lease_end,
            attempts=F("attempts") + 1,
        )
        if claimed != len(ids):  # pragma: no cover - the row locks make this impossible
            raise RuntimeError("claimed rows changed under the lock")
        if lost:
            DeliveryAttempt.objects.bulk_create(
                DeliveryAttempt(
                    delivery_id=pk,
                    at=now,
                    outcome="worker lost",
                    detail="The worker sending it stopped before recording a result (its "
                    "lease ran out). Sending again with the same Message-ID.",
                )
                for pk in lost
            )
    rows = list(
        Delivery.objects.filter(id__in=ids, claimed_by=token).only(*CLAIMED_FIELDS).order_by("id")
    )
    # A campaign's batch shares one message: load it once, not once per row. Its
    # rows have no channel or subscriber; load those, when some rows have them,
    # in one query each rather than joining them for every row.
    messages = {m.pk: m for m in Message.objects.filter(pk__in={d.message_id for d in rows})}
    channel_ids = {d.channel_id for d in rows if d.channel_id is not None}
    channels = {c.pk: c for c in Channel.objects.filter(pk__in=channel_ids)} if channel_ids else {}
    subscriber_ids = {d.subscriber_id for d in rows if d.subscriber_id is not None}
    subscribers = (
        {s.pk: s for s in Subscriber.objects.filter(pk__in=subscriber_ids)}
        if subscriber_ids
        else {}
    )
    for row in rows:
        row.message = messages[row.message_id]
        if row.channel_id is not None:
            row.channel = channels[row.channel_id]
        if row.subscriber_id is not None:
            row.subscriber = subscribers[row.subscriber_id]
    return rows


def _record_sent(delivery: Delivery, token: str, response: str) -> bool:
    return _patiently(lambda: _write_sent(delivery, token, response))


SENT_SQL = (
    f"UPDATE {Delivery._meta.db_table} SET status = %s, sent_at = %s, response = %s, "  # noqa: S608
    "last_error = '' WHERE id = %s AND claimed_by = %s AND status = %s"
)
SENT_SQL_QMARK = SENT_SQL.replace("%s", "?")
_SQLITE_WRITES: Any = threading.Lock()  # a process lock in forked senders


def _write_sent(delivery: Delivery, token: str, response: str) -> bool:
    # One statement per message, hot enough on a campaign that the ORM's query
    # building would cost more than the database; same condition as the ORM form.
    params: list[Any] = [Delivery.Status.SENT, timezone.now(), response[:500], delivery.pk, token,
              Delivery.Status.SENDING]  # fmt: skip
    if connection.vendor == "sqlite" and connection.connection is not None:
        # The driver's own execute: Django's cursor wrapper (placeholder rewriting,
        # wrappers) costs more than SQLite does for this statement. In autocommit
        # it commits at once, as through the wrapper.
        # Sending threads take turns here rather than in SQLite's busy handler,
        # which sleeps a whole millisecond or more on the first collision.
        with _SQLITE_WRITES:
            return bool(connection.connection.execute(SENT_SQL_QMARK, params).rowcount)
    with connection.cursor() as cursor:
        cursor.execute(SENT_SQL, params)
        return bool(cursor.rowcount)


def _record_failure(delivery: Delivery, token: str, error: str, *, permanent: bool) -> str:
    return _patiently(lambda: _write_failure(delivery, token, error, permanent=permanent))


def _write_failure(delivery: Delivery, token: str, error: str, *, permanent: bool) -> str:
    delays = conf.retry_delays()
    now = timezone.now()
    dead = permanent or delivery.attempts > len(delays)
    status = Delivery.Status.DEAD if dead else Delivery.Status.FAILED
    next_at = now if dead else now + timedelta(seconds=delays[delivery.attempts - 1])
    with transaction.atomic():
        changed = Delivery.objects.filter(
            pk=delivery.pk, claimed_by=token, status=Delivery.Status.SENDING
        ).update(status=status, next_attempt_at=next_at, last_error=error[:2000])
        if changed:
            DeliveryAttempt.objects.create(
                delivery_id=delivery.pk,
                at=now,
                outcome="dead" if dead else "failed",
                detail=error[:2000]
                + ("" if dead else f" Next try at {next_at:%Y-%m-%d %H:%M:%S} UTC."),
            )
    return status


def _release(deliveries: Iterable[Delivery], token: str) -> None:
    """Give back rows this worker will not get to, without counting an attempt."""
    ids = [d.pk for d in deliveries]
    if ids:
        Delivery.objects.filter(
            id__in=ids, claimed_by=token, status=Delivery.Status.SENDING
        ).update(
            status=Delivery.Status.PENDING,
            next_attempt_at=timezone.now(),
            attempts=F("attempts") - 1,
            claimed_by="",
        )


class Sessions:
    """Open sessions of one sending thread, one per channel (None: the default mail server)."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, int | None], Session] = {}

    def get(self, delivery: Delivery) -> Session:
        key = (delivery.kind, delivery.channel_id)
        session = self.open.get(key)
        if session is None:
            plugin = kind_of(delivery.kind)
            channel: Channel | None = delivery.channel
            try:
                config = plugin.parse_config(channel.config if channel else {})
            except ValidationError as exc:
                raise PermanentError(f"channel configuration is invalid: {exc}") from None
            session = self.open[key] = plugin.open(config)
        return session

    def close(self) -> None:
        for session in self.open.values():
            try:
                session.close()
            except Exception:  # closing is best effort: the result is already recorded
                logger.debug("closing a session failed", exc_info=True)
        self.open.clear()


def envelope_of(delivery: Delivery) -> Envelope:
    unsubscribe = manage = ""
    if delivery.subscriber_id and delivery.kind == Channel.Kind.EMAIL and delivery.subscriber:
        base = conf.base_url()
        token = delivery.subscriber.token
        unsubscribe = f"{base}/security/unsubscribe/{token}/"
        manage = f"{base}/security/subscriptions/{token}/"
    return Envelope(
        delivery_id=delivery.pk,
        recipient=delivery.recipient,
        message_id=delivery.rfc_message_id,
        idempotency_key=delivery.idempotency_key,
        message=delivery.message,
        unsubscribe_url=unsubscribe,
        manage_url=manage,
    )


def send_batch(rows: list[Delivery], token: str, sessions: Sessions, stats: DrainStats) -> None:
    lease_end = time.monotonic() + conf.lease_seconds()
    margin = min(60.0, conf.lease_seconds() / 3)
    envelope: Envelope | None = None
    for index, delivery in enumerate(rows):
        if time.monotonic() > lease_end - margin:
            # Past most of the lease another worker may take these rows: hand them
            # back rather than race it.
            _release(rows[index:], token)
            return
        if envelope is None or envelope.delivery_id != delivery.pk:
            envelope = envelope_of(delivery)
        current, envelope = envelope, None
        try:
            session = sessions.get(delivery)
            if isinstance(session, SMTPSession):
                # The next row, when it goes through this same session, is announced
                # with this message's content (see SMTPSession); it is sent, and its
                # final dot written, only on the next turn, after this row's record.
                following = rows[index + 1] if index + 1 < len(rows) else None
                if (
                    following is not None
                    and following.kind == delivery.kind
                    and following.channel_id == delivery.channel_id
                ):
                    envelope = envelope_of(following)
                response = session.send(current, envelope)
            else:
                response = session.send(current)
        except PermanentError as exc:
            _record_failure(delivery, token, str(exc), permanent=True)
            stats.add(dead=1)
            continue
        except TransientError as exc:
            status = _record_failure(delivery, token, str(exc), permanent=False)
            stats.add(**({"dead": 1} if status == Delivery.Status.DEAD else {"failed": 1}))
            continue
        except Exception as exc:
            # A bug in a plug-in must end in the record, not stop the whole drain.
            logger.exception("sending delivery %s failed unexpectedly", delivery.pk)
            status = _record_failure(
                delivery, token, f"{type(exc).__name__}: {exc}", permanent=False
            )
            stats.add(**({"dead": 1} if status == Delivery.Status.DEAD else {"failed": 1}))
            continue
        if _record_sent(delivery, token, response):
            stats.add(sent=1)
        else:
            stats.add(lost=1)


def _loop(deadline: float, stats: DrainStats, batch: int) -> None:
    token = worker_token()
    sessions = Sessions()
    if connection.vendor == "sqlite":
        # One commit per sent message rewrites the same few row and index pages;
        # checkpointing every 1,000 WAL pages (the default) copies them back
        # (and syncs) every couple of hundred messages. Let this connection's WAL
        # grow to ~40 MB between checkpoints instead; other connections keep theirs.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
    try:
        while time.monotonic() < deadline:
            rows = claim(token, batch)
            if not rows:
                break
            send_batch(rows, token, sessions, stats)
    finally:
        sessions.close()


def drain(
    *, seconds: float | None = None, sessions: int | None = None, batch: int | None = None
) -> dict[str, int]:
    """Send what is due for up to ``seconds``, over ``sessions`` parallel sessions.

    Several sessions run as forked processes when that is safe (this process
    has no other thread and is not inside a transaction the children could not
    see), so that they do not share one interpreter lock; otherwise as threads.
    """
    deadline = time.monotonic() + (seconds if seconds is not None else conf.drain_seconds())
    count = sessions or conf.sessions()
    size = batch or conf.batch_size()
    stats = DrainStats()
    if count == 1:
        _loop(deadline, stats, size)
        return stats.as_dict()
    if _can_fork():
        return _drain_in_processes(deadline, count, size)

    def run() -> None:
        try:
            _loop(deadline, stats, size)
        except Exception:
            logger.exception("a sending thread stopped")
        finally:
            connection.close()  # each thread has its own connection; do not leak it

    threads = [threading.Thread(target=run, name=f"notify-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    return stats.as_dict()


def _can_fork() -> bool:
    return (
        hasattr(os, "fork")
        and threading.active_count() == 1
        and not connection.in_atomic_block
        and conf.fork_sessions()
    )


def _die_with_parent(parent: int) -> None:
    """Linux: a killed worker takes its sending processes with it (PR_SET_PDEATHSIG)."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass
    if os.getppid() != parent:  # the parent died before the prctl took effect
        os._exit(1)


def _drain_in_processes(deadline: float, count: int, size: int) -> dict[str, int]:
    import multiprocessing
    import signal

    from django.db import connections

    context = multiprocessing.get_context("fork")
    results = context.SimpleQueue()
    # One lock for all the processes' result writes (see _write_sent), and no
    # database connection shared across the fork: each child opens its own.
    writes = context.Lock()
    connections.close_all()
    parent = os.getpid()

    def child() -> None:
        global _SQLITE_WRITES
        _die_with_parent(parent)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _SQLITE_WRITES = writes
        stats = DrainStats()
        try:
            _loop(deadline, stats, size)
        except Exception:
            logger.exception("a sending process stopped")
        finally:
            results.put(stats.as_dict())
            connections.close_all()

    processes = [context.Process(target=child, name=f"notify-{i}") for i in range(count)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    total = DrainStats()
    while not results.empty():
        total.add(**results.get())
    return total.as_dict()


def next_due_at() -> datetime | None:
    """When the earliest unfinished delivery comes due (leases included)."""
    value: Any = Delivery.objects.filter(status__in=UNFINISHED).aggregate(at=Min("next_attempt_at"))
    return value["at"]


def backlog_exceeds(count: int) -> bool:
    """Whether more than ``count`` deliveries are due now (one index range scan)."""
    return (
        Delivery.objects.filter(
            status__in=(Delivery.Status.PENDING, Delivery.Status.FAILED),
            next_attempt_at__lte=timezone.now(),
        )
        .order_by()[count : count + 1]
        .exists()
    )
