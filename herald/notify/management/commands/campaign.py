"""``herald campaign``: list, show, approve, send, refresh and cancel outreach campaigns."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from herald.core.cli_support import HeraldCommand
from herald.notify import actions, queries
from herald.notify.models import Campaign


class Command(HeraldCommand):
    help = "Outreach campaigns to affected customers (DESIGN.md rule 4)."
    epilog = """examples:
  herald campaign list
  herald campaign show 3
  herald campaign approve 3 --as alice
  herald campaign send 3 --as alice"""

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        self.add_subcommand(sub, "list", help="list campaigns with their progress")
        show = self.add_subcommand(sub, "show", help="who will be told, why, and what happened")
        show.add_argument("id")
        for name, text in (
            ("approve", "approve the campaign's recipients and message"),
            ("send", "send an approved campaign"),
            ("refresh", "select the recipients again"),
        ):
            p = self.add_subcommand(sub, name, help=text, write=True)
            p.add_argument("id")
        cancel = self.add_subcommand(sub, "cancel", help="cancel a campaign", write=True)
        cancel.add_argument("id")
        cancel.add_argument("--reason", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        self.dispatch(
            options,
            {
                "list": self.do_list,
                "show": self.do_show,
                "approve": self.do_write,
                "send": self.do_write,
                "refresh": self.do_write,
                "cancel": self.do_write,
            },
        )

    def _summary(self, campaign: Campaign) -> dict[str, Any]:
        p = queries.progress(campaign.deliveries.all())
        return {
            "id": campaign.pk,
            "advisory": campaign.advisory.identifier,
            "status": campaign.status,
            "recipients": campaign.recipients.count(),
            "sent": p.sent,
            "failed": p.failed,
            "pending": p.pending + p.sending,
            "dead": p.dead,
        }

    def do_list(self, **options: Any) -> None:
        rows = [self._summary(c) for c in Campaign.objects.select_related("advisory")]
        if options.get("json"):
            self.write_json(rows)
            return
        for r in rows:
            self.stdout.write(
                f"#{r['id']}\t{r['advisory']}\t{r['status']}\t{r['recipients']} recipient(s)\t"
                f"sent {r['sent']} failed {r['failed']} pending {r['pending']} dead {r['dead']}"
            )

    def do_show(self, **options: Any) -> None:
        campaign = queries.access_campaign_by_id(options["id"])
        data = self._summary(campaign)
        data["subject"] = campaign.subject
        data["recipients"] = [
            {
                "customer": row["recipient"].customer.name,  # type: ignore[attr-defined]
                "email": row["recipient"].email,  # type: ignore[attr-defined]
                "why": row["recipient"].reason,  # type: ignore[attr-defined]
                "delivery": row["delivery"].status if row["delivery"] else None,  # type: ignore[attr-defined]
            }
            for row in queries.campaign_rows(campaign)
        ]
        if options.get("json"):
            self.write_json(data)
            return
        self.stdout.write(f"Campaign #{campaign.pk} for {data['advisory']}: {data['status']}")
        self.stdout.write(f"Subject: {campaign.subject}")
        for r in data["recipients"]:
            self.stdout.write(f"- {r['customer']} <{r['email']}> [{r['delivery'] or 'not sent'}]")
            for line in r["why"].splitlines():
                self.stdout.write(f"    {line}")

    def do_write(self, **options: Any) -> None:
        campaign = queries.access_campaign_by_id(options["id"])
        user = self.acting_user(options)
        verb = options["subcommand"]
        if verb == "approve":
            actions.do_approve_campaign(campaign, acting_user=user)
        elif verb == "send":
            actions.do_send_campaign(campaign, acting_user=user)
        elif verb == "refresh":
            actions.do_refresh_campaign(campaign, acting_user=user)
        else:
            actions.do_cancel_campaign(campaign, reason=options["reason"], acting_user=user)
        campaign.refresh_from_db()
        if options.get("json"):
            self.write_json(self._summary(campaign))
        else:
            self.stdout.write(f"Campaign #{campaign.pk}: {campaign.get_status_display()}.")
