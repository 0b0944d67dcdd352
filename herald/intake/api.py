"""The reports API: a django-ninja ``Router`` that the project's NinjaAPI mounts.

Mounted at ``/api/v1/reports`` by ``api.add_router("/reports", intake_router)``.

- ``POST /reports`` — anyone may send a report (no account), rate limited like the form;
  the answer carries the tracking id and the reporter's private thread link.
- ``GET /reports/thread/{token}`` and ``POST /reports/thread/{token}/messages`` — the
  reporter reads the thread (never an internal note) and answers.
- ``GET /reports`` and ``GET /reports/{tracking_id}`` — the desk's view, for signed-in
  staff only (session), internal notes included.

Every error is ``{"detail": "...", "errors": [{"field": ..., "message": ...}]}``, the
shape of the rest of the API. Each endpoint answers its own errors rather than
relying on the API's exception handlers, so the router behaves the same wherever
it is mounted.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.security import SessionAuthIsStaff

from herald.core.clientip import client_ip
from herald.core.errors import HeraldError, ValidationError
from herald.core.throttle import RateLimited
from herald.intake import actions, conf, queries
from herald.intake.actions import SpamTrap, Upload
from herald.intake.models import Report, ReportMessage
from herald.intake.outbound import thread_url

router = Router(tags=["reports"])
staff_auth = SessionAuthIsStaff()


class ReportErrorItem(Schema):
    field: str
    message: str


class ReportError(Schema):
    detail: str
    errors: list[ReportErrorItem] = []


class AttachmentIn(Schema):
    filename: str
    content_type: str = ""
    data_base64: str


class ReportIn(Schema):
    email: str
    title: str
    body: str
    name: str = ""
    handle: str = ""
    credit_as: str = Report.CreditAs.NAME
    credit_type: str = "FINDER"
    product_hint: str = ""
    attachments: list[AttachmentIn] = []


class Submitted(Schema):
    tracking_id: str
    state: str
    thread_url: str
    token: str


class MessageOut(Schema):
    at: dt.datetime
    kind: str
    author: str
    body: str


class RewardOut(Schema):
    kind: str
    description: str
    amount: Decimal | None
    currency: str
    status: str


class ThreadOut(Schema):
    tracking_id: str
    title: str
    state: str
    duplicate_of: str | None
    created_at: dt.datetime
    disclosure_deadline: dt.datetime | None
    advisory: str | None
    credit: dict[str, str]
    body: str
    attachments: list[str]
    messages: list[MessageOut]
    rewards: list[RewardOut]


class ReplyIn(Schema):
    body: str
    attachments: list[AttachmentIn] = []


class StaffMessageOut(MessageOut):
    internal: bool
    mail_status: str


class StaffReportOut(Schema):
    tracking_id: str
    title: str
    state: str
    source: str
    reporter: str
    assignee: str | None
    severity: str
    cvss_vector: str
    created_at: dt.datetime
    first_response_due: dt.datetime
    triage_due: dt.datetime
    overdue: bool
    incident: str | None
    advisory: str | None
    disclosure_deadline: dt.datetime | None


class StaffReportDetail(StaffReportOut):
    body: str
    messages: list[StaffMessageOut]


def _error(detail: str, errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {
        "detail": detail,
        "errors": [
            {"field": field, "message": message}
            for field, messages in (errors or {}).items()
            for message in messages
        ],
    }


def _invalid(exc: ValidationError) -> dict[str, Any]:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    return _error("; ".join(exc.messages), errors)


def _uploads(items: list[AttachmentIn]) -> list[Upload]:
    limit = conf.setting("HERALD_INTAKE_MAX_ATTACHMENT_BYTES")
    uploads: list[Upload] = []
    for index, item in enumerate(items):
        # Base64 of a file over the limit is refused before it is decoded.
        if len(item.data_base64) > (limit + 2) // 3 * 4 + 4:
            uploads.append((item.filename, item.content_type, b"\0" * (limit + 1)))
            continue
        try:
            data = base64.b64decode(item.data_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(
                {"attachments": f"Attachment {index + 1}: data_base64 is not base64."}
            ) from None
        uploads.append((item.filename, item.content_type, data))
    return uploads


@router.post("", response={201: Submitted, 422: ReportError, 429: ReportError}, auth=None)
def submit_report(request: HttpRequest, payload: ReportIn) -> Status[Any]:
    """Send a vulnerability report. The answer's ``thread_url`` is private to the sender."""
    try:
        report = actions.do_submit_report(
            source=Report.Source.API,
            email=payload.email,
            title=payload.title,
            body=payload.body,
            name=payload.name,
            handle=payload.handle,
            credit_as=payload.credit_as,
            credit_type=payload.credit_type,
            product_hint=payload.product_hint,
            attachments=_uploads(payload.attachments),
            ip=client_ip(request),
        )
    except RateLimited as exc:
        return Status(429, _error(str(exc)))
    except SpamTrap:  # pragma: no cover - the API has no honeypot field; kept for symmetry
        return Status(422, _error("Refused."))
    except ValidationError as exc:
        return Status(422, _invalid(exc))
    return Status(
        201,
        {
            "tracking_id": report.tracking_id,
            "state": report.state,
            "thread_url": thread_url(report),
            "token": report.token,
        },
    )


