"""Account pages: accepting an invitation, one's own account and tokens, and the admin's.

Every page but the invitation's carries the desk's one guard (``staff_required``,
``herald.accounts.guard``): the route's permission (``access.ROUTE_PERMISSIONS``)
and the second factor, asked before the view runs; views check objects (whose
token, which item). Accepting an invitation is open: it is how a person gets in.
"""

from __future__ import annotations

import json
from typing import Any

from allauth.account.internal.flows.login import record_authentication
from allauth.account.utils import perform_login
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from herald.accounts import access, actions, review
from herald.accounts.adapters import INVITATION_SESSION_KEY
from herald.accounts.forms import (
    AcceptForm,
    AuditFilterForm,
    CollaboratorForm,
    InviteForm,
    RoleForm,
    TokenForm,
)
from herald.accounts.guard import acting_user, staff_required
from herald.accounts.models import ApiToken, Collaboration, Invitation
from herald.advisories.integrity import events_about
from herald.advisories.models import Advisory
from herald.audit.models import AuditEvent
from herald.core.errors import HeraldError, ValidationError
from herald.web.errors import attach_errors


def _back(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


# ---------------------------------------------------------------- invitations


@never_cache
def accept(request: HttpRequest, secret: str) -> HttpResponse:
    """The invitation link: choose a username and password, or sign in through SSO."""
    try:
        invitation = actions.access_invitation(secret)
    except HeraldError as exc:
        return render(request, "accounts/accept.html", {"invalid": str(exc)}, status=404)
    if request.user.is_authenticated:
        messages.error(request, "Log out first: this invitation creates a new account.")
        return redirect("accounts:home")
    # Single sign-on may create the account only while this is in the session.
    request.session[INVITATION_SESSION_KEY] = invitation.pk
    form = AcceptForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                user = actions.do_accept_invitation(
                    secret,
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password1"],
                )
            except ValidationError as exc:
                aliases = {"password": "password1"}
                attach_errors(exc, form, aliases=aliases)
            except HeraldError as exc:
                return render(request, "accounts/accept.html", {"invalid": str(exc)}, status=404)
            else:
                request.session.pop(INVITATION_SESSION_KEY, None)
                messages.success(
                    request,
                    "Welcome. Set up a second factor now: an authenticator app or a passkey.",
                )
                # allauth's login, so that the password just chosen counts as a recent
                # authentication and setting up the second factor asks for it no more.
                response = perform_login(request, user, email_verification="none")
                record_authentication(
                    request, user, "password", username=user.get_username(), reauthenticated=True
                )
                return response
    return render(
        request, "accounts/accept.html", {"invitation": invitation, "form": form}, status=status
    )


@staff_required
def invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    link = ""
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = form.cleaned_data
            item = data["item"]
            needed = "accounts.manage" if data["role"] else "collaborator.manage"
            if not access.can(request.user, needed, item):
                raise PermissionDenied
            try:
                _, secret = actions.do_invite(
                    email=data["email"],
                    role=data["role"],
                    advisory=item if isinstance(item, Advisory) else None,
                    incident=item if item is not None and not isinstance(item, Advisory) else None,
                    acting_user=acting_user(request),
                )
            except ValidationError as exc:
                attach_errors(exc, form)
            else:
                link = request.build_absolute_uri(reverse("accounts:accept", args=[secret]))
                status = 201
    return render(request, "accounts/invite.html", {"form": form, "link": link}, status=status)


@staff_required
@require_POST
def invitation_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation, pk=pk)
    actions.do_revoke_invitation(invitation, acting_user=acting_user(request))
    messages.success(request, f"Invitation for {invitation.email} revoked.")
    return redirect("accounts:people")


# ---------------------------------------------------------------- one's own account


def _home(request: HttpRequest, *, form: TokenForm | None = None, new_token: str = "",
          status: int = 200) -> HttpResponse:  # fmt: skip
    user = request.user
    return render(
        request,
        "accounts/home.html",
        {
            "role": access.role_of(user),
            "has_mfa": access.has_mfa(user),
            "items": access.collaborations(user).select_related("advisory", "incident"),
            "tokens": ApiToken.objects.filter(user_id=user.pk or 0),
            "form": form or TokenForm(),
            "can_create_tokens": access.can(user, "token.create"),
            "new_token": new_token,
            # Where an admin manages everyone else (the desk header links here).
            "can_manage_accounts": access.can(user, "accounts.manage"),
            "can_read_audit": access.can(user, "audit.read"),
        },
        status=status,
    )


@staff_required
def home(request: HttpRequest) -> HttpResponse:
    return _home(request)


@staff_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST)
    if form.is_valid():
        try:
            _, value = actions.do_create_token(
                user=request.user,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                days=form.cleaned_data["days"],
                acting_user=acting_user(request),
            )
        except ValidationError as exc:
            attach_errors(exc, form)
        else:
            # Shown in this response only; the value is not stored anywhere.
            return _home(request, new_token=value, status=201)
    return _home(request, form=form, status=400)


@staff_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = ApiToken.objects.filter(pk=pk).first()
    mine = token is not None and token.user_id == request.user.pk
    if token is None or not (mine or access.can(request.user, "accounts.manage")):
        raise Http404
    actions.do_revoke_token(token, acting_user=acting_user(request))
    messages.success(request, f"Token {token.prefix}… ({token.name}) revoked.")
    return redirect(_back(request, reverse("accounts:home")))


