"""The public pages' template contexts, shared by the Django views and the artifact builders.

A public page is rendered once when it changes (``herald.publishing.site.builders``)
and served as bytes; the Django views in ``herald.web.views.public`` render the
same templates from the same context functions, per request, for what is not an
artifact yet (a fresh install before ``herald setup``, a visitor with a session).
Both go through the functions here so the two can never differ.

How the index scales (10,000 advisories): it carries the whole "current" list
(advisories not yet resolved: few by nature) and only the ``RECENT_PAST`` newest
past ones; older past advisories are listed on one archive page per year of
publication (``/security/advisories/archive/<year>/``). A change to one advisory
re-renders the index and that advisory's year page, never all the others, and a
year page's address never moves (unlike numbered pages, which would all shift
with every new entry).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import yaml
from django.db.models import CharField, Count, QuerySet, TextChoices
from django.db.models.functions import Cast
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeString, mark_safe

from herald.advisories import queries
from herald.advisories.models import Advisory, Affected
from herald.advisories.snapshot import AdvisorySnapshot, snapshot_of
from herald.core.caches import ProcessCache
from herald.core.dbfunctions import UtcYear
from herald.core.models import Product, VendorProfile
from herald.incidents.models import Severity
from herald.publishing.render.publisher import publisher_from_profile
from herald.publishing.render.vex import (
    JUSTIFICATION_WORDS,
    cyclonedx_path,
    openvex_path,
    vex_statements,
)

DEFAULT_TITLE = "Security advisories"
RECENT_PAST = 20
INDEX_TEMPLATE = "web/public/index.html"
DETAIL_TEMPLATE = "web/public/detail.html"
ARCHIVE_TEMPLATE = "web/public/archive.html"
PRODUCT_VEX_TEMPLATE = "web/public/product_vex.html"
PRODUCT_VEX_ROW = "web/public/_product_vex_row.html"


def page_title(profile: VendorProfile) -> str:
    """The handbook page's ``title:`` front matter, or a plain default."""
    try:
        data: Any = yaml.safe_load(profile.front_matter or "")
    except yaml.YAMLError:
        return DEFAULT_TITLE
    title = data.get("title") if isinstance(data, dict) else None
    return str(title).strip() if title else DEFAULT_TITLE


def archive_years() -> list[tuple[int, int]]:
    """(year, number of past advisories published that year), newest year first."""
    # Without public_advisories()' related rows and order: advisory_listing_idx answers.
    rows = (
        Advisory.objects.filter(queries.PAST)
        .order_by()
        .annotate(year=UtcYear("published_at"))
        .values("year")
        .annotate(n=Count("id"))
        .order_by("-year")
    )
    return [(int(row["year"]), int(row["n"])) for row in rows if row["year"] is not None]


def index_context(
    profile: VendorProfile, years: list[tuple[int, int]] | None = None
) -> dict[str, Any]:
    """Everything the index page shows, read once (current in full, recent past, years).

    ``years`` is ``archive_years()`` when the caller has it already."""
    current = [snapshot_of(a, with_history=False) for a in queries.current_advisories()]
    past = [snapshot_of(a, with_history=False) for a in queries.past_advisories()[:RECENT_PAST]]
    years = archive_years() if years is None else years
    return {
        "vendor": profile,
        "profile": profile,
        "page_title": page_title(profile),
        "current": current,
        "past": past,
        "archive_years": years,
        "older_past": sum(n for _, n in years) > len(past),
        "acknowledgments": acknowledgments([*current, *past]),
    }


def acknowledgments(snapshots: list[AdvisorySnapshot]) -> list[tuple[str, list[str]]]:
    """Who is credited in ``snapshots``, by name, each with the advisories that credit them
    (the page's ``#acknowledgments``, which security.txt's Acknowledgments points to)."""
    credited: dict[str, list[str]] = {}
    for snapshot in snapshots:
        for credit in snapshot.credits:
            identifiers = credited.setdefault(credit.name, [])
            if snapshot.identifier not in identifiers:
                identifiers.append(snapshot.identifier)
    return sorted(credited.items(), key=lambda item: item[0].casefold())


