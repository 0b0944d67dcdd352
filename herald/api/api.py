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

import datetime as dt
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI, P, PathEx, Query
from ninja.errors import HttpError, ValidationError

from herald.advisories.models import Advisory
from herald.advisories.queries import access_public_advisory, public_advisories
from herald.advisories.serialize import advisory_to_dict
from herald.advisories.snapshot import snapshot_of
from herald.api import schemas
from herald.core.errors import HeraldError
from herald.core.models import Product

api = NinjaAPI(
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
    for error in exc.errors:
        # loc is ("query", "limit") or ("path", "id"): the last name is the parameter.
        names = [str(part) for part in error.get("loc", ()) if part not in ("query", "path")]
        name = names[-1] if names else ""
        message = str(error.get("msg", ""))
        if error.get("type") == "string_pattern_mismatch" and name in PATTERN_MESSAGES:
            message = PATTERN_MESSAGES[name]
        errors.append({"parameter": name, "message": message})
    detail = "; ".join(
        f"invalid query parameter {e['parameter']!r}: {e['message'].rstrip('.')}" for e in errors
    )
    return error_response(request, 422, detail[:1].upper() + detail[1:] + ".", errors)


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
        # cve_ids is a JSON list of strings; its text holds each id in quotes on
        # SQLite and PostgreSQL alike, so the quoted id matches one element
        # exactly (CVE-2026-1234 does not match CVE-2026-12345). The pattern
        # check on the parameter leaves no LIKE wildcard in it.
        advisories = advisories.filter(cve_ids__icontains=f'"{filters.cve.upper()}"')
    if filters.product:
        advisories = advisories.filter(affected__product__slug=filters.product).distinct()
    if filters.updated_since:
        since = filters.updated_since
        if timezone.is_naive(since):
            since = timezone.make_aware(since, dt.UTC)
        advisories = advisories.filter(updated_at__gte=since)
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
