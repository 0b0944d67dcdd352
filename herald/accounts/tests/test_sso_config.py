"""Single sign-on providers from HERALD_OIDC_PROVIDERS: parsed, checked, and listed on login."""

from __future__ import annotations

import json

import pytest

from herald.accounts.conf import oidc_providers


def test_a_provider_is_read_with_its_secret_from_another_variable() -> None:
    raw = json.dumps(
        [
            {
                "id": "okta",
                "name": "Okta",
                "server_url": "https://acme.okta.com",
                "client_id": "abc",
                "secret_env": "OKTA_SECRET",
            }
        ]
    )
    providers, origins, errors = oidc_providers(raw, environ={"OKTA_SECRET": "s3cret"})
    assert errors == []
    app = providers["openid_connect"]["APPS"][0]
    assert app["provider_id"] == "okta" and app["secret"] == "s3cret"
    assert app["settings"]["server_url"] == "https://acme.okta.com"
    assert providers["openid_connect"]["OAUTH_PKCE_ENABLED"] is True
    assert origins == ["https://acme.okta.com"]  # allowed as a CSP form-action target


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        '{"id": "x"}',
        '[{"id": "Bad Id", "server_url": "http://idp", "client_id": "", "secret": ""}]',
    ],
)
def test_a_wrong_setting_is_a_system_check_error_not_a_crash(raw: str) -> None:
    providers, _, errors = oidc_providers(raw)
    assert providers == {}
    assert errors and errors[0][0] == "herald.E020"


def test_no_setting_means_no_provider() -> None:
    assert oidc_providers("") == ({}, [], [])
