"""Shared set-up for the surface tests: the builders registered and wired to publication.

Importing the surface modules registers their builders (what listing them in
``HERALD_ARTIFACT_BUILDERS`` does in production). The publication function renders
the artifacts of every public revision itself, so a test publishes through the
actions and reads what a visitor would get.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from herald.core.models import VendorProfile
from herald.publishing.models import Artifact
from herald.publishing.site import (
    surfaces_osv,  # noqa: F401 (registers)
)
from herald.publishing.store import signing
from herald.publishing.store.artifacts import read_one

CNA_ORG_ID = "6f1f3e7a-8d0c-4c33-9a51-2b5c7f0e9d41"


class WiredArtifacts:
    """Mixin for ``HeraldTestCase``, for the surface tests' bases: nothing to wire any
    more (publication renders the artifacts in its own transaction)."""


class SignedPublicDesk(WiredArtifacts):
    """Mixin: a desk as deployed, public over https (RFC 9116 wants https URIs in
    security.txt), signing with a key of its own kept in the test's temporary directory."""

    SITE = "https://security.northwind.example"

    @pytest.fixture(autouse=True)
    def _keys(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(settings.HERALD_ENV, "HERALD_SIGNING_KEY_DIR", str(tmp_path / "keys"))

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        profile = VendorProfile.get()
        profile.base_url = self.SITE
        profile.save()
        signing.do_generate_signing_key(acting_user=None)


def artifact(path: str) -> bytes:
    content = read_one(path)
    assert content is not None, f"no artifact {path}"
    return content


def artifact_json(path: str) -> Any:
    return json.loads(artifact(path))


def paths(prefix: str = "") -> list[str]:
    return sorted(Artifact.objects.filter(path__startswith=prefix).values_list("path", flat=True))
