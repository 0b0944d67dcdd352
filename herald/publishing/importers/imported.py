"""What a document reader returns: the advisory snapshot and what it filled in.

Readers (``read_<kind>``) are pure: a parsed document in, an ``Imported`` out.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.text import slugify

from herald.advisories.snapshot import AdvisorySnapshot


@dataclass(frozen=True)
class Imported:
    snapshot: AdvisorySnapshot  # identifier "", state "published" or "withdrawn"
    notes: tuple[str, ...] = ()  # what was filled in because the document did not say it


def product_slug(vendor: str, product: str) -> str:
    """The slug of a product row: Django's slugify of "vendor product", at most 100 chars."""
    return slugify(f"{vendor} {product}".strip())[:100]
