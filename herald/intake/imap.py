"""Fetching reports from an IMAP mailbox (``herald mail poll``), with the standard library.

No message is fetched twice: the mailbox's UIDVALIDITY and the last UID read are
kept in ``Mailbox`` and advanced after each message is stored, so a poll that
stops half-way resumes where it stopped. When the server changes UIDVALIDITY
(the folder was rebuilt), UIDs mean nothing any more: Herald reads each
message's Message-ID first and skips those it already has.

An unreachable server is retried a few times with growing pauses, then the
failure is recorded on the mailbox (shown in the desk) and reported to the
caller, whose exit status tells cron or systemd.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from herald.intake import conf
from herald.intake.actions import do_receive_email, do_record_mailbox_poll, do_register_mailbox
from herald.intake.mail import header_summary
from herald.intake.models import InboundMail, Mailbox


class MailboxUnreachable(Exception):
    """The IMAP server could not be used after every retry."""


@dataclass(frozen=True)
class ImapSettings:
    host: str
    user: str
    password: str
    port: int = 993
    folder: str = "INBOX"
    tls: str = "ssl"  # ssl, starttls or none (none only for a server on loopback)
    timeout: int = 30
    retries: int = 3

    @property
    def key(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"

    @classmethod
    def from_settings(cls) -> ImapSettings:
        host = conf.text_setting("HERALD_IMAP_HOST")
        if not host:
            raise MailboxUnreachable(
                "No mailbox configured: set HERALD_IMAP_HOST, HERALD_IMAP_USER and "
                "HERALD_IMAP_PASSWORD (and HERALD_IMAP_PORT, HERALD_IMAP_FOLDER, HERALD_IMAP_TLS)."
            )
        return cls(
            host=host,
            user=conf.text_setting("HERALD_IMAP_USER"),
            password=conf.text_setting("HERALD_IMAP_PASSWORD"),
            port=conf.setting("HERALD_IMAP_PORT"),
            folder=conf.text_setting("HERALD_IMAP_FOLDER", "INBOX") or "INBOX",
            tls=(conf.text_setting("HERALD_IMAP_TLS", "ssl") or "ssl").lower(),
            timeout=conf.setting("HERALD_IMAP_TIMEOUT"),
            retries=max(1, conf.setting("HERALD_IMAP_RETRIES")),
        )


@dataclass
class PollResult:
    fetched: int = 0
    skipped: int = 0
    flagged: int = 0
    reports: list[str] = field(default_factory=list)


def _connect(settings: ImapSettings) -> imaplib.IMAP4:
    if settings.tls == "ssl":
        conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            settings.host,
            settings.port,
            ssl_context=ssl.create_default_context(),
            timeout=settings.timeout,
        )
    else:
        conn = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
        if settings.tls == "starttls":
            conn.starttls(ssl.create_default_context())
    conn.login(settings.user, settings.password)
    status, _ = conn.select(_quote(settings.folder))
    if status != "OK":
        conn.logout()
        raise imaplib.IMAP4.error(f"cannot open folder {settings.folder!r}")
    return conn


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _connect_with_retries(
    settings: ImapSettings, mailbox: Mailbox, sleep: Callable[[float], None]
) -> imaplib.IMAP4:
    last = ""
    for attempt in range(settings.retries):
        try:
            return _connect(settings)
        except (OSError, imaplib.IMAP4.error) as exc:
            last = f"{type(exc).__name__}: {exc}"
            if attempt + 1 < settings.retries:
                sleep(2**attempt)
    message = f"{settings.key} unreachable after {settings.retries} tries: {last}"
    do_record_mailbox_poll(mailbox, error=message)
    raise MailboxUnreachable(message)


def _uidvalidity(conn: imaplib.IMAP4, folder: str) -> int:
    _, data = conn.response("UIDVALIDITY")
    if data and data[0]:
        return int(data[0])
    _, status = conn.status(_quote(folder), "(UIDVALIDITY)")
    match = re.search(rb"UIDVALIDITY (\d+)", status[0] if status and status[0] else b"")
    return int(match.group(1)) if match else 0


def _fetch_part(conn: imaplib.IMAP4, uid: int, item: str) -> bytes | None:
    status, data = conn.uid("FETCH", str(uid), f"({item})")
    if status != "OK":
        raise imaplib.IMAP4.error(f"FETCH {uid} failed")
    for entry in data:
        if isinstance(entry, tuple) and len(entry) == 2:
            return bytes(entry[1])
    return None


def poll(
    settings: ImapSettings,
    *,
    sleep: Callable[[float], None] = time.sleep,
    limit: int | None = None,
) -> PollResult:
    """Fetch every message that arrived since the last poll."""
    mailbox = do_register_mailbox(settings.key)
    conn = _connect_with_retries(settings, mailbox, sleep)
    result = PollResult()
    try:
        validity = _uidvalidity(conn, settings.folder)
        last_uid = mailbox.last_uid
        rebuilt = mailbox.uidvalidity is not None and mailbox.uidvalidity != validity
        if rebuilt or mailbox.uidvalidity is None:
            last_uid = 0
            mailbox = do_record_mailbox_poll(mailbox, uidvalidity=validity, last_uid=0)
        status, data = conn.uid("SEARCH", f"UID {last_uid + 1}:*")
        if status != "OK":
            raise imaplib.IMAP4.error("SEARCH failed")
        # "N:*" also matches the highest UID when it is below N; hence the filter.
        uids = sorted(int(u) for u in (data[0] or b"").split() if int(u) > last_uid)
        for uid in uids[:limit] if limit else uids:
            if rebuilt:
                header = _fetch_part(conn, uid, "BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]") or b""
                message_id = header_summary(header)[0]
                if message_id and InboundMail.objects.filter(message_id=message_id).exists():
                    result.skipped += 1
                    mailbox = do_record_mailbox_poll(mailbox, uidvalidity=validity, last_uid=uid)
                    continue
            raw = _fetch_part(conn, uid, "BODY.PEEK[]")
            if raw is None:
                continue  # expunged between SEARCH and FETCH
            inbound = do_receive_email(
                raw, via="imap", mailbox=mailbox, uidvalidity=validity, uid=uid
            )
            result.fetched += 1
            if inbound.status == InboundMail.Status.FLAGGED:
                result.flagged += 1
            if inbound.report is not None:
                result.reports.append(inbound.report.tracking_id)
            # Stored first, then marked read and remembered: a crash in between means
            # the UID is seen again, and the (mailbox, UIDVALIDITY, UID) row stops it.
            conn.uid("STORE", str(uid), "+FLAGS", "(\\Seen)")
            mailbox = do_record_mailbox_poll(mailbox, uidvalidity=validity, last_uid=uid)
        do_record_mailbox_poll(mailbox, uidvalidity=validity)
    except (OSError, imaplib.IMAP4.error) as exc:
        message = f"{settings.key}: the connection failed during the poll: {exc}"
        do_record_mailbox_poll(mailbox, error=message)
        raise MailboxUnreachable(message) from exc
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            conn.logout()
    return result