# ---------------------------------------------------------------- the admin's pages


@staff_required
def people(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "accounts/people.html",
        {
            "rows": review.review_rows(),
            "unused_days": review.unused_days(),
            "invitations": Invitation.objects.filter(
                accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
            ).select_related("advisory", "incident", "created_by"),
        },
    )


@staff_required
def person(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(get_user_model(), pk=pk)
    role_form = RoleForm(initial={"role": access.role_of_inactive(user)})
    collaborator_form = CollaboratorForm(initial={"username": user.get_username()})
    status = 200
    if request.method == "POST":
        status = 400
        what = request.POST.get("do")
        try:
            if what == "role":
                role_form = RoleForm(request.POST)
                if role_form.is_valid():
                    actions.do_set_role(
                        user, role_form.cleaned_data["role"], acting_user=acting_user(request)
                    )
                    messages.success(request, f"{user.get_username()}'s role changed.")
                    return redirect("accounts:person", pk=user.pk)
            elif what in ("disable", "enable"):
                actions.do_set_active(user, what == "enable", acting_user=acting_user(request))
                messages.success(request, f"{user.get_username()} {what}d.")
                return redirect("accounts:person", pk=user.pk)
        except ValidationError as exc:
            attach_errors(exc, role_form)
    rows = [r for r in review.review_rows() if r.id == user.pk]
    return render(
        request,
        "accounts/person.html",
        {
            "person": user,
            "row": rows[0] if rows else None,
            "role_form": role_form,
            "collaborator_form": collaborator_form,
            "collaborations": Collaboration.objects.filter(user=user).select_related(
                "advisory", "incident"
            ),
            "tokens": ApiToken.objects.filter(user=user),
        },
        status=status,
    )


@staff_required
@require_POST
def collaborators(request: HttpRequest) -> HttpResponse:
    form = CollaboratorForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect(_back(request, reverse("accounts:people")))
    item = form.cleaned_data["item"]
    if not access.can(request.user, "collaborator.manage", item):
        raise PermissionDenied
    user = form.cleaned_data["username"]
    try:
        actions.do_add_collaborator(
            user,
            advisory=item if isinstance(item, Advisory) else None,
            incident=None if isinstance(item, Advisory) else item,
            acting_user=acting_user(request),
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, f"{user.get_username()} can now see {item.identifier}.")
    return redirect(_back(request, reverse("accounts:person", args=[user.pk])))


@staff_required
@require_POST
def collaborator_remove(request: HttpRequest, pk: int) -> HttpResponse:
    collaboration = get_object_or_404(
        Collaboration.objects.select_related("user", "advisory", "incident"), pk=pk
    )
    item = collaboration.advisory or collaboration.incident
    if not access.can(request.user, "collaborator.manage", item):
        raise PermissionDenied
    actions.do_remove_collaborator(collaboration, acting_user=acting_user(request))
    messages.success(request, f"{collaboration.user} no longer sees {collaboration.item_label}.")
    return redirect(_back(request, reverse("accounts:person", args=[collaboration.user_id])))


@staff_required
def access_review(request: HttpRequest) -> HttpResponse:
    """The review as a file: ``?format=csv`` (the default) or ``?format=json``."""
    rows = review.review_rows()
    stamp = timezone.now().strftime("%Y%m%d")
    if request.GET.get("format") == "json":
        response = HttpResponse(review.as_json(rows), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="access-review-{stamp}.json"'
    else:
        response = HttpResponse(review.as_csv(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="access-review-{stamp}.csv"'
    return response


# ---------------------------------------------------------------- audit


def _audit_events(form: AuditFilterForm) -> QuerySet[AuditEvent]:
    events = AuditEvent.objects.order_by("-seq")
    if form.is_valid():
        data = form.cleaned_data
        if data["object"]:
            name = data["object"].strip()
            condition = events_about(name)
            if ":" in name:  # "auth.user:bob" or "advisories.advisory:42"
                kind, _, ident = name.partition(":")
                condition |= Q(object_type=kind, object_id=ident) | Q(
                    object_type=kind, object_pk=ident
                )
            events = events.filter(condition)
        if data["actor"]:
            events = events.filter(actor=data["actor"].strip())
        if data["action"]:
            events = events.filter(action__startswith=data["action"].strip())
    return events


@staff_required
def audit(request: HttpRequest) -> HttpResponse:
    from herald.advisories.integrity import audit_problems

    form = AuditFilterForm(request.GET or None)
    page = Paginator(_audit_events(form), 100).get_page(request.GET.get("page"))
    # The same checks as `herald audit verify`: chain, signed anchor, advisories.
    problems = audit_problems()[0] if request.GET.get("verify") else None
    query = request.GET.copy()
    query.pop("page", None)
    # The verify link adds it back once; left in, each click appended another.
    query.pop("verify", None)
    return render(
        request,
        "accounts/audit.html",
        {"form": form, "page": page, "problems": problems, "query": query.urlencode()},
    )


def _event_dict(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "object_pk": event.object_pk,
        "before": event.before,
        "after": event.after,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


@staff_required
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered events as JSON lines, oldest first, with their hashes for checking."""
    events = _audit_events(AuditFilterForm(request.GET or None)).order_by("seq")
    body = "".join(
        json.dumps(_event_dict(e), ensure_ascii=False, default=str) + "\n"
        for e in events.iterator()
    )
    response = HttpResponse(body, content_type="application/x-ndjson; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.jsonl"'
    return response
