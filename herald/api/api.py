"""The public REST API, version 1: published and withdrawn advisories, and products.

Reads only, for anyone, so every query starts from
``herald.advisories.queries.public_advisories``: a draft never appears, and a
draft's identifier gets the very response an unknown one gets (DESIGN.md rule 3).
Each advisory is the dict of ``herald.advisories.serialize``, which the CLI's
``--json`` prints too.

The OpenAPI 3 document is served at ``/api/v1/openapi.json``. Ninja's docs page
is off: it loads Swagger UI from a CDN, and the desk must work offline.

Errors are always ``{"detail": "...", "errors": [...]}``; ``errors`` names each
query parameter at fault in a 422.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, P, PathEx, Query, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from herald.accounts.access import SCOPE_PERMISSIONS, can, role_of, token_can, visible_advisories
from herald.accounts.models import ApiToken
from herald.accounts.tokens import authenticate_token
from herald.advisories.models import Advisory
from herald.advisories.queries import access_public_advisory, public_advisories, with_cve
from herald.advisories.serialize import advisory_to_dict, desk_advisory_to_dict, fields_from_dict
from herald.advisories.snapshot import snapshot_of
from herald.api import schemas
from herald.core.errors import ConflictError, HeraldError
from herald.core.errors import ValidationError as ActionError
from herald.core.models import Product
from herald.incidents.models import Incident
from herald.publication.actions import (
    do_create_advisory,
    do_publish_advisory,
    do_remove_vulnerability,
    do_update_advisory,
    do_write_vulnerability,
)


class HeraldAPI(NinjaAPI):
    """The API, whose document also lists the refusals made before any operation runs.

    ``herald.core.requests.RequestGuardMiddleware`` answers 400 (a NUL character in
    the address, query or body) and 413 (a body over the route's limit) in the API's
    error shape; the document says so, so a client (or schemathesis) expects them.
    """

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        document = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        error = {"$ref": "#/components/schemas/Error"}
        for methods in document["paths"].values():
            for method, operation in methods.items():
                responses = operation.setdefault("responses", {})
                responses.setdefault(
                    400,
                    {
                        "description": "A NUL character in the address, query or body, "
                        "a body that is not JSON, or too many query parameters.",
                        "content": {"application/json": {"schema": error}},
                    },
                )
                if method in ("post", "put", "patch"):
                    responses.setdefault(
                        413,
                        {
                            "description": "The body is over this address's size limit.",
                            "content": {"application/json": {"schema": error}},
                        },
                    )
        return document


api = HeraldAPI(
    title="Herald",
    version="1",
    description=(
        "Security advisories published by this vendor. Only published and withdrawn "
        "advisories are served; each one has the fields of the public advisory page."
    ),
    docs_url=None,
    urls_namespace="api-v1",
)

NOT_PUBLISHED = "No published advisory has this identifier or CVE id."
# A regular expression is no message for a person.
PATTERN_MESSAGES = {"cve": "Not a CVE id (CVE-YYYY-NNNN, four or more digits)"}
ERRORS: dict[int, type[schemas.Error]] = {404: schemas.Error, 422: schemas.Error}


def error_response(
    request: HttpRequest, status: int, detail: str, errors: list[dict[str, str]] | None = None
) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "errors": errors or []}, status=status)


@api.exception_handler(ValidationError)
def invalid_parameters(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    kinds = []
    for error in exc.errors:
        # loc is ("query", "limit"), ("path", "id") or ("body", "payload", "affected", 0,
        # "product"): the names after the source, joined, name the parameter or field.
        loc = [str(part) for part in error.get("loc", ())]
        source = loc[0] if loc else "query"
        names = [part for part in loc[1:] if part != "payload"]
        name = ".".join(names) if source == "body" else (names[-1] if names else "")
        message = str(error.get("msg", ""))
        if error.get("type") == "string_pattern_mismatch" and name in PATTERN_MESSAGES:
            message = PATTERN_MESSAGES[name]
        errors.append({"parameter": name, "message": message})
        kinds.append("field" if source == "body" else "query parameter")
    detail = "; ".join(
        f"invalid {kind} {e['parameter']!r}: {e['message'].rstrip('.')}"
        for kind, e in zip(kinds, errors, strict=True)
    )
    if _is_reports_operation(request):
        # The reports router's documented error items name a "field" (ReportError).
        errors = [{"field": e["parameter"], "message": e["message"]} for e in errors]
    return error_response(request, 422, detail[:1].upper() + detail[1:] + ".", errors)


def _is_reports_operation(request: HttpRequest) -> bool:
    match = request.resolver_match
    return match is not None and match.url_name in REPORTS_OPERATIONS


@api.exception_handler(HeraldError)
def not_found(request: HttpRequest, exc: HeraldError) -> HttpResponse:
    # The only HeraldError a public read raises is "no such public advisory". The
    # body does not even echo the id asked for: a draft's and an unknown id's
    # responses are byte for byte the same (DESIGN.md rule 3).
    return error_response(request, 404, NOT_PUBLISHED)


@api.exception_handler(Http404)
def http_404(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error_response(request, 404, "Not found.")


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error_response(request, exc.status_code, str(exc))


def _reject_unknown_parameters(request: HttpRequest, allowed: set[str]) -> None:
    # A misspelt filter (?sevrity=high) would otherwise be ignored and return
    # every advisory, which reads as an answer.
    unknown = sorted(set(request.GET) - allowed)
    if unknown:
        raise ValidationError(
            [{"loc": ("query", name), "msg": "Unknown query parameter"} for name in unknown]
        )


def _page_url(request: HttpRequest, offset: int, limit: int) -> str:
    params = request.GET.copy()
    params["offset"] = str(offset)
    params["limit"] = str(limit)
    return request.build_absolute_uri(f"{request.path}?{params.urlencode()}")


def _filtered(filters: schemas.AdvisoryFilters) -> QuerySet[Advisory]:
    advisories = public_advisories()
    if filters.state == "current":
        advisories = advisories.filter(state=Advisory.State.PUBLISHED).exclude(
            status=Advisory.Status.RESOLVED
        )
    elif filters.state == "past":
        advisories = advisories.filter(
            Q(state=Advisory.State.WITHDRAWN) | Q(status=Advisory.Status.RESOLVED)
        )
    if filters.status:
        advisories = advisories.filter(status=filters.status)
    if filters.severity:
        advisories = advisories.filter(severity=filters.severity)
    if filters.cve:
        advisories = with_cve(advisories, filters.cve)
    if filters.product:
        advisories = advisories.filter(affected__product__slug=filters.product).distinct()
    if filters.updated_since:
        # In UTC already (schemas.Moment), and within the years the databases hold.
        advisories = advisories.filter(updated_at__gte=filters.updated_since)
    return advisories


@api.get(
    "/advisories",
    response={200: schemas.AdvisoryPage, **ERRORS},
    summary="List published advisories",
    description=(
        "Published and withdrawn advisories, newest publication first, with filters "
        "and limit/offset pagination."
    ),
    operation_id="list_advisories",
    tags=["advisories"],
)
def list_advisories(
    request: HttpRequest, filters: Query[schemas.AdvisoryFilters]
) -> dict[str, Any]:
    _reject_unknown_parameters(request, set(schemas.AdvisoryFilters.model_fields))
    if filters.product and not Product.objects.filter(slug=filters.product).exists():
        raise ValidationError(
            [
                {
                    "loc": ("query", "product"),
                    "msg": f"No product {filters.product!r}; see /products.",
                }
            ]
        )
    advisories = _filtered(filters)
    count = advisories.count()
    page = advisories[filters.offset : filters.offset + filters.limit]
    end = filters.offset + filters.limit
    return {
        "count": count,
        "next": _page_url(request, end, filters.limit) if end < count else None,
        "previous": (
            _page_url(request, max(filters.offset - filters.limit, 0), filters.limit)
            if filters.offset > 0
            else None
        ),
        "results": [
            advisory_to_dict(snapshot_of(a, with_history=False), detail=False) for a in page
        ],
    }


@api.get(
    "/advisories/{id}",
    response={200: schemas.AdvisoryDetail, 404: schemas.Error},
    summary="Get one published advisory",
    description="By identifier (HRLD-2026-0001) or by one of its CVE ids (CVE-2026-12345).",
    operation_id="get_advisory",
    tags=["advisories"],
)
def get_advisory(
    request: HttpRequest,
    id: PathEx[str, P(description="Identifier (HRLD-2026-0001) or CVE id (CVE-2026-12345).")],
) -> dict[str, Any]:
    return advisory_to_dict(snapshot_of(access_public_advisory(id)))


@api.get(
    "/products",
    response={200: schemas.ProductList},
    summary="List products",
    description="The products advisories name; their slugs are what ?product= takes.",
    operation_id="list_products",
    tags=["products"],
)
def list_products(request: HttpRequest) -> dict[str, Any]:
    products = list(Product.objects.order_by("name"))
    return {
        "count": len(products),
        "results": [
            {
                "slug": p.slug,
                "name": p.name,
                "description": p.description,
                "ecosystem": p.ecosystem,
                "package_name": p.package_name,
                "repository_url": p.repository_url,
            }
            for p in products
        ],
    }


# Vulnerability reports: the intake app's endpoints, under the same API and document.
from herald.intake.api import router as intake_router  # noqa: E402  (after `api` exists)

api.add_router("/reports", intake_router)
REPORTS_OPERATIONS = frozenset(
    operation.view_func.__name__
    for path_view in intake_router.path_operations.values()
    for operation in path_view.operations
)


# ---------------------------------------------------------------- the desk API (tokens)
#
# /desk/... answers only to ``Authorization: Bearer hrld_...`` tokens (no cookies,
# so no CSRF). A request needs the token's scope for the permission *and* the
# owner's role for it (herald.accounts.access.token_can). Missing, malformed,
# unknown, expired or revoked tokens are 401; a valid token without the scope or
# role is 403; an advisory the owner may not see is 404, as an unknown one is.


class TokenAuth(HttpBearer):
    """A bearer token that must also carry the scope for ``permission``.

    The scope and the owner's role are checked here, before the body is read: a
    token that may not write learns nothing from a 422 about what it sent.
    """

    openapi_scheme = "bearer"

    def __init__(self, permission: str) -> None:
        super().__init__()
        self.permission = permission

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        found = authenticate_token(token, ip=request.META.get("REMOTE_ADDR"))
        if found is not None:
            request.herald_token = found  # type: ignore[attr-defined]
            if self.permission:
                _require(request, self.permission)
        return found

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization", "")
        if header and not header.lower().startswith("bearer "):
            return None  # Basic or anything else: not ours, and no token to look up
        return super().__call__(request)


token_any = TokenAuth("")
token_read = TokenAuth("advisory.read")
token_write = TokenAuth("advisory.write")
token_publish = TokenAuth("advisory.publish")
DESK_ERRORS: dict[int, type[schemas.Error]] = {
    401: schemas.Error,
    403: schemas.Error,
    404: schemas.Error,
    422: schemas.Error,
}
WRITE_ERRORS = {**DESK_ERRORS, 409: schemas.Error}
NOT_FOUND = "No advisory you may see has this identifier."


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = error_response(
        request, 401, "Give a valid API token: Authorization: Bearer hrld_..."
    )
    response["WWW-Authenticate"] = 'Bearer realm="herald", error="invalid_token"'
    return response


def _token(request: HttpRequest) -> ApiToken:
    token = getattr(request, "herald_token", None)
    if not isinstance(token, ApiToken):
        raise AuthenticationError
    return token


def _require(request: HttpRequest, permission: str, obj: Any = None) -> ApiToken:
    token = _token(request)
    scope = next(
        (str(s.value) for s, granted in SCOPE_PERMISSIONS.items() if permission in granted),
        permission,
    )
    if not any(permission in SCOPE_PERMISSIONS.get(s, frozenset()) for s in token.scopes):
        raise HttpError(403, f"This token lacks the {scope!r} scope.")
    if not token_can(token.user, token.scopes, permission, obj):
        raise HttpError(403, f"{token.user.get_username()}'s role does not allow this.")
    return token


def _desk_advisory(request: HttpRequest, identifier: str) -> Advisory:
    token = _require(request, "advisory.read")
    advisory = (
        Advisory.objects.select_related("incident")
        .filter(identifier=identifier.strip().upper())
        .first()
    )
    if advisory is None or not token_can(token.user, token.scopes, "advisory.read", advisory):
        raise HttpError(404, NOT_FOUND)
    return advisory


def _action_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    if isinstance(exc, ConflictError):
        return error_response(request, 409, str(exc))
    if isinstance(exc, ActionError) and hasattr(exc, "error_dict"):
        errors = [
            {"parameter": field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
        detail = "; ".join(f"{e['parameter']}: {e['message']}" for e in errors)
        return error_response(request, 422, detail, errors)
    if isinstance(exc, ActionError):
        return error_response(request, 422, "; ".join(exc.messages))
    return error_response(request, 409, str(exc))


def _action_values(payload: schemas.AdvisoryFields, user: Any) -> dict[str, Any]:
    data = payload.model_dump(exclude_unset=True, exclude={"expected_version", "change_summary"})
    for name in ("affected", "credits", "references"):
        if name in data and data[name] is None:
            data[name] = []
    values = fields_from_dict({k: v for k, v in data.items() if v is not None or k == "incident"})
    if values.get("incident"):
        incident = Incident.objects.filter(identifier=str(values["incident"]).upper()).first()
        if incident is None or not can(user, "incident.read", incident):
            raise ActionError({"incident": "No incident you may see has this identifier."})
        values["incident"] = incident
    else:
        values.pop("incident", None)
    return values


@api.get(
    "/desk/whoami",
    response={200: schemas.WhoAmI, **DESK_ERRORS},
    auth=token_any,
    summary="The token's owner, role and scopes",
    operation_id="desk_whoami",
    tags=["desk"],
)
def whoami(request: HttpRequest) -> dict[str, Any]:
    token = _token(request)
    return {
        "username": token.user.get_username(),
        "role": role_of(token.user),
        "scopes": list(token.scopes),
        "token": token.prefix,
        "expires_at": token.expires_at,
    }


@api.get(
    "/desk/advisories",
    response={200: schemas.DeskAdvisoryPage, **DESK_ERRORS},
    auth=token_read,
    summary="List the advisories the token's owner may see, drafts included",
    description="Scope read. Newest change first.",
    operation_id="desk_list_advisories",
    tags=["desk"],
)
def desk_list_advisories(request: HttpRequest, page: Query[schemas.DeskPage]) -> dict[str, Any]:
    _reject_unknown_parameters(request, set(schemas.DeskPage.model_fields))
    limit, offset = page.limit, page.offset
    token = _require(request, "advisory.read")
    advisories = visible_advisories(
        token.user, Advisory.objects.select_related("incident").order_by("-updated_at", "-id")
    )
    return {
        "count": advisories.count(),
        "results": [
            desk_advisory_to_dict(a, detail=False) for a in advisories[offset : offset + limit]
        ],
    }


@api.get(
    "/desk/advisories/{identifier}",
    response={200: schemas.DeskAdvisoryDetail, **DESK_ERRORS},
    auth=token_read,
    summary="One advisory the token's owner may see, drafts included",
    description="Scope read.",
    operation_id="desk_get_advisory",
    tags=["desk"],
)
def desk_get_advisory(request: HttpRequest, identifier: str) -> dict[str, Any]:
    return desk_advisory_to_dict(_desk_advisory(request, identifier))


@api.post(
    "/desk/advisories",
    response={201: schemas.DeskAdvisoryDetail, **WRITE_ERRORS},
    auth=token_write,
    summary="Create a draft",
    description="Scope write. Name an open incident, or none when no incident is open "
    "(Herald then declares one, DESIGN.md rule 1).",
    operation_id="desk_create_advisory",
    tags=["desk"],
)
def desk_create_advisory(
    request: HttpRequest, payload: schemas.AdvisoryCreate
) -> Status | HttpResponse:
    token = _require(request, "advisory.write")
    try:
        values = _action_values(payload, token.user)
        advisory = do_create_advisory(acting_user=token.user, **values)
    except (HeraldError, ActionError) as exc:
        return _action_error(request, exc)
    return Status(201, desk_advisory_to_dict(advisory))


@api.patch(
    "/desk/advisories/{identifier}",
    response={200: schemas.DeskAdvisoryDetail, **WRITE_ERRORS},
    auth=token_write,
    summary="Change an advisory",
    description="Scope write. Only the fields given change. A published advisory gets a "
    "new revision, which needs change_summary.",
    operation_id="desk_update_advisory",
    tags=["desk"],
)
def desk_update_advisory(
    request: HttpRequest, identifier: str, payload: schemas.AdvisoryUpdate
) -> dict[str, Any] | HttpResponse:
    advisory = _desk_advisory(request, identifier)
    token = _require(request, "advisory.write", advisory)
    try:
        values = _action_values(payload, token.user)
        advisory = do_update_advisory(
            advisory,
            acting_user=token.user,
            expected_version=payload.expected_version,
            change_summary=payload.change_summary,
            **values,
        )
    except (HeraldError, ActionError) as exc:
        return _action_error(request, exc)
    return desk_advisory_to_dict(advisory)


@api.post(
    "/desk/advisories/{identifier}/publish",
    response={200: schemas.DeskAdvisoryDetail, **WRITE_ERRORS},
    auth=token_publish,
    summary="Publish a draft",
    description="Scope publish. It gets its public identifier and reaches every public "
    "surface at once.",
    operation_id="desk_publish_advisory",
    tags=["desk"],
)
def desk_publish_advisory(
    request: HttpRequest, identifier: str, payload: schemas.PublishIn
) -> dict[str, Any] | HttpResponse:
    advisory = _desk_advisory(request, identifier)
    token = _require(request, "advisory.publish", advisory)
    try:
        advisory = do_publish_advisory(
            advisory,
            acting_user=token.user,
            expected_version=payload.expected_version,
            lift_embargo_reason=payload.lift_embargo_reason,
            outreach_waiver_reason=payload.outreach_waiver_reason,
        )
    except (HeraldError, ActionError) as exc:
        return _action_error(request, exc)
    return desk_advisory_to_dict(advisory)


def _vulnerability_values(payload: schemas.VulnerabilityIn) -> dict[str, Any]:
    return {
        k: v
        for k, v in payload.model_dump(
            exclude_unset=True, exclude={"expected_version", "change_summary"}
        ).items()
        if v is not None
    }


VulnerabilityNumber = PathEx[int, P(ge=1, le=1000, description="1 for its first vulnerability.")]


@api.post(
    "/desk/advisories/{identifier}/vulnerabilities",
    response={201: schemas.DeskAdvisoryDetail, **WRITE_ERRORS},
    auth=token_write,
    summary="Add a vulnerability",
    description="Scope write. Its CVE id (or a title when it has none), weaknesses, "
    "scores and its own product rows. A published advisory gets a new revision, which "
    "needs change_summary.",
    operation_id="desk_add_vulnerability",
    tags=["desk"],
)
def desk_add_vulnerability(
    request: HttpRequest, identifier: str, payload: schemas.VulnerabilityIn
) -> Status | HttpResponse:
    advisory = _desk_advisory(request, identifier)
    token = _require(request, "advisory.write", advisory)
    try:
        advisory = do_write_vulnerability(
            advisory,
            acting_user=token.user,
            expected_version=payload.expected_version,
            change_summary=payload.change_summary,
            **_vulnerability_values(payload),
        )
    except (HeraldError, ActionError) as exc:
        return _action_error(request, exc)
    return Status(201, desk_advisory_to_dict(advisory))


@api.patch(
    "/desk/advisories/{identifier}/vulnerabilities/{number}",
    response={200: schemas.DeskAdvisoryDetail, **WRITE_ERRORS},
    auth=token_write,
    summary="Change one vulnerability",
    description="Scope write. Only the fields given change; rows, when given, replace its "
    "own product rows.",
    operation_id="desk_update_vulnerability",
    tags=["desk"],
)
def desk_update_vulnerability(
    request: HttpRequest,
    identifier: str,
    number: VulnerabilityNumber,
    payload: schemas.VulnerabilityIn,
) -> dict[str, Any] | HttpResponse:
    advisory = _desk_advisory(request, identifier)
    token = _require(request, "advisory.write", advisory)
    try:
        advisory = do_write_vulnerability(
            advisory,
            acting_user=token.user,
            expected_version=payload.expected_version,
            change_summary=payload.change_summary,
            position=number - 1,
            **_vulnerability_values(payload),
        )
    except (HeraldError, ActionError) as exc:
        return _action_error(request, exc)
    return desk_advisory_to_dict(advisory)


@api.post(
    "/desk/advisories/{identifier}/vulnerabilities/{number}/remove",
    response={200: schemas.DeskAdvisoryDetail, **WRITE_ERRORS},
    auth=token_write,
    summary="Remove one vulnerability",
    description="Scope write. With its own product rows; an advisory keeps at least one.",
    operation_id="desk_remove_vulnerability",
    tags=["desk"],
)
def desk_remove_vulnerability(
    request: HttpRequest,
    identifier: str,
    number: VulnerabilityNumber,
    payload: schemas.VulnerabilityRemoveIn,
) -> dict[str, Any] | HttpResponse:
    advisory = _desk_advisory(request, identifier)
    token = _require(request, "advisory.write", advisory)
    try:
        advisory = do_remove_vulnerability(
            advisory,
            acting_user=token.user,
            expected_version=payload.expected_version,
            change_summary=payload.change_summary,
            position=number - 1,
        )
    except (HeraldError, ActionError) as exc:
        return _action_error(request, exc)
    return desk_advisory_to_dict(advisory)