def archive_context(
    profile: VendorProfile, year: int, years: list[tuple[int, int]] | None = None
) -> dict[str, Any]:
    """One year's past advisories, compact (identifier, title, date, severity, status)."""
    rows = (
        queries.past_advisories()
        .filter(published_at__year=year)
        .select_related(None)
        .prefetch_related(None)
        .values("pk", "identifier", "title", "published_at", "severity", "status", "state")
    )
    listed = list(rows)
    cves = queries.cve_ids_of(a["pk"] for a in listed)
    advisories: list[dict[str, Any]] = [{**a, "cve_ids": cves[a["pk"]]} for a in listed]
    return {
        "vendor": profile,
        "profile": profile,
        "page_title": page_title(profile),
        "year": year,
        "advisories": advisories,
        "rows": archive_rows(advisories),
        "archive_years": archive_years() if years is None else years,
    }


def _label(choices: type[TextChoices], value: str) -> str:
    """A stored choice's display label, as the templates' ``label`` filter shows it."""
    return str(dict(choices.choices).get(value, value))


def archive_rows(advisories: Sequence[Mapping[str, Any]]) -> SafeString:
    """The year page's table rows, escaped: what the template's loop wrote, in Python.

    A year can hold thousands of advisories and its page is rendered again when
    one of them changes; the template language spends ~40 µs a row on it, this
    a few. ``test_archive_rows_match_the_template`` holds the two to one output.
    """
    link = reverse("web:public_advisory", args=["IDENTIFIER"])
    safe = RFC3986_SUBDELIMS + "/~:@"  # as reverse() quotes an argument
    out = []
    for a in advisories:
        identifier = escape(a["identifier"])
        when = a["published_at"]
        date = f"{when:%B} {when.day}, {when.year}" if when else ""
        cves = escape(", ".join(a["cve_ids"] or ())) or "None assigned"
        severity = escape(a["severity"])
        status = (
            "Withdrawn"
            if a["state"] == "withdrawn"
            else escape(_label(Advisory.Status, a["status"]))
        )
        href = escape(link.replace("IDENTIFIER", quote(a["identifier"], safe=safe)))
        title = escape(a["title"])
        severity_label = escape(_label(Severity, a["severity"]))
        out.append(
            f'    <tr><td><a href="{href}">{identifier}: {title}</a></td><td>{date}</td>'
            f'<td>{cves}</td><td><span class="sev sev-{severity}">{severity_label}</span></td>'
            f"<td>{status}</td></tr>\n"
        )
    return mark_safe("".join(out))


def advisory_context(profile: VendorProfile, advisory: AdvisorySnapshot) -> dict[str, Any]:
    return {"vendor": profile, "a": advisory, "preview": False}


def render_index(profile: VendorProfile) -> str:
    return render_to_string(INDEX_TEMPLATE, index_context(profile))


def render_archive(profile: VendorProfile, year: int) -> str:
    return render_to_string(ARCHIVE_TEMPLATE, archive_context(profile, year))


def render_advisory(profile: VendorProfile, advisory: AdvisorySnapshot) -> str:
    return render_to_string(DETAIL_TEMPLATE, advisory_context(profile, advisory))


def years_of(advisories: Sequence[AdvisorySnapshot]) -> set[int]:
    return {a.published_at.year for a in advisories if a.published_at is not None}


# ---------------------------------------------------------------- one product's VEX page


def product_advisories(product: Product) -> list[AdvisorySnapshot]:
    """The published (not withdrawn) advisories with a row for ``product``, newest first.

    A withdrawn advisory states nothing any more, so its rows leave the page."""
    return [snapshot_of(a, with_history=False) for a in _product_rows_query(product)]


def _product_rows_query(product: Product) -> QuerySet[Advisory]:
    rows = Affected.objects.filter(product=product).values("advisory_id")
    return queries.public_advisories().filter(pk__in=rows, state=Advisory.State.PUBLISHED)


