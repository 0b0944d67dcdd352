"""``herald customers``: import customers (CSV or JSON) and list them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser

from herald.core.cli_support import HeraldCommand
from herald.core.input_files import read_input_file
from herald.notify.actions import do_import_customers
from herald.notify.customer_files import CSV_COLUMNS, parse_customer_file
from herald.notify.models import Customer


class Command(HeraldCommand):
    help = "Import customers (organisations, contacts, products in use) and list them."
    epilog = f"""examples:
  herald customers import customers.csv
  herald customers import crm-export.json --dry-run
  herald customers list --json

CSV columns: {",".join(CSV_COLUMNS)}
A file with any bad row is refused whole; every bad row is named with its line."""

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        imp = self.add_subcommand(sub, "import", help="import a CSV or JSON file", write=True)
        imp.add_argument("file", help="path to the file, or - for standard input")
        imp.add_argument("--format", choices=["csv", "json"], default="")
        imp.add_argument("--dry-run", action="store_true", help="check the file, import nothing")
        self.add_subcommand(sub, "list", help="list customers")

    def handle(self, *args: Any, **options: Any) -> None:
        self.dispatch(options, {"import": self.do_import, "list": self.do_list})

    def do_import(self, **options: Any) -> None:
        path = options["file"]
        content = read_input_file(path, stdin=self.stdin)
        customers = parse_customer_file(content, name=path, fmt=options["format"])
        if options["dry_run"]:
            self.stdout.write(f"{len(customers)} customer(s) in the file; nothing imported.")
            return
        counts = do_import_customers(
            customers, acting_user=self.acting_user(options), source=Path(path).name
        )
        if options.get("json"):
            self.write_json(counts)
        else:
            self.stdout.write(
                f"Imported: {counts['created']} new, {counts['updated']} updated customer(s), "
                f"{counts['contacts']} contact(s), {counts['deployments']} deployment(s)."
            )

    def do_list(self, **options: Any) -> None:
        rows = [
            {
                "id": c.external_id,
                "name": c.name,
                "region": c.region,
                "contacts": [x.email for x in c.contacts.all()],
                "deployments": [str(d) for d in c.deployments.all()],
            }
            for c in Customer.objects.prefetch_related("contacts", "deployments__product")
        ]
        if options.get("json"):
            self.write_json(rows)
            return
        for row in rows:
            self.stdout.write(f"{row['id']}\t{row['name']}\t{row['region']}\t"
                              f"{len(row['contacts'])} contact(s)")  # fmt: skip
