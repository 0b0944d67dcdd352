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
import select
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import OperationalError, close_old_connections, connection, transaction
from django.db.models import BooleanField, F, Min
from django.db.models.expressions import RawSQL
from django.utils import timezone

from herald.core.errors import ValidationError
from herald.notify import conf
from herald.notify.channels import (
    Envelope,
    OverlappingSession,
    PermanentError,
    Session,
    TransientError,
    Waiting,
    kind_of,
    overlaps,
)
from herald.notify.models import Channel, Delivery, DeliveryAttempt, Message, Subscriber

logger = logging.getLogger(__name__)

UNFINISHED = (Delivery.Status.PENDING, Delivery.Status.FAILED, Delivery.Status.SENDING)
# The partial index's own condition, written out: SQLite uses a partial index only
# when the query repeats its condition with the same literal values, never for
# bound parameters (the ORM's status__in=...), and would scan every row instead.
_DUE_CONDITION = "status IN ({})".format(", ".join(f"'{status}'" for status in UNFINISHED))
UNFINISHED_ROWS = RawSQL(_DUE_CONDITION, (), output_field=BooleanField())  # noqa: S611 (constants)


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


@dataclass(slots=True)
class Claimed:
    """A claimed delivery: what sending and recording it needs, and no model instance.

    A campaign claims hundreds of rows a round trip; building a model instance
    per row would cost more than sending it.
    """

    pk: int
    kind: str
    attempts: int
    channel_id: int | None
    channel: Channel | None
    envelope: Envelope


CLAIM_COLUMNS = (
    "id", "kind", "recipient", "idempotency_key", "rfc_message_id", "attempts", "message_id",
    "channel_id", "subscriber_id",
)  # fmt: skip


def claim(token: str, limit: int, *, now: datetime | None = None) -> list[Claimed]:
    """Take up to ``limit`` due deliveries for ``token``; each is given to one worker only."""
    return _patiently(lambda: _claim(token, limit, now or timezone.now()))