def _advisory_rows(profile: VendorProfile, snapshot: AdvisorySnapshot) -> dict[str, str]:
    """The table rows ``snapshot`` puts on each of its products' pages, by product slug:
    the same statements as the advisory's OpenVEX and CycloneDX documents."""
    publisher = publisher_from_profile(profile)
    rows: dict[str, list[str]] = {}
    for s in vex_statements(snapshot, publisher):
        reason = [JUSTIFICATION_WORDS.get(s.justification, "")]
        reason += [s.impact_statement, s.action_statement, s.notes]
        row = {
            "identifier": snapshot.identifier,
            "vulnerability": s.vulnerability,
            "versions": s.versions,
            "status": s.status,
            "reason": " ".join(r for r in reason if r),
            "openvex": "/" + openvex_path(snapshot.identifier),
            "cyclonedx": "/" + cyclonedx_path(snapshot.identifier),
        }
        rows.setdefault(s.product.slug, []).append(render_to_string(PRODUCT_VEX_ROW, row))
    return {slug: "".join(html) for slug, html in rows.items()}


def product_vex_context(
    profile: VendorProfile, product: Product, snapshots: Sequence[AdvisorySnapshot]
) -> dict[str, Any]:
    """Every vulnerability of ``snapshots`` with its status for ``product``, built from
    nothing. Publication and the view use ``product_page_context``, which keeps each
    advisory's rows; ``test_caches`` holds the two equal."""
    rows = "".join(_advisory_rows(profile, s).get(product.slug, "") for s in snapshots)
    return _page_context(profile, product, rows)


def _page_context(profile: VendorProfile, product: Product, rows: str) -> dict[str, Any]:
    # Each row was rendered (and escaped) by PRODUCT_VEX_ROW.
    return {"vendor": profile, "profile": profile, "product": product, "rows": mark_safe(rows)}


class _ProductRows:
    """Each published advisory's rows on its products' pages, kept between publications.

    A product's page lists every published advisory that names it: at 10,000
    advisories that is thousands of snapshots per publication if built from nothing.
    The rows are a function of the advisory (every change an action makes moves
    ``updated_at``) and of the publisher: keyed by (updated_at, state, status) per
    advisory and tagged with the publisher, a publication renders the changed
    advisories' rows and joins the rest. A full rebuild (``forget``) starts from
    nothing, so a product renamed outside an advisory's actions shows after it.
    Measured with ``bench/publish_export.py --advisories 10000 --publish-only``: see
    docs/publishing.md (issue 15's benchmarks).
    """

    def __init__(self) -> None:
        self.rows: ProcessCache[int, tuple[tuple[str, str, str], dict[str, str]]] = ProcessCache(
            "product vex rows"
        )
        self.lock = threading.Lock()

    def page_rows(self, profile: VendorProfile, product: Product) -> str:
        tag = repr(publisher_from_profile(profile))
        query = _product_rows_query(product)
        # updated_at as the database's own text: a key, never shown.
        keys = list(
            query.select_related(None)
            .prefetch_related(None)
            .annotate(changed=Cast("updated_at", CharField()))
            .values_list("pk", "changed", "state", "status")
        )
        with self.lock:  # web threads render the page too (the view)
            if self.rows.tag != tag:
                self.rows.replace({}, tag=tag)
            known = self.rows.entries()
            missing = [pk for pk, *key in keys if pk not in known or known[pk][0] != tuple(key)]
            fresh: dict[int, dict[str, str]] = {}
            for start in range(0, len(missing), 900):  # SQLite's bound-parameter limit
                for advisory in query.filter(pk__in=missing[start : start + 900]):
                    fresh[advisory.pk] = _advisory_rows(
                        profile, snapshot_of(advisory, with_history=False)
                    )
            # Stored under the key read first: if the advisory changed in between, the
            # rows are newer than their key and are built again next time, never older.
            entries = dict(known)
            for pk, changed, state, status in keys:
                if pk in fresh:
                    entries[pk] = ((changed, state, status), fresh[pk])
            self.rows.replace(entries, tag=tag)
            return "".join(entries[pk][1].get(product.slug, "") for pk, *_ in keys)

    def forget(self) -> None:
        self.rows.clear()


_product_rows = _ProductRows()


def product_page_context(profile: VendorProfile, product: Product) -> dict[str, Any]:
    """``product_vex_context`` of ``product``'s published advisories, from kept rows."""
    return _page_context(profile, product, _product_rows.page_rows(profile, product))


def forget_product_rows() -> None:
    """Build the product pages' rows again from nothing (a full rebuild does)."""
    _product_rows.forget()


def render_product_vex(profile: VendorProfile, product: Product) -> str:
    return render_to_string(PRODUCT_VEX_TEMPLATE, product_page_context(profile, product))
