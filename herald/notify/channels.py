"""Channel kinds as small plug-ins behind one interface: e-mail, Slack, webhook.

E-mail goes over the channel's own SMTP server when it has one, else through the
one transport of ``herald.core.mail``: the SMTP server of ``HERALD_SMTP_URL``
(``SMTPSession``), or the local outbox when none is configured (``OutboxSession``).

A plug-in parses and validates its channel's ``config`` (``parse_config``) and
opens a ``Session`` that sends deliveries one at a time, reusing its connection
for a whole batch. ``send`` returns the peer's answer on success and raises
``TransientError`` (retry later) or ``PermanentError`` (dead now) otherwise, so
the delivery engine never needs to know which kind it is driving.

Webhooks are signed: ``Herald-Signature: v1=<hex>`` is HMAC-SHA256, keyed by the
channel's secret, over ``<Herald-Timestamp>.<body>``. A receiver recomputes it,
compares in constant time, refuses a timestamp more than five minutes from its
clock, and refuses a ``Herald-Delivery`` id it has already accepted (keep the
ids for at least those five minutes): that stops replays of a captured request.
Retries of one delivery carry the same ``Herald-Delivery`` id and a fresh
timestamp and signature.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import quopri
import re
import smtplib
import time
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from herald.core import http
from herald.core.errors import ValidationError
from herald.core.mail import SMTPConfig, keep, smtp_config
from herald.notify.models import Message


class TransientError(Exception):
    """Worth trying again later: network trouble, 4xx SMTP, 5xx/429 HTTP.

    ``retry_after``: seconds the peer asked to be left alone (HTTP Retry-After);
    the next try is then, instead of the next step of the backoff.
    """

    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Waiting(TransientError):
    """Not tried: the row must wait for another to go first (one record's revisions go
    in order). The try is not counted against the row's limit, so a row queued behind
    a slow one is never dead for waiting; ``retry_after`` is when to look again."""


class PermanentError(Exception):
    """Trying again will not help: a refused address, a 5xx SMTP reply, a 4xx HTTP reply."""


@dataclass(frozen=True)
class Envelope:
    """One delivery as a session sees it: the row's per-recipient part and its message."""

    delivery_id: int
    recipient: str
    message_id: str
    idempotency_key: str
    message: Message
    unsubscribe_url: str = ""
    manage_url: str = ""


class Session(Protocol):
    def send(self, envelope: Envelope) -> str: ...

    def close(self) -> None: ...


class OverlappingSession(Session, Protocol):
    """A session that can hold one message in flight while the engine begins others.

    ``begin`` writes the message (``upcoming``: the one this session sends next,
    which it may announce early), ``awaited_socket`` is the socket its verdict
    will come on (None: known already), ``finish`` reads the verdict or raises,
    ``abandon`` gives up on it; ``timeout`` bounds the wait for a verdict.
    """

    timeout: float

    def begin(self, envelope: Envelope, upcoming: Envelope | None = None) -> None: ...

    def finish(self) -> str: ...

    def awaited_socket(self) -> Any: ...

    def abandon(self) -> None: ...


class ChannelKind(Protocol):
    """A channel kind: what the delivery engine and the actions know of any transport.

    ``overlapping`` says its sessions are ``OverlappingSession``s, which the
    engine drives several at once; otherwise it sends one message at a time.
    """

    kind: ClassVar[str]
    overlapping: ClassVar[bool]

    def parse_config(self, config: dict[str, Any]) -> Any: ...

    def recipients(self, config: Any, key: str) -> list[tuple[str, str]]:
        """Each recipient of a channel's message ``key`` with its own idempotency key."""
        ...

    def open(self, config: Any) -> Session: ...


# What nearly every address to send to looks like; checking it is ~30 times
# cheaper than Django's validator, which is kept for anything else.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def sendable(address: str) -> None:
    """Raise ValidationError unless ``address`` can go in RCPT TO and a To: header."""
    if len(address) > 254 or not _PLAIN_ADDRESS.fullmatch(address):
        check_email(address)
        if address != address.strip():
            raise ValidationError({"email": f"{address[:80]!r} is not a valid e-mail address."})