def _claim(token: str, limit: int, now: datetime) -> list[Claimed]:
    lease_end = now + timedelta(seconds=conf.lease_seconds())
    with transaction.atomic():
        due = (
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(UNFINISHED_ROWS, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("id", "status")[:limit]
        )
        picked = list(due)
        if not picked:
            return []
        ids = [pk for pk, _ in picked]
        lost = [pk for pk, status in picked if status == Delivery.Status.SENDING]
        # One statement that marks the rows and returns what sending needs; the
        # ids go in as plain parameters (the ORM's per-value handling of a
        # 500-value IN costs more than the database does).
        adapt = connection.ops.adapt_datetimefield_value
        sql = (
            f"UPDATE {Delivery._meta.db_table} SET status = %s, claimed_by = %s, "  # noqa: S608
            "next_attempt_at = %s, attempts = attempts + 1 "
            f"WHERE id IN ({', '.join(['%s'] * len(ids))}) "
            f"AND status IN ({', '.join(['%s'] * len(UNFINISHED))}) AND next_attempt_at <= %s "
            f"RETURNING {', '.join(CLAIM_COLUMNS)}"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                sql,
                [Delivery.Status.SENDING, token, adapt(lease_end), *ids, *UNFINISHED, adapt(now)],
            )
            returned = cursor.fetchall()
        if len(returned) != len(ids):  # pragma: no cover - the row locks make this impossible
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
    returned.sort()
    # A campaign's batch shares one message: load it once, not once per row. Its
    # rows have no channel or subscriber; load those, when some rows have them,
    # in one query each rather than joining them for every row.
    messages = {m.pk: m for m in Message.objects.filter(pk__in={row[6] for row in returned})}
    channel_ids = {row[7] for row in returned if row[7] is not None}
    channels = {c.pk: c for c in Channel.objects.filter(pk__in=channel_ids)} if channel_ids else {}
    subscriber_ids = {row[8] for row in returned if row[8] is not None}
    subscribers = (
        {s.pk: s for s in Subscriber.objects.filter(pk__in=subscriber_ids)}
        if subscriber_ids
        else {}
    )
    base = conf.base_url() if subscribers else ""
    claimed = []
    for pk, kind, recipient, key, rfc_id, attempts, message_id, channel_id, sub_id in returned:
        subscriber = subscribers.get(sub_id) if sub_id is not None else None
        envelope = _envelope(
            pk, kind, recipient, rfc_id, key, messages[message_id], subscriber, base
        )
        channel = channels[channel_id] if channel_id is not None else None
        claimed.append(Claimed(pk, kind, attempts, channel_id, channel, envelope))
    return claimed


SENT_SQL = (
    f"UPDATE {Delivery._meta.db_table} SET status = %s, sent_at = %s, response = %s, "  # noqa: S608
    "last_error = '' WHERE id = %s AND claimed_by = %s AND status = %s"
)
SENT_SQL_QMARK = SENT_SQL.replace("%s", "?")
_SQLITE_WRITES: Any = threading.Lock()  # a process lock in forked senders


def _record_sent(done: list[tuple[Claimed, str]], token: str) -> int:
    """Record accepted messages in one transaction; returns how many were still ours."""
    return _patiently(lambda: _write_sent(done, token))


def _write_sent(done: list[tuple[Claimed, str]], token: str) -> int:
    # One statement per message, hot enough on a campaign that the ORM's query
    # building would cost more than the database; same condition as the ORM form.
    # The value as the ORM would store it (on SQLite: UTC text without an offset).
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    params: list[list[Any]] = [
        [Delivery.Status.SENT, now, response[:500], delivery.pk, token, Delivery.Status.SENDING]
        for delivery, response in done
    ]
    raw: Any = connection.connection
    if connection.vendor == "sqlite" and raw is not None:
        # The driver's own executemany: Django's cursor wrapper costs more than
        # SQLite does for these statements. Sending threads take turns here
        # rather than in SQLite's busy handler, which sleeps a whole millisecond
        # or more on the first collision.
        with _SQLITE_WRITES:
            if connection.in_atomic_block or len(params) == 1:
                # Inside the caller's transaction, or one statement in autocommit.
                return int(raw.executemany(SENT_SQL_QMARK, params).rowcount)
            raw.execute("BEGIN IMMEDIATE")
            try:
                changed = raw.executemany(SENT_SQL_QMARK, params).rowcount
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            raw.execute("COMMIT")
            return int(changed)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(SENT_SQL, params)
        return int(cursor.rowcount)


# The longest wait a peer's Retry-After may impose on one delivery.
MAX_RETRY_AFTER = 24 * 3600


def _record_failure(
    delivery: Claimed,
    token: str,
    error: str,
    *,
    permanent: bool,
    retry_after: float | None = None,
    counted: bool = True,
) -> str:
    return _patiently(
        lambda: _write_failure(
            delivery,
            token,
            error,
            permanent=permanent,
            retry_after=retry_after,
            counted=counted,
        )
    )


def _write_failure(
    delivery: Claimed,
    token: str,
    error: str,
    *,
    permanent: bool,
    retry_after: float | None = None,
    counted: bool = True,
) -> str:
    """``counted=False``: the row was not tried (``Waiting``); the claim's attempt is
    given back and the row can never die of it."""
    delays = conf.retry_delays()
    now = timezone.now()
    dead = counted and (permanent or delivery.attempts > len(delays))
    status = Delivery.Status.DEAD if dead else Delivery.Status.FAILED
    # The peer's Retry-After, when it gave one, rather than the backoff's next step.
    wait = delays[min(delivery.attempts, len(delays)) - 1] if not dead else 0
    if retry_after is not None and not dead:
        wait = min(max(0.0, retry_after), MAX_RETRY_AFTER)
    next_at = now if dead else now + timedelta(seconds=wait)
    uncount = {} if counted else {"attempts": F("attempts") - 1}
    with transaction.atomic():
        changed = Delivery.objects.filter(
            pk=delivery.pk, claimed_by=token, status=Delivery.Status.SENDING
        ).update(status=status, next_attempt_at=next_at, last_error=error[:2000], **uncount)
        if changed:
            DeliveryAttempt.objects.create(
                delivery_id=delivery.pk,
                at=now,
                outcome="dead" if dead else ("failed" if counted else "waiting"),
                detail=_sentence(error[:2000])
                + ("" if dead else f" Next try at {next_at:%Y-%m-%d %H:%M:%S} UTC."),
            )
    return status


def _sentence(text: str) -> str:
    """``text`` ending as a sentence, so the next one does not run on into it."""
    text = text.rstrip()
    return text if not text or text[-1] in ".!?)" else text + "."


def _release(deliveries: Iterable[Claimed], token: str) -> None:
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
    """Open sessions of one sender, per channel (None: the default mail server) and lane."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, int | None, int], Session] = {}

    def get(self, delivery: Claimed, lane: int = 0) -> Session:
        key = (delivery.kind, delivery.channel_id, lane)
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


def _envelope(
    pk: int,
    kind: str,
    recipient: str,
    rfc_message_id: str,
    idempotency_key: str,
    message: Message,
    subscriber: Subscriber | None,
    base_url: str,
) -> Envelope:
    unsubscribe = manage = ""
    # A subscriber's links ride along on every kind; the ones that show them
    # (e-mail's footer and List-Unsubscribe) use them, the others ignore them.
    if subscriber is not None:
        unsubscribe = f"{base_url}/security/unsubscribe/{subscriber.token}/"
        manage = f"{base_url}/security/subscriptions/{subscriber.token}/"
    return Envelope(
        delivery_id=pk,
        recipient=recipient,
        message_id=rfc_message_id,
        idempotency_key=idempotency_key,
        message=message,
        unsubscribe_url=unsubscribe,
        manage_url=manage,
    )


def envelope_of(delivery: Delivery) -> Envelope:
    """The envelope of one delivery row, as ``claim`` builds it."""
    subscriber = delivery.subscriber if delivery.subscriber_id else None
    return _envelope(
        delivery.pk, delivery.kind, delivery.recipient, delivery.rfc_message_id,
        delivery.idempotency_key, delivery.message, subscriber,
        conf.base_url() if subscriber is not None else "",
    )  # fmt: skip


def send_batch(
    rows: list[Claimed], token: str, sessions: Sessions, stats: DrainStats, lanes: int = 1
) -> None:
    """Send claimed rows: kinds whose sessions overlap over ``lanes`` sessions at once,
    the rest one by one (see ``ChannelKind.overlapping``)."""
    # Past most of the lease another worker may take the rows: hand them back
    # then rather than race it.
    lease = conf.lease_seconds()
    hand_back_at = time.monotonic() + lease - min(60.0, lease / 3)
    groups: dict[tuple[str, int | None], list[Claimed]] = {}
    for delivery in rows:
        groups.setdefault((delivery.kind, delivery.channel_id), []).append(delivery)
    for (kind, _), group in groups.items():
        if overlaps(kind):
            _send_over_lanes(group, token, sessions, stats, lanes, hand_back_at)
        else:
            _send_one_by_one(group, token, sessions, stats, hand_back_at)


def _fail(delivery: Claimed, token: str, exc: Exception, stats: DrainStats) -> None:
    """Record a send that did not succeed: dead now, retried later, or a plug-in's bug."""
    if isinstance(exc, PermanentError):
        _record_failure(delivery, token, str(exc), permanent=True)
        stats.add(dead=1)
        return
    if not isinstance(exc, TransientError):
        # A bug in a plug-in must end in the record, not stop the whole drain.
        logger.error("sending delivery %s failed unexpectedly", delivery.pk, exc_info=exc)
    error = str(exc) if isinstance(exc, TransientError) else f"{type(exc).__name__}: {exc}"
    retry_after = exc.retry_after if isinstance(exc, TransientError) else None
    status = _record_failure(
        delivery,
        token,
        error,
        permanent=False,
        retry_after=retry_after,
        counted=not isinstance(exc, Waiting),
    )
    stats.add(**({"dead": 1} if status == Delivery.Status.DEAD else {"failed": 1}))


def _send_one_by_one(
    rows: list[Claimed], token: str, sessions: Sessions, stats: DrainStats, hand_back_at: float
) -> None:
    for index, delivery in enumerate(rows):
        if time.monotonic() > hand_back_at:
            _release(rows[index:], token)
            return
        try:
            response = sessions.get(delivery).send(delivery.envelope)
        except Exception as exc:
            _fail(delivery, token, exc, stats)
            continue
        recorded = _record_sent([(delivery, response)], token)
        stats.add(sent=recorded, lost=1 - recorded)


def _send_over_lanes(
    rows: list[Claimed],
    token: str,
    sessions: Sessions,
    stats: DrainStats,
    lanes: int,
    hand_back_at: float,
) -> None:
    """Send over ``lanes`` overlapping sessions of this one sender, one message in flight on each.

    Every lane writes its message (and announces its next one, see
    SMTPSession) without waiting for the others; the sender then waits for
    whichever verdicts come first and records all that have arrived in one
    transaction before those lanes go on. A lane the server is slow to answer
    holds back no other, and an accepted message waits for its record no
    longer than with one sender per session: at most one accepted message per
    session is ever unrecorded.
    """
    queues = [deque(rows[lane::lanes]) for lane in range(lanes)]
    in_flight: dict[int, tuple[OverlappingSession, Claimed]] = {}

    def start(lane: int) -> None:
        """Begin the lane's next message; a refusal is recorded and the one after tried."""
        queue = queues[lane]
        while queue:
            if time.monotonic() > hand_back_at:
                _release(queue, token)
                queue.clear()
                return
            delivery = queue.popleft()
            upcoming = queue[0].envelope if queue else None
            try:
                session: Any = sessions.get(delivery, lane)
                session.begin(delivery.envelope, upcoming)
            except Exception as exc:
                _fail(delivery, token, exc, stats)
                continue
            in_flight[lane] = (session, delivery)
            return

    for lane in range(lanes):
        start(lane)
    while in_flight:
        # Without pipelining a verdict is known when begin returns.
        answered = [lane for lane, (s, _) in in_flight.items() if s.awaited_socket() is None]
        timed_out = False
        if not answered:
            # A poll set built afresh each time costs no system call but the poll
            # itself, and never holds a socket a session has closed since.
            poller = select.poll()
            lane_of = {}
            for lane, (session, _) in in_flight.items():
                fd = session.awaited_socket().fileno()
                poller.register(fd, select.POLLIN)
                lane_of[fd] = lane
            timeout = max(s.timeout for s, _ in in_flight.values())
            answered = [lane_of[fd] for fd, _ in poller.poll(timeout * 1000)]
            timed_out = not answered
            answered = answered or list(in_flight)
        accepted: list[tuple[Claimed, str]] = []
        refused: list[tuple[Claimed, Exception]] = []
        for lane in answered:
            session, delivery = in_flight.pop(lane)
            if timed_out:
                session.abandon()
                refused.append(
                    (delivery, TransientError(f"{delivery.kind} peer did not answer in time"))
                )
                continue
            try:
                accepted.append((delivery, session.finish()))
            except Exception as exc:
                refused.append((delivery, exc))
        if accepted:
            recorded = _record_sent(accepted, token)
            stats.add(sent=recorded, lost=len(accepted) - recorded)
        for delivery, error in refused:
            _fail(delivery, token, error, stats)
        for lane in answered:
            start(lane)


def _loop(deadline: float, stats: DrainStats, batch: int, lanes: int = 1) -> None:
    token = worker_token()
    sessions = Sessions()
    if connection.vendor == "sqlite":
        # A commit per round rewrites the same few row and index pages;
        # checkpointing every 1,000 WAL pages (the default) copies them back
        # (and syncs) every few hundred messages. Let this connection's WAL
        # grow to ~40 MB between checkpoints instead; other connections keep theirs.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_autocheckpoint=10000")
            # A campaign walks the deliveries table and three of its indexes; with
            # SQLite's default 2 MB page cache a large one rereads each page from the
            # OS for every round. 64 MB, for this connection only.
            cursor.execute("PRAGMA cache_size=-65536")
    try:
        while time.monotonic() < deadline:
            rows = claim(token, batch)
            if not rows:
                break
            send_batch(rows, token, sessions, stats, lanes)
    finally:
        sessions.close()


def shares(sessions: int, senders: int) -> list[int]:
    """``sessions`` split as evenly as possible over at most ``senders`` senders."""
    count = max(1, min(sessions, senders))
    return [sessions // count + (1 if i < sessions % count else 0) for i in range(count)]


def drain(
    *,
    seconds: float | None = None,
    sessions: int | None = None,
    batch: int | None = None,
    senders: int | None = None,
) -> dict[str, int]:
    """Send what is due for up to ``seconds``, over ``sessions`` parallel sessions.

    The sessions are shared among ``senders`` (by default one per processor):
    each sender drives its share of sessions at once (see
    ``_send_over_lanes``). Several senders run as forked processes when that is
    safe (this process has no other thread and is not inside a transaction the
    children could not see), so that they do not share one interpreter lock;
    otherwise as threads.
    """
    deadline = time.monotonic() + (seconds if seconds is not None else conf.drain_seconds())
    lanes = shares(sessions or conf.sessions(), senders or conf.senders())
    size = batch or conf.batch_size()
    stats = DrainStats()
    if len(lanes) == 1:
        _loop(deadline, stats, size, lanes[0])
        return stats.as_dict()
    if _can_fork():
        return _drain_in_processes(deadline, lanes, size)

    def run(share: int) -> None:
        try:
            _loop(deadline, stats, size, share)
        except Exception:
            logger.exception("a sending thread stopped")
        finally:
            connection.close()  # each thread has its own connection; do not leak it

    _run_all(
        threading.Thread(target=run, args=(share,), name=f"notify-{i}")
        for i, share in enumerate(lanes)
    )
    close_old_connections()
    return stats.as_dict()


def _run_all(workers: Iterable[Any]) -> None:
    """Start every sender (thread or process), then wait for all of them."""
    started = list(workers)
    for worker in started:
        worker.start()
    for worker in started:
        worker.join()


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


def _drain_in_processes(deadline: float, lanes: list[int], size: int) -> dict[str, int]:
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

    def child(share: int) -> None:
        global _SQLITE_WRITES
        _die_with_parent(parent)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _SQLITE_WRITES = writes
        stats = DrainStats()
        try:
            _loop(deadline, stats, size, share)
        except Exception:
            logger.exception("a sending process stopped")
        finally:
            results.put(stats.as_dict())
            connections.close_all()

    _run_all(
        context.Process(target=child, args=(share,), name=f"notify-{i}")
        for i, share in enumerate(lanes)
    )
    total = DrainStats()
    while not results.empty():
        total.add(**results.get())
    return total.as_dict()


def next_due_at() -> datetime | None:
    """When the earliest unfinished delivery comes due (leases included)."""
    value: Any = Delivery.objects.filter(UNFINISHED_ROWS).aggregate(at=Min("next_attempt_at"))
    return value["at"]


def backlog_exceeds(count: int) -> bool:
    """Whether more than ``count`` deliveries are due now (one index range scan)."""
    return (
        Delivery.objects.filter(UNFINISHED_ROWS, next_attempt_at__lte=timezone.now())
        .exclude(status=Delivery.Status.SENDING)
        .order_by()[count : count + 1]
        .exists()
    )
