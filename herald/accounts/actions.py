"""Every write to accounts: roles, invitations, collaborators, tokens. Each one audited.

The audit rows name what changed and never hold a secret: a token appears by its
prefix and name, an invitation by its e-mail address and role.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.utils import timezone

from herald.accounts import access, tokens
from herald.accounts.models import Account, ApiToken, Collaboration, Invitation, Role, Scope
from herald.audit.actions import record
from herald.core.errors import HeraldError, ValidationError

MAX_TOKEN_DAYS = 366


def _person(user: AbstractBaseUser | None) -> Any:
    """The acting user for a foreign key to the user model (None for the CLI)."""
    return user if user is not None and user.is_authenticated else None


def _user_label(user: Any) -> dict[str, Any]:
    return {"user": user.get_username(), "user_id": user.pk}


def _item(advisory: Any, incident: Any) -> dict[str, Any]:
    if advisory is not None:
        return {"advisory": advisory.identifier}
    if incident is not None:
        return {"incident": incident.identifier}
    return {}


def do_set_role(user: Any, role: str, *, acting_user: AbstractBaseUser | None) -> Account:
    """Give ``user`` a role ("" for none). The last active admin cannot lose the role."""
    if role not in Role.values:
        raise ValidationError({"role": f"Not a role: {role!r}."})
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user.pk)
        before = access.role_of(user)
        if before == Role.ADMIN and role != Role.ADMIN:
            admins = [
                u
                for u in get_user_model().objects.filter(is_active=True).exclude(pk=user.pk)
                if access.role_of(u) == Role.ADMIN
            ]
            if not admins:
                raise ValidationError({"role": "Herald needs at least one active admin."})
        account, _ = Account.objects.get_or_create(user=user)
        account.role = role
        account.save(update_fields=["role"])
        # is_staff keeps meaning "the whole desk" for pages that check only it.
        user.is_staff = role in access.FULL_DESK_ROLES
        user.is_superuser = role == Role.ADMIN
        user.save(update_fields=["is_staff", "is_superuser"])
        access.forget_role(user)
        record(
            acting_user=acting_user,
            action="account.role",
            obj=user,
            object_type="auth.user",
            object_id=user.get_username(),
            before={"role": before},
            after={"role": role},
        )
    return account


def do_set_active(user: Any, active: bool, *, acting_user: AbstractBaseUser | None) -> None:
    """Disable (or enable again) an account; a disabled one signs in and uses tokens no more."""
    with transaction.atomic():
        user = get_user_model().objects.select_for_update().get(pk=user.pk)
        if not active and access.role_of(user) == Role.ADMIN:
            others = [
                u
                for u in get_user_model().objects.filter(is_active=True).exclude(pk=user.pk)
                if access.role_of(u) == Role.ADMIN
            ]
            if not others:
                raise ValidationError({"active": "Herald needs at least one active admin."})
        before = user.is_active
        user.is_active = active
        user.save(update_fields=["is_active"])
        record(
            acting_user=acting_user,
            action="account.enable" if active else "account.disable",
            obj=user,
            object_type="auth.user",
            object_id=user.get_username(),
            before={"is_active": before},
            after={"is_active": active},
        )


# ---------------------------------------------------------------- invitations


def do_invite(
    *,
    email: str,
    role: str = "",
    advisory: Any = None,
    incident: Any = None,
    acting_user: AbstractBaseUser | None,
) -> tuple[Invitation, str]:
    """A one-time invitation; returns it and the secret for its link (shown once)."""
    email = (email or "").strip()
    if role not in Role.values:
        raise ValidationError({"role": f"Not a role: {role!r}."})
    if not role and advisory is None and incident is None:
        raise ValidationError(
            {"role": "Give a role, or a draft or incident to invite a collaborator to."}
        )
    if advisory is not None and incident is not None:
        raise ValidationError({"advisory": "Invite to one item: a draft or an incident."})
    if get_user_model().objects.filter(email__iexact=email).exists():
        raise ValidationError(
            {
                "email": "This address already has an account: change its role or add it "
                "as a collaborator instead."
            }
        )
    value = tokens.new_invitation_value()
    days = int(getattr(settings, "HERALD_INVITATION_DAYS", 7))
    with transaction.atomic():
        invitation = Invitation.objects.create(
            email=email,
            role=role,
            advisory=advisory,
            incident=incident,
            token_hash=tokens.digest(value),
            created_by=_person(acting_user),
            expires_at=timezone.now() + dt.timedelta(days=days),
        )
        record(
            acting_user=acting_user,
            action="account.invite",
            obj=invitation,
            object_id=email,
            after={"email": email, "role": role, **_item(advisory, incident), "days": days},
        )
    return invitation, value


def access_invitation(value: str) -> Invitation:
    """The usable invitation for a link's secret; one error for every kind of bad link."""
    invitation = (
        Invitation.objects.select_related("advisory", "incident")
        .filter(token_hash=tokens.digest(value or ""))
        .first()
    )
    if invitation is None or not invitation.is_usable:
        raise HeraldError("This invitation link is not valid: it was used, revoked or expired.")
    return invitation


def do_revoke_invitation(invitation: Invitation, *, acting_user: AbstractBaseUser | None) -> None:
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.revoked_at is None and invitation.accepted_at is None:
            invitation.revoked_at = timezone.now()
            invitation.save(update_fields=["revoked_at"])
            record(
                acting_user=acting_user,
                action="account.invitation_revoke",
                obj=invitation,
                object_id=invitation.email,
            )


