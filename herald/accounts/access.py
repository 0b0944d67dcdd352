"""Who may do what: the one table of roles, permissions, routes and token scopes.

Every access decision in Herald goes through ``can(user, permission, obj)``:
the desk's views and the gate middleware, the API (after a token's scopes),
the queries that list what a person may see. Roles map to permissions here and
nowhere else.

- **admin**: everything, including accounts, access review, the audit log and
  the notification channels' configuration (their URLs, secrets and SMTP logins).
- **responder**: the whole desk: incidents, advisories (draft, edit, publish),
  reports and notifications (campaigns, deliveries, subscribers; channels read-only).
- **support**: reads incidents and published advisories; drafts only when invited
  to them (a ``Collaboration``).
- **viewer**: reads published advisories on the desk; nothing under embargo.
- **collaborator** (no role): an outside researcher or reporter invited to one
  draft or one incident sees that item (and, for an incident, its advisories)
  and nothing else.

Object permissions (``advisory.read``, ``incident.read``) asked without an object
answer "may this person read at least one such item": that is what a route needs
before its view looks the object up and asks again with it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db.models import Q, QuerySet

from herald.accounts.models import Account, Collaboration, Role, Scope

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

    from herald.advisories.models import Advisory
    from herald.incidents.models import Incident

    AnyUser = AbstractBaseUser | AnonymousUser

A, R, S, V = Role.ADMIN, Role.RESPONDER, Role.SUPPORT, Role.VIEWER
STAFF_ROLES = frozenset({A, R, S, V})
# Roles that are Django ``is_staff``: the full desk, as every page guarded by
# ``is_staff`` alone (reports, notifications, the CLI's --as) expects.
FULL_DESK_ROLES = frozenset({A, R})

PERMISSIONS: dict[str, frozenset[str]] = {
    "desk.view": frozenset({A, R, S, V}),  # the dashboard and the lists, filtered
    "desk.work": frozenset({A, R}),  # reports, notifications, any desk page not listed
    "incident.read": frozenset({A, R, S}),
    "incident.write": frozenset({A, R}),
    "advisory.read": frozenset({A, R, S, V}),  # published ones; drafts below
    "advisory.read_drafts": frozenset({A, R}),
    "advisory.write": frozenset({A, R}),
    "advisory.publish": frozenset({A, R}),
    "token.create": frozenset({A, R, S, V}),
    "collaborator.manage": frozenset({A, R}),  # invite a researcher to a draft, or remove
    "accounts.manage": frozenset({A}),
    "audit.read": frozenset({A}),
    # Add, disable, enable and test a notification channel: its config holds
    # webhook secrets, Slack URLs and SMTP logins, and an internal one is told of
    # every incident the moment it is declared.
    "channel.manage": frozenset({A}),
}

# What each API token scope lets a request do, on top of what its owner's role allows.
SCOPE_PERMISSIONS: dict[Scope, frozenset[str]] = {
    Scope.READ: frozenset({"desk.view", "incident.read", "advisory.read"}),
    Scope.WRITE: frozenset({"advisory.write", "incident.write"}),
    Scope.PUBLISH: frozenset({"advisory.publish"}),
}
# A token may carry only the scopes its owner's role could use.
SCOPE_NEEDS = {
    Scope.READ: "desk.view",
    Scope.WRITE: "advisory.write",
    Scope.PUBLISH: "advisory.publish",
}

# Every desk route and the permission it needs (object checks follow in the view).
# A desk route missing here needs "desk.work": admins and responders only, never
# support or viewers (fail closed). tests/test_matrix.py fails on a route missing
# from its own expectation table, so a new page is decided on purpose.
ROUTE_PERMISSIONS: dict[str, str] = {
    # The dashboard, search and metrics show drafts and reports: the full desk only,
    # until they narrow what they show by role.
    "web:dashboard": "desk.work",
    "web:search": "desk.work",
    "web:metrics": "desk.work",
    "web:metrics_csv": "desk.work",
    "web:cvss_score": "advisory.write",
    "web:incident_list": "incident.read",
    "web:incident_declare": "incident.write",
    "web:incident_detail": "incident.read",
    "web:incident_note": "incident.write",
    "web:incident_resolve": "incident.write",
    "web:incident_handbook_pull_request": "incident.write",
    "web:incident_handbook_refresh": "incident.write",
    "web:advisory_list": "desk.view",
    "web:advisory_create": "advisory.write",
    "web:advisory_detail": "advisory.read",
    "web:advisory_edit": "advisory.write",
    "web:advisory_preview": "advisory.read",
    "web:advisory_revisions": "advisory.read",
    "web:advisory_publish": "advisory.publish",
    "web:advisory_withdraw": "advisory.publish",
    "web:advisory_fix": "advisory.write",
    "web:advisory_resolve": "advisory.write",
    "web:advisory_schedule": "advisory.write",
    "web:advisory_vulnerability_add": "advisory.write",
    "web:advisory_vulnerability_edit": "advisory.write",
    "web:advisory_vulnerability_remove": "advisory.write",
    # GitHub: a link leads to a publication there, as does a CVE request.
    "web:advisory_github_link": "advisory.publish",
    "web:advisory_github_cve": "advisory.publish",
    "web:advisory_github_refresh": "advisory.write",
    "accounts:home": "",  # any signed-in person: their items, second factors, tokens
    "accounts:token_create": "token.create",
    "accounts:token_revoke": "",  # own tokens; an admin's revoking of others' is checked inside
    "accounts:people": "accounts.manage",
    "accounts:person": "accounts.manage",
    "accounts:invite": "collaborator.manage",  # a staff role also needs accounts.manage
    "accounts:invitation_revoke": "accounts.manage",
    "accounts:collaborators": "collaborator.manage",
    "accounts:collaborator_remove": "collaborator.manage",
    "accounts:access_review": "accounts.manage",
    "accounts:audit": "audit.read",
    "accounts:audit_export": "audit.read",
    # The channel list and the subscriber pages are "desk.work" like the rest of notify.
    "notify:channel_create": "channel.manage",
    "notify:channel_action": "channel.manage",
}
DEFAULT_ROUTE_PERMISSION = "desk.work"
# Reachable without a role and before a second factor is set up: signing in and
# out, accepting an invitation, and allauth's own pages (MFA set-up among them).
OPEN_ROUTES = frozenset({"web:login", "web:logout", "accounts:accept"})


def role_of(user: AnyUser | None) -> str:
    """The user's role; accounts made before roles existed keep what their flags gave."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Role.NONE
    cached = getattr(user, "_herald_role", None)
    if cached is not None:
        return str(cached)
    account = Account.objects.filter(user_id=user.pk).only("role").first()
    if account is not None:
        role = account.role
    elif getattr(user, "is_superuser", False):
        role = Role.ADMIN
    elif getattr(user, "is_staff", False):
        role = Role.RESPONDER
    else:
        role = Role.NONE
    user._herald_role = role  # type: ignore[attr-defined]  # per-request memo on the instance
    return str(role)


