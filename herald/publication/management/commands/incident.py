"""``herald incident``: declare, list, show and resolve incidents from a terminal.

Every write calls one action in ``herald.incidents.actions``; ``--as USERNAME``
names the desk account the audit trail records, Herald's service account
(herald-service) otherwise.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from herald.core.cli_support import HeraldCommand, gather_errors
from herald.core.errors import ValidationError
from herald.incidents.actions import do_resolve_incident, incident_input_errors
from herald.incidents.models import Incident, Severity
from herald.incidents.queries import (
    access_incident_by_identifier,
    drafts_left_warning,
    open_incidents,
)
from herald.publication.actions import do_declare_incident

_ENCODER = DjangoJSONEncoder()

EPILOG = """\
examples:
  herald incident declare --title "XSS in dashboard names" --severity high \\
      --reason "Report #12 confirmed" --commander bob --as alice
  herald incident list                 # open incidents
  herald incident list --all --json
  herald incident show INC-2026-0001
  herald incident resolve INC-2026-0001 --summary "Fixed and disclosed" --as bob

Advisories change only inside an open incident: declare one first, then
herald advisory create --incident INC-2026-0001 ...
"""


def _when(value: Any) -> str | None:
    return None if value is None else str(_ENCODER.default(value))


def incident_to_dict(incident: Incident, *, with_events: bool = False) -> dict[str, Any]:
    """The JSON of one incident, as ``--json`` prints it."""
    data: dict[str, Any] = {
        "identifier": incident.identifier,
        "title": incident.title,
        "severity": incident.severity,
        "status": incident.status,
        "summary": incident.summary,
        "commander": incident.commander.get_username() if incident.commander else None,
        "declared_at": _when(incident.declared_at),
        "declared_by": incident.declared_by,
        "declared_reason": incident.declared_reason,
        "auto_declared": incident.auto_declared,
        "resolved_at": _when(incident.resolved_at),
        "resolved_by": incident.resolved_by,
        "resolution_summary": incident.resolution_summary,
        "advisories": [
            {"identifier": a.identifier, "title": a.title, "state": a.state, "status": a.status}
            for a in incident.advisories.order_by("id")
        ],
    }
    if with_events:
        data["events"] = [
            {"at": _when(e.at), "kind": e.kind, "actor": e.actor, "message": e.message}
            for e in incident.events.all()
        ]
    return data


class Command(HeraldCommand):
    help = "Declare, list, show and resolve incidents."
    epilog = EPILOG

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(
            dest="subcommand", required=True, metavar="SUBCOMMAND", title="subcommands"
        )

        declare = self.add_subcommand(
            subparsers,
            "declare",
            help="declare an incident",
            write=True,
            epilog="""\
example:
  herald incident declare --title "Token leak in logs" --severity critical \\
      --summary "API tokens were written to request logs" \\
      --reason "Found in the log review" --commander bob --as alice
""",
        )
        declare.add_argument("--title", default="", help="what happened, in a line")
        declare.add_argument(
            "--severity",
            default=Severity.MEDIUM,
            metavar="{" + ",".join(Severity.values) + "}",
            help="default: medium",
        )
        declare.add_argument("--summary", default="", help="what is known so far")
        declare.add_argument("--reason", default="", help="why it is declared (kept on the record)")
        declare.add_argument(
            "--commander", metavar="USERNAME", help="who leads it (default: the --as account)"
        )

        self.add_subcommand(
            subparsers,
            "list",
            help="list incidents (open ones unless --all)",
            epilog="examples:\n  herald incident list\n  herald incident list --all --json\n",
        ).add_argument("--all", action="store_true", help="resolved incidents too")

        self.add_subcommand(
            subparsers,
            "show",
            help="show one incident and its timeline",
            epilog="example:\n  herald incident show INC-2026-0001 --json\n",
        ).add_argument("identifier", metavar="ID", help="e.g. INC-2026-0001")

        resolve = self.add_subcommand(
            subparsers,
            "resolve",
            help="resolve an open incident",
            write=True,
            epilog="""\
example:
  herald incident resolve INC-2026-0001 --summary "Fixed; advisory published" --as bob

