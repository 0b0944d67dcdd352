"""Single sign-on providers from the environment, read by ``herald.settings``.

``HERALD_OIDC_PROVIDERS`` is a JSON list, one object per OpenID Connect provider::

    [{"id": "okta", "name": "Okta", "server_url": "https://acme.okta.com",
      "client_id": "0oa...", "secret_env": "HERALD_OKTA_SECRET"}]

``secret_env`` names the variable holding the client secret, so the secret need
not sit in the JSON (``secret`` is accepted too). Problems are returned as
``(id, message, hint)`` for ``CONFIG_ERRORS`` (system check ``herald.E020``).
This module is imported by settings: standard library only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,30}$")
HINT = (
    'HERALD_OIDC_PROVIDERS is a JSON list like [{"id": "okta", "name": "Okta", '
    '"server_url": "https://acme.okta.com", "client_id": "...", "secret_env": "OKTA_SECRET"}].'
)


def oidc_providers(
    raw: str, *, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], list[str], list[tuple[str, str, str]]]:
    """``(SOCIALACCOUNT_PROVIDERS, origins for CSP form-action, errors)``.

    Called by herald/settings.py while the settings load, with the environment
    it reads (``environ``: where each entry's ``secret_env`` variable is looked up).
    """
    environ = environ or {}
    errors: list[tuple[str, str, str]] = []
    if not raw.strip():
        return {}, [], errors
    try:
        entries = json.loads(raw)
    except json.JSONDecodeError as exc:
        return {}, [], [("herald.E020", f"HERALD_OIDC_PROVIDERS is not JSON: {exc}", HINT)]
    if not isinstance(entries, list):
        return {}, [], [("herald.E020", "HERALD_OIDC_PROVIDERS must be a JSON list", HINT)]
    apps: list[dict[str, Any]] = []
    origins: list[str] = []
    for n, entry in enumerate(entries, 1):
        where = f"HERALD_OIDC_PROVIDERS entry {n}"
        if not isinstance(entry, dict):
            errors.append(("herald.E020", f"{where} is not an object", HINT))
            continue
        provider_id = str(entry.get("id", ""))
        server_url = str(entry.get("server_url", ""))
        client_id = str(entry.get("client_id", ""))
        secret = str(entry.get("secret", "") or environ.get(str(entry.get("secret_env", "")), ""))
        problems = []
        if not ID_RE.match(provider_id):
            problems.append("an id of lower-case letters, digits and dashes")
        parts = urlsplit(server_url)
        if parts.scheme != "https" or not parts.netloc:
            problems.append("an https server_url")
        if not client_id:
            problems.append("a client_id")
        if not secret:
            problems.append("a secret (secret_env names the variable that holds it)")
        if problems:
            errors.append(("herald.E020", f"{where} needs " + ", ".join(problems), HINT))
            continue
        apps.append(
            {
                "provider_id": provider_id,
                "name": str(entry.get("name") or provider_id),
                "client_id": client_id,
                "secret": secret,
                "settings": {"server_url": server_url},
            }
        )
        origins.append(f"{parts.scheme}://{parts.netloc}")
    if not apps:
        return {}, [], errors
    providers = {"openid_connect": {"OAUTH_PKCE_ENABLED": True, "APPS": apps}}
    return providers, sorted(set(origins)), errors
