"""The Markdown page renderer: pure, compared with saved expected files.

Set ``HERALD_REGENERATE_EXPECTED=1`` to rewrite the expected files on purpose,
then read the diff before committing it.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest

from herald.advisories.snapshot import AdvisorySnapshot
from herald.core.models import VendorProfile
from herald.publishing.importers.mdimport import parse_page
from herald.publishing.render.markdown import PageContent, format_date, render_page
from herald.publishing.tests.markdown_pages import EXPECTED, FULL_PAGE


def check_expected(name: str, rendered: str) -> None:
    path = EXPECTED / name
    if os.environ.get("HERALD_REGENERATE_EXPECTED") == "1":
        path.write_bytes(rendered.encode())
    assert rendered.encode() == path.read_bytes(), f"{name} differs from the rendering"


def default_page() -> PageContent:
    """The page of a new Herald: the profile's defaults, no database needed."""
    return PageContent.from_profile(VendorProfile())


def advisory(**overrides: object) -> AdvisorySnapshot:
    values: dict[str, object] = {
        "identifier": "NW-2026-0001",
        "title": "Stored XSS in dashboard names",
        "state": "published",
        "status": "fixed",
        "severity": "high",
        "description": "A dashboard name could carry a script.",
        "affected_users": "Cloud customers in the US region.",
        "resolution": "Fixed in [#12](https://github.com/example/app/pull/12).",
        "cve_ids": ("CVE-2026-12345",),
        "discovered_at": dt.date(2026, 1, 10),
        "reported_at": dt.date(2026, 1, 11),
        "fixed_at": dt.date(2026, 1, 12),
        "disclosed_at": dt.date(2026, 1, 15),
        "published_at": dt.datetime(2026, 1, 15, 9, 30, tzinfo=dt.UTC),
    }
    values.update(overrides)
    return AdvisorySnapshot.build(**values)


def test_a_new_herald_renders_the_empty_page_with_the_template() -> None:
    check_expected("markdown_empty_page.md", render_page(default_page(), [], []))


def test_it_renders_current_past_and_withdrawn_advisories_in_the_templates_form() -> None:
    current = [
        advisory(),
        advisory(
            identifier="NW-2026-0002",
            title="Token leak in logs",
            status="reported",
            severity="critical",
            cve_ids=("CVE-2026-1000", "CVE-2026-1001"),
            resolution="",
            discovered_at=None,
            fixed_at=None,
            disclosed_at=None,
            published_at=dt.datetime(2026, 1, 2, tzinfo=dt.UTC),
        ),
    ]
    past = [
        advisory(
            identifier="NW-2025-0009",
            title="Open redirect",
            status="resolved",
            severity="medium",
            cve_ids=(),
        ),
        advisory(
            identifier="NW-2025-0004",
            title="Weak hashing",
            state="withdrawn",
            severity="low",
            withdrawn_reason="Published in error: no passwords were exported.",
        ),
    ]
    check_expected("markdown_advisories.md", render_page(default_page(), current, past))


def test_the_date_is_the_day_of_first_publication_in_utc() -> None:
    late = advisory(
        published_at=dt.datetime(2026, 1, 15, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    )
    page = render_page(default_page(), [late], [])
    assert "**Date:** January 16, 2026  \n" in page
    assert format_date(dt.date(2024, 3, 5)) == "March 5, 2024"


def test_a_missing_timeline_date_leaves_out_its_line() -> None:
    page = render_page(
        default_page(), [advisory(discovered_at=None, fixed_at=None, status="reported")], []
    )
    assert "- **Discovered:**" not in page.split("### Advisory template")[0]
    assert "- **Reported:** January 11, 2026\n- **Disclosed:** January 15, 2026\n" in page


def test_an_advisory_without_cve_says_none() -> None:
    assert "**CVE:** None  \n" in render_page(default_page(), [advisory(cve_ids=())], [])


def test_the_renderer_refuses_a_draft() -> None:
    with pytest.raises(ValueError, match="never rendered"):
        render_page(default_page(), [advisory(state="draft")], [])


def test_a_parsed_page_renders_back_to_the_same_bytes_without_a_database() -> None:
    parsed = parse_page(FULL_PAGE)
    rendered = render_page(
        parsed.page_content(),
        [a.snapshot() for a in parsed.current],
        [a.snapshot() for a in parsed.past],
    )
    assert rendered == FULL_PAGE