def role_of_inactive(user: AnyUser) -> str:
    """The role a disabled account would have again if enabled (for the access review)."""
    account = Account.objects.filter(user_id=user.pk or 0).only("role").first()
    if account is not None:
        return str(account.role)
    if getattr(user, "is_superuser", False):
        return Role.ADMIN
    return Role.RESPONDER if getattr(user, "is_staff", False) else Role.NONE


def forget_role(user: Any) -> None:
    """Drop the memo after a role change on this very instance."""
    if hasattr(user, "_herald_role"):
        del user._herald_role


def collaborations(user: AnyUser | None) -> QuerySet[Collaboration]:
    if user is None or not user.is_authenticated or not user.is_active:
        return Collaboration.objects.none()
    return Collaboration.objects.filter(user_id=user.pk)


def is_collaborator(user: AnyUser | None) -> bool:
    return collaborations(user).exists()


def needs_mfa(user: AnyUser | None) -> bool:
    """Everyone who can see anything private: every staff role, and collaborators."""
    return role_of(user) in STAFF_ROLES or is_collaborator(user)


def has_mfa(user: AnyUser | None) -> bool:
    """A second factor that signs in (TOTP or a passkey); recovery codes alone are no factor."""
    if user is None or not user.is_authenticated:
        return False
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(
        user_id=user.pk, type__in=[Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]
    ).exists()