def check_email(address: str) -> str:
    """The address, stripped, or ValidationError; refuses anything a header could not carry."""
    value = (address or "").strip()
    if any(c in value for c in "\r\n<>,;\"'") or len(value) > 254:
        raise ValidationError({"email": f"{value[:80]!r} is not a valid e-mail address."})
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValidationError({"email": f"{value[:80]!r} is not a valid e-mail address."}) from None
    return value


def check_url(url: str, field_name: str = "url") -> str:
    value = (url or "").strip()
    problem = {field_name: f"{value[:80]!r} is not an http(s) URL."}
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        raise ValidationError(problem) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(value) > 500:
        raise ValidationError(problem)
    return value


# ---------------------------------------------------------------- e-mail


@dataclass(frozen=True)
class EmailConfig:
    to: tuple[str, ...] = ()
    sender: str = ""
    smtp: SMTPConfig | None = None


class _Rendered:
    """A message's shared bytes, built once per worker and reused for every recipient."""

    def __init__(self, message: Message, sender: str) -> None:
        from herald.notify.conf import mail_domain

        subject = SMTP_POLICY.header_factory("Subject", message.subject)
        # The message's own headers (a reporter's mail: Reply-To and threading);
        # RFC 3834's Auto-Submitted unless the message says otherwise.
        extra = {"Auto-Submitted": "auto-generated", **(message.headers or {})}
        self.head = (
            f"From: {sender}\r\n"
            f"{subject.fold(policy=SMTP_POLICY)}"
            f"Date: {format_datetime(message.created_at)}\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"
            + "".join(
                SMTP_POLICY.header_factory(name, str(value)).fold(policy=SMTP_POLICY)
                for name, value in extra.items()
            )
        ).encode()
        text = message.text.replace("\r\n", "\n").rstrip("\n") + "\n"
        self.body = _qp(text)
        # What goes on the wire after the per-recipient headers: the body
        # dot-stuffed once for every recipient, then the end-of-data line.
        self.wire_body = _stuff(self.body)
        self.domain = mail_domain()


def _stuff(chunk: bytes) -> bytes:
    """Dot-stuffing (RFC 5321 4.5.2) of a chunk that starts at the beginning of a line."""
    if chunk.startswith(b"."):
        chunk = b"." + chunk
    return chunk.replace(b"\r\n.", b"\r\n..")


def _qp(text: str) -> bytes:
    # Quoted-printable keeps every line under 76 octets and the body 7-bit, so any
    # SMTP server takes it; binascii does the encoding in C.
    return quopri.encodestring(text.encode("utf-8")).replace(b"\n", b"\r\n")


class _Composer:
    """Builds each delivery's message: shared head and body, then per-recipient headers."""

    def __init__(self, sender: str) -> None:
        self.sender = sender
        self.envelope_from = parseaddr(sender)[1] or sender
        self.rendered: dict[int, _Rendered] = {}

    def _shared(self, message: Message) -> _Rendered:
        shared = self.rendered.get(message.pk)
        if shared is None:
            if len(self.rendered) > 64:
                self.rendered.clear()
            shared = self.rendered[message.pk] = _Rendered(message, self.sender)
        return shared

    def _parts(self, envelope: Envelope) -> tuple[bytes, bytes, bytes]:
        """The per-recipient headers, the body, and the body dot-stuffed."""
        shared = self._shared(envelope.message)
        head = b"".join(
            (
                shared.head,
                b"To: ",
                envelope.recipient.encode(),
                b"\r\nMessage-ID: ",
                envelope.message_id.encode(),
                b"\r\nX-Herald-Delivery: ",
                envelope.idempotency_key.encode(),
                b"\r\n",
            )
        )
        if not envelope.unsubscribe_url:
            return head + b"\r\n", shared.body, shared.wire_body
        # RFC 8058: an HTTPS URI plus the Post header make the unsubscription
        # one click in the mail client, without opening a page.
        head += b"".join(
            (
                b"List-Unsubscribe: <",
                envelope.unsubscribe_url.encode(),
                b">\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n",
            )
        )
        footer = _qp(
            f"\n--\nYou receive this because you subscribed to security advisories.\n"
            f"Manage your preferences: {envelope.manage_url}\n"
            f"Unsubscribe: {envelope.unsubscribe_url}\n"
        )
        return head, shared.body + footer, shared.wire_body + _stuff(footer)

    def render(self, envelope: Envelope) -> bytes:
        """The whole RFC 5322 message of one delivery."""
        head, body, _ = self._parts(envelope)
        return head + body


