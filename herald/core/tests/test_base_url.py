"""The public base URL: HERALD_BASE_URL, else the address served, in every artifact and mail."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.test import override_settings

from herald.core.baseurl import base_url, served_url
from herald.core.models import VendorProfile
from herald.notify.actions import do_subscribe
from herald.notify.models import Delivery
from herald.publication.actions import do_apply_base_url, do_update_vendor_profile
from herald.publishing.store.artifacts import regenerate_everything
from herald.publishing.tests.surfaces_support import artifact, artifact_json
from herald.test import HeraldTestCase

SERVED = "http://127.0.0.1:8123"


class BaseURL(HeraldTestCase):
    @override_settings(HERALD_BASE_URL="")
    def test_it_follows_the_address_served_into_every_artifact_and_mail(self) -> None:
        self.published()
        assert "127.0.0.1:8000" in artifact(".well-known/security.txt").decode()
        applied = do_apply_base_url(served_url("127.0.0.1", 8123))
        assert applied.changed and applied.url == SERVED and base_url() == SERVED
        regenerate_everything()
        assert f"Canonical: {SERVED}/.well-known/security.txt" in (
            artifact(".well-known/security.txt").decode()
        )
        metadata = artifact_json(".well-known/csaf/provider-metadata.json")
        assert metadata["canonical_url"].startswith(SERVED + "/")
        assert (
            f"{SERVED}/security/advisories/"
            in self.client.get("/security/advisories/feed.atom").content.decode()
        )
        do_subscribe(email="ana@example.org")
        confirmation = Delivery.objects.get(recipient="ana@example.org")
        assert f"{SERVED}/security/subscribe/confirm/" in confirmation.message.text
        assert not do_apply_base_url(SERVED).changed  # the same address twice: nothing to do

    @override_settings(HERALD_BASE_URL="https://security.northwind.example")
    def test_herald_base_url_wins_over_the_address_served(self) -> None:
        applied = do_apply_base_url(SERVED)
        assert applied.url == "https://security.northwind.example"
        assert "HERALD_BASE_URL" in applied.source
        assert VendorProfile.get().base_url_follows_server is False

    @override_settings(HERALD_BASE_URL="")
    def test_a_base_url_a_person_set_stays_whatever_port_is_served(self) -> None:
        do_update_vendor_profile(acting_user=self.alice, base_url="https://nw.example")
        assert do_apply_base_url(SERVED).url == "https://nw.example"
        assert base_url() == "https://nw.example"

    def test_a_wildcard_or_ipv6_address_becomes_one_a_browser_can_open(self) -> None:
        assert served_url("0.0.0.0", 8000) == "http://127.0.0.1:8000"  # noqa: S104
        assert served_url("::", 9000) == "http://[::1]:9000"
        assert served_url("::1", 9000) == "http://[::1]:9000"

    @override_settings(HERALD_BASE_URL="", HERALD_SMTP_URL="")
    def test_setup_says_the_base_url_and_where_mail_goes(self) -> None:
        out = StringIO()
        call_command("setup", stdout=out)
        assert (
            "Public base URL: http://127.0.0.1:8000 (follows the address herald serve listens on"
            in out.getvalue()
        )
        assert "Mail goes to the local outbox" in out.getvalue()