def _thread(report: Report) -> dict[str, Any]:
    advisory = report.advisory
    return {
        "tracking_id": report.tracking_id,
        "title": report.title,
        "state": report.state,
        "duplicate_of": report.duplicate_of.tracking_id if report.duplicate_of else None,
        "created_at": report.created_at,
        "disclosure_deadline": report.disclosure_deadline,
        # A draft advisory's identifier is not public (DESIGN.md rule 3).
        "advisory": advisory.identifier if advisory is not None and advisory.is_public else None,
        "credit": actions.credit_for(report),
        "body": report.body,
        "attachments": [a.filename for a in queries.reporter_attachments(report)],
        "messages": [
            {
                "at": m.created_at,
                "kind": m.kind,
                "author": "you" if m.kind == ReportMessage.Kind.FROM_REPORTER else "security team",
                "body": m.body,
            }
            for m in queries.reporter_thread(report)
        ],
        "rewards": list(
            report.rewards.values("kind", "description", "amount", "currency", "status")
        ),
    }


@router.get("/thread/{token}", response={200: ThreadOut, 404: ReportError}, auth=None)
def reporter_thread(request: HttpRequest, token: str) -> Status[Any]:
    """The reporter's view of their report: status, deadline, answers; no internal note."""
    try:
        report = queries.access_report_by_token(token)
    except HeraldError as exc:
        return Status(404, _error(str(exc)))
    return Status(200, _thread(report))


@router.post(
    "/thread/{token}/messages",
    response={201: ThreadOut, 404: ReportError, 422: ReportError, 429: ReportError},
    auth=None,
)
def reporter_reply(request: HttpRequest, token: str, payload: ReplyIn) -> Status[Any]:
    try:
        report = queries.access_report_by_token(token)
    except HeraldError as exc:
        return Status(404, _error(str(exc)))
    try:
        actions.do_reporter_reply(
            report, body=payload.body, via="api", attachments=_uploads(payload.attachments)
        )
    except RateLimited as exc:
        return Status(429, _error(str(exc)))
    except ValidationError as exc:
        return Status(422, _invalid(exc))
    return Status(201, _thread(queries.access_report_by_token(token)))


def _staff_row(report: Report) -> dict[str, Any]:
    return {
        "tracking_id": report.tracking_id,
        "title": report.title,
        "state": report.state,
        "source": report.source,
        "reporter": report.reporter.email,
        "assignee": report.assignee.get_username() if report.assignee else None,
        "severity": report.severity,
        "cvss_vector": report.cvss_vector,
        "created_at": report.created_at,
        "first_response_due": report.first_response_due,
        "triage_due": report.triage_due,
        "overdue": report.overdue,
        "incident": report.incident.identifier if report.incident else None,
        "advisory": report.advisory.identifier if report.advisory else None,
        "disclosure_deadline": report.disclosure_deadline,
    }


@router.get(
    "", response={200: list[StaffReportOut], 401: ReportError, 422: ReportError}, auth=staff_auth
)
def list_reports(request: HttpRequest, state: str = "", overdue: bool = False) -> Status[Any]:
    """Reports for the desk, newest first (signed-in staff only)."""
    if state and state not in ("open", *Report.State.values):
        return Status(422, _error(f"Unknown state {state[:40]!r}.", {"state": ["Unknown state."]}))
    reports = queries.desk_reports(state=state, overdue=overdue).select_related(
        "incident", "advisory"
    )[:500]
    return Status(200, [_staff_row(r) for r in reports])


@router.get(
    "/{tracking_id}",
    response={200: StaffReportDetail, 401: ReportError, 404: ReportError},
    auth=staff_auth,
)
def get_report(request: HttpRequest, tracking_id: str) -> Status[Any]:
    """One report with its whole thread, internal notes included (signed-in staff only)."""
    try:
        report = queries.access_report_for_staff(request.user, tracking_id)
    except HeraldError as exc:
        return Status(404, _error(str(exc)))
    detail = {
        **_staff_row(report),
        "body": report.body,
        "messages": [
            {
                "at": m.created_at,
                "kind": m.kind,
                "author": m.author,
                "body": m.body,
                "internal": m.internal,
                "mail_status": m.mail_status,
            }
            for m in queries.desk_thread(report)
        ],
    }
    return Status(200, detail)
