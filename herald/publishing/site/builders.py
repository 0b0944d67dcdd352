"""Artifact builders for the public surface: pages, handbook Markdown, feeds, security.txt.

Registered with ``herald.publishing.store.artifacts`` (listed in
``settings.HERALD_ARTIFACT_BUILDERS``), they run inside the transaction of every
public revision. Each one is written so that a publication at 10,000 advisories
stays well under a second: nothing here loads every advisory as a full snapshot.

- the advisory's own page: one template render;
- the index: the current list, the newest past ones and the archive years
  (``herald.publishing.render.pages`` explains the layout); only the archive year pages of the
  changed advisories are rendered again;
- the handbook Markdown page lists every advisory by design (the vendor's page),
  so it is built from one narrow query of the text fields it shows;
- feeds hold the newest ``FEED_SIZE`` entries: a bounded query each, and only the
  product feeds of the changed advisories' products;
- security.txt is signed again only when its text changes (its Expires moves
  once a day, by ``herald.publishing.tasks.refresh_security_txt``).

The Django views of the same addresses call the same functions, so a page served
as an artifact and one rendered per request are the same bytes.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.contrib.staticfiles import finders
from django.db.models import CharField, QuerySet
from django.db.models.functions import Cast
from django.template.loader import get_template, render_to_string
from django.urls import get_resolver, reverse
from django.utils import timezone

from herald.advisories.fields import fields_of_kind, markdown_page_fields, shorthand_fields
from herald.advisories.models import Advisory, Affected
from herald.advisories.queries import cve_ids_of, public_advisories
from herald.advisories.snapshot import AdvisorySnapshot, simple_vulnerabilities, snapshot_of
from herald.core.caches import ProcessCache
from herald.core.errors import HeraldError
from herald.core.models import Product, VendorProfile
from herald.publishing.models import Artifact
from herald.publishing.render import pages
from herald.publishing.render.feeds import FEED_SIZE, FeedInfo, render_atom, render_rss
from herald.publishing.render.markdown import PageContent, advisory_text, entry_part, page_parts
from herald.publishing.render.securitytxt import SecurityTxtInput, render_security_txt
from herald.publishing.store import signing
from herald.publishing.store.artifacts import (
    BuildContext,
    Rendered,
    advisory_builder,
    read_one,
    site_builder,
    warmer,
)

HTML = "text/html; charset=utf-8"
INDEX_PATH = "security/advisories/index.html"
ADVISORY_PATH = "security/advisories/{identifier}/index.html"
ARCHIVE_PATH = "security/advisories/archive/{year}/index.html"
MARKDOWN_PATH = "security/advisories.md"
SECURITY_TXT_PATH = ".well-known/security.txt"
PUBLIC_KEY_PATH = "security/pgp-key.asc"
STATIC_FILES = {
    "herald/web.css": "text/css; charset=utf-8",
    "herald/favicon.svg": "image/svg+xml",
}
# Browsers ask for /favicon.ico where a page names no icon (feeds, JSON, text files);
# the SVG icon answers there too, as image/svg+xml, which they show.
FAVICON_PATH = "favicon.ico"
FAVICON_SOURCE = "herald/favicon.svg"
logger = logging.getLogger(__name__)
FEED_TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
}


def feed_path(kind: str, product_slug: str | None = None) -> str:
    if product_slug is None:
        return f"security/advisories/feed.{kind}"
    return f"security/advisories/products/{product_slug}/feed.{kind}"


def _absolute(profile: VendorProfile, path: str) -> str:
    return profile.base_url.rstrip("/") + "/" + path.lstrip("/")


# ---------------------------------------------------------------- pages


@advisory_builder("html-page")
def advisory_page(snapshot: AdvisorySnapshot, context: BuildContext) -> Iterator[Rendered]:
    html = pages.render_advisory(context.profile, snapshot)
    yield Rendered(ADVISORY_PATH.format(identifier=snapshot.identifier), html.encode(), HTML)


@site_builder("html-index")
def index_pages(context: BuildContext) -> Iterator[Rendered]:
    profile = context.profile
    archive_years = pages.archive_years()  # one aggregate over every past advisory, once
    index = render_to_string(pages.INDEX_TEMPLATE, pages.index_context(profile, archive_years))
    yield Rendered(INDEX_PATH, index.encode(), HTML)
    changed_years = pages.years_of(context.changed)
    years = {year for year, _ in archive_years} if context.everything else changed_years
    for year in sorted(years):
        archive = pages.archive_context(profile, year, archive_years)
        if archive["advisories"]:
            html = render_to_string(pages.ARCHIVE_TEMPLATE, archive)
            yield Rendered(ARCHIVE_PATH.format(year=year), html.encode(), HTML)


# ---------------------------------------------------------------- handbook Markdown

# The fields ``markdown.advisory_blocks`` shows: loading only these keeps the page of
# 10,000 advisories one query and no related rows. The advisory's own fields come from
# their declaration (``in_markdown``); the rest are what Herald writes.
_MARKDOWN_FIELDS = (
    "identifier",
    "state",
    "published_at",
    "withdrawn_reason",
    *markdown_page_fields(),
)
# The CVE ids the page shows live on the vulnerabilities: one more query per chunk.
_MARKDOWN_COLUMNS = tuple(f for f in _MARKDOWN_FIELDS if f not in shorthand_fields())
_MARKDOWN_LISTS = [name for name in fields_of_kind("list") if name in _MARKDOWN_COLUMNS]


class _HandbookTexts:
    """Each advisory's text on the handbook page, kept between publications.

    An advisory's text is a function of its row, and every change an action makes
    moves ``updated_at``: keyed by (pk, updated_at, state, status), a publication
    renders one advisory and joins the rest. The texts are trusted only while the
    stored page is the one this process built last: a page written by another
    process, a rolled-back transaction or a different database empties them.
    """

    def __init__(self) -> None:
        # markdown.entry_part of each advisory, tagged with the ETag of the page built
        # from them. Measured with `bench/caches.py --advisories 500` (two runs, shared
        # machine): the page from kept texts 29-40 ms, from nothing 246-381 ms.
        self.texts: ProcessCache[tuple[Any, ...], bytes] = ProcessCache("handbook texts")
        self.lock = threading.Lock()

    def page(self, profile: VendorProfile) -> Rendered:
        """The page, in parts (one per advisory): a page of 10,000 is stored as blocks."""
        with self.lock:  # web threads may render the page too (the Django view)
            parts = self._page(profile)
            page = Rendered.of_parts(MARKDOWN_PATH, parts, "text/markdown; charset=utf-8")
            self.texts.tag = page.etag
            return page

    def _page(self, profile: VendorProfile) -> list[bytes]:
        stored = Artifact.objects.filter(path=MARKDOWN_PATH).values_list("etag", flat=True)
        if self.texts.tag is None or self.texts.tag != stored.first():
            self.texts.clear()
        known = self.texts.entries()
        rows = public_advisories().select_related(None).prefetch_related(None)
        # updated_at as the database's own text: a key, never shown, so no datetime
        # needs building for each of 10,000 rows.
        keys = list(
            rows.annotate(changed=Cast("updated_at", CharField())).values_list(
                "pk", "changed", "state", "status"
            )
        )
        missing = [key[0] for key in keys if key not in known]
        fresh: dict[int, bytes] = {}
        # Everything (a first page in this process) in one query, else the few changed
        # (in chunks: SQLite's bound-parameter limit).
        chunks = (
            [rows]
            if len(missing) == len(keys)
            else [
                rows.filter(pk__in=missing[start : start + 900])
                for start in range(0, len(missing), 900)
            ]
        )
        for chunk in chunks:
            rows_of_chunk = list(chunk.values("pk", *_MARKDOWN_COLUMNS))
            cves = cve_ids_of(row["pk"] for row in rows_of_chunk)
            for row in rows_of_chunk:
                pk = row.pop("pk")
                lists: dict[str, Any] = {
                    name: tuple(row.pop(name) or ()) for name in _MARKDOWN_LISTS
                }
                snapshot = AdvisorySnapshot(
                    **row,
                    **lists,
                    vulnerabilities=simple_vulnerabilities(cve_ids=cves[pk]),
                )
                if snapshot.state not in ("published", "withdrawn"):  # rule 3, as render_page
                    raise ValueError(f"{snapshot.identifier} is a {snapshot.state}.")
                fresh[pk] = entry_part(advisory_text(snapshot))
        current: list[bytes] = []
        past: list[bytes] = []
        texts: dict[tuple[Any, ...], bytes] = {}
        for key in keys:
            text = known.get(key)
            if text is None:
                text = fresh[key[0]]
            texts[key] = text
            # AdvisorySnapshot.is_current, on the key's fields
            (current if key[2] == "published" and key[3] != "resolved" else past).append(text)
        self.texts.replace(texts)  # only the advisories still public
        return page_parts(PageContent.from_profile(profile), current, past)


_handbook = _HandbookTexts()


def handbook_markdown(profile: VendorProfile) -> str:
    """The handbook page with every public advisory, current then past (rule 3 holds:
    ``public_advisories`` never returns a draft, and the page refuses one)."""
    return _handbook.page(profile).content.decode()


@site_builder("markdown")
def markdown_page(context: BuildContext) -> Iterator[Rendered]:
    yield _handbook.page(context.profile)


@warmer("markdown")
def _warm_handbook(profile: VendorProfile) -> None:
    _handbook.page(profile)  # its texts are kept while the stored page is this one


@warmer("pages")
def _warm_pages(profile: VendorProfile) -> None:
    # The pages reverse() URLs and compile templates: a process's first publication
    # would otherwise import the whole URLconf (the API's schema included) and parse
    # the templates, half a second at 10,000 advisories' worth of nothing else.
    get_resolver().url_patterns  # noqa: B018 (loads the URLconf)
    for name in (pages.INDEX_TEMPLATE, pages.DETAIL_TEMPLATE, pages.ARCHIVE_TEMPLATE):
        get_template(name)


# ---------------------------------------------------------------- feeds


def newest(advisories: QuerySet[Advisory]) -> list[AdvisorySnapshot]:
    """The ``FEED_SIZE`` most recently changed, as feeds order them."""
    recent = advisories.order_by("-updated_at", "-id")[:FEED_SIZE]
    return [snapshot_of(a, with_history=False) for a in recent]


def feed_bytes(
    profile: VendorProfile,
    kind: str,
    product: Product | None = None,
    entries: list[AdvisorySnapshot] | None = None,
) -> bytes:
    """The Atom (``kind="atom"``) or RSS feed, site-wide or of one product."""
    title = f"{profile.name} security advisories"
    if product is not None:
        title = f"{title}: {product.name}"
    info = FeedInfo(
        title=title,
        page_url=_absolute(profile, "security/advisories/"),
        feed_url=_absolute(profile, feed_path(kind, product.slug if product else None)),
        advisory_url=_absolute(profile, "security/advisories/{identifier}/"),
    )
    render = render_atom if kind == "atom" else render_rss
    return render(info, feed_entries(product) if entries is None else entries)


def feed_entries(product: Product | None) -> list[AdvisorySnapshot]:
    advisories = public_advisories()
    if product is not None:
        # A subquery, not a join with DISTINCT: the newest-first index can then be
        # read in order and stopped after FEED_SIZE rows.
        affected = Affected.objects.filter(product=product).values("advisory_id")
        advisories = advisories.filter(pk__in=affected)
    return newest(advisories)


def _feed_products(context: BuildContext) -> Iterable[Product]:
    if context.everything:
        return Product.objects.filter(
            affected__advisory__state__in=(Advisory.State.PUBLISHED, Advisory.State.WITHDRAWN)
        ).distinct()
    slugs = {row.product_slug for a in context.changed for row in a.affected}
    return Product.objects.filter(slug__in=slugs) if slugs else ()


@site_builder("feeds")
def feeds(context: BuildContext) -> Iterator[Rendered]:
    for product in (None, *_feed_products(context)):
        entries = feed_entries(product)  # one read for both formats
        for kind, content_type in FEED_TYPES.items():
            yield Rendered(
                feed_path(kind, product.slug if product else None),
                feed_bytes(context.profile, kind, product, entries),
                content_type,
            )


# ---------------------------------------------------------------- security.txt, key


def security_txt_input(profile: VendorProfile) -> SecurityTxtInput:
    return SecurityTxtInput(
        base_url=profile.base_url,
        contact_email=profile.security_contact,
        report_url=_absolute(profile, "security/report/"),
        policy_url=_absolute(profile, "security/advisories/#reporting"),
        encryption_url=_absolute(profile, reverse("publishing:pgp-key")),
        acknowledgments_url=_absolute(profile, "security/advisories/#acknowledgments"),
        preferred_languages=("en",),
    )


def start_of_day(moment: dt.datetime | None = None) -> dt.datetime:
    """One text (and one signature) per day, its Expires always 90 days ahead."""
    moment = moment or timezone.now()
    return moment.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def security_txt_unsigned(profile: VendorProfile, today: dt.datetime | None = None) -> str:
    return render_security_txt(security_txt_input(profile), start_of_day(today))


def security_txt_text(profile: VendorProfile, today: dt.datetime | None = None) -> str:
    """The file as served: cleartext-signed when a signing key exists (RFC 9116 §2.3)."""
    text = security_txt_unsigned(profile, today)
    return signing.sign_cleartext(text) if signing.active_key() is not None else text


@site_builder("security-txt")
def security_txt(context: BuildContext) -> Iterator[Rendered]:
    unsigned = security_txt_unsigned(context.profile)
    stored = read_one(SECURITY_TXT_PATH)
    # A signature carries its own creation time, so signing the same text again
    # makes new bytes: keep the stored file while its text stands, or every
    # publication would change security.txt (and its ETag) for nothing.
    if stored is not None and _signed_body(bytes(stored)) == unsigned:
        content = bytes(stored)
    else:
        try:
            content = security_txt_text(context.profile).encode()
        except HeraldError:
            # The key's secret half is missing: an advisory must still go out. The
            # file stays as it was (or unsigned on a first run) and the error is loud.
            logger.exception("security.txt could not be signed")
            content = bytes(stored) if stored is not None else unsigned.encode()
    yield Rendered(SECURITY_TXT_PATH, content, "text/plain; charset=utf-8")


def _signed_body(stored: bytes) -> str | None:
    """The text a stored (signed) security.txt signs; None when it is not signed now
    but should be, so that a key generated since gets the file signed."""
    text = stored.decode("utf-8", "replace")
    if not text.startswith("-----BEGIN PGP SIGNED MESSAGE-----"):
        return text if signing.active_key() is None else None
    # The signed text runs from after the armor headers to the line before the
    # signature; cleartext signing dash-escapes lines starting with "-" (RFC 4880 §7.1).
    body = text.split("\n\n", 1)[1].split("\n-----BEGIN PGP SIGNATURE-----", 1)[0]
    lines = [line[2:] if line.startswith("- ") else line for line in body.split("\n")]
    return "\n".join(lines)


@site_builder("public-key")
def public_key(context: BuildContext) -> Iterator[Rendered]:
    keys = signing.public_keys_armored()
    if keys:
        yield Rendered(PUBLIC_KEY_PATH, keys.encode(), "application/pgp-keys")


@site_builder("static")
def static_files(context: BuildContext) -> Iterator[Rendered]:
    """The stylesheet the pages link to, so a static export is complete on its own."""
    for name, content_type in STATIC_FILES.items():
        found = finders.find(name)
        if isinstance(found, str):
            yield Rendered(f"static/{name}", Path(found).read_bytes(), content_type)
    icon = favicon_bytes()
    if icon is not None:
        yield Rendered(FAVICON_PATH, icon, STATIC_FILES[FAVICON_SOURCE])


def favicon_bytes() -> bytes | None:
    found = finders.find(FAVICON_SOURCE)
    return Path(found).read_bytes() if isinstance(found, str) else None
