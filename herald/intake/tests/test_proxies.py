"""Per-address limits behind a reverse proxy: X-Forwarded-For believed only as far as
the proxies named in HERALD_TRUSTED_PROXIES wrote it (herald.core.clientip)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from django.test import RequestFactory, override_settings

from herald.core.clientip import client_ip
from herald.intake.models import Report
from herald.intake.tests.base import IntakeTestCase
from herald.intake.tests.test_web import form
from herald.notify.models import Subscriber

PROXY = "10.0.0.5"


def seen(remote: str, forwarded: str | None = None) -> str | None:
    extra: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    return client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **extra))


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert seen(PROXY, "198.51.100.1") == PROXY


@override_settings(HERALD_TRUSTED_PROXIES=1)
def test_a_count_takes_the_address_the_farthest_proxy_saw() -> None:
    assert seen(PROXY, "198.51.100.1") == "198.51.100.1"
    # A client's own header comes first; the proxy appended what it saw.
    assert seen(PROXY, "203.0.113.66, 198.51.100.1") == "198.51.100.1"
    assert seen("198.51.100.2") == "198.51.100.2"  # straight to Herald, no header


@override_settings(HERALD_TRUSTED_PROXIES=["10.0.0.0/24", "2001:db8::1"])
def test_networks_are_walked_from_the_right_to_the_first_untrusted_address() -> None:
    assert seen(PROXY, "198.51.100.1, 10.0.0.9") == "198.51.100.1"
    assert seen("2001:db8::1", "[2001:db8::77]:4431") == "2001:db8::77"
    # Not from a trusted proxy: whatever it says, the peer is the client.
    assert seen("198.51.100.3", "203.0.113.66") == "198.51.100.3"


@pytest.mark.parametrize("raw", ["ten", "10.0.0.0/33", "-1", "1, nginx"])
def test_a_bad_value_is_a_system_check_error_naming_it(raw: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "herald.cli", "check"],
        env={**os.environ, "HERALD_TRUSTED_PROXIES": raw},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "herald.E021" in done.stderr and "HERALD_TRUSTED_PROXIES" in done.stderr
    assert "Traceback" not in done.stderr


@override_settings(HERALD_TRUSTED_PROXIES=1, HERALD_INTAKE_RATE_PER_IP=1)
class BehindOneProxy(IntakeTestCase):
    def report(self, forwarded: str, email: str, api: bool = False) -> Any:
        extra: dict[str, Any] = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": forwarded}
        with self.committing():
            if api:
                data = {"email": email, "title": "IDOR", "body": "Invoices leak."}
                return self.client.post(
                    "/api/v1/reports", json.dumps(data), content_type="application/json", **extra
                )
            return self.client.post("/security/report/", form(email=email), **extra)

    def test_reporters_behind_the_proxy_are_counted_apart_on_the_form(self) -> None:
        assert self.report("198.51.100.1", "a@x.example").status_code == 302
        assert self.report("198.51.100.2", "b@x.example").status_code == 302
        again = self.report("198.51.100.1", "c@x.example")
        assert again.status_code == 429
        # A forged header does not buy another try: the proxy's own entry counts.
        forged = self.report("203.0.113.9, 198.51.100.1", "d@x.example")
        assert forged.status_code == 429
        assert Report.objects.count() == 2

    def test_and_on_the_api(self) -> None:
        assert self.report("198.51.100.1", "a@x.example", api=True).status_code == 201
        assert self.report("198.51.100.2", "b@x.example", api=True).status_code == 201
        assert self.report("198.51.100.1", "c@x.example", api=True).status_code == 429

    @override_settings(HERALD_SUBSCRIBE_RATE_PER_IP=1)
    def test_and_on_the_subscription_form(self) -> None:
        def sign_up(forwarded: str, email: str) -> int:
            response = self.client.post(
                "/security/subscribe/",
                {"email": email},
                REMOTE_ADDR=PROXY,
                HTTP_X_FORWARDED_FOR=forwarded,
            )
            return int(response.status_code)

        assert sign_up("198.51.100.1", "a@x.example") == 200
        assert sign_up("198.51.100.2", "b@x.example") == 200
        assert sign_up("198.51.100.1", "c@x.example") == 429
        assert Subscriber.objects.count() == 2
