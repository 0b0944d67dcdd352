"""Reading customer files (CSV or JSON) into checked ``CustomerData``, or every problem.

A file is taken whole or not at all: ``parse_customer_file`` either returns
every customer or raises ``CustomerFileError`` naming each bad row by line and
reason, so the person importing fixes the file once instead of row by row.

CSV: one row per contact or deployment (or both), grouped by ``customer_id``::

    customer_id,organisation,region,contact_email,contact_name,contact_role,product,deployment,version
    acme,Acme Corp,EU,sec@acme.example,Ana,CISO,cloud,cloud,
    acme,,,,,,agent,self_hosted,1.4.2

JSON: a list of customers::

    [{"customer_id": "acme", "organisation": "Acme Corp", "region": "EU",
      "contacts": [{"email": "sec@acme.example", "name": "Ana", "role": "CISO"}],
      "deployments": [{"product": "agent", "deployment": "self_hosted", "version": "1.4.2"}]}]

A customer named in the file gets exactly the file's contacts and deployments.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from herald.advisories.models import Affected
from herald.core.errors import HeraldError, ValidationError
from herald.core.input_files import MAX_JSON_DEPTH, TOO_DEEP, decode_text, too_deep
from herald.core.models import Product, VendorProfile
from herald.notify.actions import CustomerData
from herald.notify.channels import check_email

CSV_COLUMNS = (
    "customer_id",
    "organisation",
    "region",
    "contact_email",
    "contact_name",
    "contact_role",
    "product",
    "deployment",
    "version",
)
MAX_PROBLEMS_SHOWN = 200


class CustomerFileError(HeraldError):
    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        lines = [f"line {line}: {reason}" for line, reason in problems[:MAX_PROBLEMS_SHOWN]]
        if len(problems) > MAX_PROBLEMS_SHOWN:
            lines.append(f"... and {len(problems) - MAX_PROBLEMS_SHOWN} more")
        super().__init__(
            f"The file was not imported: {len(problems)} bad row(s).\n" + "\n".join(lines)
        )


@dataclass
class _Builder:
    line: int
    data: CustomerData
    emails: set[str] = field(default_factory=set)


class _Checker:
    def __init__(self) -> None:
        self.products = {p.slug: p for p in Product.objects.all()}
        self.by_name = {p.name.lower(): p for p in self.products.values()}
        self.regions = [r.upper() for r in VendorProfile.get().regions or []]
        self.problems: list[tuple[int, str]] = []
        self.customers: dict[str, _Builder] = {}

    def bad(self, line: int, reason: str) -> None:
        self.problems.append((line, reason))

    def region(self, line: int, value: Any) -> str:
        region = str(value or "").strip().upper()
        if region and self.regions and region not in self.regions:
            self.bad(line, f"unknown region {region!r}; use one of {', '.join(self.regions)}")
        return region

    def customer(self, line: int, external_id: Any, name: Any, region: Any) -> _Builder | None:
        key = str(external_id or "").strip()
        if not key:
            self.bad(line, "customer_id is empty")
            return None
        if len(key) > 100:
            self.bad(line, "customer_id is longer than 100 characters")
            return None
        name_text = " ".join(str(name or "").split())
        region_text = self.region(line, region)
        builder = self.customers.get(key)
        if builder is None:
            if not name_text:
                self.bad(line, f"customer {key!r} has no organisation name")
            elif len(name_text) > 300:
                self.bad(line, "organisation is longer than 300 characters")
            builder = self.customers[key] = _Builder(
                line, CustomerData(key, name_text, region_text, [], [])
            )
            return builder
        data = builder.data
        if name_text and name_text != data.name:
            self.bad(line, f"organisation {name_text!r} differs from {data.name!r} on line "
                           f"{builder.line} for customer {key!r}")  # fmt: skip
        if region_text and region_text != data.region:
            self.bad(line, f"region {region_text!r} differs from {data.region!r} on line "
                           f"{builder.line} for customer {key!r}")  # fmt: skip
        return builder

    def contact(self, line: int, builder: _Builder, email: Any, name: Any, role: Any) -> None:
        try:
            address = check_email(str(email or "")).lower()
        except ValidationError:
            self.bad(line, f"invalid e-mail address {str(email or '')[:80]!r}")
            return
        if address in builder.emails:
            self.bad(line, f"contact {address} is listed twice for {builder.data.external_id!r}")
            return
        builder.emails.add(address)
        assert builder.data.contacts is not None
        builder.data.contacts.append(
            {"email": address, "name": str(name or "").strip()[:200],
             "role": str(role or "").strip()[:100]}
        )  # fmt: skip

    def deployment(
        self, line: int, builder: _Builder, product: Any, kind: Any, region: Any, version: Any
    ) -> None:
        ref = str(product or "").strip()
        found = self.products.get(ref) or self.by_name.get(ref.lower())
        if found is None:
            known = ", ".join(sorted(self.products)) or "none yet"
            self.bad(line, f"unknown product {ref[:60]!r} (known: {known})")
            return
        kind_text = str(kind or "").strip().lower() or Affected.Deployment.CLOUD
        if kind_text not in Affected.Deployment.values:
            self.bad(line, f"unknown deployment {kind_text!r}; use one of "
                           f"{', '.join(Affected.Deployment.values)}")  # fmt: skip
            return
        version_text = str(version or "").strip()
        if len(version_text) > 100:
            self.bad(line, "version is longer than 100 characters")
            return
        assert builder.data.deployments is not None
        builder.data.deployments.append(
            {"product": found.slug, "kind": kind_text,
             "region": self.region(line, region) or builder.data.region,
             "version": version_text}
        )  # fmt: skip

    def result(self) -> list[CustomerData]:
        if self.problems:
            raise CustomerFileError(sorted(self.problems))
        if not self.customers:
            raise CustomerFileError([(1, "the file holds no customers")])
        return [b.data for b in self.customers.values()]


def parse_csv(text: str) -> list[CustomerData]:
    checker = _Checker()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in ("customer_id", "organisation") if c not in header]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append((1, f"missing column(s): {', '.join(missing)}"))
        if unknown:
            problems.append((1, f"unknown column(s): {', '.join(unknown)}; the columns are "
                                f"{', '.join(CSV_COLUMNS)}"))  # fmt: skip
        raise CustomerFileError(problems)
    reader.fieldnames = header
    start = 2
    for raw in reader:
        line = start
        start = reader.line_num + 1
        if None in raw:
            checker.bad(line, f"{len(raw[None])} value(s) more than the header has columns")
            continue
        row = {k: (v or "").strip() for k, v in raw.items()}
        if not any(row.values()):
            continue
        builder = checker.customer(line, row.get("customer_id"), row.get("organisation"),
                                   row.get("region"))  # fmt: skip
        if builder is None:
            continue
        if row.get("contact_email") or row.get("contact_name"):
            checker.contact(line, builder, row.get("contact_email"), row.get("contact_name"),
                            row.get("contact_role"))  # fmt: skip
        if row.get("product") or row.get("deployment") or row.get("version"):
            checker.deployment(line, builder, row.get("product"), row.get("deployment"),
                               "", row.get("version"))  # fmt: skip
    return checker.result()


def _json_items(text: str) -> list[tuple[int, Any]]:
    """The top-level list's items with the line each starts on."""
    decoder = json.JSONDecoder()
    index = len(text) - len(text.lstrip())
    if not text[index : index + 1] == "[":
        raise CustomerFileError([(1, "a JSON customer file is a list: [ {...}, {...} ]")])
    index += 1
    items: list[tuple[int, Any]] = []
    while True:
        while index < len(text) and text[index] in " \t\r\n,":
            index += 1
        if index >= len(text):
            raise CustomerFileError([(text.count("\n") + 1, "the list is not closed with ]")])
        if text[index] == "]":
            return items
        line = text.count("\n", 0, index) + 1
        try:
            item, index = decoder.raw_decode(text, index)
        except json.JSONDecodeError as exc:
            raise CustomerFileError([(exc.lineno, f"not valid JSON: {exc.msg}")]) from None
        except RecursionError:
            raise CustomerFileError([(line, f"this item {TOO_DEEP}")]) from None
        if too_deep(item, MAX_JSON_DEPTH - 1):  # inside the file's list
            raise CustomerFileError([(line, f"this item {TOO_DEEP}")])
        items.append((line, item))


