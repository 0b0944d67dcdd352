"""Operations endpoints: liveness, readiness and metrics (docs/operations.md)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from herald.ops import health, prometheus


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """The process answers. (Behind ``herald serve`` the front answers this before Django.)"""
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    """200 when every readiness check passes, else 503 naming the failing ones."""
    result = health.readiness()
    return JsonResponse(result.as_dict(), status=200 if result.ready else 503)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not prometheus.allowed(request):
        if settings.HERALD_METRICS_TOKEN:
            response = HttpResponse("A bearer token is required.\n", status=401)
            response["WWW-Authenticate"] = 'Bearer realm="herald-metrics"'
            return response
        return HttpResponse("Metrics are open to HERALD_METRICS_ALLOW networks only.\n", status=403)
    from prometheus_client import CONTENT_TYPE_LATEST

    return HttpResponse(prometheus.render(), content_type=CONTENT_TYPE_LATEST)
