"""``herald advisory``: the whole life of an advisory from a terminal.

create -> update -> publish (or schedule) -> fix -> resolve -> withdraw, plus list
and show. Every write calls exactly one action of ``herald.publication.actions``,
which holds every rule; this module only turns options into its arguments and
its result into text or JSON (``herald.advisories.serialize``, the shape the API
uses too, so ``show --json`` output can be edited and given to ``--from-json``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import textwrap
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser
from django.db import DatabaseError, connection, transaction

from herald.advisories.actions import advisory_input_errors
from herald.advisories.fields import ADVISORY_FIELDS, AdvisoryField, choices_of
from herald.advisories.models import Advisory, Affected, Credit, Reference
from herald.advisories.queries import access_advisory_by_identifier, declared_for_change
from herald.advisories.serialize import desk_advisory_to_dict, fields_from_dict
from herald.core.cli_support import HeraldCommand, gather_errors, read_text_option
from herald.core.errors import HeraldError, ValidationError
from herald.core.input_files import load_json, read_input_file
from herald.core.models import VendorProfile
from herald.incidents.models import Incident
from herald.incidents.queries import access_incident_by_identifier
from herald.publication.actions import (
    do_create_advisory,
    do_mark_fixed,
    do_publish_advisory,
    do_resolve_advisory,
    do_schedule_publication,
    do_update_advisory,
    do_withdraw_advisory,
)

EPILOG = """\
examples:
  herald advisory create --incident INC-2026-0001 --title "Stored XSS in dashboard names" \\
      --description-file xss.md --cve CVE-2026-12345 --cwe CWE-79 \\
      --cvss-v3 "CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N" \\
      --affected-users "Cloud customers in the US region" --region US \\
      --product cloud:cloud --reported 2026-01-11 --credit "Jane Doe:FINDER" --as bob
  herald advisory show PREFIX-2026-0001 --json > adv.json   # edit it, then:
  herald advisory update PREFIX-2026-0001 --from-json adv.json --summary "Clarified impact"
  herald advisory publish PREFIX-2026-0001 --as alice
  herald advisory publish PREFIX-2026-0001 --at 2026-02-01T09:00Z      # at the embargo's end
  herald advisory fix PREFIX-2026-0001 --date 2026-01-12 --resolution "Fixed in #1234."
  herald advisory resolve PREFIX-2026-0001
  herald advisory withdraw PREFIX-2026-0001 --reason "Duplicate of PREFIX-2026-0002"
  herald advisory list --state published --status fixed

