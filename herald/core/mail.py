"""The one way Herald's mail leaves: an SMTP server when ``HERALD_SMTP_URL`` is set, else
the local outbox.

Every sender uses it: the reporter's acknowledgements and replies and the desk's
reminders (``connection()``, a Django e-mail backend), subscribers, channels and
campaigns (``herald.notify.channels.EmailKind`` opens an SMTP session on
``smtp_config()`` or an ``OutboxSession`` writing here), and Django's own mail
(allauth's invitations and password resets, through ``EMAIL_BACKEND``).

With no SMTP server configured, which is the embedded default, each message is
kept whole as a ``LocalMail`` row: the exact RFC 5322 bytes SMTP would have
carried, readable in the desk (``/desk/outbox/``) and with ``herald mail outbox``.
A table rather than files under HERALD_HOME: it is in every backup of the
database, on every machine of a PostgreSQL installation (a worker elsewhere
writes where the desk reads), and needs no second store for listing and paging.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.generator import BytesGenerator
from email.message import EmailMessage as EmailMessageParsed
from email.utils import formataddr, parseaddr
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as DjangoSMTPBackend
from django.core.mail.message import EmailMessage
from django.db.models import QuerySet

from herald.core.errors import ValidationError
from herald.core.models import LocalMail

OUTBOX_PATH = "/desk/outbox/"


@dataclass(frozen=True)
class SMTPConfig:
    host: str = "localhost"
    port: int = 25
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = False
    ssl: bool = False
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> SMTPConfig:
        """``smtp://user:pass@host:port?starttls=1&timeout=10`` or ``smtps://...``."""
        problem = f"{url[:80]!r} is not smtp:// or smtps://."
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise ValidationError({"smtp_url": f"{problem} (the port is not a number)"}) from None
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValidationError({"smtp_url": problem})
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            timeout = float(query.get("timeout", "30"))
        except ValueError:
            timeout = -1.0
        if not 0 < timeout <= 3600:
            raise ValidationError({"smtp_url": "timeout= takes seconds, between 0 and 3600."})
        return cls(
            host=parts.hostname,
            port=port or (465 if parts.scheme == "smtps" else 25),
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            starttls=query.get("starttls", "0") in ("1", "true", "yes"),
            ssl=parts.scheme == "smtps",
            timeout=timeout,
        )


def smtp_url() -> str:
    """``HERALD_SMTP_URL``, the one mail setting (read from the environment by settings.py)."""
    return str(getattr(settings, "HERALD_SMTP_URL", "") or "").strip()


def mail_from() -> str:
    """The From: of Herald's mail: ``HERALD_MAIL_FROM``, else the vendor's security contact."""
    from herald.core.models import VendorProfile

    configured = str(getattr(settings, "HERALD_MAIL_FROM", "") or "").strip()
    if configured:
        return configured
    profile = VendorProfile.get()
    return formataddr((f"{profile.name} security", profile.security_contact))


def smtp_config() -> SMTPConfig | None:
    """The configured SMTP server, or None: mail then goes to the local outbox.

    Raises ValidationError when ``HERALD_SMTP_URL`` cannot be used (system check
    herald.E005 says so at start).
    """
    url = smtp_url()
    return SMTPConfig.from_url(url) if url else None


def where_mail_goes() -> str:
    """One line for people: the SMTP server (never its password) or the local outbox."""
    try:
        smtp = smtp_config()
    except ValidationError:
        return "nowhere: HERALD_SMTP_URL cannot be used (see `herald check`)"
    if smtp is not None:
        login = f"{smtp.username}@" if smtp.username else ""
        scheme = "smtps" if smtp.ssl else "smtp"
        return f"SMTP server {scheme}://{login}{smtp.host}:{smtp.port} (HERALD_SMTP_URL)"
    from herald.core.baseurl import base_url

    return (
        f"the local outbox, as HERALD_SMTP_URL is not set: read it in the desk at "
        f"{base_url()}{OUTBOX_PATH} or with `herald mail outbox`"
    )


@dataclass(frozen=True)
class Readable:
    """A kept message as a person reads it: the headers that matter and the text."""

    headers: list[tuple[str, str]]
    text: str


SHOWN_HEADERS = ("From", "To", "Reply-To", "Subject", "Date", "Message-ID", "List-Unsubscribe")


def outbox() -> QuerySet[LocalMail]:
    """The local outbox, newest first, without the message bytes."""
    return LocalMail.objects.defer("raw").order_by("-created_at", "-pk")


def read(mail: LocalMail) -> Readable:
    """The headers and the text a mail program would show of a kept message."""
    parsed = email.message_from_bytes(bytes(mail.raw), policy=email.policy.default)
    assert isinstance(parsed, EmailMessageParsed)
    headers = [(name, str(parsed[name])) for name in SHOWN_HEADERS if parsed[name] is not None]
    body = parsed.get_body(preferencelist=("plain", "html"))
    try:
        text = body.get_content() if isinstance(body, EmailMessageParsed) else ""
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        payload = body.get_payload(decode=True) if body is not None else b""
        text = bytes(payload or b"").decode("utf-8", "replace")
    return Readable(headers=headers, text=str(text))


def keep(raw: bytes, *, sender: str, recipients: Sequence[str]) -> LocalMail:
    """Store one message in the local outbox, as SMTP would have carried it."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    return LocalMail.objects.create(
        sender=(parseaddr(sender)[1] or sender)[:320],
        recipients=list(recipients),
        subject=str(parsed.get("Subject", ""))[:998],
        message_id=str(parsed.get("Message-ID", ""))[:998],
        raw=raw,
    )


def _wire_bytes(message: EmailMessage) -> bytes:
    """The message as Django's SMTP backend puts it on the wire (CRLF line ends)."""
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False).flatten(message.message(), linesep="\r\n")
    return out.getvalue()


class EmailBackend(BaseEmailBackend):
    """Django's e-mail backend for Herald: SMTP when configured, else the local outbox."""

    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(fail_silently=fail_silently)
        smtp = smtp_config()
        self.smtp: DjangoSMTPBackend | None = None
        if smtp is not None:
            self.smtp = DjangoSMTPBackend(
                host=smtp.host,
                port=smtp.port,
                username=smtp.username,
                password=smtp.password,
                use_tls=smtp.starttls,
                use_ssl=smtp.ssl,
                timeout=smtp.timeout,
                fail_silently=fail_silently,
            )

    def open(self) -> bool | None:
        return self.smtp.open() if self.smtp is not None else None

    def close(self) -> None:
        if self.smtp is not None:
            self.smtp.close()

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        if self.smtp is not None:
            return self.smtp.send_messages(email_messages)
        kept = 0
        for message in email_messages:
            recipients = message.recipients()
            if not recipients:
                continue
            keep(_wire_bytes(message), sender=message.from_email, recipients=recipients)
            kept += 1
        return kept


def connection() -> BaseEmailBackend:
    """A connection of the one transport.

    Herald's own senders name the backend rather than read ``EMAIL_BACKEND``, so
    that nothing (a settings module, the test runner's in-memory backend) can
    send the reporter's mail somewhere the subscribers' does not go.
    """
    return get_connection(backend=f"{__name__}.EmailBackend")