Its advisories keep their state; a later change to one of them declares a new
incident automatically. Unpublished drafts left in it are named in a warning.
""",
        )
        resolve.add_argument("identifier", metavar="ID", help="e.g. INC-2026-0001")
        resolve.add_argument("--summary", default="", help="how it ended")

    def handle(self, *args: Any, **options: Any) -> None:
        self.dispatch(
            options,
            {
                "declare": self.cmd_declare,
                "list": self.cmd_list,
                "show": self.cmd_show,
                "resolve": self.cmd_resolve,
            },
        )

    def cmd_declare(self, **options: Any) -> None:
        fields = {
            "title": options["title"],
            "severity": (options["severity"] or "").strip().lower(),
            "commander": options["commander"] or None,
        }
        errors: dict[str, list[str]] = {}
        user = gather_errors(errors, self.acting_user, options)
        if errors:  # with every problem of the fields too, not only --as
            for field, messages in incident_input_errors(**fields).items():
                errors.setdefault(field, []).extend(messages)
            raise ValidationError(errors)
        incident = do_declare_incident(
            **fields, summary=options["summary"], reason=options["reason"], acting_user=user
        )
        self.report(incident, options, f"declared ({incident.severity}): {incident.title}")

    def cmd_resolve(self, **options: Any) -> None:
        incident = do_resolve_incident(
            access_incident_by_identifier(options["identifier"]),
            summary=options["summary"],
            acting_user=self.acting_user(options),
        )
        self.report(
            incident,
            options,
            "resolved"
            + (f": {incident.resolution_summary}" if incident.resolution_summary else "."),
        )
        # Warned, not refused: a draft may rightly stay unpublished (not a
        # vulnerability after all), and a later change to it declares a new incident.
        warning = drafts_left_warning(incident)
        if warning:
            self.stderr.write(f"warning: {warning}")

    def report(self, incident: Incident, options: dict[str, Any], what: str) -> None:
        if options.get("json"):
            self.write_json(incident_to_dict(incident, with_events=True))
        else:
            self.stdout.write(f"{incident.identifier} {what}")

    def cmd_list(self, **options: Any) -> None:
        incidents = (
            Incident.objects.select_related("commander").all()
            if options["all"]
            else open_incidents()
        ).order_by("-declared_at", "-id")
        if options["json"]:
            self.write_json([incident_to_dict(i) for i in incidents])
            return
        rows = list(incidents)
        # Said, not only left out: someone looking for last month's incident must
        # learn it is there, and how to see it.
        hidden = (
            0
            if options["all"]
            else Incident.objects.filter(status=Incident.Status.RESOLVED).count()
        )
        more = f"{hidden} resolved incident(s) not shown: herald incident list --all"
        if not rows:
            self.stdout.write("No incidents." if options["all"] else "No open incidents.")
            if hidden:
                self.stdout.write(more)
            return
        for i in rows:
            commander = i.commander.get_username() if i.commander else "-"
            self.stdout.write(
                f"{i.identifier:<14} {i.status:<8} {i.severity:<8} "
                f"{i.declared_at:%Y-%m-%d}  {commander:<12} {i.title}"
            )
        if hidden:
            self.stdout.write(more)

    def cmd_show(self, **options: Any) -> None:
        incident = access_incident_by_identifier(options["identifier"])
        data = incident_to_dict(incident, with_events=True)
        if options["json"]:
            self.write_json(data)
            return
        out = self.stdout
        out.write(f"{incident.identifier}  {incident.title}")
        out.write(f"Status:     {incident.status}")
        out.write(f"Severity:   {incident.severity}")
        out.write(f"Commander:  {data['commander'] or '-'}")
        declared = f"{incident.declared_at:%Y-%m-%d %H:%M} UTC by {incident.declared_by}"
        if incident.auto_declared:
            declared += " (automatically)"
        out.write(f"Declared:   {declared}")
        if incident.declared_reason:
            out.write(f"Reason:     {incident.declared_reason}")
        if incident.resolved_at:
            out.write(
                f"Resolved:   {incident.resolved_at:%Y-%m-%d %H:%M} UTC by {incident.resolved_by}"
            )
        if incident.summary:
            out.write(f"Summary:    {incident.summary}")
        if incident.resolution_summary:
            out.write(f"Resolution: {incident.resolution_summary}")
        advisories = data["advisories"]
        out.write(
            "Advisories: "
            + (", ".join(f"{a['identifier']} ({a['state']})" for a in advisories) or "none")
        )
        out.write("Timeline:")
        for event in incident.events.all():
            out.write(
                f"  {event.at:%Y-%m-%d %H:%M}  {event.kind:<13} {event.actor:<10} {event.message}"
            )
