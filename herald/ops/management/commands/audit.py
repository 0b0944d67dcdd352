"""``herald audit verify``: prove the audit log was not edited, and list it."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from herald.advisories.integrity import audit_problems, events_about
from herald.audit import anchor
from herald.audit.actions import verify
from herald.audit.models import AuditEvent


class Command(BaseCommand):
    help = (
        "Verify the tamper-evident audit chain against its signed anchor (verify), "
        "write a checkpoint now (anchor), or print events (list)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser(
            "verify",
            help=(
                "Check every event's hash and link, the chain against the signed checkpoints "
                "(HERALD_AUDIT_ANCHOR_DIR), and each advisory against its last audited state; "
                "exit 1 on any problem."
            ),
        )
        sub.add_parser(
            "anchor",
            help="Append a signed checkpoint of the chain as it is now (after an upgrade).",
        )
        listing = sub.add_parser("list", help="Print events as JSON lines.")
        listing.add_argument("--object", help="Only events about this object id (NWA-2026-0001).")
        listing.add_argument("--actor", help="Only events by this actor.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            self.verify()
            return
        if options["subcommand"] == "anchor":
            problems = verify()
            if problems:
                for problem in problems:
                    self.stderr.write(f"BROKEN {problem}")
                raise CommandError("audit chain broken: no checkpoint written over a broken chain")
            seq = anchor.write_checkpoint()
            self.stdout.write(f"checkpoint written: #{seq} in {anchor.anchor_path()}")
            return
        events = AuditEvent.objects.order_by("seq")
        if options.get("object"):
            events = events.filter(events_about(options["object"]))
        if options.get("actor"):
            events = events.filter(actor=options["actor"])
        for event in events.iterator():
            self.stdout.write(
                json.dumps(
                    {
                        "seq": event.seq,
                        "at": event.at.isoformat(),
                        "actor": event.actor,
                        "action": event.action,
                        "object": f"{event.object_type}:{event.object_id}",
                        "before": event.before,
                        "after": event.after,
                        "hash": event.hash,
                    },
                    ensure_ascii=False,
                )
            )

    def verify(self) -> None:
        problems, report = audit_problems()
        count = AuditEvent.objects.count()
        if problems:
            for problem in problems:
                self.stderr.write(f"BROKEN {problem}")
            raise CommandError(f"audit chain broken: {len(problems)} problem(s) in {count} events")
        self.stdout.write(f"audit chain intact: {count} events")
        if report.last is not None:
            self.stdout.write(
                f"anchored: {report.checkpoints} signed checkpoint(s), the last at "
                f"#{report.last.seq} ({report.last.at}), key {anchor.fingerprint()}"
            )
        if report.unanchored:
            self.stdout.write(
                f"{report.unanchored} event(s) after the last checkpoint rest on the chain alone"
            )
