"""The publication rules of an advisory, each in one place.

``publish_blockers`` lists what stands between an advisory and its publication.
The publish action, the scheduler (when a schedule is set and when it fires), the
publish dialog and the editor's preview all ask it, so that they cannot disagree
about what blocks a publication. ``outreach_required`` (DESIGN.md rule 4) and
``embargo_in_force`` (rule 3) are the two rules it is made of besides the fields
the public page needs; nothing else restates them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from herald.advisories.fields import ADVISORY_FIELDS
from herald.advisories.models import Advisory
from herald.advisories.validation import check_publishable
from herald.core.errors import ValidationError

# What ``check_publishable`` reads: every declared field (which of them publishing
# needs is the declaration's ``needed_to_publish``, read by ``PUBLISH_REQUIRED``).
PUBLISH_FIELDS = tuple(f.name for f in ADVISORY_FIELDS)


@dataclass(frozen=True)
class Blocker:
    """One reason an advisory cannot be published now: the field, and what to do."""

    field: str
    message: str


def outreach_required(advisory: Advisory, *, waiver_reason: str = "") -> bool:
    """Rule 4: a confirmed exposure or a required user action needs an outreach
    campaign to the affected customers, unless a waiver (who, why) is recorded."""
    flagged = advisory.confirmed_exposure or advisory.user_action_required
    waived = (waiver_reason or advisory.outreach_waiver_reason or "").strip()
    return bool(flagged) and not waived


def embargo_in_force(advisory: Advisory, at: dt.datetime) -> bool:
    """Rule 3: an advisory under embargo at ``at`` reaches no public surface then."""
    return advisory.embargo_until is not None and advisory.embargo_until > at


def publish_values(advisory: Advisory) -> dict[str, Any]:
    return {name: getattr(advisory, name) for name in PUBLISH_FIELDS}


def publish_blockers(
    advisory: Advisory,
    *,
    at: dt.datetime,
    lift_embargo_reason: str = "",
    outreach_waiver_reason: str = "",
    unattended: bool = False,
) -> list[Blocker]:
    """Everything that blocks publishing ``advisory`` at ``at``; empty when nothing does.

    ``unattended`` is a publication nobody watches (the scheduler): it cannot lift
    an embargo, and it cannot start an outreach campaign, which a person approves
    or waives.
    """
    blockers: list[Blocker] = []
    try:
        check_publishable(publish_values(advisory))
    except ValidationError as exc:
        blockers += [Blocker(f, m) for f, messages in exc.message_dict.items() for m in messages]
    if embargo_in_force(advisory, at) and (unattended or not lift_embargo_reason.strip()):
        assert advisory.embargo_until is not None
        blockers.append(
            Blocker(
                "embargo_until",
                f"{advisory.identifier} is under embargo until "
                f"{advisory.embargo_until:%Y-%m-%d %H:%M} UTC. "
                + (
                    "A scheduled publication waits for the embargo to end."
                    if unattended
                    else "Schedule the publication for then, or give the reason to lift "
                    "the embargo early."
                ),
            )
        )
    if unattended and outreach_required(advisory, waiver_reason=outreach_waiver_reason):
        blockers.append(
            Blocker(
                "outreach",
                "Advisories that need outreach are published by a person, "
                "who approves the campaign or records the waiver.",
            )
        )
    return blockers


def check_no_blockers(blockers: list[Blocker]) -> None:
    """Raise the blockers as one error naming each field."""
    if blockers:
        errors: dict[str, list[str]] = {}
        for blocker in blockers:
            errors.setdefault(blocker.field, []).append(blocker.message)
        raise ValidationError(errors)