def parse_json(text: str) -> list[CustomerData]:
    checker = _Checker()
    for line, item in _json_items(text.lstrip("\ufeff")):
        if not isinstance(item, dict):
            checker.bad(line, "each customer is an object {...}")
            continue
        builder = checker.customer(
            line,
            item.get("customer_id") or item.get("id"),
            item.get("organisation") or item.get("name"),
            item.get("region"),
        )
        if builder is None:
            continue
        contacts = item.get("contacts") or []
        deployments = item.get("deployments") or []
        if not isinstance(contacts, list) or not isinstance(deployments, list):
            checker.bad(line, "contacts and deployments are lists")
            continue
        for n, contact in enumerate(contacts, start=1):
            if not isinstance(contact, dict):
                checker.bad(line, f"contact {n} is not an object")
                continue
            checker.contact(line, builder, contact.get("email"), contact.get("name"),
                            contact.get("role"))  # fmt: skip
        for n, dep in enumerate(deployments, start=1):
            if not isinstance(dep, dict):
                checker.bad(line, f"deployment {n} is not an object")
                continue
            checker.deployment(line, builder, dep.get("product"),
                               dep.get("deployment") or dep.get("kind"), dep.get("region"),
                               dep.get("version"))  # fmt: skip
    return checker.result()


def parse_customer_file(
    content: bytes | str, *, name: str = "", fmt: str = ""
) -> list[CustomerData]:
    """Customers from a CSV or JSON file (by ``fmt``, else the name, else the content)."""
    shown = "standard input" if name in ("", "-") else name
    text = decode_text(content, shown) if isinstance(content, bytes) else content
    kind = fmt or ("json" if name.lower().endswith(".json") else "")
    if not kind:
        kind = "json" if text.lstrip("\ufeff \r\n\t").startswith("[") else "csv"
    if kind == "json":
        return parse_json(text)
    if kind == "csv":
        return parse_csv(text)
    raise HeraldError(f"Unknown format {fmt!r}; use csv or json.")