def _apply_invitation(invitation: Invitation, user: Any) -> None:
    """Give ``user`` what the invitation promised, inside the caller's transaction."""
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    account, _ = Account.objects.get_or_create(
        user=user, defaults={"invited_by": invitation.created_by}
    )
    if invitation.role:
        account.role = invitation.role
        account.invited_by = invitation.created_by
        account.save(update_fields=["role", "invited_by"])
        user.is_staff = invitation.role in access.FULL_DESK_ROLES
        user.is_superuser = invitation.role == Role.ADMIN
        user.save(update_fields=["is_staff", "is_superuser"])
    if invitation.advisory_id is not None or invitation.incident_id is not None:
        Collaboration.objects.get_or_create(
            user=user,
            advisory=invitation.advisory,
            incident=invitation.incident,
            defaults={"added_by": invitation.created_by},
        )
    access.forget_role(user)
    record(
        acting_user=user,
        action="account.invitation_accept",
        obj=invitation,
        object_id=invitation.email,
        after={
            **_user_label(user),
            "role": invitation.role,
            **_item(invitation.advisory, invitation.incident),
        },
    )


def do_accept_invitation(value: str, *, username: str, password: str) -> Any:
    """Create the invited person's account; its e-mail is verified by the link itself."""
    from allauth.account.models import EmailAddress

    invitation = access_invitation(value)
    user_model = get_user_model()
    username = (username or "").strip()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = ["Choose a username."]
    elif user_model.objects.filter(username__iexact=username).exists():
        errors["username"] = ["This username is taken."]
    candidate = user_model(username=username, email=invitation.email)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_usable:
            raise HeraldError("This invitation link is not valid: it was used, revoked or expired.")
        user = user_model.objects.create_user(
            username=username, email=invitation.email, password=password
        )
        EmailAddress.objects.create(user=user, email=invitation.email, verified=True, primary=True)
        _apply_invitation(invitation, user)
    return user


def do_accept_invitation_for(invitation: Invitation, user: Any) -> None:
    """Apply an invitation to an account just made by single sign-on."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_usable:
            raise HeraldError("This invitation link is not valid: it was used, revoked or expired.")
        _apply_invitation(invitation, user)


# ---------------------------------------------------------------- collaborators


def do_add_collaborator(
    user: Any,
    *,
    advisory: Any = None,
    incident: Any = None,
    acting_user: AbstractBaseUser | None,
) -> Collaboration:
    if (advisory is None) == (incident is None):
        raise ValidationError({"item": "Add a collaborator to one draft or one incident."})
    if not user.is_active:
        raise ValidationError({"user": f"{user.get_username()} is disabled."})
    with transaction.atomic():
        collaboration, created = Collaboration.objects.get_or_create(
            user=user,
            advisory=advisory,
            incident=incident,
            defaults={"added_by": _person(acting_user)},
        )
        if created:
            record(
                acting_user=acting_user,
                action="collaborator.add",
                obj=advisory or incident,
                after={**_user_label(user), **_item(advisory, incident)},
            )
    return collaboration


def do_remove_collaborator(
    collaboration: Collaboration, *, acting_user: AbstractBaseUser | None
) -> None:
    with transaction.atomic():
        item = collaboration.advisory or collaboration.incident
        before = {
            **_user_label(collaboration.user),
            **_item(collaboration.advisory, collaboration.incident),
        }
        collaboration.delete()
        record(acting_user=acting_user, action="collaborator.remove", obj=item, before=before)


# ---------------------------------------------------------------- API tokens


def do_create_token(
    *,
    user: Any,
    name: str,
    scopes: list[str],
    days: int,
    acting_user: AbstractBaseUser | None,
) -> tuple[ApiToken, str]:
    """A new token; returns it and its value, which is shown once and never again."""
    name = " ".join((name or "").split())
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Name the token after where it is used."
    scopes = sorted(set(scopes or []))
    unknown = [s for s in scopes if s not in Scope.values]
    if unknown or not scopes:
        errors["scopes"] = "Choose one or more of: " + ", ".join(Scope.values) + "."
    else:
        refused = access.scopes_refused(user, scopes)
        if refused:
            errors["scopes"] = (
                f"{user.get_username()}'s role cannot use: " + ", ".join(refused) + "."
            )
    if not 1 <= days <= MAX_TOKEN_DAYS:
        errors["days"] = f"A token expires after 1 to {MAX_TOKEN_DAYS} days."
    if errors:
        raise ValidationError(errors)
    value = tokens.new_token_value()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name[:100],
            prefix=tokens.display_prefix(value),
            token_hash=tokens.digest(value),
            scopes=scopes,
            expires_at=timezone.now() + dt.timedelta(days=days),
        )
        record(
            acting_user=acting_user,
            action="token.create",
            obj=token,
            object_id=f"{token.prefix}…",
            after={
                **_user_label(user),
                "name": token.name,
                "scopes": scopes,
                "expires_at": token.expires_at,
            },
        )
    return token, value


def do_revoke_token(token: ApiToken, *, acting_user: AbstractBaseUser | None) -> ApiToken:
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
        if token.revoked_at is not None:
            return token
        token.revoked_at = timezone.now()
        token.revoked_by = _person(acting_user)
        token.save(update_fields=["revoked_at", "revoked_by"])
        record(
            acting_user=acting_user,
            action="token.revoke",
            obj=token,
            object_id=f"{token.prefix}…",
            before={"status": "active"},
            after={**_user_label(token.user), "name": token.name, "status": "revoked"},
        )
    return token
