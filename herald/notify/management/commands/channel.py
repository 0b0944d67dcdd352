"""``herald channel``: add, list and test notification channels (e-mail, Slack, webhook)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandParser

from herald.core.cli_support import HeraldCommand
from herald.core.errors import HeraldError, ValidationError
from herald.core.models import VendorProfile
from herald.notify import actions
from herald.notify.models import Channel, Event


class Command(HeraldCommand):
    help = "Notification channels: the internal ones, and those of staff-added subscribers."
    epilog = """examples:
  herald channel add security-team --kind email --to security@example.com,support@example.com \\
      --internal --events incident.declared
  herald channel add tell-anything --kind slack --url https://hooks.slack.com/services/... \\
      --internal --events advisory.published,advisory.updated
  herald channel add partner-feed --kind webhook --url https://partner.example/hook \\
      --secret "$(openssl rand -hex 32)" --subscribe
  herald channel test security-team"""

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        add = self.add_subcommand(sub, "add", help="add a channel", write=True)
        add.add_argument("name")
        add.add_argument("--kind", choices=["email", "slack", "webhook"], required=True)
        add.add_argument("--to", default="", help="e-mail: comma-separated addresses")
        add.add_argument("--smtp-url", default="", help="e-mail: its own SMTP server")
        add.add_argument("--url", default="", help="Slack or webhook URL")
        add.add_argument("--secret", default="", help="webhook: HMAC-SHA256 signing secret")
        add.add_argument("--events", default="", help=f"comma-separated: {', '.join(Event)}")
        add.add_argument("--internal", action="store_true", help="tell it of incidents/advisories")
        add.add_argument("--subscribe", action="store_true",
                         help="Slack/webhook: subscribe it to published advisories")  # fmt: skip
        self.add_subcommand(sub, "list", help="list channels")
        test = self.add_subcommand(sub, "test", help="send a test message", write=True)
        test.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        self.dispatch(options, {"add": self.do_add, "list": self.do_list, "test": self.do_test})

    def do_add(self, **options: Any) -> None:
        kind = options["kind"]
        config: dict[str, Any] = {}
        if kind == "email":
            config = {"to": [a for a in options["to"].replace(",", " ").split() if a]}
            if options["smtp_url"]:
                config["smtp_url"] = options["smtp_url"]
        else:
            config = {"url": options["url"]}
            if options["secret"]:
                config["secret"] = options["secret"]
        events = [e.strip() for e in options["events"].split(",") if e.strip()]
        user = self.acting_user(options)
        channel = actions.do_create_channel(
            name=options["name"], kind=kind, config=config, events=events,
            internal=options["internal"], acting_user=user,
        )  # fmt: skip
        if options["subscribe"]:
            actions.do_add_channel_subscriber(channel, acting_user=user)
        self.stdout.write(f"Channel {channel.name} added.")

    def do_list(self, **options: Any) -> None:
        internal = set(VendorProfile.get().internal_channels or [])
        rows = [
            {"name": c.name, "kind": c.kind, "internal": c.name in internal,
             "events": c.events or "all", "enabled": c.enabled}
            for c in Channel.objects.all()
        ]  # fmt: skip
        if options.get("json"):
            self.write_json(rows)
            return
        for r in rows:
            self.stdout.write(json.dumps(r))

    def do_test(self, **options: Any) -> None:
        channel = Channel.objects.filter(name=options["name"]).first()
        if channel is None:
            raise HeraldError(f"No channel {options['name']!r}.")
        if not channel.enabled:
            raise ValidationError({"name": f"{channel.name} is disabled."})
        actions.do_send_test_message(channel, acting_user=self.acting_user(options))
        self.stdout.write(f"A test message to {channel.name} is queued.")
