"""Writing to and checking the audit chain, and who an action is recorded for.

``record`` is called by every action inside its transaction, so an event exists
exactly when the change it describes was committed.

Every actor is an account: a person's, or Herald's own service account
(``service_account``) for what no person asked for by name: the CLI without
``--as``, the worker, the scheduler. Only the people outside the desk, who have
no account (a reporter, a public visitor), are recorded by a label the action
passes explicitly (``actor=``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from herald.audit.anchor import checkpoint_after_commit
from herald.audit.models import AuditEvent, AuditHead

GENESIS = "0" * 64


def _normalise(value: Any) -> Any:
    """What the JSON column will give back, so the hash is computed on stored data."""
    if value is None:
        return None
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _digest(prev_hash: str, fields: dict[str, Any]) -> str:
    payload = json.dumps(
        fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False, cls=DjangoJSONEncoder
    )
    return hashlib.sha256((prev_hash + payload).encode()).hexdigest()


def _fields(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor_user_id": event.actor_user_id,
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": str(event.object_id),
        "object_pk": event.object_pk,
        "before": event.before,
        "after": event.after,
    }


SERVICE_USERNAME = "herald-service"


def service_account() -> AbstractBaseUser:
    """Herald's own account, created by ``herald setup`` (and here, when it is missing).

    It acts for the CLI without ``--as``, the worker and the scheduler: the
    operator at the shell, whom the actions let do anything (``is_service_account``).
    It has no role, so the desk's permission table never grants it a page, and
    it never signs in on the web: no usable password, no e-mail to reset one
    with, not staff, not superuser.
    """
    model = get_user_model()
    manager: Any = model._default_manager
    user = manager.filter(**{model.USERNAME_FIELD: SERVICE_USERNAME}).first()
    if user is None:
        user = model(**{model.USERNAME_FIELD: SERVICE_USERNAME})
        user.set_unusable_password()
        for flag, value in (("is_superuser", False), ("is_staff", False), ("is_active", True)):
            if hasattr(user, flag):
                setattr(user, flag, value)
        try:
            with transaction.atomic():  # a savepoint: another process may make it first
                user.save()
        except IntegrityError:
            user = manager.get(**{model.USERNAME_FIELD: SERVICE_USERNAME})
    return user


def is_service_account(user: AbstractBaseUser | AnonymousUser | None) -> bool:
    return bool(
        user is not None and user.is_authenticated and user.get_username() == SERVICE_USERNAME
    )


def acting_account(user: AbstractBaseUser | AnonymousUser | None) -> AbstractBaseUser:
    """The account an action is recorded for: the signed-in one, else the service account."""
    if user is None or not user.is_authenticated:
        return service_account()
    return user


def actor_label(user: AbstractBaseUser | AnonymousUser | None) -> str:
    """The username an action records: ``acting_account(user)``'s, never a free string."""
    return str(acting_account(user).get_username())


def record(
    *,
    acting_user: AbstractBaseUser | None,
    action: str,
    obj: Any = None,
    object_type: str | None = None,
    object_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    actor: str | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction."""
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(getattr(obj, "identifier", None) or obj.pk)
    with transaction.atomic():
        # Locking the head serialises writers on PostgreSQL; on SQLite the
        # IMMEDIATE transaction already holds the database's write lock.
        head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
        user: AbstractBaseUser | None = None
        if acting_user is not None and acting_user.is_authenticated:
            user = acting_user
        elif actor is None or actor == SERVICE_USERNAME:
            # No one named and no outside label: Herald itself, its service account.
            user = service_account()
        event = AuditEvent(
            seq=head.seq + 1,
            at=timezone.now(),
            actor_user_id=user.pk if user is not None else None,
            actor=actor or actor_label(user),
            action=action,
            object_type=object_type or "",
            object_id=str(object_id or ""),
            object_pk=str(obj.pk) if obj is not None and obj.pk is not None else "",
            before=_normalise(before),
            after=_normalise(after),
            prev_hash=head.hash,
        )
        event.hash = _digest(head.hash, _fields(event))
        event.save()
        head.seq, head.hash = event.seq, event.hash
        head.save(update_fields=["seq", "hash"])
        # Outside the database, once committed: herald.audit.anchor.
        checkpoint_after_commit()
    return event


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"event #{self.seq}: {self.problem}"


def verify(batch_size: int = 2000) -> list[ChainProblem]:
    """Every break in the chain: changed, inserted or removed events. Empty means intact."""
    problems: list[ChainProblem] = []
    prev_hash = GENESIS
    expected_seq = 1
    last_seq = 0
    queryset = AuditEvent.objects.order_by("seq")
    for event in queryset.iterator(chunk_size=batch_size):
        if event.seq != expected_seq:
            problems.append(
                ChainProblem(
                    event.seq,
                    f"sequence jumps from #{expected_seq - 1} to #{event.seq}: "
                    f"{event.seq - expected_seq} event(s) removed",
                )
            )
        if event.prev_hash != prev_hash:
            problems.append(ChainProblem(event.seq, "does not link to the event before it"))
        if _digest(event.prev_hash, _fields(event)) != event.hash:
            problems.append(ChainProblem(event.seq, "content does not match its hash (edited)"))
        prev_hash = event.hash
        expected_seq = event.seq + 1
        last_seq = event.seq
    head = AuditHead.objects.filter(pk=1).first()
    if head is not None and (head.seq != last_seq or head.hash != prev_hash):
        problems.append(
            ChainProblem(
                last_seq,
                f"the chain ends at #{last_seq} but was last written at #{head.seq}: "
                "newest events removed or head altered",
            )
        )
    return problems
