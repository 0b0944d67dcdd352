"""Every write to reports, their threads, rewards and raw mail.

The web form, the API, the mail commands and the desk call these and nothing
else. Each action runs in one transaction, writes an audit event, and leaves
its side effects (e-mail to the reporter, reminders) to run after the commit,
as rows a worker claims: an e-mail owed to a reporter is a notify ``Delivery``
row (``ReportMessage.delivery``), written with the message it copies.

What the reporter sees is decided here, not in templates: a message is
``internal`` or it is not, and only non-internal ones are ever shown or sent.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from herald.advisories.actions import Written, write_draft, write_update
from herald.advisories.models import Advisory, Credit
from herald.advisories.validation import check_cvss
from herald.audit.actions import actor_label, record
from herald.core.errors import HeraldError, ValidationError
from herald.core.ids import next_identifier
from herald.core.text import check_text, visible
from herald.core.throttle import RateLimited, check_rate
from herald.incidents.actions import write_declaration
from herald.incidents.models import Incident, Severity
from herald.incidents.queries import open_incidents
from herald.intake import conf
from herald.intake.files import detect_type, safe_filename, store_bytes
from herald.intake.mail import ParsedMail, Unparseable, clean_text, decrypt_text, header_summary
from herald.intake.mail import parse_message as parse_mail
from herald.intake.models import (
    Attachment,
    InboundMail,
    Mailbox,
    Report,
    Reporter,
    ReportMessage,
    Reward,
    RewardEvent,
)

logger = logging.getLogger(__name__)

TRACKING_PREFIX = "RPT"
ANONYMOUS_CREDIT = "Anonymous researcher"
Upload = tuple[str, str, bytes]  # (file name, declared content type, bytes)


class SpamTrap(HeraldError):
    """The honeypot field was filled in: a bot. Answer as if all went well."""


# ---------------------------------------------------------------- small helpers


def _who(acting_user: AbstractBaseUser | None) -> str:
    return actor_label(acting_user)


def _audit(
    acting_user: AbstractBaseUser | None,
    action: str,
    report: Report,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    record(
        acting_user=acting_user,
        actor=actor,
        action=action,
        object_type="intake.report",
        object_id=report.tracking_id,
        before=before,
        after=after,
    )


def _state(report: Report) -> dict[str, Any]:
    return {
        "state": report.state,
        "assignee": report.assignee.get_username() if report.assignee else None,
        "duplicate_of": report.duplicate_of.tracking_id if report.duplicate_of else None,
        "cvss_vector": report.cvss_vector,
        "severity": report.severity,
        "incident": report.incident.identifier if report.incident else None,
        "advisory": report.advisory.identifier if report.advisory else None,
        "exploited_in_wild": report.exploited_in_wild,
        "disclosure_deadline": report.disclosure_deadline,
    }


def _lock(report: Report) -> Report:
    return (
        # of=("self",): PostgreSQL cannot lock the nullable side of the outer joins.
        Report.objects.select_for_update(of=("self",))
        .select_related("reporter", "assignee", "duplicate_of", "incident", "advisory")
        .get(pk=report.pk)
    )


def _message(
    report: Report,
    kind: str,
    body: str,
    *,
    via: str,
    author: str,
    internal: bool = False,
    author_user: AbstractBaseUser | None = None,
    email_from: str = "",
    email_message_id: str = "",
    mail: bool = False,
) -> ReportMessage:
    """Append to the thread; ``mail`` owes the reporter an e-mail copy, sent after commit."""
    assert not (internal and mail), "an internal message is never mailed to the reporter"
    user = author_user if author_user is not None and author_user.is_authenticated else None
    message = ReportMessage.objects.create(
        report=report,
        kind=kind,
        internal=internal,
        via=via,
        author=author[:300],
        author_user=user,  # type: ignore[misc]  # any user model, not only auth.User
        body=body,
        created_at=timezone.now(),
        email_from=email_from[:400],
        email_message_id=email_message_id[:400],
    )
    if mail:
        _owe_mail(message)
    return message


def _owe_mail(message: ReportMessage) -> None:
    """The e-mail copy of ``message`` as an outbox row, in the caller's transaction.

    It is a ``Delivery`` like every other message Herald sends: claimed, retried
    and re-driven by notify's delivery engine, shown in the desk's outbox.
    """
    from herald.intake.outbound import reporter_mail
    from herald.notify.models import Channel, Message
    from herald.notify.outbox import Target, write_one
    from herald.notify.render import Rendered

    if message.internal:  # the one gate: nothing else puts a thread message in the outbox
        raise HeraldError("An internal message is never mailed to the reporter.")
    composed = reporter_mail(message)
    message.delivery = write_one(
        source=Message.Source.REPORT,
        key=composed.key,
        rendered=Rendered(
            subject=composed.subject,
            text=composed.text,
            data={"event": "report.message", "report": composed.tracking_id},
        ),
        target=Target(
            Channel.Kind.EMAIL, composed.recipient, composed.key, message_id=composed.message_id
        ),
        headers=composed.headers,
    )
    message.save(update_fields=["delivery"])


def _event(
    report: Report,
    text: str,
    *,
    actor: str,
    internal: bool = False,
    mail: bool = False,
    acting_user: AbstractBaseUser | None = None,
) -> ReportMessage:
    return _message(
        report,
        ReportMessage.Kind.EVENT,
        text,
        via=ReportMessage.Via.SYSTEM if acting_user is None else ReportMessage.Via.DESK,
        author=actor,
        author_user=acting_user,
        internal=internal,
        mail=mail,
    )


def _responded(report: Report, now: dt.datetime) -> list[str]:
    """Stop the first-response clock; the fields to save."""
    if report.first_responded_at is None:
        report.first_responded_at = now
        return ["first_responded_at"]
    return []


def _decided(report: Report, now: dt.datetime) -> list[str]:
    fields = _responded(report, now)
    if report.triaged_at is None and report.state in Report.DECIDED:
        report.triaged_at = now
        fields.append("triaged_at")
    return fields


def _touch(report: Report, fields: Iterable[str]) -> None:
    report.updated_at = timezone.now()
    report.save(update_fields=sorted({*fields, "updated_at"}))


# ---------------------------------------------------------------- abuse controls


def check_honeypot(value: str | None) -> None:
    if value:
        raise SpamTrap("honeypot filled")


# ---------------------------------------------------------------- cleaning input


def _clean_email(value: str) -> str:
    address = (value or "").strip().lower()
    try:
        validate_email(address)
    except DjangoValidationError:
        raise ValidationError({"email": "Give an e-mail address we can answer."}) from None
    return address


def _clean_line(value: str | None, limit: int) -> str:
    """One line of text as intake keeps it: the characters the gatekeeper refuses are
    shown as stand-ins, so that what an advisory copies from a report passes it."""
    return " ".join(visible(clean_text(value or "")).split())[:limit]


def _check_lines(values: Mapping[str, str | None]) -> None:
    """The form and the API refuse what the gatekeeper refuses: the sender can fix it."""
    errors: dict[str, list[str]] = {}
    for field_name, value in values.items():
        try:
            check_text(value, field_name)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


@dataclass
class _Files:
    kept: list[Upload]
    problems: list[str]


def _check_files(files: Sequence[Upload], *, strict: bool) -> _Files:
    """Apply the count, size and type limits. ``strict`` refuses; otherwise drops and notes."""
    limit = conf.setting("HERALD_INTAKE_MAX_ATTACHMENTS")
    max_bytes = conf.setting("HERALD_INTAKE_MAX_ATTACHMENT_BYTES")
    kept: list[Upload] = []
    problems: list[str] = []
    for index, (name, declared, data) in enumerate(files):
        filename = safe_filename(name, f"attachment-{index + 1}")
        if index >= limit:
            problems.append(
                f"{len(files) - limit} attachment(s) beyond the limit of {limit} were not kept."
            )
            break
        if len(data) > max_bytes:
            problems.append(
                f"{filename}: {len(data):,} bytes is over the limit of {max_bytes:,}; not kept."
            )
            continue
        detected = detect_type(data)
        if detected not in conf.ALLOWED_TYPES:
            problems.append(f"{filename}: files of type {detected} are not accepted; not kept.")
            continue
        kept.append((filename, clean_text(declared or "")[:200], data))
    if strict and problems:
        raise ValidationError({"attachments": problems})
    return _Files(kept, problems)


def _store_files(report: Report, message: ReportMessage | None, files: Sequence[Upload]) -> None:
    now = timezone.now()
    for filename, declared, data in files:
        stored = store_bytes(data, "attachments")
        Attachment.objects.create(
            report=report,
            message=message,
            filename=filename,
            declared_type=declared,
            detected_type=detect_type(data),
            size=stored.size,
            sha256=stored.sha256,
            path=stored.path,
            created_at=now,
        )


def _clean_body(body: str | None, *, strict: bool, problems: list[str]) -> tuple[str, bool]:
    """The body as text, encrypted blocks decrypted; (text, arrived encrypted)."""
    text = clean_text(body or "").strip()
    text, pgp_problems, encrypted = decrypt_text(text)
    problems.extend(pgp_problems)
    limit = conf.setting("HERALD_INTAKE_MAX_BODY")
    if len(text) > limit:
        if strict:
            raise ValidationError(
                {
                    "body": f"Too long: {len(text):,} characters, at most {limit:,}. "
                    "Attach the rest as a text file."
                }
            )
        problems.append(
            f"The text was {len(text):,} characters; the first {limit:,} are shown. "
            "The whole message is kept."
        )
        text = text[:limit]
    return text, encrypted


def _check_credit(credit_as: str, credit_type: str) -> tuple[str, str]:
    errors: dict[str, str] = {}
    credit_as = (credit_as or Report.CreditAs.NAME).strip().lower()
    credit_type = (credit_type or Credit.Type.FINDER).strip().upper()
    if credit_as not in Report.CreditAs.values:
        errors["credit_as"] = "Choose name, handle or anonymous."
    if credit_type not in Credit.Type.values:
        errors["credit_type"] = f"Unknown credit type {credit_type[:40]!r}."
    if errors:
        raise ValidationError(errors)
    return credit_as, credit_type


# ---------------------------------------------------------------- submission


def _ack_text(report: Report) -> str:
    return (
        f"Thank you for your report. We have received it as {report.tracking_id} "
        "and will answer you there.\n\n"
        f"We aim to respond by {report.first_response_due:%Y-%m-%d %H:%M} UTC "
        f"and to decide on it by {report.triage_due:%Y-%m-%d} UTC."
    )


def do_submit_report(
    *,
    source: str,
    email: str,
    title: str,
    body: str,
    name: str = "",
    handle: str = "",
    credit_as: str = Report.CreditAs.NAME,
    credit_type: str = Credit.Type.FINDER,
    product_hint: str = "",
    attachments: Sequence[Upload] = (),
    ip: str | None = None,
    honeypot: str = "",
    strict: bool = True,
    problems: Sequence[str] = (),
    email_message_id: str = "",
    acknowledge: bool = True,
    encrypted: bool = False,
    acting_user: AbstractBaseUser | None = None,
    rate_limited: bool = True,
) -> Report:
    """A new report from the form, the API or e-mail, acknowledged with its private link.

    ``strict`` (form and API) refuses input over the limits with field errors, so
    the sender can fix it; e-mail cannot be sent back, so it keeps what it can
    and notes the rest for the desk. ``rate_limited=False`` is for a staff import
    (a repository's reports on GitHub), which the per-sender limits must not cut short.
    """
    check_honeypot(honeypot)
    if source not in Report.Source.values:
        raise ValidationError({"source": f"Unknown source {source!r}."})
    address = _clean_email(email)
    if ip and rate_limited:
        check_rate("ip", ip, conf.setting("HERALD_INTAKE_RATE_PER_IP"), what="reports")
    if rate_limited:
        check_rate("email", address, conf.setting("HERALD_INTAKE_RATE_PER_EMAIL"), what="reports")
    notes = list(problems)
    if strict:
        _check_lines({"title": title, "name": name, "handle": handle,
                      "product_hint": product_hint})  # fmt: skip
    text, was_encrypted = _clean_body(body, strict=strict, problems=notes)
    clean_title = _clean_line(title, conf.setting("HERALD_INTAKE_MAX_TITLE"))
    errors: dict[str, str] = {}
    if not clean_title:
        if strict:
            errors["title"] = "Give the report a title."
        clean_title = "(no subject)"
    if strict and not text:
        errors["body"] = "Describe the vulnerability."
    credit_as, credit_type = _check_credit(credit_as, credit_type)
    if errors:
        raise ValidationError(errors)
    files = _check_files(attachments, strict=strict)
    notes += files.problems
    now = timezone.now()
    with transaction.atomic():
        reporter, _ = Reporter.objects.get_or_create(email=address, defaults={"created_at": now})
        # Fill in, never overwrite: anyone can type any address into the form.
        given_name, given_handle = _clean_line(name, 200), _clean_line(handle, 100)
        changed = []
        for field_name, value in (("name", given_name), ("handle", given_handle)):
            if value and not getattr(reporter, field_name):
                setattr(reporter, field_name, value)
                changed.append(field_name)
        if changed:
            reporter.save(update_fields=changed)
        report = Report.objects.create(
            tracking_id=next_identifier(TRACKING_PREFIX, now.year),
            token=secrets.token_urlsafe(32),
            reply_token=secrets.token_hex(12),
            reporter=reporter,
            source=source,
            title=clean_title,
            body=text,
            product_hint=_clean_line(product_hint, 200),
            encrypted=encrypted or was_encrypted,
            submitted_ip=ip or None,
            credit_as=credit_as,
            credit_type=credit_type,
            credit_name=given_name,
            credit_handle=given_handle,
            created_at=now,
            updated_at=now,
            first_response_due=now
            + dt.timedelta(hours=conf.setting("HERALD_INTAKE_FIRST_RESPONSE_HOURS")),
            triage_due=now + dt.timedelta(days=conf.setting("HERALD_INTAKE_TRIAGE_DAYS")),
        )
        _store_files(report, None, files.kept)
        label = report.get_source_display().lower()
        _message(
            report,
            ReportMessage.Kind.EVENT,
            f"Report received by {label} as {report.tracking_id}.",
            via=ReportMessage.Via.SYSTEM,
            author="Herald",
            # The reporter's own Message-ID: a follow-up to it finds the report too.
            email_message_id=email_message_id,
        )
        if notes:
            _message(
                report,
                ReportMessage.Kind.NOTE,
                "Intake problems:\n" + "\n".join(f"- {p}" for p in notes),
                via=ReportMessage.Via.SYSTEM,
                author="Herald",
                internal=True,
            )
        if acknowledge:
            _message(
                report,
                ReportMessage.Kind.TO_REPORTER,
                _ack_text(report),
                via=ReportMessage.Via.SYSTEM,
                author="Herald",
                mail=True,
            )
        else:
            _event(
                report,
                "Not acknowledged by e-mail: the message was sent automatically.",
                actor="Herald",
                internal=True,
            )
        _audit(
            acting_user,
            "report.submit",
            report,
            actor=f"reporter via {source}",
            after={
                "tracking_id": report.tracking_id,
                "source": source,
                "title": report.title,
                "reporter": address,
                "attachments": [f[0] for f in files.kept],
            },
        )
    return report


def do_reporter_reply(
    report: Report,
    *,
    body: str,
    via: str,
    attachments: Sequence[Upload] = (),
    email_from: str = "",
    email_message_id: str = "",
    strict: bool = True,
    problems: Sequence[str] = (),
) -> ReportMessage:
    """The reporter answers, on the web thread or by e-mail."""
    check_rate(
        "thread", report.token, conf.setting("HERALD_INTAKE_RATE_PER_THREAD"), what="messages"
    )
    notes = list(problems)
    text, _ = _clean_body(body, strict=strict, problems=notes)
    if not text and not attachments:
        raise ValidationError({"body": "Write something, or attach a file."})
    files = _check_files(attachments, strict=strict)
    notes += files.problems
    with transaction.atomic():
        report = _lock(report)
        message = _message(
            report,
            ReportMessage.Kind.FROM_REPORTER,
            text or "(attachments only)",
            via=via,
            author=report.reporter.name or report.reporter.email,
            email_from=email_from,
            email_message_id=email_message_id,
        )
        _store_files(report, message, files.kept)
        if notes:
            _message(
                report,
                ReportMessage.Kind.NOTE,
                "Intake problems with the reply:\n" + "\n".join(f"- {p}" for p in notes),
                via=ReportMessage.Via.SYSTEM,
                author="Herald",
                internal=True,
            )
        fields: list[str] = []
        if report.state == Report.State.NEEDS_MORE_INFO:
            # The reporter answered the question: back to the desk's queue.
            report.state = Report.State.NEW
            fields.append("state")
            _event(report, "Status: new (the reporter answered).", actor="Herald")
        _touch(report, fields)
        _audit(
            None,
            "report.reporter_reply",
            report,
            actor=f"reporter via {via}",
            after={"message": message.pk, "attachments": [f[0] for f in files.kept]},
        )
    return message


# ---------------------------------------------------------------- e-mail in


def _find_report(parsed: ParsedMail) -> Report | None:
    """The report a message answers: by reply token, or by tracking id from its reporter."""
    tokens = parsed.reply_tokens
    if tokens:
        found = Report.objects.filter(reply_token__in=tokens).select_related("reporter").first()
        if found is not None:
            return found
    reporter_ids = {parsed.in_reply_to, *parsed.references.split()} - {""}
    if reporter_ids:
        # A reply to the reporter's own first message (their mail client threads it).
        message = (
            ReportMessage.objects.filter(email_message_id__in=reporter_ids)
            .select_related("report__reporter")
            .first()
        )
        if message is not None and message.report.reporter.email == parsed.sender_email:
            return message.report
    if parsed.tracking_id:
        # The tracking id is not secret, so it only counts from the reporter's own address.
        return (
            Report.objects.filter(
                tracking_id=parsed.tracking_id, reporter__email=parsed.sender_email
            )
            .select_related("reporter")
            .first()
        )
    return None


def _flag(inbound: InboundMail, problem: str) -> InboundMail:
    inbound.status = InboundMail.Status.FLAGGED
    inbound.problem = problem[:5000]
    inbound.save(update_fields=["status", "problem"])
    return inbound


def do_receive_email(
    raw: bytes,
    *,
    via: str = "pipe",
    mailbox: Mailbox | None = None,
    uidvalidity: int | None = None,
    uid: int | None = None,
) -> InboundMail:
    """Keep one raw e-mail, then turn it into a report or a reply. Never raises on bad mail.

    The raw bytes are written to disk and recorded before anything is parsed, so
    that whatever goes wrong afterwards, the message is there for a person.
    """
    if mailbox is not None and uid is not None:
        seen = InboundMail.objects.filter(mailbox=mailbox, uidvalidity=uidvalidity, uid=uid).first()
        if seen is not None:
            return seen
    stored = store_bytes(raw, "raw")
    message_id, sender, subject = header_summary(raw)
    inbound = InboundMail.objects.create(
        received_at=timezone.now(),
        via=via,
        mailbox=mailbox,
        uidvalidity=uidvalidity,
        uid=uid,
        message_id=message_id,
        sender=sender,
        subject=subject,
        size=stored.size,
        sha256=stored.sha256,
        path=stored.path,
        status=InboundMail.Status.PROCESSED,
    )
    record(
        acting_user=None,
        actor=f"mail via {via}",
        action="mail.receive",
        obj=inbound,
        after={"sha256": stored.sha256, "size": stored.size, "message_id": message_id},
    )
    try:
        return _process(inbound, raw)
    except Exception as exc:
        # Whatever broke, the message is kept and a person is told; the next one goes on.
        logger.exception("Mail %s could not be processed", inbound.pk)
        summary = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return _flag(inbound, f"Processing failed: {summary}")


def _process(inbound: InboundMail, raw: bytes) -> InboundMail:
    if len(raw) > conf.setting("HERALD_INTAKE_MAX_MESSAGE_BYTES"):
        return _flag(
            inbound,
            f"The message is {len(raw):,} bytes, over the limit of "
            f"{conf.setting('HERALD_INTAKE_MAX_MESSAGE_BYTES'):,}; it was not opened.",
        )
    try:
        parsed = parse_mail(raw)
    except Unparseable as exc:
        return _flag(inbound, str(exc))
    if parsed.bounce:
        return _flag(inbound, f"A delivery failure report from {parsed.sender_email}.")
    attachments = [(a.filename, a.declared_type, a.data) for a in parsed.attachments]
    report = _find_report(parsed)
    if report is not None:
        try:
            do_reporter_reply(
                report,
                body=parsed.text,
                via=ReportMessage.Via.EMAIL,
                attachments=attachments,
                email_from=parsed.sender_email,
                email_message_id=parsed.message_id,
                strict=False,
                problems=parsed.problems,
            )
        except RateLimited as exc:
            inbound.report = report
            inbound.save(update_fields=["report"])
            return _flag(inbound, f"Reply to {report.tracking_id} not added: {exc}")
        except ValidationError:
            return _flag(inbound, f"An empty reply to {report.tracking_id}.")
    else:
        try:
            report = do_submit_report(
                source=Report.Source.EMAIL,
                email=parsed.sender_email,
                name=parsed.sender_name,
                title=parsed.subject,
                body=parsed.text,
                attachments=attachments,
                strict=False,
                problems=parsed.problems,
                email_message_id=parsed.message_id,
                # RFC 3834: never answer an automatic message automatically (mail loops).
                acknowledge=not parsed.auto_submitted,
                encrypted=parsed.encrypted,
            )
        except RateLimited as exc:
            return _flag(inbound, f"Not made into a report: {exc}")
        except ValidationError as exc:
            return _flag(inbound, "Not made into a report: " + "; ".join(exc.messages))
    inbound.report = report
    inbound.save(update_fields=["report"])
    return inbound


def do_handle_inbound(
    inbound: InboundMail, *, acting_user: AbstractBaseUser, note: str = ""
) -> InboundMail:
    """A person has looked at a flagged message."""
    with transaction.atomic():
        inbound = InboundMail.objects.select_for_update().get(pk=inbound.pk)
        if inbound.status != InboundMail.Status.FLAGGED:
            raise HeraldError("This message is not waiting for anyone.")
        inbound.status = InboundMail.Status.HANDLED
        inbound.handled_by = _who(acting_user)
        inbound.handled_at = timezone.now()
        inbound.save(update_fields=["status", "handled_by", "handled_at"])
        record(
            acting_user=acting_user,
            action="mail.handle",
            obj=inbound,
            after={"note": note.strip()},
        )
    return inbound


def do_register_mailbox(key: str) -> Mailbox:
    """The mailbox row for an IMAP account and folder, made on its first poll."""
    mailbox, created = Mailbox.objects.get_or_create(key=key[:400])
    if created:
        record(
            acting_user=None,
            action="mail.mailbox",
            obj=mailbox,
            after={"key": mailbox.key},
        )
    return mailbox


def do_record_mailbox_poll(
    mailbox: Mailbox,
    *,
    uidvalidity: int | None = None,
    last_uid: int | None = None,
    error: str = "",
) -> Mailbox:
    """Where a poll got to, or why it failed; the desk shows both."""
    with transaction.atomic():
        mailbox = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        now = timezone.now()
        mailbox.last_polled_at = now
        fields = ["last_polled_at"]
        if error:
            mailbox.consecutive_failures += 1
            mailbox.last_error = error[:2000]
            fields += ["consecutive_failures", "last_error"]
        else:
            if uidvalidity is not None:
                mailbox.uidvalidity = uidvalidity
                fields.append("uidvalidity")
            if last_uid is not None:
                mailbox.last_uid = last_uid
                fields.append("last_uid")
            mailbox.last_success_at = now
            mailbox.consecutive_failures = 0
            mailbox.last_error = ""
            fields += ["last_success_at", "consecutive_failures", "last_error"]
        mailbox.save(update_fields=fields)
    return mailbox


# ---------------------------------------------------------------- triage


def do_reply_to_reporter(
    report: Report, body: str, *, acting_user: AbstractBaseUser
) -> ReportMessage:
    text = clean_text(body or "").strip()
    if not text:
        raise ValidationError({"body": "Write the answer."})
    with transaction.atomic():
        report = _lock(report)
        message = _message(
            report,
            ReportMessage.Kind.TO_REPORTER,
            text,
            via=ReportMessage.Via.DESK,
            author=_who(acting_user),
            author_user=acting_user,
            mail=True,
        )
        _touch(report, _responded(report, timezone.now()))
        _audit(acting_user, "report.reply", report, after={"message": message.pk})
    return message


def do_add_note(report: Report, body: str, *, acting_user: AbstractBaseUser) -> ReportMessage:
    """An internal note: the reporter never sees it, on the page or by e-mail."""
    text = clean_text(body or "").strip()
    if not text:
        raise ValidationError({"body": "A note needs text."})
    with transaction.atomic():
        report = _lock(report)
        note = _message(
            report,
            ReportMessage.Kind.NOTE,
            text,
            via=ReportMessage.Via.DESK,
            author=_who(acting_user),
            author_user=acting_user,
            internal=True,
        )
        _touch(report, [])
        _audit(acting_user, "report.note", report, after={"message": note.pk})
    return note


def do_assign_report(
    report: Report, assignee: AbstractBaseUser | None, *, acting_user: AbstractBaseUser
) -> Report:
    if assignee is not None and not getattr(assignee, "is_staff", False):
        raise ValidationError({"assignee": "Reports are assigned to desk staff only."})
    with transaction.atomic():
        report = _lock(report)
        before = _state(report)
        report.assignee = assignee  # type: ignore[assignment]  # any user model
        who = assignee.get_username() if assignee is not None else "nobody"
        _event(
            report,
            f"Assigned to {who}.",
            actor=_who(acting_user),
            acting_user=acting_user,
            internal=True,
        )
        _touch(report, ["assignee"])
        _audit(acting_user, "report.assign", report, before=before, after=_state(report))
    return report


SIMPLE_STATES: dict[str, str] = {
    Report.State.NEW: "Status: new.",
    Report.State.NEEDS_MORE_INFO: "Status: needs more information. Please answer below.",
    Report.State.INFORMATIVE: "Status: informative. Thank you; no change is planned.",
    Report.State.NOT_APPLICABLE: "Status: not applicable. We do not consider this a "
    "vulnerability in our products.",
    Report.State.SPAM: "Status: spam.",
    Report.State.RESOLVED: "Status: resolved.",
}


def do_change_state(
    report: Report, state: str, *, acting_user: AbstractBaseUser, message: str = ""
) -> Report:
    """Move a report to a state that needs nothing more (accept and duplicate have their own)."""
    if state not in SIMPLE_STATES:
        raise ValidationError(
            {"state": f"Use accept or duplicate for {state!r}."}
            if state in Report.State.values
            else {"state": f"Unknown state {state!r}."}
        )
    text = clean_text(message or "").strip()
    with transaction.atomic():
        report = _lock(report)
        if report.state == state:
            raise HeraldError(f"{report.tracking_id} is already {report.get_state_display()}.")
        before = _state(report)
        report.state = state
        fields = ["state", *_decided(report, timezone.now())]
        if state == Report.State.RESOLVED:
            report.resolved_at = timezone.now()
            fields.append("resolved_at")
        spam = state == Report.State.SPAM
        # Spam is not answered: an answer confirms the address to whoever sent it.
        _event(
            report,
            SIMPLE_STATES[state] + (f"\n\n{text}" if text else ""),
            actor=_who(acting_user),
            acting_user=acting_user,
            internal=spam,
            mail=not spam,
        )
        _touch(report, fields)
        _audit(acting_user, "report.state", report, before=before, after=_state(report))
    return report


def do_mark_spam(reports: Iterable[Report], *, acting_user: AbstractBaseUser) -> list[Report]:
    """Bulk: mark many reports as spam at once; those already spam are left alone."""
    done = []
    with transaction.atomic():
        for report in reports:
            if report.state != Report.State.SPAM:
                done.append(do_change_state(report, Report.State.SPAM, acting_user=acting_user))
    return done


def do_mark_duplicate(
    report: Report, of: Report, *, acting_user: AbstractBaseUser, message: str = ""
) -> Report:
    """A duplicate of an earlier report; the reporter is told which one."""
    original = of
    seen = {report.pk}
    while original.duplicate_of_id is not None and original.pk not in seen:
        seen.add(original.pk)
        original = original.duplicate_of  # type: ignore[assignment]  # checked just above
    if original.pk in seen:
        raise ValidationError({"duplicate_of": "A report cannot be a duplicate of itself."})
    text = clean_text(message or "").strip()
    with transaction.atomic():
        report = _lock(report)
        before = _state(report)
        report.state = Report.State.DUPLICATE
        report.duplicate_of = original
        fields = ["state", "duplicate_of", *_decided(report, timezone.now())]
        _event(
            report,
            f"Status: duplicate of {original.tracking_id}, which was reported earlier "
            f"and is {original.get_state_display().lower()}." + (f"\n\n{text}" if text else ""),
            actor=_who(acting_user),
            acting_user=acting_user,
            mail=True,
        )
        _event(
            original,
            f"{report.tracking_id} was marked as a duplicate of this report.",
            actor=_who(acting_user),
            acting_user=acting_user,
            internal=True,
        )
        _touch(report, fields)
        _audit(acting_user, "report.duplicate", report, before=before, after=_state(report))
    return report


def do_assess_report(report: Report, cvss_vector: str, *, acting_user: AbstractBaseUser) -> Report:
    """The desk's CVSS v3.1 or v4.0 assessment; the severity follows from it."""
    vector = (cvss_vector or "").strip()
    field = "cvss_v4_vector" if vector.startswith("CVSS:4.0/") else "cvss_v3_vector"
    try:
        scored = check_cvss(vector, field)
    except ValidationError as exc:
        raise ValidationError({"cvss_vector": exc.message_dict[field]}) from None
    with transaction.atomic():
        report = _lock(report)
        before = _state(report)
        report.cvss_vector = scored.vector if scored else ""
        report.cvss_score = scored.score if scored else None
        report.severity = scored.severity if scored else ""
        _event(
            report,
            f"Assessed: CVSS {report.cvss_score} ({report.severity}) {report.cvss_vector}"
            if scored
            else "Assessment cleared.",
            actor=_who(acting_user),
            acting_user=acting_user,
            internal=True,
        )
        _touch(report, ["cvss_vector", "cvss_score", "severity"])
        _audit(acting_user, "report.assess", report, before=before, after=_state(report))
    return report


# ---------------------------------------------------------------- accepting


def credit_for(report: Report) -> dict[str, str]:
    """The advisory credit the reporter chose. Their e-mail address is never published.

    Only the name and handle given with this report count, never those stored from
    another report of the same address: its sender need not own the mailbox.
    """
    if report.credit_as == Report.CreditAs.HANDLE:
        name = report.credit_handle or report.credit_name
    elif report.credit_as == Report.CreditAs.NAME:
        name = report.credit_name or report.credit_handle
    else:
        name = ""
    return {"name": visible(name) or ANONYMOUS_CREDIT, "type": report.credit_type, "contact": ""}


def deadline_for(report: Report) -> dt.datetime:
    days = conf.setting(
        "HERALD_INTAKE_DISCLOSURE_DAYS_EXPLOITED"
        if report.exploited_in_wild
        else "HERALD_INTAKE_DISCLOSURE_DAYS"
    )
    start = report.accepted_at or timezone.now()
    return start + dt.timedelta(days=days)


def _schedule_reminders(report: Report) -> None:
    from herald.intake.tasks import remind_disclosure_deadline

    deadline = report.disclosure_deadline
    if deadline is None:
        return
    report_pk, now = report.pk, timezone.now()

    def enqueue(at: dt.datetime, days: int) -> None:
        remind_disclosure_deadline.using(run_after=at).enqueue(
            report_pk, deadline.isoformat(), days
        )

    for days in conf.REMINDER_DAYS:
        at = deadline - dt.timedelta(days=days)
        if at > now:
            transaction.on_commit(functools.partial(enqueue, at, days))


@dataclass(frozen=True)
class Acceptance:
    """What accepting a report wrote, for the publication function to act on."""

    report: Report
    written: Written  # the draft created, or the credit added to an advisory
    declared: Incident | None  # the incident declared for it, if any


def write_acceptance(
    report: Report,
    *,
    acting_user: AbstractBaseUser,
    incident: Incident | None = None,
    declare_incident: bool = False,
    advisory: Advisory | None = None,
    exploited_in_wild: bool | None = None,
    message: str = "",
) -> Acceptance:
    """Valid: link it to an incident (declared if none is open) and a crediting advisory.

    The caller-facing action is ``herald.publication.actions.do_accept_report``: it
    announces the incident declared here and publishes a credit added to a public
    advisory.

    With ``advisory``, the reporter's credit is added to that advisory (a second
    report of a known issue); otherwise a draft is created in the incident.
    """
    who = _who(acting_user)
    text = clean_text(message or "").strip()
    with transaction.atomic():
        report = _lock(report)
        if report.state == Report.State.ACCEPTED:
            raise HeraldError(f"{report.tracking_id} is already accepted.")
        if report.state == Report.State.SPAM:
            raise HeraldError(f"{report.tracking_id} is spam; mark it new first.")
        before = _state(report)
        declared: Incident | None = None
        if advisory is not None and incident is None and advisory.incident.is_open:
            incident = advisory.incident
        if incident is not None:
            incident = Incident.objects.select_for_update().get(pk=incident.pk)
            if not incident.is_open:
                raise ValidationError({"incident": f"{incident.identifier} is resolved."})
        elif not declare_incident and open_incidents().exists():
            names = ", ".join(open_incidents().values_list("identifier", flat=True)[:5])
            raise ValidationError(
                {
                    "incident": f"Choose the incident for this report (open: {names}), "
                    "or declare a new one."
                }
            )
        else:
            declared = incident = write_declaration(
                title=f"Report {report.tracking_id}: {report.title}"[:300],
                severity=report.severity or Severity.MEDIUM,
                reason=f"{who} accepted report {report.tracking_id}.",
                acting_user=acting_user,
                auto=not declare_incident,
            )
        credit = credit_for(report)
        if advisory is None:
            vector_field = (
                "cvss_v4_vector" if report.cvss_vector.startswith("CVSS:4.0/") else "cvss_v3_vector"
            )
            scores: dict[str, Any] = {vector_field: report.cvss_vector}
            written = write_draft(
                acting_user=acting_user,
                incident=incident,
                # Reports kept before the gatekeeper may hold what it refuses.
                title=visible(report.title),
                reported_at=report.created_at.date(),
                severity=report.severity,
                credits=[credit],
                **scores,
            )
        else:
            existing = [
                {"name": c.name, "type": c.type, "contact": c.contact}
                for c in advisory.credits.all()
            ]
            written = Written(advisory)
            if credit not in existing:
                written = write_update(
                    advisory,
                    acting_user=acting_user,
                    incident=incident,
                    credits=[*existing, credit],
                    change_summary=f"Credit added for {credit['name']}.",
                )
        advisory = written.advisory
        now = timezone.now()
        report.state = Report.State.ACCEPTED
        report.incident = incident
        report.advisory = advisory
        report.accepted_at = now
        if exploited_in_wild is not None:
            report.exploited_in_wild = exploited_in_wild
        report.disclosure_deadline = deadline_for(report)
        report.reminders_sent = []
        fields = [
            "state",
            "incident",
            "advisory",
            "accepted_at",
            "exploited_in_wild",
            "disclosure_deadline",
            "reminders_sent",
            *_decided(report, now),
        ]
        _event(
            report,
            "Status: accepted. Thank you: this is a valid vulnerability and we are fixing it.\n"
            f"Disclosure deadline: {report.disclosure_deadline:%Y-%m-%d} UTC. You will be "
            f"credited as {credit['name']} ({Credit.Type(credit['type']).label.lower()})."
            + (f"\n\n{text}" if text else ""),
            actor=who,
            acting_user=acting_user,
            mail=True,
        )
        _event(
            report,
            f"Linked to incident {incident.identifier} and advisory {advisory.identifier}.",
            actor=who,
            acting_user=acting_user,
            internal=True,
        )
        _touch(report, fields)
        _schedule_reminders(report)
        _audit(acting_user, "report.accept", report, before=before, after=_state(report))
    return Acceptance(report, written, declared)


def do_set_exploited(report: Report, exploited: bool, *, acting_user: AbstractBaseUser) -> Report:
    """Exploited in the wild shortens the disclosure deadline to the policy's 7 days."""
    with transaction.atomic():
        report = _lock(report)
        if report.exploited_in_wild == exploited:
            return report
        before = _state(report)
        report.exploited_in_wild = exploited
        fields = ["exploited_in_wild"]
        if report.accepted_at is not None and report.state == Report.State.ACCEPTED:
            report.disclosure_deadline = deadline_for(report)
            report.reminders_sent = []
            fields += ["disclosure_deadline", "reminders_sent"]
            _event(
                report,
                f"Disclosure deadline is now {report.disclosure_deadline:%Y-%m-%d} UTC"
                + (" (exploited in the wild)." if exploited else "."),
                actor=_who(acting_user),
                acting_user=acting_user,
                mail=True,
            )
            _schedule_reminders(report)
        _touch(report, fields)
        _audit(acting_user, "report.exploited", report, before=before, after=_state(report))
    return report


def do_set_credit(
    report: Report,
    *,
    credit_as: str,
    credit_type: str,
    name: str = "",
    handle: str = "",
) -> Report:
    """The reporter chooses how to be credited (from their private page)."""
    credit_as, credit_type = _check_credit(credit_as, credit_type)
    with transaction.atomic():
        report = _lock(report)
        before = {"credit": credit_for(report)}
        # This report's credit only: the page's holder may not own the address, so
        # the stored Reporter (and the address's other reports) stay as they are.
        report.credit_name = _clean_line(name, 200) or report.credit_name
        report.credit_handle = _clean_line(handle, 100) or report.credit_handle
        report.credit_as, report.credit_type = credit_as, credit_type
        credit = credit_for(report)
        _event(
            report,
            f"Credit preference: {credit['name']} ({Credit.Type(credit['type']).label.lower()}).",
            actor="the reporter",
        )
        _touch(report, ["credit_as", "credit_type", "credit_name", "credit_handle"])
        _audit(
            None, "report.credit", report, actor="reporter", before=before, after={"credit": credit}
        )
    return report


def do_tell_reporters_published(advisory: Advisory) -> list[ReportMessage]:
    """An advisory went public: each report it came from is told, with the link."""
    from herald.intake.outbound import base_url

    told = []
    link = f"{base_url()}/security/advisories/{advisory.identifier}/"
    with transaction.atomic():
        for report in Report.objects.filter(advisory=advisory).select_related("reporter"):
            told.append(
                _event(
                    report,
                    f"The advisory for your report is published: {advisory.identifier} "
                    f"{advisory.title}\n{link}",
                    actor="Herald",
                    mail=True,
                )
            )
            _audit(
                None,
                "report.advisory_published",
                report,
                after={"advisory": advisory.identifier},
            )
    return told


# ---------------------------------------------------------------- rewards

REWARD_MOVES: dict[str, set[str]] = {
    Reward.Status.OFFERED: {Reward.Status.ACCEPTED, Reward.Status.DECLINED},
    Reward.Status.ACCEPTED: {Reward.Status.SHIPPED, Reward.Status.PAID, Reward.Status.DECLINED},
    Reward.Status.SHIPPED: set(),
    Reward.Status.PAID: set(),
    Reward.Status.DECLINED: set(),
}


def do_offer_reward(
    report: Report,
    *,
    kind: str,
    description: str,
    acting_user: AbstractBaseUser,
    amount: Decimal | str | None = None,
    currency: str = "",
) -> Reward:
    errors: dict[str, str] = {}
    if kind not in Reward.Kind.values:
        errors["kind"] = "Choose swag or money."
    what = _clean_line(description, 300)
    if not what:
        errors["description"] = "Say what the reward is."
    value: Decimal | None = None
    if amount not in (None, ""):
        try:
            value = Decimal(str(amount)).quantize(Decimal("0.01"))
        except InvalidOperation:
            errors["amount"] = "Give the amount as a number."
        else:
            if value <= 0 or value >= Decimal("1e8"):
                errors["amount"] = "The amount must be positive."
    code = (currency or "").strip().upper()
    if kind == Reward.Kind.MONEY:
        if value is None:
            errors.setdefault("amount", "A money reward needs an amount.")
        if len(code) != 3 or not code.isalpha():
            errors["currency"] = "Give a three-letter currency code (EUR, USD)."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        report = _lock(report)
        if report.state not in (Report.State.ACCEPTED, Report.State.RESOLVED):
            raise HeraldError("Rewards are for valid reports: accept the report first.")
        now = timezone.now()
        reward = Reward.objects.create(
            report=report,
            kind=kind,
            description=what,
            amount=value,
            currency=code if value is not None else "",
            created_at=now,
            created_by=_who(acting_user),
            updated_at=now,
        )
        RewardEvent.objects.create(
            reward=reward, at=now, actor=_who(acting_user), to_status=reward.status
        )
        _event(
            report,
            f"Reward offered: {reward.description}"
            + (f" ({reward.amount_label})" if reward.amount is not None else "")
            + ". You can accept or decline it on your report's page.",
            actor=_who(acting_user),
            acting_user=acting_user,
            mail=True,
        )
        _touch(report, [])
        _audit(
            acting_user,
            "report.reward_offer",
            report,
            after={
                "reward": reward.pk,
                "description": what,
                "amount": value,
                "currency": reward.currency,
            },
        )
    return reward


def do_change_reward_status(
    reward: Reward,
    status: str,
    *,
    acting_user: AbstractBaseUser | None,
    by_reporter: bool = False,
    note: str = "",
) -> Reward:
    """Move a reward on; the reporter may only accept or decline an offer."""
    with transaction.atomic():
        reward = (
            Reward.objects.select_for_update(of=("self",))
            .select_related("report")
            .get(pk=reward.pk)
        )
        allowed = REWARD_MOVES.get(reward.status, set())
        if by_reporter:
            allowed = allowed & {Reward.Status.ACCEPTED, Reward.Status.DECLINED}
            if reward.status != Reward.Status.OFFERED:
                allowed = set()
        if status == Reward.Status.SHIPPED and reward.kind != Reward.Kind.SWAG:
            allowed = allowed - {Reward.Status.SHIPPED}
        if status == Reward.Status.PAID and reward.kind != Reward.Kind.MONEY:
            allowed = allowed - {Reward.Status.PAID}
        if status not in allowed:
            raise HeraldError(
                f"A {reward.get_kind_display().lower()} reward that is "
                f"{reward.get_status_display().lower()} cannot become {status}."
            )
        actor = "the reporter" if by_reporter else _who(acting_user)
        before = reward.status
        reward.status = status
        reward.updated_at = timezone.now()
        reward.save(update_fields=["status", "updated_at"])
        RewardEvent.objects.create(
            reward=reward,
            at=reward.updated_at,
            actor=actor,
            from_status=before,
            to_status=status,
            note=clean_text(note or "").strip(),
        )
        report = _lock(reward.report)
        _event(
            report,
            f"Reward {reward.description}: {reward.get_status_display().lower()}.",
            actor=actor,
            acting_user=acting_user,
            # The reporter hears of what the desk did, not of their own click.
            mail=not by_reporter,
        )
        _touch(report, [])
        _audit(
            acting_user,
            "report.reward_status",
            report,
            actor=actor,
            before={"reward": reward.pk, "status": before},
            after={"reward": reward.pk, "status": status},
        )
    return reward


# ---------------------------------------------------------------- background work


def do_remind_deadline(report_pk: int, deadline_iso: str, days_before: int) -> str:
    """Remind the desk that a disclosure deadline is near. Stale reminders do nothing."""
    from django.core.mail import send_mail

    from herald.core.mail import connection, mail_from

    with transaction.atomic():
        report = Report.objects.select_for_update().filter(pk=report_pk).first()
        if report is None or report.state != Report.State.ACCEPTED:
            return "not accepted"
        if report.disclosure_deadline is None or (
            report.disclosure_deadline.isoformat() != deadline_iso
        ):
            return "deadline changed"
        if days_before in report.reminders_sent:
            return "already reminded"
        report.reminders_sent = [*report.reminders_sent, days_before]
        report.save(update_fields=["reminders_sent"])
        assignee = report.assignee
        to = [assignee.email] if assignee is not None and assignee.email else []
        if not to:
            from herald.core.models import VendorProfile

            to = [VendorProfile.get().security_contact]
        text = (
            f"The disclosure deadline of {report.tracking_id} ({report.title}) is "
            f"{report.disclosure_deadline:%Y-%m-%d %H:%M} UTC, in {days_before} day(s)."
        )
        _event(report, f"Reminder sent to {', '.join(to)}: {text}", actor="Herald", internal=True)
        _audit(
            None,
            "report.deadline_reminder",
            report,
            after={"days_before": days_before, "to": to},
        )
        subject = f"[{report.tracking_id}] Disclosure deadline in {days_before} day(s)"
        transaction.on_commit(
            lambda: send_mail(subject, text, mail_from(), to, connection=connection())
        )
    return "reminded"


def staff_user(username: str) -> AbstractBaseUser:
    """A desk account by name, for the CLI; refuses accounts without desk access."""
    user_model = get_user_model()
    try:
        user = user_model.objects.get(**{user_model.USERNAME_FIELD: username})
    except user_model.DoesNotExist:
        raise HeraldError(f"No account named {username!r}.") from None
    if not getattr(user, "is_staff", False):
        raise HeraldError(f"{username} has no desk access.")
    return user
