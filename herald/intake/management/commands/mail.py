"""``herald mail``: reports by e-mail.

    herald mail ingest          read one RFC 822 message on standard input (an MTA pipe)
    herald mail poll            fetch new messages from the IMAP mailbox (HERALD_IMAP_*)
    herald mail flagged         list the messages waiting for a person
    herald mail purge-throttles forget rate-limit counters older than a day
    herald mail outbox [ID]     the mail kept here because no SMTP server is set

For an MTA pipe (Postfix ``pipe``, Exim ``pipe`` transport, ``.forward``),
``ingest`` exits 0 once the message is stored, whatever became of it, and 75
(EX_TEMPFAIL) when it could not be stored, so the MTA keeps it and tries again.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from herald.core.mail import outbox, read, where_mail_goes
from herald.core.models import LocalMail
from herald.core.throttle import purge_throttles
from herald.intake.actions import do_receive_email
from herald.intake.imap import ImapSettings, MailboxUnreachable, poll
from herald.intake.models import InboundMail
from herald.intake.queries import flagged_mail

EX_TEMPFAIL = 75


def _as_json(mail: LocalMail) -> dict[str, Any]:
    return {
        "id": mail.pk,
        "created": mail.created_at.isoformat(),
        "from": mail.sender,
        "to": mail.recipients,
        "subject": mail.subject,
        "message_id": mail.message_id,
    }


class Command(BaseCommand):
    help = (
        "Reports by e-mail: ingest (MTA pipe), poll (IMAP), flagged; "
        "outbox: the mail kept here when no SMTP server is set."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("ingest", help="Read one message on standard input (an MTA pipe).")
        poll_parser = sub.add_parser("poll", help="Fetch new messages from the IMAP mailbox.")
        poll_parser.add_argument(
            "--every",
            type=float,
            default=0,
            help="Keep polling, every N seconds (default: poll once and exit).",
        )
        poll_parser.add_argument("--limit", type=int, default=0, help="At most N messages a poll.")
        sub.add_parser("flagged", help="List the messages that wait for a person.")
        sub.add_parser("purge-throttles", help="Forget rate-limit counters older than a day.")
        outbox = sub.add_parser(
            "outbox",
            help="List the mail kept in the local outbox (no HERALD_SMTP_URL), or print one.",
        )
        outbox.add_argument(
            "id", nargs="?", type=int, help="Print this message as a mail program shows it."
        )
        outbox.add_argument(
            "--raw", action="store_true", help="With ID: the message's bytes, as SMTP carries them."
        )
        outbox.add_argument("--json", action="store_true", help="One JSON object per message.")
        outbox.add_argument("--limit", type=int, default=100, help="At most N, newest first.")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, "_" + options["subcommand"].replace("-", "_"))(options)

    def _ingest(self, options: dict[str, Any]) -> None:
        # Read whole, however large: the message must be kept as it came. The MTA's
        # own size limit (Postfix message_size_limit) bounds what arrives here.
        raw = sys.stdin.buffer.read()
        if not raw:
            raise CommandError("No message on standard input.")
        try:
            inbound = do_receive_email(raw, via="pipe")
        except (DatabaseError, OSError) as exc:
            self.stderr.write(f"herald mail ingest: could not store the message: {exc}")
            sys.exit(EX_TEMPFAIL)
        if inbound.status == InboundMail.Status.FLAGGED:
            self.stdout.write(f"stored as message {inbound.pk}, flagged: {inbound.problem}")
        elif inbound.report is not None:
            self.stdout.write(f"{inbound.report.tracking_id}")

    def _poll(self, options: dict[str, Any]) -> None:
        try:
            settings = ImapSettings.from_settings()
        except MailboxUnreachable as exc:
            raise CommandError(str(exc)) from None
        while True:
            try:
                result = poll(settings, limit=options["limit"] or None)
            except MailboxUnreachable as exc:
                if not options["every"]:
                    raise CommandError(str(exc)) from None
                self.stderr.write(str(exc))
            else:
                self.stdout.write(
                    f"{result.fetched} fetched, {result.flagged} flagged, "
                    f"{result.skipped} skipped (already stored)"
                    + (f": {', '.join(result.reports)}" if result.reports else "")
                )
            if not options["every"]:
                return
            time.sleep(options["every"])

    def _flagged(self, options: dict[str, Any]) -> None:
        for inbound in flagged_mail():
            self.stdout.write(
                f"{inbound.pk}\t{inbound.received_at:%Y-%m-%d %H:%M}\t{inbound.sender[:60]}\t"
                f"{inbound.problem.splitlines()[0][:120] if inbound.problem else ''}"
            )

    def _outbox(self, options: dict[str, Any]) -> None:
        if options["id"] is not None:
            kept = LocalMail.objects.filter(pk=options["id"]).first()
            if kept is None:
                raise CommandError(f"No message {options['id']} in the local outbox.")
            if options["raw"]:
                self.stdout.write(bytes(kept.raw).decode("utf-8", "replace").replace("\r\n", "\n"))
                return
            # Decoded: a quoted-printable body would cut its links at "=" soft breaks.
            readable = read(kept)
            for name, value in readable.headers:
                self.stdout.write(f"{name}: {value}")
            self.stdout.write("")
            self.stdout.write(readable.text.rstrip("\n"))
            return
        rows = list(outbox()[: max(0, options["limit"])])
        if options["json"]:
            self.stdout.write(json.dumps([_as_json(m) for m in rows], indent=2))
            return
        self.stderr.write(f"Mail goes to {where_mail_goes()}.")
        for m in rows:
            self.stdout.write(
                f"{m.pk}\t{m.created_at:%Y-%m-%d %H:%M:%S}\t{', '.join(m.recipients)[:60]}\t"
                f"{m.subject[:120]}"
            )

    def _purge_throttles(self, options: dict[str, Any]) -> None:
        self.stdout.write(f"{purge_throttles()} counters removed")
