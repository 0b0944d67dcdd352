"""Reading one e-mail from outside into plain, safe parts. Pure: no database.

Mail from the internet is whatever its sender made it: headers in unknown
charsets, bodies that lie about their charset, HTML with script, base64 that
does not decode, attachments by the hundred. ``parse_message`` never raises on
such input; it returns what it could read, with each problem listed so the desk
can see it. Only a message with no usable sender is ``Unparseable``, and the
caller keeps that one whole for a person.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.utils import getaddresses, parseaddr

import nh3

from herald.intake import pgp

TRACKING_RE = re.compile(r"\[(RPT-\d{4}-\d{4,})\]")
# r-<reply token> as the whole local part, or after a "+" (security+r-...@).
REPLY_ADDRESS_RE = re.compile(r"(?:^|[+])r-([a-z0-9]{16,32})@", re.IGNORECASE)
REPLY_MESSAGE_ID_RE = re.compile(r"<rpt-([a-z0-9]{16,32})\.", re.IGNORECASE)
RECIPIENT_HEADERS = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")


class Unparseable(Exception):
    """The message has no sender Herald can answer; a person must look at it."""


@dataclass
class MailAttachment:
    filename: str
    declared_type: str
    data: bytes


@dataclass
class ParsedMail:
    sender_email: str
    sender_name: str
    subject: str
    message_id: str
    in_reply_to: str
    references: str
    recipients: list[str]
    text: str
    attachments: list[MailAttachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    encrypted: bool = False
    decrypted: bool = False
    auto_submitted: bool = False
    bounce: bool = False

    @property
    def reply_tokens(self) -> list[str]:
        """Reply tokens found in the recipients' addresses, then in the threading headers."""
        found = [m.group(1).lower() for r in self.recipients for m in REPLY_ADDRESS_RE.finditer(r)]
        found += [
            m.group(1).lower()
            for m in REPLY_MESSAGE_ID_RE.finditer(f"{self.in_reply_to} {self.references}")
        ]
        return list(dict.fromkeys(found))

    @property
    def tracking_id(self) -> str:
        match = TRACKING_RE.search(self.subject)
        return match.group(1) if match else ""


def clean_text(value: str) -> str:
    """Text a database and a page can hold: no NUL, no lone surrogates, \\n newlines."""
    value = value.replace("\x00", "")
    value = value.encode("utf-8", "replace").decode("utf-8")
    return value.replace("\r\n", "\n").replace("\r", "\n")


