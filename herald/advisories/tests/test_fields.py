"""Each advisory field is declared once (herald.advisories.fields), and no surface misses one.

A field added to the declaration but not to the model, the form's template, the API,
the CLI, the snapshot or the Markdown page's columns fails here, instead of being
dropped silently where the other tests do not look.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
from typing import Any

from django.db import models
from django.urls import reverse

from herald.advisories.actions import _clean_fields
from herald.advisories.fields import (
    ADVISORY_FIELDS,
    FIELDS,
    choices_of,
    public_fields,
    shorthand_fields,
)
from herald.advisories.fields import column as fields_column
from herald.advisories.models import Advisory, Vulnerability
from herald.advisories.serialize import DESK_KEYS, advisory_to_dict, desk_advisory_to_dict
from herald.advisories.snapshot import AdvisorySnapshot, VulnerabilitySnapshot, snapshot_of
from herald.api import schemas
from herald.core.models import VendorProfile
from herald.publication.management.commands.advisory import Command
from herald.publishing.render.markdown import PageContent, render_page
from herald.publishing.site import builders
from herald.test import HeraldTestCase
from herald.web.forms import AdvisoryEditForm, AdvisoryForm

# Columns Herald writes itself: nobody types them, so they are not declared.
WRITTEN_BY_HERALD = {
    "id",
    "identifier",
    "incident",
    "version",
    "state",
    "cvss_v3_score",
    "cvss_v4_score",
    "scheduled_publish_at",
    "scheduled_by",
    "outreach_waiver_reason",
    "outreach_waived_by",
    "created_at",
    "created_by",
    "updated_at",
    "published_at",
    "withdrawn_at",
    "withdrawn_reason",
}
COLUMN_TYPES: dict[str, tuple[type[models.Field[Any, Any]], ...]] = {
    "line": (models.CharField,),
    "vector": (models.CharField,),
    "markdown": (models.TextField,),
    "choice": (models.CharField,),
    "list": (models.JSONField,),
    "date": (models.DateField,),
    "datetime": (models.DateTimeField,),
    "bool": (models.BooleanField,),
}
SAMPLES: dict[str, Any] = {
    "cve_ids": ["CVE-2026-12345"],
    "cwe_ids": ["CWE-79"],
    "affected_regions": ["US"],
}
KIND_SAMPLES: dict[str, Any] = {
    "line": "A line",
    "markdown": "Some *Markdown*.",
    "vector": "",
    "date": dt.date(2026, 1, 10),
    "datetime": dt.datetime(2026, 2, 1, 9, 0, tzinfo=dt.UTC),
    "bool": True,
}


def _sample(name: str) -> Any:
    field = FIELDS[name]
    if name in SAMPLES:
        return SAMPLES[name]
    if field.kind == "choice":
        return choices_of(name)[0][0]
    return KIND_SAMPLES[field.kind]


class DeclarationTests(HeraldTestCase):
    def test_the_declaration_is_every_column_a_person_writes(self) -> None:
        columns = {f.name for f in Advisory._meta.concrete_fields} - WRITTEN_BY_HERALD
        assert {n for n, f in FIELDS.items() if f.home == "advisory"} == columns
        # The shorthand is each vulnerability's own column (a CVE id per vulnerability).
        for name in shorthand_fields():
            assert fields_column(name).model is Vulnerability, name
            assert not hasattr(Advisory, name) or isinstance(getattr(Advisory, name), property)

    def test_each_declared_kind_matches_its_column(self) -> None:
        for field in ADVISORY_FIELDS:
            if field.name == "cve_ids":  # a list: one CharField per vulnerability
                continue
            column = fields_column(field.name)
            with self.subTest(field.name):
                assert isinstance(column, COLUMN_TYPES[field.kind])
                assert (field.kind == "choice") == bool(column.choices)
                if field.max_length and isinstance(column, models.CharField):
                    assert column.max_length is not None
                    assert field.max_length <= column.max_length

    def test_the_action_cleans_every_declared_field(self) -> None:
        errors: dict[str, list[str]] = {}
        cleaned = _clean_fields({name: _sample(name) for name in FIELDS}, errors)
        assert errors == {}
        assert set(cleaned) == set(FIELDS)

    def test_the_desk_form_has_every_declared_field_and_hands_it_to_the_action(self) -> None:
        for form_class in (AdvisoryForm, AdvisoryEditForm):
            assert set(FIELDS) <= set(form_class.base_fields)
        assert set(AdvisoryForm.ACTION_FIELDS) == set(FIELDS)

    def test_the_editor_page_shows_every_declared_field(self) -> None:
        self.client.force_login(self.bob)  # type: ignore[arg-type]  # the test cast's user
        page = self.client.get(reverse("web:advisory_create")).content.decode()
        for name in FIELDS:
            assert f'name="{name}"' in page, name

    def test_the_api_takes_every_declared_field_and_answers_with_it(self) -> None:
        for schema in (schemas.AdvisoryFields, schemas.AdvisoryCreate, schemas.AdvisoryUpdate):
            assert set(FIELDS) <= set(schema.model_fields), schema
        # A response schema filters what it does not name: a missing field would vanish.
        public = {f.name for f in public_fields()}
        assert public <= set(schemas.Advisory.model_fields)
        assert set(FIELDS) - public <= set(schemas.DeskAdvisory.model_fields)
        assert not (set(FIELDS) - public) & set(schemas.Advisory.model_fields)

    def test_the_cli_has_an_option_for_every_declared_field(self) -> None:
        parser = Command().create_parser("herald", "advisory")
        [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        for subcommand in ("create", "update"):
            dests = {a.dest for a in subparsers.choices[subcommand]._actions}
            with self.subTest(subcommand):
                assert set(FIELDS) <= dests
                markdown = {f"{f.name}_file" for f in ADVISORY_FIELDS if f.kind == "markdown"}
                assert markdown <= dests

    def test_the_snapshot_carries_exactly_the_public_fields(self) -> None:
        snapshot_fields = {f.name for f in dataclasses.fields(AdvisorySnapshot)}
        vulnerability_fields = {f.name for f in dataclasses.fields(VulnerabilitySnapshot)}
        public = {f.name for f in public_fields() if f.home == "advisory"}
        assert public <= snapshot_fields
        # The shorthand fields live on each vulnerability; the advisory derives them.
        shorthand = {f.name for f in public_fields() if f.home == "vulnerability"}
        assert {"cve_ids" if n == "cve_ids" else n for n in shorthand} - {"cve_ids"} <= (
            vulnerability_fields
        )
        assert "cve_id" in vulnerability_fields
        assert all(isinstance(getattr(AdvisorySnapshot, n), property) for n in shorthand)
        # The embargo and other desk-only fields never reach a renderer.
        assert not (set(FIELDS) - public) & snapshot_fields

    def test_the_json_shape_has_every_field_the_public_or_the_desk_sees(self) -> None:
        advisory = self.draft(embargo_until=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
        public = advisory_to_dict(snapshot_of(advisory))
        assert {f.name for f in public_fields()} <= set(public)
        desk = desk_advisory_to_dict(advisory)
        assert set(FIELDS) <= set(desk)
        assert {f.name for f in ADVISORY_FIELDS if not f.public} <= set(DESK_KEYS)

    def test_the_markdown_page_loads_every_field_it_shows(self) -> None:
        assert {f.name for f in ADVISORY_FIELDS if f.in_markdown} <= set(builders._MARKDOWN_FIELDS)
        # The page is built from those columns alone; a field the renderer shows but
        # the declaration does not mark in_markdown would be missing from it.
        everything = {name: _sample(name) for name in FIELDS if FIELDS[name].public}
        everything.update(
            title="Every field filled",
            status="fixed",
            severity="high",
            cvss_v3_vector="",
            cvss_v4_vector="",
            fixed_at=dt.date(2026, 1, 12),
            disclosed_at=dt.date(2026, 1, 13),
            confirmed_exposure=False,
            user_action_required=False,
        )
        advisory = self.published(**everything)
        profile = VendorProfile.get()
        whole = render_page(PageContent.from_profile(profile), [snapshot_of(advisory)], [])
        assert builders.handbook_markdown(profile) == whole