class SMTPSession(_Composer):
    """One SMTP connection, kept open across a batch; reconnects after a drop.

    With PIPELINING (RFC 2920) a message costs one round trip: its content and
    final dot go out in one write together with the next message's MAIL, RCPT
    and DATA (``upcoming``), whose replies are read when that message is sent.
    Only the final dot makes the server take a message, and the next dot is
    written only when ``send`` is called again, after the caller has recorded
    this one: at most one accepted message is ever unrecorded, as without the
    pipelining.
    """

    def __init__(self, smtp: SMTPConfig, sender: str) -> None:
        super().__init__(sender)
        self.smtp = smtp
        self.timeout = smtp.timeout
        self.conn: smtplib.SMTP | None = None
        self.pipelining = False
        # The delivery whose MAIL, RCPT and DATA are written and whose replies
        # are not read yet: the server waits for its content.
        self.announced: int | None = None
        # A message's content is written and its verdict not read yet (pipelined),
        # or the verdict already known (not pipelined).
        self.awaiting = False
        self.verdict: str | None = None

    def _connection(self) -> smtplib.SMTP:
        if self.conn is None:
            cfg = self.smtp
            try:
                if cfg.ssl:
                    conn: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout)
                else:
                    conn = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
                conn.ehlo()
                if cfg.starttls:
                    conn.starttls()
                    conn.ehlo()
                if cfg.username:
                    conn.login(cfg.username, cfg.password)
            except smtplib.SMTPAuthenticationError as exc:
                raise TransientError(f"SMTP login refused: {exc.smtp_code}") from None
            except (OSError, smtplib.SMTPException) as exc:
                raise TransientError(f"cannot reach SMTP {cfg.host}:{cfg.port}: {exc}") from None
            self.conn = conn
            self.pipelining = bool(conn.has_extn("pipelining"))
            self.announced = None
            self.awaiting = False
            if conn.file is None and conn.sock is not None:
                conn.file = conn.sock.makefile("rb")
        return self.conn

    def _announcement(self, recipient: str) -> bytes:
        return f"MAIL FROM:<{self.envelope_from}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode(
            "ascii"
        )

    def send(self, envelope: Envelope, upcoming: Envelope | None = None) -> str:
        """Send ``envelope``; with ``upcoming`` (sent next on this session), announce it."""
        self.begin(envelope, upcoming)
        return self.finish()

    def begin(self, envelope: Envelope, upcoming: Envelope | None = None) -> None:
        """Everything of ``send`` up to the final dot; ``finish`` reads the verdict.

        Between the two the server holds the whole message, so a sender driving
        several sessions writes to all of them before it waits for any, and the
        round trips overlap. Errors before the content goes out are raised here.
        """
        self.verdict = None
        if self.announced is not None and self.announced != envelope.delivery_id:
            self._drop()  # the server waits for another message's content: abandon it
        if self.announced is None:
            try:
                sendable(envelope.recipient)
            except ValidationError:
                raise PermanentError(f"invalid address {envelope.recipient[:100]!r}") from None
        conn = self._connection()
        try:
            if self.pipelining:
                self._begin_pipelined(conn, envelope, upcoming)
                return
            refused = conn.sendmail(self.envelope_from, [envelope.recipient], self.render(envelope))
        except (UnicodeEncodeError, smtplib.SMTPNotSupportedError):
            # A non-ASCII address needs SMTPUTF8; a server without it never takes it.
            self._reset_after_error()
            raise PermanentError(
                f"{envelope.recipient[:100]!r} needs SMTPUTF8, which the server does not offer"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise _smtp_error(code, text, "recipient refused") from None
        except smtplib.SMTPResponseException as exc:
            self._reset_after_error()
            raise _smtp_error(exc.smtp_code, exc.smtp_error, "refused") from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            raise TransientError(f"SMTP connection lost: {exc}") from None
        except smtplib.SMTPException as exc:
            self.close()
            raise TransientError(f"SMTP error: {exc}") from None
        if refused:
            code, text = next(iter(refused.values()))
            raise _smtp_error(code, text, "recipient refused")
        self.verdict = "250 accepted"

    def finish(self) -> str:
        """The server's answer to the message ``begin`` sent; raises when it refused it."""
        if self.verdict is not None:  # without pipelining, begin had the answer already
            verdict, self.verdict = self.verdict, None
            return verdict
        conn = self.conn
        if conn is None or not self.awaiting:
            raise RuntimeError("finish() without a message begun")
        self.awaiting = False
        try:
            code, text = self._reply(conn)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            self.close()
            raise TransientError(f"SMTP connection lost: {exc}") from None
        if code != 250:
            if self.announced is None:
                self._reset_after_error()
            raise _smtp_error(code, text, "message refused")
        return f"{code} {text.decode('utf-8', 'replace')}"[:200]

    def _reply(self, conn: smtplib.SMTP) -> tuple[int, bytes]:
        """One (possibly multi-line) reply, read straight from the buffered socket."""
        file: Any = conn.file
        line = file.readline(smtplib._MAXLINE + 1)  # type: ignore[attr-defined]
        if line[3:4] == b" " and line[:3].isdigit():  # one line: nearly every reply
            return int(line[:3]), line[4:].strip(b" \t\r\n")
        lines = []
        while True:
            if not line:
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            lines.append(line[4:].strip(b" \t\r\n"))
            if line[3:4] != b"-":
                break
            line = file.readline(smtplib._MAXLINE + 1)  # type: ignore[attr-defined]
        try:
            return int(line[:3]), b"\n".join(lines)
        except ValueError:
            return -1, b"\n".join(lines)

    def _begin_pipelined(
        self, conn: smtplib.SMTP, envelope: Envelope, upcoming: Envelope | None
    ) -> None:
        """MAIL, RCPT and DATA in one write (RFC 2920), then the content: two round trips.

        When the previous call announced this message, its MAIL, RCPT and DATA
        are already written and only their replies are read here; the content
        goes out with the next message's announcement: one round trip each.
        """
        sock: Any = conn.sock
        if self.announced is None:
            sock.sendall(self._announcement(envelope.recipient))
        self.announced = None
        mail_code, mail_text = self._reply(conn)
        rcpt_code, rcpt_text = self._reply(conn)
        data_code, data_text = self._reply(conn)
        if data_code == 354 and (mail_code != 250 or rcpt_code not in (250, 251)):
            # A server that accepted DATA anyway gets an empty message it will refuse.
            sock.sendall(b".\r\n")
            self._reply(conn)
        if mail_code != 250:
            self._reset_after_error()
            raise _smtp_error(mail_code, mail_text, "sender refused")
        if rcpt_code not in (250, 251):
            self._reset_after_error()
            raise _smtp_error(rcpt_code, rcpt_text, "recipient refused")
        if data_code != 354:
            self._reset_after_error()
            raise _smtp_error(data_code, data_text, "refused DATA")
        head, _, wire_body = self._parts(envelope)
        following = b""
        if upcoming is not None:
            try:
                sendable(upcoming.recipient)
                following = self._announcement(upcoming.recipient)
            except (ValidationError, UnicodeEncodeError):
                pass  # its own send refuses it, without the connection
        # The headers hold no line starting with a dot; the body is stuffed already.
        sock.sendall(b"".join((head, wire_body, b".\r\n", following)))
        self.awaiting = True
        if following:
            self.announced = upcoming.delivery_id  # type: ignore[union-attr]

    def awaited_socket(self) -> Any:
        """The socket the verdict of the message begun will come on, if it is still to come."""
        return self.conn.sock if self.awaiting and self.conn is not None else None

    def abandon(self) -> None:
        """Give up on the message begun (no answer in time): close without QUIT."""
        self._drop()

    def _reset_after_error(self) -> None:
        if self.announced is not None:
            self._drop()
            return
        try:
            if self.conn is not None:
                self.conn.rset()
        except (smtplib.SMTPException, OSError):
            self.close()

    def _drop(self) -> None:
        """Close without QUIT: the server waits for content and must not get any."""
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.close()
        self.conn = None
        self.announced = None
        self.awaiting = False

    def close(self) -> None:
        if self.conn is not None and self.announced is not None:
            self._drop()
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                with contextlib.suppress(OSError):
                    self.conn.close()
            self.conn = None
            self.awaiting = False


class OutboxSession(_Composer):
    """Keeps each message in the local outbox (no SMTP server configured).

    It speaks the SMTP session's begin/finish so that the delivery engine drives
    it the same way; the verdict is known as soon as the row is written.
    """

    timeout = 0.0

    def __init__(self, sender: str) -> None:
        super().__init__(sender)
        self.verdict: str | None = None

    def send(self, envelope: Envelope, upcoming: Envelope | None = None) -> str:
        self.begin(envelope, upcoming)
        return self.finish()

    def begin(self, envelope: Envelope, upcoming: Envelope | None = None) -> None:
        try:
            sendable(envelope.recipient)
        except ValidationError:
            raise PermanentError(f"invalid address {envelope.recipient[:100]!r}") from None
        kept = keep(self.render(envelope), sender=self.sender, recipients=[envelope.recipient])
        self.verdict = f"kept in the local outbox as message {kept.pk}"

    def finish(self) -> str:
        if self.verdict is None:
            raise RuntimeError("finish() without a message begun")
        verdict, self.verdict = self.verdict, None
        return verdict

    def awaited_socket(self) -> Any:
        return None

    def abandon(self) -> None:
        self.verdict = None

    def close(self) -> None:
        pass


def _smtp_error(code: int, text: bytes | str, what: str) -> Exception:
    message = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    detail = f"SMTP {what}: {code} {message}"[:500]
    return PermanentError(detail) if 500 <= code < 600 else TransientError(detail)


class EmailKind:
    kind: ClassVar[str] = "email"
    overlapping: ClassVar[bool] = True

    def recipients(self, config: EmailConfig, key: str) -> list[tuple[str, str]]:
        return [(address, f"{key}:{address}") for address in config.to]

    def parse_config(self, config: dict[str, Any]) -> EmailConfig:
        errors: dict[str, list[str]] = {}
        to: list[str] = []
        raw_to = config.get("to") or []
        if isinstance(raw_to, str):
            raw_to = [part for part in raw_to.replace(",", " ").split() if part]
        for address in raw_to:
            try:
                to.append(check_email(str(address)))
            except ValidationError as exc:
                errors.setdefault("to", []).extend(exc.messages)
        smtp = None
        if config.get("smtp_url"):
            try:
                smtp = SMTPConfig.from_url(str(config["smtp_url"]))
            except ValidationError as exc:
                errors.setdefault("smtp_url", []).extend(exc.messages)
        sender = str(config.get("from") or "")
        if sender:
            try:
                check_email(parseaddr(sender)[1])
            except ValidationError:
                errors.setdefault("from", []).append(f"{sender[:80]!r} is not a sender address.")
        if errors:
            raise ValidationError(errors)
        return EmailConfig(to=tuple(to), sender=sender, smtp=smtp)

    def open(self, config: EmailConfig) -> SMTPSession | OutboxSession:
        from herald.notify.conf import mail_from

        sender = config.sender or mail_from()
        try:
            smtp = config.smtp or smtp_config()
        except ValidationError as exc:  # herald.E005 refuses to start with it; a guard
            problem = f"HERALD_SMTP_URL cannot be used: {' '.join(exc.messages)}"
            raise TransientError(problem) from None
        if smtp is None:
            return OutboxSession(sender)
        return SMTPSession(smtp, sender)


# ---------------------------------------------------------------- HTTP kinds


def _http_outcome(response: http.Response) -> str:
    summary = f"HTTP {response.status} {response.text[:200]}".strip()
    if 200 <= response.status < 300:
        return summary
    if response.status in (408, 425, 429) or response.status >= 500:
        raise TransientError(summary)
    raise PermanentError(summary)


def _post(url: str, body: bytes, headers: dict[str, str]) -> str:
    from herald.notify.conf import http_timeout

    try:
        response = http.request("POST", url, body=body, headers=headers, timeout=http_timeout())
    except http.RefusedAddress as exc:
        raise PermanentError(str(exc)) from None
    except http.HTTPError as exc:
        if "not an http(s) URL" in str(exc):
            raise PermanentError(str(exc)) from None
        raise TransientError(str(exc)) from None
    return _http_outcome(response)


@dataclass(frozen=True)
class SlackConfig:
    url: str


class SlackSession:
    def __init__(self, config: SlackConfig) -> None:
        self.config = config

    def send(self, envelope: Envelope) -> str:
        message = envelope.message
        text = f"*{message.subject}*\n{message.text}"
        if message.link and message.link not in text:
            text += f"\n<{message.link}|Read it>"
        body = json.dumps({"text": text}).encode()
        return _post(envelope.recipient, body, {"Content-Type": "application/json; charset=utf-8"})

    def close(self) -> None:
        pass


class SlackKind:
    kind: ClassVar[str] = "slack"
    overlapping: ClassVar[bool] = False

    def recipients(self, config: SlackConfig, key: str) -> list[tuple[str, str]]:
        return [(config.url, key)]

    def parse_config(self, config: dict[str, Any]) -> SlackConfig:
        return SlackConfig(url=check_url(str(config.get("url") or "")))

    def open(self, config: SlackConfig) -> SlackSession:
        return SlackSession(config)


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    secret: str = field(repr=False, default="")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``Herald-Signature`` value for a body sent at ``timestamp`` (Unix seconds)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "v1=" + digest.hexdigest()


def verify_signature(
    secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: int = 300
) -> bool:
    """What a receiver does: a fresh timestamp and a matching signature (constant time)."""
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


class WebhookSession:
    def __init__(self, config: WebhookConfig) -> None:
        self.config = config

    def send(self, envelope: Envelope) -> str:
        message = envelope.message
        payload = {
            "delivery": envelope.idempotency_key,
            "event": message.data.get("event", message.source),
            "subject": message.subject,
            "text": message.text,
            "link": message.link,
            "data": message.data,
        }
        body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Herald-Event": str(payload["event"]),
            "Herald-Delivery": envelope.idempotency_key,
            "Herald-Timestamp": timestamp,
        }
        if self.config.secret:
            headers["Herald-Signature"] = sign(self.config.secret, timestamp, body)
        return _post(envelope.recipient, body, headers)

    def close(self) -> None:
        pass