def decode_bytes(data: bytes, charset: str | None, problems: list[str], where: str) -> str:
    """Bytes to text by the declared charset; an unknown or wrong one falls back, noted."""
    declared = (charset or "").strip().strip('"').lower()
    if declared:
        try:
            return data.decode(declared)
        except LookupError:
            problems.append(f"{where}: unknown charset {declared[:40]!r}; read as UTF-8.")
        except UnicodeDecodeError:
            problems.append(f"{where}: not valid {declared[:40]}; read as UTF-8 or Windows-1252.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Windows-1252 maps almost every byte; "replace" covers the five it does not.
        return data.decode("cp1252", errors="replace")


def html_to_text(markup: str) -> str:
    """The words of an HTML part, with no tag and no script left to run."""
    markup = re.sub(r"(?i)<br\s*/?>|</(p|div|li|tr|h\d)>", "\n", markup)
    text = nh3.clean(markup, tags=set())
    text = html.unescape(text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _header(msg: email.message.Message, name: str, problems: list[str]) -> str:
    """One header as text, however it is encoded."""
    try:
        value = msg.get(name)
        text = "" if value is None else str(value)
    except Exception:  # the header parser raises many kinds on broken input
        raw = msg.get_all(name) or []
        try:
            text = str(make_header(decode_header(str(raw[0])))) if raw else ""
        except Exception:
            problems.append(f"Header {name} could not be decoded; kept as sent.")
            text = str(raw[0]) if raw else ""
    return " ".join(clean_text(text).split())


def _headers(msg: email.message.Message, name: str, problems: list[str]) -> list[str]:
    try:
        values = msg.get_all(name) or []
        return [" ".join(clean_text(str(v)).split()) for v in values]
    except Exception:
        problems.append(f"Header {name} could not be decoded.")
        return []


def _payload(part: email.message.Message, problems: list[str], where: str) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        problems.append(f"{where}: the content could not be decoded; kept as sent.")
        raw = part.get_payload()
        return str(raw).encode("utf-8", "replace") if raw else b""
    if isinstance(data, bytes):
        return data
    return b""


def _leaves(msg: email.message.Message, depth: int = 0) -> Iterator[email.message.Message]:
    """The parts that carry content; a forwarded message is one part, not opened up."""
    if depth > 20:  # a bomb of nested multiparts; the rest stays in the raw message
        return
    if msg.is_multipart() and msg.get_content_type() != "message/rfc822":
        payload = msg.get_payload()
        if isinstance(payload, list):
            for sub in payload:
                if isinstance(sub, email.message.Message):
                    yield from _leaves(sub, depth + 1)
        return
    yield msg


def _parse_bytes(raw: bytes) -> email.message.Message:
    return email.message_from_bytes(raw, policy=email.policy.default)


def parse_message(raw: bytes) -> ParsedMail:
    """Read a raw RFC 822 message. Raises ``Unparseable`` only when no sender is usable."""
    problems: list[str] = []
    try:
        msg = _parse_bytes(raw)
    except Exception as exc:
        raise Unparseable(f"The message could not be read at all: {exc}") from None
    sender_header = _header(msg, "From", problems) or _header(msg, "Sender", problems)
    name, address = parseaddr(sender_header)
    address = address.strip().lower()
    if not re.fullmatch(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+", address) or len(address) > 254:
        raise Unparseable(f"No sender address Herald can answer (From: {sender_header[:200]!r}).")
    recipients: list[str] = []
    for header_name in RECIPIENT_HEADERS:
        for value in _headers(msg, header_name, problems):
            recipients += [addr.lower() for _, addr in getaddresses([value]) if addr]
    parsed = ParsedMail(
        sender_email=address,
        sender_name=clean_text(name)[:200],
        subject=_header(msg, "Subject", problems)[:300],
        message_id=_header(msg, "Message-ID", problems)[:400],
        in_reply_to=_header(msg, "In-Reply-To", problems)[:2000],
        references=_header(msg, "References", problems)[:4000],
        recipients=recipients,
        text="",
        problems=problems,
    )
    auto = _header(msg, "Auto-Submitted", problems).lower()
    precedence = _header(msg, "Precedence", problems).lower()
    parsed.auto_submitted = bool(
        (auto and auto != "no")
        or precedence in ("bulk", "junk", "list", "auto_reply")
        or _header(msg, "X-Autoreply", problems)
        or _header(msg, "X-Autorespond", problems)
    )
    parsed.bounce = msg.get_content_type() == "multipart/report" or address.startswith(
        ("mailer-daemon@", "postmaster@")
    )
    _read_body(msg, parsed)
    return parsed


def _read_body(msg: email.message.Message, parsed: ParsedMail, depth: int = 0) -> None:
    plain: list[str] = []
    markup: list[str] = []
    for index, part in enumerate(_leaves(msg)):
        where = f"Part {index + 1}"
        ctype = part.get_content_type()
        try:
            disposition = part.get_content_disposition()
            filename = part.get_filename()
        except Exception:
            disposition, filename = "attachment", None
            parsed.problems.append(f"{where}: its disposition could not be read.")
        if ctype == "application/pgp-encrypted":
            continue  # the "Version: 1" control part of PGP/MIME
        if msg.get_content_type() == "multipart/encrypted" or ctype == "application/octet-stream":
            data = _payload(part, parsed.problems, where)
            if data.lstrip().startswith(b"-----BEGIN PGP MESSAGE-----"):
                _decrypt_mime(data, parsed, depth)
                continue
        if disposition != "attachment" and not filename and ctype in ("text/plain", "text/html"):
            data = _payload(part, parsed.problems, where)
            text = clean_text(
                decode_bytes(data, part.get_content_charset(), parsed.problems, where)
            )
            (plain if ctype == "text/plain" else markup).append(text)
            continue
        data = (
            part.as_bytes() if ctype == "message/rfc822" else _payload(part, parsed.problems, where)
        )
        fallback = "forwarded.eml" if ctype == "message/rfc822" else f"attachment-{index + 1}"
        parsed.attachments.append(
            MailAttachment(filename=filename or fallback, declared_type=ctype, data=data)
        )
    # A text/plain part says it in the sender's words; HTML is used only without one.
    body = "\n\n".join(t.strip() for t in plain if t.strip())
    if not body and markup:
        body = "\n\n".join(html_to_text(m) for m in markup)
    body = _decrypt_inline(body, parsed)
    parsed.text = (parsed.text + "\n\n" + body).strip() if parsed.text else body


def _decrypt_mime(data: bytes, parsed: ParsedMail, depth: int) -> None:
    """PGP/MIME (RFC 3156): the plaintext is itself a MIME entity, read like a message."""
    parsed.encrypted = True
    result = pgp.decrypt(data)
    if not result.ok:
        parsed.problems.append(f"Encrypted message: {result.problem}.")
        parsed.attachments.append(
            MailAttachment("encrypted.asc", "application/pgp-encrypted", data)
        )
        return
    parsed.decrypted = True
    if depth > 3:
        parsed.problems.append("Encrypted message nested too deep; kept encrypted.")
        return
    inner = _parse_bytes(result.data)
    _read_body(inner, parsed, depth + 1)


def _decrypt_inline(text: str, parsed: ParsedMail) -> str:
    """Inline PGP: each armored block in the text is replaced by its plaintext."""

    def replace(match: re.Match[str]) -> str:
        parsed.encrypted = True
        result = pgp.decrypt(match.group(0).encode("ascii", "replace"))
        if not result.ok:
            parsed.problems.append(f"Encrypted block: {result.problem}.")
            return match.group(0)
        parsed.decrypted = True
        return clean_text(decode_bytes(result.data, "utf-8", parsed.problems, "Encrypted block"))

    return pgp.ARMORED.sub(replace, text)


def decrypt_text(text: str) -> tuple[str, list[str], bool]:
    """Inline PGP blocks in text typed into the form or the API; (text, problems, encrypted)."""
    holder = ParsedMail("", "", "", "", "", "", [], "")
    out = _decrypt_inline(text, holder)
    return out, holder.problems, holder.encrypted


def header_summary(raw: bytes) -> tuple[str, str, str]:
    """(Message-ID, From, Subject) of a message, as best they can be read, for the record."""
    problems: list[str] = []
    try:
        msg = _parse_bytes(raw[: 256 * 1024])
    except Exception:
        return "", "", ""
    return (
        _header(msg, "Message-ID", problems)[:400],
        _header(msg, "From", problems)[:400],
        _header(msg, "Subject", problems)[:400],
    )
