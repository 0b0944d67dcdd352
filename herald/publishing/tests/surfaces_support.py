"""Shared set-up for the surface tests: the builders registered and wired to publication.

Importing the surface modules registers their builders (what listing them in
``HERALD_ARTIFACT_BUILDERS`` does in production). The publishing app regenerates
the artifacts on ``revision_written``; ``WiredArtifacts`` makes sure of it (it
connects the same regeneration only when nothing listens), so a test publishes
through the actions and reads what a visitor would get.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from herald.advisories import signals
from herald.advisories.models import Advisory
from herald.core.models import VendorProfile
from herald.publishing.models import Artifact
from herald.publishing.store import signing
from herald.publishing.store.artifacts import read_one, regenerate

CNA_ORG_ID = "6f1f3e7a-8d0c-4c33-9a51-2b5c7f0e9d41"
UID = "herald.publishing.tests.surfaces"


def _regenerate(sender: Any, *, advisory: Advisory, **kwargs: Any) -> None:
    regenerate([advisory])


class WiredArtifacts:
    """Mixin for ``HeraldTestCase``: each public revision regenerates the artifacts."""

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        if not signals.revision_written.has_listeners(Advisory):
            signals.revision_written.connect(_regenerate, dispatch_uid=UID)

    def tearDown(self) -> None:
        signals.revision_written.disconnect(dispatch_uid=UID)
        super().tearDown()  # type: ignore[misc]


class SignedPublicDesk(WiredArtifacts):
    """Mixin: a desk as deployed, public over https (RFC 9116 wants https URIs in
    security.txt), signing with a key of its own kept in the test's temporary directory."""

    SITE = "https://security.northwind.example"

    @pytest.fixture(autouse=True)
    def _keys(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setitem(settings.HERALD_ENV, "HERALD_SIGNING_KEY_DIR", str(tmp_path / "keys"))

    def setUp(self) -> None:
        super().setUp()
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