Every change happens inside an open incident (herald incident declare). Bad input
exits with status 2 and one "error: FIELD: message" line per problem; a refused
action (a conflict, a wrong state) exits with status 1. Nothing is saved either way.
"""

FIELDS_EPILOG = """\
Repeatable options (--cve, --cwe, --region, --product, --credit, --reference)
replace the whole list when given; --cve "" empties it. Dates are YYYY-MM-DD;
moments are ISO 8601 (UTC unless an offset is given).

  --product SLUG[:DEPLOYMENT[:INTRODUCED[:FIXED]]]
{deployments}
  --credit "NAME[:TYPE]"
{credit_types}
  --reference "URL[ TYPE]"
{reference_types}
""".format(
    **{
        key: textwrap.fill(
            f"{label}: " + ", ".join(values),
            width=78,
            initial_indent=" " * 6,
            subsequent_indent=" " * 8,
        )
        for key, label, values in (
            ("deployments", "DEPLOYMENT", Affected.Deployment.values),
            ("credit_types", "TYPE", Credit.Type.values),
            ("reference_types", "TYPE", Reference.Type.values),
        )
    }
)

# On update, --summary is the change summary; the advisory's own is --advisory-summary.
_UPDATE_RESERVED = frozenset({"--summary"})
_METAVARS = {"line": "TEXT", "markdown": "TEXT", "date": "DATE", "datetime": "DATETIME"}


def _add_declared_option(
    group: argparse._ArgumentGroup, field: AdvisoryField, *, creating: bool
) -> None:
    """One declared advisory field (herald.advisories.fields) as options."""
    flags = [flag for flag in field.flags if creating or flag not in _UPDATE_RESERVED]
    help_text = field.description or None
    metavar = field.metavar or _METAVARS.get(field.kind, "TEXT")
    if field.kind == "markdown":
        assert field.file_flag is not None
        text = group.add_mutually_exclusive_group()
        text.add_argument(*flags, dest=field.name, metavar=metavar, help=help_text)
        text.add_argument(
            field.file_flag,
            dest=f"{field.name}_file",
            metavar="FILE",
            help="the same, from a Markdown file (- for stdin)",
        )
    elif field.kind == "list":
        group.add_argument(
            *flags, dest=field.name, action="append", metavar=metavar, help=help_text
        )
    elif field.kind == "bool":
        # BooleanOptionalAction: an update must be able to turn a flag off again.
        group.add_argument(
            *flags,
            dest=field.name,
            action="store_true" if creating else argparse.BooleanOptionalAction,
            default=None,
            help=help_text,
        )
    else:
        if field.kind == "choice":
            metavar = "{" + ",".join(value for value, _ in choices_of(field.name)) + "}"
        if field.kind == "datetime" and not creating:
            help_text = (help_text or "") + " ('' clears it)"
        group.add_argument(*flags, dest=field.name, metavar=metavar, help=help_text)


def _add_field_options(parser: CommandParser, *, creating: bool) -> None:
    """The advisory's fields, shared by create and update: one option (or two, for
    Markdown: text or file) per declared field, then the rows."""
    fields = parser.add_argument_group("advisory fields")
    fields.add_argument(
        "--from-json",
        metavar="FILE",
        help="read the fields from the JSON of show --json (- for stdin); options override it",
    )
    fields.add_argument(
        "--incident",
        metavar="ID",
        help="the open incident the change belongs to"
        + (" (required when one is open)" if creating else " (default: the advisory's own)"),
    )
    for field in ADVISORY_FIELDS:
        _add_declared_option(fields, field, creating=creating)
    fields.add_argument(
        "--product",
        dest="affected",
        action="append",
        metavar="SLUG[:DEPLOYMENT[:INTRODUCED[:FIXED]]]",
        help="an affected product",
    )
    fields.add_argument("--credit", dest="credits", action="append", metavar="NAME[:TYPE]")
    fields.add_argument("--reference", dest="references", action="append", metavar="URL[ TYPE]")


def example_prefix() -> str:
    """The desk's advisory prefix for the help's examples; the default where there is no desk."""
    prefix = str(VendorProfile._meta.get_field("advisory_prefix").default)
    database = connection.settings_dict
    # SQLite would create an empty file just to answer: only ask an existing one.
    if not database["ENGINE"].endswith("sqlite3") or Path(str(database["NAME"])).is_file():
        try:
            with transaction.atomic():
                stored = VendorProfile.objects.filter(pk=1).values_list(
                    "advisory_prefix", flat=True
                )
                prefix = stored.first() or prefix
        except DatabaseError:
            pass  # the command itself will say what is wrong with the database
    return prefix


def _split(values: list[str]) -> list[str]:
    """Repeated and comma-separated values as one list; empty strings clear the list."""
    return [part for value in values for part in re.split(r"[\s,]+", value) if part]


def _product_row(spec: str) -> dict[str, str]:
    slug, deployment, introduced, fixed = ([*spec.split(":", 3), "", "", ""])[:4]
    row = {"product": slug.strip(), "introduced": introduced.strip(), "fixed": fixed.strip()}
    if deployment.strip():
        row["deployment"] = deployment.strip().lower()
    return row


def _credit_row(spec: str) -> dict[str, str]:
    name, sep, kind = spec.rpartition(":")
    # A name may itself hold a colon ("Team: Red"); only a word right after the
    # last one, with no space, is taken as the credit's type ("Jane:REPORTER").
    if sep and kind and not any(c.isspace() for c in kind) and name.strip():
        return {"name": name.strip(), "type": kind.strip().upper()}
    return {"name": spec.strip()}


def _reference_row(spec: str) -> dict[str, str]:
    parts = spec.split()
    if len(parts) >= 2:
        return {"url": parts[0], "type": parts[1].upper()}
    return {"url": spec.strip()}


def _long_date(value: dt.date | None) -> str:
    return f"{value:%B} {value.day}, {value.year}" if value else "-"


class Command(HeraldCommand):
    help = "Create, update, publish, fix, resolve, withdraw, list and show advisories."
    epilog = EPILOG

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # The examples show identifiers as this desk writes them (PREFIX-2026-0001).
        prefix = example_prefix()
        subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        for each in [parser, *(p for a in subparsers for p in a.choices.values())]:
            if each.epilog:
                each.epilog = each.epilog.replace("PREFIX-", f"{prefix}-")
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(
            dest="subcommand", required=True, metavar="SUBCOMMAND", title="subcommands"
        )

        create = self.add_subcommand(
            subparsers,
            "create",
            help="create a draft advisory",
            write=True,
            epilog="""\
