"""What a document reader gives: the advisory as a snapshot, and what it had to fill in."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.text import slugify

from herald.advisories.snapshot import AdvisorySnapshot


@dataclass(frozen=True)
class Imported:
    snapshot: AdvisorySnapshot  # identifier "", state "published" or "withdrawn"
    notes: tuple[str, ...] = ()  # what was filled in because the document did not say it


def product_slug(vendor: str, product: str) -> str:
    """The product's slug: Django's slugify of "vendor product", at most 100 characters."""
    return slugify(f"{vendor} {product}".strip())[:100]
