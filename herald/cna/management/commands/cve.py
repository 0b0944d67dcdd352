"""``herald cve``: reserve CVE ids at CVE Services, and see each record's state there."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandParser

from herald.advisories.queries import access_advisory_by_identifier
from herald.cna import actions, queries
from herald.cna import client as cve_client
from herald.cna.models import CveId
from herald.core.cli_support import HeraldCommand
from herald.core.errors import HeraldError


class Command(HeraldCommand):
    help = "CVE Services, for a CNA: reserve ids, list them, see each record's state there."
    epilog = """examples:
  herald cve reserve --amount 2 --as alice     # POST /cve-id; the editor then offers them
  herald cve list                              # ids reserved through Herald, and unused ones
  herald cve status NWA-2026-0006 --refresh    # each CVE's state, asking CVE Services too

Settings: HERALD_CVE_API_URL, HERALD_CVE_API_USER, HERALD_CVE_API_KEY,
HERALD_CNA_SHORT_NAME, HERALD_CNA_ORG_ID (docs/cve-services.md)."""

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        res = self.add_subcommand(sub, "reserve", help="reserve ids at CVE Services", write=True)
        res.add_argument("--year", type=int, default=None, help="the ids' year (default: this)")
        res.add_argument("--amount", type=int, default=1, help="how many (default: 1)")
        self.add_subcommand(sub, "list", help="the ids reserved through Herald")
        st = self.add_subcommand(sub, "status", help="each CVE of an advisory at CVE Services")
        st.add_argument("advisory", help="the advisory's identifier")
        st.add_argument(
            "--refresh", action="store_true", help="also ask CVE Services now (GET /cve/{id})"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.dispatch(
            options, {"reserve": self.do_reserve, "list": self.do_list, "status": self.do_status}
        )

    def do_reserve(self, **options: Any) -> None:
        done = actions.do_reserve_cve_ids(
            year=options["year"], amount=options["amount"], acting_user=self.acting_user(options)
        )
        ids = [r.cve_id for r in done.ids]
        if options.get("json"):
            self.write_json({"reserved": ids, "partial": done.partial})
            return
        for cve_id in ids:
            self.stdout.write(cve_id)
        if done.partial:
            self.stderr.write(
                f"CVE Services reserved {len(ids)} of {options['amount']}: the organisation's "
                "quota ran out."
            )

    def do_list(self, **options: Any) -> None:
        unused = set(queries.unused_reserved_ids())
        reserved = list(CveId.objects.all())
        states = queries.sent_states([r.cve_id for r in reserved])
        rows = [
            {"cve_id": r.cve_id, "state": states.get(r.cve_id, r.state), "owning_cna": r.owning_cna,
             "reserved_at": r.reserved_at, "reserved_by": r.reserved_by,
             "unused": r.cve_id in unused}
            for r in reserved
        ]  # fmt: skip
        if options.get("json"):
            self.write_json(rows)
            return
        if not rows:
            self.stdout.write("No id reserved through Herald yet (herald cve reserve).")
        for r in rows:
            note = "  unused" if r["unused"] else ""
            self.stdout.write(f"{r['cve_id']}\t{r['state']}\t{r['owning_cna']}{note}")

    def do_status(self, **options: Any) -> None:
        advisory = access_advisory_by_identifier(options["advisory"])
        statuses = queries.cve_status(advisory)
        live: dict[str, str] = {}
        if options["refresh"]:
            live = self._refresh([s.cve_id for s in statuses if s.ours])
        if options.get("json"):
            self.write_json(
                [
                    {**s.__dict__, **({"live": live[s.cve_id]} if s.cve_id in live else {})}
                    for s in statuses
                ]
            )
            return
        if not statuses:
            self.stdout.write(f"{advisory.identifier} names no CVE id.")
        for s in statuses:
            self.stdout.write(f"{s.cve_id}\t{s.state or '-'}\t{s.summary}")
            if s.last_answer:
                self.stdout.write(f"  last answer: {s.last_answer}")
            if s.cve_id in live:
                self.stdout.write(f"  CVE Services now: {live[s.cve_id]}")

    def _refresh(self, cve_ids: list[str]) -> dict[str, str]:
        cfg = cve_client.config()
        if not cfg.configured:
            raise HeraldError(cfg.not_configured_message())
        api = cve_client.client(cfg)
        live = {}
        for cve_id in cve_ids:
            try:
                record = api.show_cve_record(cve_id)
            except cve_client.CveServicesError as exc:
                live[cve_id] = str(exc)
                continue
            meta = record.get("cveMetadata") or {} if isinstance(record, dict) else {}
            live[cve_id] = f"{meta.get('state', '?')}, updated {meta.get('dateUpdated', '?')}"
        return live
