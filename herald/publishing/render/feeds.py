"""Atom 1.0 and RSS 2.0 feeds of published advisories, new and updated.

Pure: snapshots in, bytes out. Django's feedgenerator writes the XML (escaping
included); summaries are HTML, built here with every text escaped. Each advisory is
one entry whose id never changes and whose updated time moves with every revision,
so readers show updates as updates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed

from herald.advisories.snapshot import AdvisorySnapshot

FEED_SIZE = 50


@dataclass(frozen=True)
class FeedInfo:
    title: str
    page_url: str  # the public advisories page
    feed_url: str  # this feed's own URL
    advisory_url: str  # with "{identifier}" to fill in
    description: str = ""


def _entry_title(s: AdvisorySnapshot) -> str:
    prefix = "[Withdrawn] " if s.is_withdrawn else ""
    cves = f" ({', '.join(s.cve_ids)})" if s.cve_ids else ""
    return f"{prefix}{s.identifier}: {s.title}{cves}"


def _sentence(text: str) -> str:
    """``text`` ending with one full stop: a reason may bring its own."""
    return text if text.endswith((".", "!", "?")) else text + "."


def _entry_summary(s: AdvisorySnapshot) -> str:
    """The entry's summary as HTML (Atom ``type="html"``, RSS ``description``): every
    piece of text escaped, so that a reader that does not sanitise shows the text of
    a ``<script>`` rather than running it. XML escaping then wraps the HTML once more."""
    facts = [f"Severity: {s.severity.capitalize()}", f"Status: {s.status.capitalize()}"]
    if s.is_withdrawn:
        reason = s.withdrawn_reason.strip()
        facts.append(f"Withdrawn: {reason}" if reason else "Withdrawn")
    if s.products:
        facts.append(f"Products: {', '.join(s.products)}")
    text = s.summary or s.description.split("\n\n", 1)[0]
    paragraphs = [" ".join(_sentence(fact) for fact in facts), text.strip()]
    return "".join(f"<p>{escape(p)}</p>" for p in paragraphs if p)


def _updated(s: AdvisorySnapshot) -> dt.datetime:
    return s.updated_at or s.published_at or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _fill(feed: SyndicationFeed, info: FeedInfo, advisories: Sequence[AdvisorySnapshot]) -> None:
    newest = sorted(advisories, key=_updated, reverse=True)[:FEED_SIZE]
    for s in newest:
        link = info.advisory_url.format(identifier=s.identifier)
        feed.add_item(
            title=_entry_title(s),
            link=link,
            description=_entry_summary(s),
            unique_id=link,
            unique_id_is_permalink=True,
            pubdate=s.published_at,
            updateddate=_updated(s),
            categories=[s.severity, s.status, *s.cve_ids, *s.products],
        )


def _feed(kind: type[SyndicationFeed], info: FeedInfo,
          advisories: Sequence[AdvisorySnapshot]) -> bytes:  # fmt: skip
    feed = kind(
        title=info.title,
        link=info.page_url,
        description=info.description or info.title,
        feed_url=info.feed_url,
        language="en",
        feed_guid=info.feed_url,
    )
    _fill(feed, info, advisories)
    return feed.writeString("utf-8").encode()


def render_atom(info: FeedInfo, advisories: Sequence[AdvisorySnapshot]) -> bytes:
    return _feed(Atom1Feed, info, advisories)


def render_rss(info: FeedInfo, advisories: Sequence[AdvisorySnapshot]) -> bytes:
    return _feed(Rss201rev2Feed, info, advisories)
