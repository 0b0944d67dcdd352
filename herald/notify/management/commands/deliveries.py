"""``herald deliveries``: see the outbox, send what is due now, re-drive dead deliveries."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from herald.core.cli_support import HeraldCommand
from herald.core.errors import ValidationError
from herald.notify import actions, delivery, queries
from herald.notify.models import Delivery


class Command(HeraldCommand):
    help = "The delivery outbox: list, send what is due, re-drive dead deliveries."
    epilog = """examples:
  herald deliveries list --status dead
  herald deliveries redrive --campaign 3 --as alice
  herald deliveries run --seconds 60     # send in the foreground (workers do it normally)"""

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        lst = self.add_subcommand(sub, "list", help="counts, and the deliveries in one status")
        lst.add_argument("--status", choices=Delivery.Status.values, default="dead")
        lst.add_argument("--limit", type=int, default=50)
        run = self.add_subcommand(sub, "run", help="send due deliveries now, in this process")
        run.add_argument("--seconds", type=float, default=None)
        run.add_argument("--sessions", type=int, default=None)
        red = self.add_subcommand(sub, "redrive", help="send dead deliveries again", write=True)
        red.add_argument("ids", nargs="*", type=int, help="delivery ids")
        red.add_argument("--campaign", type=int, help="every dead delivery of a campaign")
        red.add_argument("--all-dead", action="store_true", help="every dead delivery")

    def handle(self, *args: Any, **options: Any) -> None:
        self.dispatch(options, {"list": self.do_list, "run": self.do_run,
                                "redrive": self.do_redrive})  # fmt: skip

    def do_list(self, **options: Any) -> None:
        p = queries.progress(Delivery.objects.all())
        rows = Delivery.objects.filter(status=options["status"]).order_by("-id")[: options["limit"]]
        data: dict[str, Any] = {
            "counts": {"pending": p.pending, "sending": p.sending, "sent": p.sent,
                       "failed": p.failed, "dead": p.dead},
            "deliveries": [
                {"id": d.pk, "kind": d.kind, "recipient": d.recipient, "attempts": d.attempts,
                 "last_error": d.last_error, "key": d.idempotency_key}
                for d in rows
            ],
        }  # fmt: skip
        if options.get("json"):
            self.write_json(data)
            return
        self.stdout.write(" ".join(f"{k} {v}" for k, v in data["counts"].items()))
        for d in data["deliveries"]:
            self.stdout.write(f"{d['id']}\t{d['kind']}\t{d['recipient']}\t{d['attempts']}\t"
                              f"{d['last_error'][:100]}")  # fmt: skip

    def do_run(self, **options: Any) -> None:
        stats = delivery.drain(seconds=options["seconds"], sessions=options["sessions"])
        if options.get("json"):
            self.write_json(stats)
        else:
            self.stdout.write(" ".join(f"{k} {v}" for k, v in stats.items()))

    def do_redrive(self, **options: Any) -> None:
        chosen = Delivery.objects.filter(status=Delivery.Status.DEAD)
        if options["ids"]:
            chosen = chosen.filter(pk__in=options["ids"])
        elif options["campaign"]:
            chosen = chosen.filter(campaign_id=options["campaign"])
        elif not options["all_dead"]:
            raise ValidationError({"ids": "Name deliveries, --campaign ID, or --all-dead."})
        count = actions.do_redrive(
            chosen.values_list("pk", flat=True), acting_user=self.acting_user(options)
        )
        self.stdout.write(f"{count} delivery(ies) will be sent again.")
