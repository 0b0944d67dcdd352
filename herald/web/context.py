"""Template context shared by every page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from herald.core.models import VendorProfile


def vendor(request: HttpRequest) -> dict[str, Any]:
    return {"vendor": VendorProfile.get()}
