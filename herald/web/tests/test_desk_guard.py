"""The desk's one guard is on every desk view, and the desk's addresses stay where they were.

``AccessGateMiddleware`` refuses people before a ``/desk/`` view runs, so a request
through it cannot tell whether a view carries its own guard. These tests switch the
gate off and walk every desk route of the URL resolver: a view added without
``staff_required`` (``herald.accounts.guard``) lets someone in and fails here.
"""

from __future__ import annotations

from django.conf import settings
from django.test import Client, override_settings
from django.urls import resolve, reverse

from herald.accounts import access
from herald.accounts.guard import GUARDED
from herald.accounts.tests.surfaces import Route, routes
from herald.test import make_user
from herald.web.tests.base import WebTestCase

GATE = "herald.accounts.middleware.AccessGateMiddleware"
WITHOUT_GATE = [m for m in settings.MIDDLEWARE if m != GATE]
# Desk routes any signed-in person may open (their own account and tokens): decided
# in access.ROUTE_PERMISSIONS with "", and listed again here so a new one is on purpose.
OWN_ACCOUNT = {"accounts:home", "accounts:token_revoke"}


def desk_routes() -> list[Route]:
    """Every route under /desk/ but signing in and out, invitations and allauth's pages.

    allauth (mounted at /desk/account/) guards its own: sign-in, second factors, SSO.
    """
    return [
        r
        for r in routes()
        if r.pattern.startswith("desk/")
        and not r.pattern.startswith("desk/account/")
        and r.key not in access.OPEN_ROUTES
        and not r.module.startswith("allauth.")
    ]


def sample_path(route: Route) -> str:
    return route.path({"identifier": "NW-2026-0001", "tracking_id": "R-1", "verb": "send"})


@override_settings(MIDDLEWARE=WITHOUT_GATE)
class DeskGuardTest(WebTestCase):
    def assert_refused(
        self, client: Client, expect: str, *, skip: frozenset[str] | set[str] = frozenset()
    ) -> int:
        """Every desk page refuses ``client``: to log in, to set up MFA, or 403."""
        checked = 0
        for route in desk_routes():
            if route.key in skip:
                continue
            path = sample_path(route)
            for method in (client.get, client.post):
                with self.subTest(route=route.key, method=method.__name__):
                    response = method(path)
                    if expect == "login":
                        self.assertRedirects(
                            response, f"/desk/login/?next={path}", fetch_redirect_response=False
                        )
                    elif expect == "mfa":
                        self.assertRedirects(
                            response, reverse("mfa_index"), fetch_redirect_response=False
                        )
                    else:
                        assert response.status_code == 403, response.status_code
            checked += 1
        return checked

    def test_the_walk_finds_every_apps_desk_pages(self) -> None:
        keys = {r.key for r in desk_routes()}
        for name in ("web:dashboard", "intake:desk_reports", "notify:channels", "accounts:people"):
            assert name in keys
        assert len(keys) > 50

    def test_every_desk_view_carries_the_one_guard(self) -> None:
        for route in desk_routes():
            with self.subTest(route=route.key):
                view = resolve(sample_path(route)).func
                assert getattr(view, GUARDED, False), f"{route.key} has no staff_required"

    def test_an_anonymous_visitor_is_sent_to_log_in_from_every_desk_page(self) -> None:
        assert self.assert_refused(Client(), "login") == len(desk_routes())

    def test_an_outsider_is_refused_every_desk_page_but_his_own_account(self) -> None:
        decided = {k for k, v in access.ROUTE_PERMISSIONS.items() if v == ""}
        assert decided == OWN_ACCOUNT
        checked = self.assert_refused(self.client_for(self.charlie), "403", skip=OWN_ACCOUNT)
        assert checked == len(desk_routes()) - len(OWN_ACCOUNT)

    def test_staff_without_a_second_factor_are_sent_to_set_one_up_from_every_desk_page(
        self,
    ) -> None:
        nora = make_user("nora", role="responder", mfa=False)
        assert self.assert_refused(self.client_for(nora), "mfa") == len(desk_routes())

    def test_support_is_refused_every_page_of_the_full_desk(self) -> None:
        full_desk = {r.key for r in desk_routes() if access.route_permission(r.key) == "desk.work"}
        assert {"intake:desk_reports", "notify:deliveries", "web:outbox"} <= full_desk
        client = self.client_for(self.sam)
        for route in desk_routes():
            if route.key in full_desk:
                with self.subTest(route=route.key):
                    assert client.get(sample_path(route)).status_code == 403

    def test_the_guard_asks_the_role_not_the_is_staff_flag(self) -> None:
        # A support member whose is_staff flag is stale does not get the reports...
        stan = make_user("stan", role="support")
        stan.is_staff = True
        stan.save(update_fields=["is_staff"])
        assert self.client_for(stan).get("/desk/reports/").status_code == 403
        # ...and a responder without the flag does, like every other full-desk page.
        rhea = make_user("rhea", role="responder")
        rhea.is_staff = False
        rhea.save(update_fields=["is_staff"])
        for path in ("/desk/reports/", "/desk/notify/deliveries/", "/desk/"):
            with self.subTest(path=path):
                assert self.client_for(rhea).get(path).status_code == 200

    def test_a_disabled_account_is_sent_to_log_in(self) -> None:
        client = self.client_for(self.bob)
        self.bob.is_active = False
        self.bob.save(update_fields=["is_active"])
        response = client.get("/desk/reports/")
        self.assertRedirects(
            response, "/desk/login/?next=/desk/reports/", fetch_redirect_response=False
        )