examples:
  herald advisory create --incident INC-2026-0001 --title "Token leak in logs" \\
      --severity high --reported 2026-01-11 --product cloud:cloud --as bob
  herald advisory show PREFIX-2026-0001 --json | herald advisory create --from-json - \\
      --incident INC-2026-0002 --title "Same flaw in the SDK"

"""
            + FIELDS_EPILOG,
        )
        _add_field_options(create, creating=True)

        update = self.add_subcommand(
            subparsers,
            "update",
            help="change fields of an advisory",
            write=True,
            description=(
                "Change fields of an advisory. Only the fields given change.\n"
                "--version is the version you read (show prints it): if someone saved\n"
                "since, nothing is saved and the command says so. A public advisory\n"
                "needs --summary: its change becomes a new revision."
            ),
            epilog="""\
examples:
  herald advisory update PREFIX-2026-0001 --version 3 --summary "Added the CVE id" \\
      --cve CVE-2026-12345
  herald advisory show PREFIX-2026-0001 --json > adv.json   # edit adv.json, then:
  herald advisory update PREFIX-2026-0001 --from-json adv.json --summary "Clarified impact"
      (the version comes from the file when --version is not given)

"""
            + FIELDS_EPILOG,
        )
        update.add_argument("identifier", metavar="ID")
        update.add_argument(
            "--version", dest="expected_version", type=int, metavar="N", help="the version you read"
        )
        update.add_argument(
            "--summary",
            dest="change_summary",
            default="",
            metavar="TEXT",
            help="what changed, in a sentence (required once published)",
        )
        _add_field_options(update, creating=False)

        publish = self.add_subcommand(
            subparsers,
            "publish",
            help="publish a draft now, or schedule it with --at",
            write=True,
            epilog="""\
examples:
  herald advisory publish PREFIX-2026-0001 --as alice
  herald advisory publish PREFIX-2026-0001 --waive-outreach "Only test accounts were exposed"
  herald advisory publish PREFIX-2026-0001 --lift-embargo "Exploited in the wild"
  herald advisory publish PREFIX-2026-0001 --at 2026-02-01T09:00Z   # the worker publishes it

An advisory with a confirmed exposure or required user action is published only
with an outreach campaign, or with --waive-outreach REASON on the record.
""",
        )
        publish.add_argument("identifier", metavar="ID")
        self._version_option(publish)
        publish.add_argument(
            "--lift-embargo", default="", metavar="REASON", help="publish before the embargo ends"
        )
        publish.add_argument(
            "--waive-outreach", default="", metavar="REASON", help="publish without outreach"
        )
        publish.add_argument(
            "--at",
            dest="scheduled_publish_at",
            metavar="DATETIME",
            help="schedule the publication instead (ISO 8601)",
        )

        fix = self.add_subcommand(
            subparsers,
            "fix",
            help="mark an advisory fixed",
            write=True,
            epilog="""\
