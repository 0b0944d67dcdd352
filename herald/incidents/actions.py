"""Every write to incidents: declare, note, hand over, resolve.

A declaration is announced to the internal channels, which this app knows nothing
of: ``write_declaration`` writes the incident only, and the caller-facing
``do_declare_incident`` (``herald.publication.actions``) writes it and announces it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from herald.audit.actions import actor_label, is_service_account, record
from herald.core.errors import HeraldError, ValidationError
from herald.core.ids import next_identifier
from herald.core.text import Kind, check_text
from herald.incidents.models import Incident, IncidentEvent, Severity

INCIDENT_PREFIX = "INC"


def _state(incident: Incident) -> dict[str, Any]:
    return {
        "identifier": incident.identifier,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "commander": incident.commander.get_username() if incident.commander else None,
        "summary": incident.summary,
        "resolution_summary": incident.resolution_summary,
    }


def add_event(incident: Incident, kind: str, message: str, *, actor: str) -> IncidentEvent:
    return IncidentEvent.objects.create(
        incident=incident, at=timezone.now(), kind=kind, actor=actor, message=message
    )


# What each text of an incident is, for the gatekeeper (herald.core.text): the
# title is one line; the rest is plain text, shown as typed (never Markdown).
TEXT_KINDS: dict[str, Kind] = {
    "title": "line",
    "summary": "text",
    "reason": "text",
    "message": "text",
}


def clean_texts(**values: str | None) -> dict[str, str]:
    """Each text as the gatekeeper keeps it, or every refusal at once, by field."""
    cleaned: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for field, value in values.items():
        try:
            cleaned[field] = check_text(value, field, kind=TEXT_KINDS.get(field, "text"))
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return cleaned


def check_incident_fields(*, title: str, severity: str) -> None:
    errors: dict[str, str] = {}
    if not title or not title.strip():
        errors["title"] = "An incident needs a title."
    elif len(title) > 300:
        errors["title"] = "Keep the title under 300 characters."
    else:
        try:
            check_text(title, "title")
        except ValidationError as exc:
            errors["title"] = exc.message_dict["title"][0]
    if severity not in Severity.values:
        errors["severity"] = (
            f"Unknown severity {severity!r}; use one of {', '.join(Severity.values)}."
        )
    if errors:
        raise ValidationError(errors)


def _user_by_username(username: str | None, field: str) -> AbstractBaseUser | None:
    if not username:
        return None
    user_model = get_user_model()
    try:
        return user_model.objects.get(**{user_model.USERNAME_FIELD: username})
    except user_model.DoesNotExist:
        raise ValidationError({field: f"No account named {username!r}."}) from None


def incident_input_errors(
    *, title: str, severity: str, commander: AbstractBaseUser | str | None = None
) -> dict[str, list[str]]:
    """Every problem ``write_declaration`` would find in these values, by field."""
    errors: dict[str, list[str]] = {}
    checks: list[Callable[[], object]] = [
        lambda: check_incident_fields(title=title, severity=severity)
    ]
    if isinstance(commander, str):
        checks.append(lambda: _user_by_username(commander, "commander"))
    for check in checks:
        try:
            check()
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                errors.setdefault(field, []).extend(messages)
    return errors


def write_declaration(
    *,
    title: str,
    severity: str = Severity.MEDIUM,
    summary: str = "",
    reason: str = "",
    commander: AbstractBaseUser | str | None = None,
    acting_user: AbstractBaseUser | None,
    auto: bool = False,
) -> Incident:
    """Write a declared incident; announcing it is the caller's (see the module's doc).

    ``auto`` marks one Herald declared itself, and why."""
    errors = incident_input_errors(title=title, severity=severity, commander=commander)
    try:
        texts = clean_texts(summary=summary, reason=reason)
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    summary, reason = texts["summary"], texts["reason"]
    if isinstance(commander, str):
        commander = _user_by_username(commander, "commander")
    who = actor_label(acting_user)
    with transaction.atomic():
        now = timezone.now()
        commanding = commander or (
            # Herald's service account commands nothing: a person is named later.
            acting_user
            if acting_user is not None
            and acting_user.is_authenticated
            and not is_service_account(acting_user)
            else None
        )
        incident = Incident.objects.create(
            identifier=next_identifier(INCIDENT_PREFIX, now.year),
            title=check_text(title, "title"),
            severity=severity,
            summary=summary,
            commander=commanding,  # type: ignore[misc]  # any user model, not only auth.User
            declared_at=now,
            declared_by=who,
            declared_reason=reason,
            auto_declared=auto,
        )
        if auto:
            add_event(
                incident,
                IncidentEvent.Kind.AUTO_DECLARED,
                f"Declared automatically by Herald for {who}: {reason}",
                actor=who,
            )
        else:
            add_event(
                incident,
                IncidentEvent.Kind.DECLARED,
                f"Declared by {who}" + (f": {reason}" if reason else ""),
                actor=who,
            )
        record(
            acting_user=acting_user,
            actor=who,
            action="incident.declare",
            obj=incident,
            after=_state(incident),
        )
    return incident


def check_open(incident: Incident) -> None:
    if not incident.is_open:
        raise HeraldError(f"Incident {incident.identifier} is resolved; declare a new one.")


def do_add_incident_note(
    incident: Incident, message: str, *, acting_user: AbstractBaseUser | None
) -> IncidentEvent:
    message = clean_texts(message=message)["message"].strip()
    if not message:
        raise ValidationError({"message": "A note needs text."})
    who = actor_label(acting_user)
    with transaction.atomic():
        event = add_event(incident, IncidentEvent.Kind.NOTE, message, actor=who)
        record(
            acting_user=acting_user,
            actor=who,
            action="incident.note",
            obj=incident,
            after={"note": message},
        )
    return event


def do_update_incident(
    incident: Incident,
    *,
    acting_user: AbstractBaseUser | None,
    title: str | None = None,
    severity: str | None = None,
    summary: str | None = None,
    commander: AbstractBaseUser | str | None = None,
) -> Incident:
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        check_open(incident)
        before = _state(incident)
        who = actor_label(acting_user)
        new_title = incident.title if title is None else title
        new_severity = incident.severity if severity is None else severity
        check_incident_fields(title=new_title, severity=new_severity)
        if summary is not None:
            summary = clean_texts(summary=summary)["summary"]
        if isinstance(commander, str):
            commander = _user_by_username(commander, "commander")
        if commander is not None and commander != incident.commander:
            incident.commander = commander  # type: ignore[assignment]
            add_event(
                incident,
                IncidentEvent.Kind.COMMANDER,
                f"Commander is now {commander.get_username()}",
                actor=who,
            )
        if new_severity != incident.severity:
            add_event(
                incident,
                IncidentEvent.Kind.SEVERITY,
                f"Severity {incident.severity} → {new_severity}",
                actor=who,
            )
        incident.title = check_text(new_title, "title")
        incident.severity = new_severity
        if summary is not None:
            incident.summary = summary
        incident.save()
        record(
            acting_user=acting_user,
            actor=who,
            action="incident.update",
            obj=incident,
            before=before,
            after=_state(incident),
        )
    return incident


def do_resolve_incident(
    incident: Incident, *, summary: str = "", acting_user: AbstractBaseUser | None
) -> Incident:
    """Close the incident. Advisories it carried keep their state."""
    summary = clean_texts(summary=summary)["summary"]
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident.pk)
        if not incident.is_open:
            raise HeraldError(f"Incident {incident.identifier} is already resolved.")
        before = _state(incident)
        who = actor_label(acting_user)
        incident.status = Incident.Status.RESOLVED
        incident.resolved_at = timezone.now()
        incident.resolved_by = who
        incident.resolution_summary = summary
        incident.save()
        add_event(
            incident,
            IncidentEvent.Kind.RESOLVED,
            f"Resolved by {who}" + (f": {summary}" if summary else ""),
            actor=who,
        )
        record(
            acting_user=acting_user,
            actor=who,
            action="incident.resolve",
            obj=incident,
            before=before,
            after=_state(incident),
        )
    return incident