# The addresses people bookmarked and the names reverse() is called with, for the
# pages that moved into herald/web (intake, notify, accounts): unchanged.
ADDRESSES: list[tuple[str, dict[str, object], str]] = [
    ("intake:report_form", {}, "/security/report/"),
    ("intake:thread", {"token": "t0k"}, "/security/reports/t0k/"),
    ("intake:desk_reports", {}, "/desk/reports/"),
    ("intake:desk_rewards", {}, "/desk/reports/rewards/"),
    ("intake:desk_mail", {}, "/desk/reports/mail/"),
    ("intake:desk_raw_mail", {"pk": 3}, "/desk/reports/mail/3/raw/"),
    ("intake:desk_attachment", {"pk": 3}, "/desk/reports/attachments/3/"),
    ("intake:desk_report", {"tracking_id": "R-1"}, "/desk/reports/R-1/"),
    ("notify:subscribe", {}, "/security/subscribe/"),
    ("notify:confirm", {"token": "t"}, "/security/subscribe/confirm/t/"),
    ("notify:manage", {"token": "t"}, "/security/subscriptions/t/"),
    ("notify:unsubscribe", {"token": "t"}, "/security/unsubscribe/t/"),
    ("notify:campaigns", {}, "/desk/notify/campaigns/"),
    ("notify:campaign", {"pk": "c1"}, "/desk/notify/campaigns/c1/"),
    ("notify:campaign_action", {"pk": "c1", "verb": "send"}, "/desk/notify/campaigns/c1/send/"),
    ("notify:deliveries", {}, "/desk/notify/deliveries/"),
    ("notify:delivery", {"pk": 3}, "/desk/notify/deliveries/3/"),
    ("notify:delivery_redrive", {"pk": 3}, "/desk/notify/deliveries/3/redrive/"),
    ("notify:customers", {}, "/desk/notify/customers/"),
    ("notify:customer", {"pk": "c1"}, "/desk/notify/customers/c1/"),
    ("notify:channels", {}, "/desk/notify/channels/"),
    ("notify:channel_create", {}, "/desk/notify/channels/new/"),
    ("notify:channel_action", {"pk": 3, "verb": "test"}, "/desk/notify/channels/3/test/"),
    ("notify:subscribers", {}, "/desk/notify/subscribers/"),
    ("notify:subscriber_add", {}, "/desk/notify/subscribers/new/"),
    ("notify:subscriber_remove", {"pk": 3}, "/desk/notify/subscribers/3/remove/"),
    ("accounts:accept", {"secret": "s"}, "/desk/invitation/s/"),
    ("accounts:home", {}, "/desk/me/"),
    ("accounts:token_create", {}, "/desk/me/tokens/"),
    ("accounts:token_revoke", {"pk": 3}, "/desk/tokens/3/revoke/"),
    ("accounts:people", {}, "/desk/admin/people/"),
    ("accounts:person", {"pk": 3}, "/desk/admin/people/3/"),
    ("accounts:invite", {}, "/desk/admin/invite/"),
    ("accounts:invitation_revoke", {"pk": 3}, "/desk/admin/invitations/3/revoke/"),
    ("accounts:collaborators", {}, "/desk/admin/collaborators/"),
    ("accounts:collaborator_remove", {"pk": 3}, "/desk/admin/collaborators/3/remove/"),
    ("accounts:access_review", {}, "/desk/admin/access-review/"),
    ("accounts:audit", {}, "/desk/admin/audit/"),
    ("accounts:audit_export", {}, "/desk/admin/audit/export/"),
]


class DeskAddressesTest(WebTestCase):
    def test_moved_pages_keep_their_addresses_and_names(self) -> None:
        for name, kwargs, path in ADDRESSES:
            with self.subTest(name=name):
                assert reverse(name, kwargs=kwargs) == path
                match = resolve(path)
                assert f"{match.namespace}:{match.url_name}" == name
                assert match.func.__module__.startswith("herald.web.views."), match.func

    def test_every_named_route_of_the_moved_namespaces_is_listed(self) -> None:
        listed = {name for name, _, _ in ADDRESSES}
        found = {r.key for r in routes() if r.key.split(":")[0] in {"intake", "notify", "accounts"}}
        assert found == listed