class WebhookKind:
    kind: ClassVar[str] = "webhook"
    overlapping: ClassVar[bool] = False

    def recipients(self, config: WebhookConfig, key: str) -> list[tuple[str, str]]:
        return [(config.url, key)]

    def parse_config(self, config: dict[str, Any]) -> WebhookConfig:
        secret = str(config.get("secret") or "")
        if secret and len(secret) < 16:
            raise ValidationError({"secret": "Use a secret of at least 16 characters."})
        return WebhookConfig(url=check_url(str(config.get("url") or "")), secret=secret)

    def open(self, config: WebhookConfig) -> WebhookSession:
        return WebhookSession(config)


KINDS: dict[str, ChannelKind] = {}


def register(plugin: ChannelKind) -> ChannelKind:
    """Make a channel kind known to the actions and the delivery engine by its ``kind``."""
    KINDS[plugin.kind] = plugin
    return plugin


for _plugin in (EmailKind(), SlackKind(), WebhookKind()):
    register(_plugin)


def overlaps(name: str) -> bool:
    """Whether sessions of kind ``name`` may be driven several at once (unknown: no)."""
    plugin = KINDS.get(name)
    return bool(plugin is not None and plugin.overlapping)


def kind_of(name: str) -> ChannelKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValidationError(
            {"kind": f"Unknown channel kind {name!r}; use one of {', '.join(KINDS)}."}
        ) from None


def message_id_for(key: str, domain: str) -> str:
    """A stable Message-ID: the same delivery always carries the same one, retries included."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def display_address(name: str, address: str) -> str:
    return formataddr((name, address)) if name else str(Address(addr_spec=address))