example:
  herald advisory fix PREFIX-2026-0001 --date 2026-01-12 \\
      --resolution "Fixed in [#1234](https://github.com/example/app/pull/1234)."
""",
        )
        fix.add_argument("identifier", metavar="ID")
        fix.add_argument(
            "--date", dest="fixed_at", default="", metavar="YYYY-MM-DD", help="when it was fixed"
        )
        resolution = fix.add_mutually_exclusive_group()
        resolution.add_argument(
            "--resolution", metavar="TEXT", help="Markdown: the fix, next steps"
        )
        resolution.add_argument(
            "--resolution-file", metavar="FILE", help="Markdown file (- for stdin)"
        )
        fix.add_argument(
            "--summary",
            dest="change_summary",
            default="",
            metavar="TEXT",
            help='change summary (default "Fixed.")',
        )
        self._version_option(fix)

        resolve = self.add_subcommand(
            subparsers,
            "resolve",
            help='resolve an advisory: it moves to "Past advisories"',
            write=True,
            epilog="example:\n"
            '  herald advisory resolve PREFIX-2026-0001 --summary "All customers migrated"\n',
        )
        resolve.add_argument("identifier", metavar="ID")
        resolve.add_argument(
            "--date",
            dest="fixed_at",
            default=None,
            metavar="YYYY-MM-DD",
            help="when it was fixed, if not yet known",
        )
        resolve.add_argument(
            "--summary",
            dest="change_summary",
            default="",
            metavar="TEXT",
            help='change summary (default "Resolved.")',
        )
        self._version_option(resolve)

        withdraw = self.add_subcommand(
            subparsers,
            "withdraw",
            help="withdraw a published advisory (it stays public, marked withdrawn)",
            write=True,
            epilog="example:\n  herald advisory withdraw PREFIX-2026-0003 \\\n"
            '      --reason "Duplicate of PREFIX-2026-0002"\n',
        )
        withdraw.add_argument("identifier", metavar="ID")
        withdraw.add_argument("--reason", default="", help="why, for the public record")
        self._version_option(withdraw)

        listing = self.add_subcommand(
            subparsers,
            "list",
            help="list advisories, drafts included",
            epilog="examples:\n  herald advisory list --state draft\n"
            "  herald advisory list --state published --status fixed --json\n",
        )
        listing.add_argument("--state", choices=Advisory.State.values)
        listing.add_argument("--status", choices=Advisory.Status.values)

        self.add_subcommand(
            subparsers,
            "show",
            help="show one advisory (by identifier)",
            epilog="example:\n  herald advisory show PREFIX-2026-0001 --json\n",
        ).add_argument("identifier", metavar="ID")

    @staticmethod
    def _version_option(parser: CommandParser) -> None:
        parser.add_argument(
            "--version",
            dest="expected_version",
            type=int,
            metavar="N",
            help="refuse if the advisory changed since version N",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.dispatch(
            options,
            {
                "create": self.cmd_create,
                "update": self.cmd_update,
                "publish": self.cmd_publish,
                "fix": self.cmd_fix,
                "resolve": self.cmd_resolve,
                "withdraw": self.cmd_withdraw,
                "list": self.cmd_list,
                "show": self.cmd_show,
            },
        )

    # ------------------------------------------------------------ writes

    def cmd_create(self, **options: Any) -> None:
        errors: dict[str, list[str]] = {}
        values, _ = self._field_values(options, errors)
        incident = gather_errors(errors, self._incident, values.pop("incident", None))
        user = gather_errors(errors, self.acting_user, options)
        self._refuse_all(errors, values)
        advisory = do_create_advisory(acting_user=user, incident=incident, **values)
        self.report(
            advisory,
            options,
            f"created as a draft in {advisory.incident.identifier}: {advisory.title}",
        )
        self.announce(advisory, options, incident_before=None)

    def cmd_update(self, **options: Any) -> None:
        advisory = access_advisory_by_identifier(options["identifier"])
        errors: dict[str, list[str]] = {}
        values, json_version = self._field_values(options, errors)
        incident_id = values.pop("incident", None)
        # show --json names the advisory's own incident, which may be resolved by
        # now; only a different one is a request to move the advisory.
        moves = bool(incident_id) and incident_id.upper() != advisory.incident.identifier
        incident = gather_errors(errors, self._incident, incident_id if moves else None)
        version = options["expected_version"]
        if version is None:
            version = json_version
        if version is None:
            errors.setdefault("expected_version", []).append(
                "Give --version N, the version you read (herald advisory show prints it)."
            )
        if not values and not moves and not errors:
            raise ValidationError({"fields": "Give at least one field to change."})
        user = gather_errors(errors, self.acting_user, options)
        self._refuse_all(
            errors, values, advisory=advisory, change_summary=options["change_summary"]
        )
        before = advisory.incident_id
        advisory = do_update_advisory(
            advisory,
            acting_user=user,
            expected_version=version,
            change_summary=options["change_summary"],
            incident=incident,
            **values,
        )
        what = f"updated (version {advisory.version})"
        revision = advisory.revisions.order_by("-number").first() if advisory.is_public else None
        if revision is not None:
            what += f", revision {revision.number}: {revision.summary}"
        self.report(advisory, options, what)
        self.announce(advisory, options, before)

    @staticmethod
    def _refuse_all(
        errors: dict[str, list[str]],
        values: dict[str, Any],
        *,
        advisory: Advisory | None = None,
        change_summary: str = "",
    ) -> None:
        """Refuse with every problem: the options' own, and those the action would find."""
        if not errors:
            return
        if "from_json" in errors:  # the fields are not all known: say only that
            raise ValidationError(errors)
        fields = dict(values)
        rows = {
            key: fields.pop(key) for key in ("affected", "credits", "references") if key in fields
        }
        found = advisory_input_errors(
            fields, **rows, advisory=advisory, change_summary=change_summary
        )
        for field, messages in found.items():
            errors.setdefault(field, []).extend(messages)
        raise ValidationError(errors)

    def cmd_publish(self, **options: Any) -> None:
        advisory = access_advisory_by_identifier(options["identifier"])
        user = self.acting_user(options)
        if options["scheduled_publish_at"]:
            if options["lift_embargo"] or options["waive_outreach"]:
                raise ValidationError(
                    {
                        "scheduled_publish_at": "A scheduled publication happens at the "
                        "embargo's end and without a waiver; drop --at to publish now with "
                        "--lift-embargo or --waive-outreach."
                    }
                )
            advisory = do_schedule_publication(
                advisory,
                acting_user=user,
                at=options["scheduled_publish_at"],
                expected_version=options["expected_version"],
            )
            assert advisory.scheduled_publish_at is not None
            self.report(
                advisory,
                options,
                f"scheduled for publication at {advisory.scheduled_publish_at:%Y-%m-%d %H:%M} UTC",
            )
            return
        before = advisory.incident_id
        advisory = do_publish_advisory(
            advisory,
            acting_user=user,
            expected_version=options["expected_version"],
            lift_embargo_reason=options["lift_embargo"],
            outreach_waiver_reason=options["waive_outreach"],
        )
        self.report(advisory, options, f"published: {advisory.title}")
        self.announce(advisory, options, before)

    def cmd_fix(self, **options: Any) -> None:
        advisory = access_advisory_by_identifier(options["identifier"])
        resolution = read_text_option(
            options["resolution"], options["resolution_file"], "resolution_file", self.stdin
        )
        before = advisory.incident_id
        advisory = do_mark_fixed(
            advisory,
            acting_user=self.acting_user(options),
            # Blank when not given: the action refuses "fixed" without a date,
            # naming fixed_at (--date here), the same way for every interface.
            fixed_at=options["fixed_at"],
            resolution=resolution,
            change_summary=options["change_summary"],
            expected_version=options["expected_version"],
        )
        self.report(advisory, options, f"marked fixed ({advisory.fixed_at})")
        self.announce(advisory, options, before)

    def cmd_resolve(self, **options: Any) -> None:
        advisory = access_advisory_by_identifier(options["identifier"])
        before = advisory.incident_id
        advisory = do_resolve_advisory(
            advisory,
            acting_user=self.acting_user(options),
            change_summary=options["change_summary"],
            fixed_at=options["fixed_at"],
            expected_version=options["expected_version"],
        )
        where = "a past advisory" if advisory.is_public else "resolved (still a draft)"
        self.report(advisory, options, f"resolved: now {where}")
        self.announce(advisory, options, before)

    def cmd_withdraw(self, **options: Any) -> None:
        advisory = access_advisory_by_identifier(options["identifier"])
        before = advisory.incident_id
        advisory = do_withdraw_advisory(
            advisory,
            acting_user=self.acting_user(options),
            reason=options["reason"],
            expected_version=options["expected_version"],
        )
        self.report(advisory, options, f"withdrawn: {advisory.withdrawn_reason}")
        self.announce(advisory, options, before)

    def announce(
        self, advisory: Advisory, options: dict[str, Any], incident_before: int | None
    ) -> None:
        """Say so when the change made Herald declare an incident (DESIGN rule 1)."""
        notice = declared_for_change(advisory, incident_before)
        if notice:
            # Beside --json's document, not inside it: stdout stays one JSON value.
            (self.stderr if options.get("json") else self.stdout).write(notice)

    def report(self, advisory: Advisory, options: dict[str, Any], what: str) -> None:
        if options.get("json"):
            self.write_json(desk_advisory_to_dict(advisory))
        else:
            self.stdout.write(f"{advisory.identifier} {what}")

    # ------------------------------------------------------------ reads

    def cmd_list(self, **options: Any) -> None:
        # The desk's view: drafts included. The public list is the API's.
        advisories = Advisory.objects.select_related("incident").order_by("-created_at", "-id")
        if options["state"]:
            advisories = advisories.filter(state=options["state"])
        if options["status"]:
            advisories = advisories.filter(status=options["status"])
        if options["json"]:
            self.write_json([desk_advisory_to_dict(a, detail=False) for a in advisories])
            return
        rows = list(advisories)
        if not rows:
            self.stdout.write("No advisories.")
            return
        for a in rows:
            date = f"{a.published_at:%Y-%m-%d}" if a.published_at else "-"
            self.stdout.write(
                f"{a.identifier:<14} {a.state:<9} {a.status:<8} {a.severity or '-':<8} "
                f"{date:<10}  {a.title}"
            )

    def cmd_show(self, **options: Any) -> None:
        advisory = access_advisory_by_identifier(options["identifier"])
        data = desk_advisory_to_dict(advisory)
        if options["json"]:
            self.write_json(data)
            return
        out = self.stdout
        out.write(f"{advisory.identifier}  {advisory.title}")
        state = (
            f"{advisory.state}, version {advisory.version}, incident {advisory.incident.identifier}"
        )
        out.write(f"State:     {state}")
        if advisory.scheduled_publish_at:
            out.write(f"Scheduled: {advisory.scheduled_publish_at:%Y-%m-%d %H:%M} UTC")
        if advisory.embargo_until:
            out.write(f"Embargo:   until {advisory.embargo_until:%Y-%m-%d %H:%M} UTC")
        # The seed page's template, in its order.
        out.write(
            "Date:      "
            + _long_date(advisory.published_at.date() if advisory.published_at else None)
        )
        out.write(f"CVE:       {', '.join(advisory.cve_ids) or '-'}")
        severity = (advisory.severity or "-").capitalize()
        for label, vector, score in (
            ("CVSS 3", advisory.cvss_v3_vector, advisory.cvss_v3_score),
            ("CVSS 4", advisory.cvss_v4_vector, advisory.cvss_v4_score),
        ):
            if vector:
                severity += f" ({label} {score}: {vector})"
        out.write(f"Severity:  {severity}")
        out.write(f"Status:    {advisory.status.capitalize()}")
        if advisory.summary:
            out.write(f"\nSummary:\n{advisory.summary}")
        out.write(f"\nDescription:\n{advisory.description or '-'}")
        out.write(f"\nAffected users:\n{advisory.affected_users or '-'}")
        if advisory.affected_regions:
            out.write(f"Regions: {', '.join(advisory.affected_regions)}")
        for row in data["affected"]:
            region = f", {row['region']}" if row["region"] else ""
            out.write(
                f"- {row['product_name']} ({row['deployment']}{region}): "
                f"{row['version_range']}, {row['status']}"
            )
        out.write(f"\nResolution:\n{advisory.resolution or '-'}")
        out.write("\nTimeline:")
        for label, value in (
            ("Discovered", advisory.discovered_at),
            ("Reported", advisory.reported_at),
            ("Fixed", advisory.fixed_at),
            ("Disclosed", advisory.disclosed_at),
        ):
            out.write(f"- {label}: {_long_date(value)}")
        if data["credits"]:
            out.write("\nCredits:")
            for credit in data["credits"]:
                out.write(f"- {credit['name']} ({credit['type']})")
        if data["references"]:
            out.write("\nReferences:")
            for ref in data["references"]:
                out.write(f"- {ref['url']} ({ref['type']})")
        if data["revisions"]:
            out.write("\nRevisions:")
            for rev in data["revisions"]:
                out.write(f"- r{rev['number']} {rev['created_at']} {rev['kind']}: {rev['summary']}")
        if advisory.withdrawn_reason:
            out.write(f"\nWithdrawn: {advisory.withdrawn_reason}")

    # ------------------------------------------------------------ input

    def _field_values(
        self, options: dict[str, Any], errors: dict[str, list[str]]
    ) -> tuple[dict[str, Any], int | None]:
        """The action's keyword arguments from --from-json and the field options.

        Options win over the file, so a file can serve as a template. A file
        that cannot be read goes to ``errors``, with the other problems.
        """
        values: dict[str, Any] = {}
        json_version: int | None = None
        data = gather_errors(errors, self._read_json, options.get("from_json"))
        if data is not None:
            values.update(fields_from_dict(data))
            raw_version = data.get("version")
            json_version = raw_version if isinstance(raw_version, int) else None
        if options.get("incident"):
            values["incident"] = options["incident"]
        for field in ADVISORY_FIELDS:
            name = field.name
            if field.kind == "markdown":
                text = gather_errors(
                    errors,
                    read_text_option,
                    options.get(name),
                    options.get(f"{name}_file"),
                    f"{name}_file",
                    self.stdin,
                )
                if text is not None:
                    values[name] = text
            elif options.get(name) is None:
                continue
            elif field.kind == "list":
                values[name] = _split(options[name])
            else:
                values[name] = options[name]
        if options.get("affected") is not None:
            values["affected"] = [_product_row(s) for s in options["affected"] if s.strip()]
        if options.get("credits") is not None:
            values["credits"] = [_credit_row(s) for s in options["credits"] if s.strip()]
        if options.get("references") is not None:
            values["references"] = [_reference_row(s) for s in options["references"] if s.strip()]
        return values, json_version

    def _read_json(self, source: str | None) -> dict[str, Any] | None:
        if not source:
            return None
        raw = read_input_file(source, stdin=self.stdin, field="from_json")
        data = load_json(raw, "standard input" if source == "-" else source, field="from_json")
        if not isinstance(data, dict):
            raise ValidationError(
                {"from_json": "Expected one advisory as a JSON object (the output of show --json)."}
            )
        return data

    @staticmethod
    def _incident(identifier: str | None) -> Incident | None:
        if not identifier:
            return None
        try:
            return access_incident_by_identifier(identifier.strip())
        except HeraldError as exc:
            # A wrong --incident is bad input (status 2), named like any field.
            raise ValidationError({"incident": str(exc)}) from None
