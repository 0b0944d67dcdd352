"""What Herald publishes passes the validators its consumers run (``world.py``).

A fresh desk is filled three ways, through the actions: the real documents of
../shared/corpus/real imported as a vendor would, the demo data of
``herald setup --demo``, and the hostile corpus of ``hostile.py``. Then every
stored file goes through csaf-validator-lib, the official OSV schema, cvelib's CVE
schemas, sectxt and feedparser; any problem fails the test, and ``herald validate``
must find the same files at fault.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.management import CommandError, call_command
from django.test import override_settings

from herald.ops.demo import load_demo
from herald.publication.actions import do_import_documents
from herald.publishing.models import Artifact
from herald.publishing.tests.hostile import publish_hostile_corpus
from herald.publishing.tests.surfaces_support import (
    CNA_ORG_ID,
    SignedPublicDesk,
    artifact,
    paths,
)
from herald.publishing.tests.world import Problem, check_desk_outputs, require_csaf_validator
from herald.test import HeraldTestCase, shared_path

MORE_REAL = Path(__file__).parent / "real" / "osv"


def import_real_corpus(acting_user: AbstractBaseUser) -> None:
    for kind in ("osv", "cve", "csaf"):
        folder = shared_path("corpus", "real", kind)
        documents = [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.json"))]
        do_import_documents(documents, kind, acting_user=acting_user)


def validate_output() -> str:
    out = io.StringIO()
    with contextlib.suppress(CommandError):  # the report is in ``out`` all the same
        call_command("validate", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def listed(problems: list[Problem]) -> str:
    return "\n".join(str(p) for p in problems)


@override_settings(HERALD_CNA_ORG_ID=CNA_ORG_ID)
class WorldValidatorTests(SignedPublicDesk, HeraldTestCase):
    def assert_every_format_was_checked(self) -> None:
        for prefix in ("osv/", ".well-known/csaf/white/", "cve/", ".well-known/security.txt"):
            assert paths(prefix), f"nothing published under {prefix}"
        assert paths("security/advisories/feed.")

    def test_the_real_corpus_exported_again_passes_every_validator(self) -> None:
        import_real_corpus(self.bob)
        self.assert_every_format_was_checked()
        problems = check_desk_outputs()
        assert problems == [], listed(problems)
        assert validate_output().strip().endswith(" 0 problem(s).")

    def test_more_real_documents_from_vendor_feeds_pass_every_validator(self) -> None:
        """Go's database, kept in tests/real/osv with its source (SOURCE.md)."""
        names = ("GO-2024-2687.json", "GO-2026-6249.json")
        documents = [(name, (MORE_REAL / name).read_bytes()) for name in names]
        assert len(documents) == 2
        result = do_import_documents(documents, "osv", acting_user=self.bob)
        # Go's database writes year 1 for "no date yet": published at the import, said so.
        notes = {d.file: d.notes for d in result.documents}
        assert any(
            n.startswith("no publication date in the document") for n in notes["GO-2024-2687.json"]
        )
        problems = check_desk_outputs()
        assert problems == [], listed(problems)

    def demo(self) -> None:
        """The demo data on the empty desk it is made for (it creates its own products)."""
        self.product.delete()
        assert load_demo()

    def test_the_demo_data_passes_every_validator(self) -> None:
        self.demo()
        self.assert_every_format_was_checked()
        problems = check_desk_outputs()
        assert problems == [], listed(problems)
        assert validate_output().strip().endswith(" 0 problem(s).")

    def test_the_hostile_corpus_passes_every_validator(self) -> None:
        """Markup, injections, emoji, right-to-left text, 10,000-character fields, 40
        hostile product names, CVSS 4.0 and 7-digit CVE ids (``hostile.py``)."""
        publish_hostile_corpus(acting_user=self.bob, incident=self.declare())
        self.assert_every_format_was_checked()
        problems = check_desk_outputs()
        assert problems == [], listed(problems)
        assert validate_output().strip().endswith(" 0 problem(s).")

    def test_the_validators_can_fail(self) -> None:
        """A broken file of each kind is caught, so an empty list means something."""
        self.demo()
        broken = {
            "osv/": (b'"id": "x_', b'"id": "HRLD_'),
            ".well-known/csaf/white/": (b'"category": "vendor"', b'"category": "seller"'),
            "cve/": (b'"state": "PUBLISHED"', b'"state": "DRAFTED"'),
            ".well-known/security.txt": (b"Contact: ", b"Contakt: "),
            "security/advisories/feed.atom": (b"</feed>", b""),
        }
        for prefix, (old, new) in broken.items():
            path = next(
                p
                for p in paths(prefix)
                if p.endswith((".json", ".txt", ".atom")) and ".cna." not in p
            )
            content = artifact(path)
            assert old in content, (path, old)
            Artifact.objects.filter(path=path).update(content=content.replace(old, new))
        found = {(p.validator, p.path.split("/")[0]) for p in check_desk_outputs()}
        assert {v for v, _ in found} >= {
            "osv-schema",
            "csaf-validator-lib",
            "cve-schema",
            "sectxt",
            "xml",
        }, found


def test_in_ci_a_missing_csaf_validator_fails_instead_of_skipping(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with override_settings(HERALD_CSAF_VALIDATOR_DIR="/nonexistent/validators"):
        monkeypatch.setenv("HERALD_REQUIRE_SERVICES", "1")
        with pytest.raises(pytest.fail.Exception, match="csaf-validator-lib is not installed"):
            require_csaf_validator()
        monkeypatch.delenv("HERALD_REQUIRE_SERVICES")
        monkeypatch.delenv("CI", raising=False)
        with pytest.raises(pytest.skip.Exception):
            require_csaf_validator()
