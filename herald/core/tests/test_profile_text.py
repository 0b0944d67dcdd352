"""The vendor profile's texts pass the text gatekeeper, whoever writes them."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from herald.core.errors import ValidationError
from herald.core.models import VendorProfile
from herald.publication.actions import do_update_vendor_profile
from herald.publishing.tests.markdown_pages import FULL_PAGE
from herald.test import HeraldTestCase

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: shows "exe.txt" as "txt.exe"


class ProfileTextTests(HeraldTestCase):
    def test_a_bidi_override_in_the_prose_is_refused_naming_the_field(self) -> None:
        with pytest.raises(ValidationError) as caught:
            do_update_vendor_profile(acting_user=self.alice, intro=f"Read {RLO}txt.exe")
        assert list(caught.value.message_dict) == ["intro"]
        assert "U+202E" in caught.value.message_dict["intro"][0]
        assert RLO not in VendorProfile.get().intro

    def test_every_refused_field_is_named_at_once(self) -> None:
        with pytest.raises(ValidationError) as caught:
            do_update_vendor_profile(
                acting_user=self.alice,
                name="Northwind\x1b[31m",
                approach="[click](javascript:alert(1))",
                front_matter=f"title: {RLO}x",
            )
        assert sorted(caught.value.message_dict) == ["approach", "front_matter", "name"]
        assert "http(s) or mailto" in caught.value.message_dict["approach"][0]

    def test_right_to_left_text_and_ordinary_links_are_kept(self) -> None:
        text = "Écrivez-nous : [security](mailto:security@example.com) — שלום"
        profile = do_update_vendor_profile(acting_user=self.alice, intro=text)
        assert profile.intro == text

    def test_a_page_import_with_a_bidi_override_names_the_field_and_changes_nothing(
        self,
    ) -> None:
        before = VendorProfile.get().approach
        with tempfile.TemporaryDirectory() as tmp:
            page = Path(tmp) / "page.md"
            page.write_text(
                FULL_PAGE.replace("We audit, we disclose", f"We audit, {RLO}we disclose"),
                encoding="utf-8",
            )
            with pytest.raises(CommandError) as caught:
                call_command("import", "markdown", str(page), stdout=io.StringIO())
        assert "approach" in str(caught.value)
        assert "U+202E" in str(caught.value)
        assert VendorProfile.get().approach == before
