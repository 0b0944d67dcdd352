"""The embargo suite (DESIGN.md rule 3): drafts and embargoed advisories carry
distinctive strings; every public URL, feed, API endpoint, export file and error
page is requested, as an anonymous visitor and as each person who must not see
them, and no response may contain any of the strings.

Addresses come from the URL resolver and the OpenAPI document (tests/surfaces.py),
so a surface added later is searched without being listed here.
"""

from __future__ import annotations

import datetime as dt
import io
import tempfile
from pathlib import Path

from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from herald.accounts.actions import do_add_collaborator
from herald.accounts.tests.base import AccountsTestCase, client_for
from herald.accounts.tests.surfaces import operations, routes
from herald.test import make_user

CANARY = "QZXW-EMBARGO-CANARY"
SECRET_CVE = "CVE-2026-773101"


class EmbargoSuiteTest(AccountsTestCase):
    def setUp(self) -> None:
        super().setUp()
        # Declared by hand: an incident's own title is the incident's, which support reads.
        self.incident = self.declare(title="Routine hardening")
        self.published_one = self.published(self.incident, title="Public stored XSS")
        self.draft_one = self.draft(
            self.incident,
            title=f"{CANARY} title",
            summary=f"{CANARY} summary",
            description=f"{CANARY} description",
            affected_users=f"{CANARY} users",
            resolution=f"{CANARY} resolution",
            cve_ids=[SECRET_CVE],
        )
        self.embargoed = self.draft(
            self.incident,
            title=f"{CANARY} embargoed",
            description=f"{CANARY} embargoed description",
            embargo_until=timezone.now() + dt.timedelta(days=30),
            cve_ids=["CVE-2026-773102"],
        )
        self.other_draft = self.draft(self.incident, title="Unrelated draft")
        self.rita = make_user("rita", mfa=True)
        do_add_collaborator(self.rita, advisory=self.other_draft, acting_user=self.bob)
        self.strings = [
            CANARY,
            SECRET_CVE,
            "CVE-2026-773102",
            self.draft_one.identifier,
            self.embargoed.identifier,
        ]

    def viewers(self) -> dict[str, Client]:
        return {
            "anonymous": Client(),
            "outsider": client_for(self.charlie),
            "viewer": client_for(self.vera),
            "support": client_for(self.sam),
            "collaborator on another draft": client_for(self.rita),
        }

    def assert_clean(self, body: bytes | str, where: str, asked: str = "") -> None:
        """No string in ``body``, except one the request itself named (``asked``)."""
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        leaked = [
            s for s in self.strings if s.lower() in text.lower() and s.lower() not in asked.lower()
        ]
        assert leaked == [], f"{where} shows {leaked}"

    def probe_values(self) -> list[dict[str, str]]:
        """Each route is asked with the drafts' names, their CVE ids, and a public one."""
        names = [
            self.draft_one.identifier,
            self.embargoed.identifier,
            SECRET_CVE,
            self.published_one.identifier,
        ]
        return [
            {
                "identifier": n,
                "id": n,
                "token": n,
                "tracking_id": n,
                "pk": n,
                "secret": n,
                "product": "cloud",
                "year": "2026",
            }
            for n in names
        ]

    def test_no_page_feed_or_error_page_shows_a_draft(self) -> None:
        for who, client in self.viewers().items():
            for route in routes():
                if route.module.startswith("allauth.") or route.pattern.startswith("api/"):
                    continue
                for values in self.probe_values():
                    url = route.path(values)
                    with self.subTest(who=who, url=url):
                        response = client.get(url)
                        self.assert_clean(response.content, f"{url} as {who}", url)
                        self.assert_clean(response.get("Location", ""), f"{url} as {who}", url)

    def test_no_api_response_shows_a_draft(self) -> None:
        tokens = {
            "viewer": self.token_for(self.vera, ["read"])[1],
            "support": self.token_for(self.sam, ["read"])[1],
        }
        for op in operations():
            if op.method != "GET":
                continue
            for values in self.probe_values():
                url = op.url(values)
                anonymous: dict[str, str] = {}
                for who, headers in (
                    ("anonymous", anonymous),
                    *((w, self.bearer(t)) for w, t in tokens.items()),
                ):
                    with self.subTest(who=who, url=url):
                        response = Client().get(url, headers=headers)
                        self.assert_clean(response.content, f"{url} as {who}", url)
        for query in (
            f"cve={SECRET_CVE}",
            "state=current",
            "limit=100",
            "updated_since=2000-01-01",
        ):
            response = Client().get(f"/api/v1/advisories?{query}")
            self.assert_clean(response.content, query, query)
        # A draft's CVE id is answered like an unknown one, to the byte.
        secret = Client().get(f"/api/v1/advisories?cve={SECRET_CVE}").json()
        unknown = Client().get("/api/v1/advisories?cve=CVE-2026-999999").json()
        assert secret["count"] == unknown["count"] == 0
        a = Client().get(f"/api/v1/advisories/{self.draft_one.identifier}")
        b = Client().get("/api/v1/advisories/NW-2026-DRAFT-NOSUCH")
        assert (a.status_code, a.content) == (b.status_code, b.content)

    def test_no_export_or_rendered_artifact_contains_a_draft(self) -> None:
        from herald.publishing.models import Artifact
        from herald.publishing.store.artifacts import read_many, regenerate_everything

        regenerate_everything()
        for stored_path, content in read_many(Artifact.objects.all()):
            self.assert_clean(content, f"artifact {stored_path}")
        out = io.StringIO()
        call_command("export", "markdown", stdout=out)
        self.assert_clean(out.getvalue(), "export markdown")
        with tempfile.TemporaryDirectory() as directory:
            call_command("export", "site", directory, "--no-compress", stdout=io.StringIO())
            files = [p for p in Path(directory).rglob("*") if p.is_file()]
            assert files, "the site export wrote nothing"
            for path in files:
                self.assert_clean(path.read_bytes(), f"export site {path.name}")

    def test_the_access_review_lists_items_by_name_not_content(self) -> None:
        # The review is for admins; even so it names items, never a draft's text.
        response = client_for(self.alice).get("/desk/admin/access-review/?format=json")
        text = response.content.decode()
        assert CANARY not in text
