"""Who gets into the desk: staff only. Visitors are sent to log in, outsiders refused.

Roles beyond admin and responder are covered by herald/accounts/tests (the matrix).
"""

from __future__ import annotations

from django.test import Client

from herald.test import PASSWORD, totp_code
from herald.web.tests.base import WebTestCase


class DeskAccessTest(WebTestCase):
    def setUp(self) -> None:
        super().setUp()
        incident = self.declare()
        advisory = self.published(incident)
        i, a = incident.identifier, advisory.identifier
        self.urls = [
            "/desk/",
            "/desk/incidents/",
            "/desk/incidents/new/",
            f"/desk/incidents/{i}/",
            f"/desk/incidents/{i}/note/",
            f"/desk/incidents/{i}/resolve/",
            "/desk/advisories/",
            "/desk/advisories/new/",
            f"/desk/advisories/{a}/",
            f"/desk/advisories/{a}/edit/",
            f"/desk/advisories/{a}/preview/",
            f"/desk/advisories/{a}/publish/",
            f"/desk/advisories/{a}/fix/",
            f"/desk/advisories/{a}/resolve/",
            f"/desk/advisories/{a}/withdraw/",
            f"/desk/advisories/{a}/schedule/",
            f"/desk/advisories/{a}/revisions/",
        ]

    def test_anonymous_visitors_are_sent_to_log_in_from_every_desk_url(self) -> None:
        visitor = Client()
        for url in self.urls:
            for method in (visitor.get, visitor.post):
                with self.subTest(url=url, method=method.__name__):
                    response = method(url)
                    self.assertRedirects(
                        response, f"/desk/login/?next={url}", fetch_redirect_response=False
                    )

    def test_charlie_without_desk_access_gets_403_everywhere(self) -> None:
        charlie = self.client_for(self.charlie)
        for url in self.urls:
            for method in (charlie.get, charlie.post):
                with self.subTest(url=url, method=method.__name__):
                    response = method(url)
                    assert response.status_code == 403
                    assert b"Access denied" in response.content

    def test_bob_opens_every_desk_page(self) -> None:
        post_only = ("/note/", "/resolve/")
        for url in self.urls:
            if url.startswith("/desk/incidents/INC") and url.endswith(post_only):
                continue
            with self.subTest(url=url):
                assert self.client.get(url).status_code == 200

    def test_alice_the_admin_opens_the_desk(self) -> None:
        assert self.client_for(self.alice).get("/desk/").status_code == 200

    def test_bob_logs_in_with_his_password_and_his_authenticator_code(self) -> None:
        visitor = Client()
        page = visitor.get("/desk/login/")
        self.assertContains(page, '<label for="id_login">')
        response = visitor.post(
            "/desk/login/", {"login": "bob", "password": PASSWORD, "next": "/desk/incidents/"}
        )
        self.assertRedirects(response, "/desk/account/2fa/authenticate/")
        # The password alone opens nothing.
        assert visitor.get("/desk/incidents/").status_code == 302
        response = visitor.post("/desk/account/2fa/authenticate/", {"code": totp_code(self.bob)})
        self.assertRedirects(response, "/desk/incidents/")
        assert visitor.get("/desk/incidents/").status_code == 200

    def test_a_wrong_password_is_refused(self) -> None:
        response = Client().post("/desk/login/", {"login": "bob", "password": "nope"})
        assert response.status_code == 200
        self.assertContains(response, "The username and/or password you specified are not correct")

    def test_logging_out_takes_a_post(self) -> None:
        page = self.client.get("/desk/logout/")
        assert page.status_code == 200  # a confirmation page: a link cannot log anyone out
        assert self.client.get("/desk/").status_code == 200
        response = self.client.post("/desk/logout/")
        self.assertRedirects(response, "/security/advisories/", fetch_redirect_response=False)
        response = self.client.get("/desk/")
        self.assertRedirects(response, "/desk/login/?next=/desk/", fetch_redirect_response=False)

    def test_an_unknown_advisory_on_the_desk_is_404(self) -> None:
        assert self.client.get("/desk/advisories/NW-1999-0001/").status_code == 404
        assert self.client.get("/desk/incidents/INC-1999-0001/").status_code == 404