def _advisory_collaborator(user: AnyUser, advisory: Advisory) -> bool:
    return (
        collaborations(user)
        .filter(Q(advisory_id=advisory.pk) | Q(incident_id=advisory.incident_id))
        .exists()
    )


def can(user: AnyUser | None, permission: str, obj: Any = None) -> bool:
    """May ``user`` do ``permission`` (to ``obj``, when given)? The only access check."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if permission == "":
        return True
    role = role_of(user)
    allowed = role in PERMISSIONS.get(permission, frozenset())
    if permission == "advisory.read":
        if obj is None:
            return allowed or is_collaborator(user)
        if obj.is_public:
            return allowed or _advisory_collaborator(user, obj)
        return role in PERMISSIONS["advisory.read_drafts"] or _advisory_collaborator(user, obj)
    if permission == "incident.read":
        if obj is None:
            return allowed or collaborations(user).filter(incident__isnull=False).exists()
        return allowed or collaborations(user).filter(incident_id=obj.pk).exists()
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    return allowed


def visible_advisories(user: AnyUser | None, queryset: QuerySet[Advisory]) -> QuerySet[Advisory]:
    """``queryset`` narrowed to what ``user`` may read (``can(user, "advisory.read", a)``)."""
    from herald.advisories.models import Advisory

    role = role_of(user)
    if role in PERMISSIONS["advisory.read_drafts"]:
        return queryset
    mine = collaborations(user)
    shared = Q(pk__in=mine.exclude(advisory=None).values("advisory_id")) | Q(
        incident_id__in=mine.exclude(incident=None).values("incident_id")
    )
    if role in PERMISSIONS["advisory.read"]:
        public = Q(state__in=(Advisory.State.PUBLISHED, Advisory.State.WITHDRAWN))
        return queryset.filter(public | shared)
    return queryset.filter(shared)


def visible_incidents(user: AnyUser | None, queryset: QuerySet[Incident]) -> QuerySet[Incident]:
    if role_of(user) in PERMISSIONS["incident.read"]:
        return queryset
    mine = collaborations(user).exclude(incident=None).values("incident_id")
    return queryset.filter(pk__in=mine)


def visible_events(user: AnyUser | None, queryset: QuerySet[Any]) -> QuerySet[Any]:
    """An incident's timeline; lines about advisories only for those who read drafts.

    Those lines name drafts and their titles ("Advisory X drafted: ..."), which
    support and collaborators of another item must not read.
    """
    if role_of(user) in PERMISSIONS["advisory.read_drafts"]:
        return queryset
    return queryset.exclude(kind="advisory")


def route_permission(route_name: str) -> str:
    return ROUTE_PERMISSIONS.get(route_name, DEFAULT_ROUTE_PERMISSION)


def route_object(route_name: str, kwargs: dict[str, Any]) -> Any:
    """The advisory or incident a desk route names in its address, if it exists."""
    identifier = kwargs.get("identifier")
    if not isinstance(identifier, str):
        return None
    if route_name.startswith("web:advisory_"):
        from herald.advisories.models import Advisory

        return Advisory.objects.filter(identifier=identifier.strip().upper()).first()
    if route_name.startswith("web:incident_"):
        from herald.incidents.models import Incident

        return Incident.objects.filter(identifier=identifier.strip().upper()).first()
    return None


def read_permission_for(obj: Any) -> str:
    return "incident.read" if obj._meta.model_name == "incident" else "advisory.read"


def scopes_refused(user: AnyUser, scopes: list[str]) -> list[str]:
    """The scopes in ``scopes`` that ``user``'s role cannot use (empty: all fine)."""
    return [s for s in scopes if s not in SCOPE_NEEDS or not can(user, SCOPE_NEEDS[Scope(s)])]


def token_can(user: AnyUser, scopes: list[str], permission: str, obj: Any = None) -> bool:
    """A token's request: its scopes must grant ``permission`` and its owner must hold it."""
    granted = any(s in Scope.values and permission in SCOPE_PERMISSIONS[Scope(s)] for s in scopes)
    return granted and can(user, permission, obj)
