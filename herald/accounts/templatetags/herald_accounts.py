"""Template tags of the account pages."""

from __future__ import annotations

from typing import Any

from django import template

from herald.accounts.adapters import AccountAdapter

register = template.Library()


@register.simple_tag(takes_context=True)
def desk_home(context: dict[str, Any]) -> str:
    """Where this person's desk begins: where a sign-in would take them now."""
    return AccountAdapter().get_login_redirect_url(context["request"])
