"""Writes to the vendor profile (its settings, the prose of its public page) and its products."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models, transaction
from django.utils.text import slugify

from herald.audit.actions import record
from herald.core.errors import ValidationError
from herald.core.models import Product, VendorProfile
from herald.core.text import Kind, check_text

# Everything but the key and the timestamp; a field added to the profile becomes
# editable here without another list to keep in step.
EDITABLE_PROFILE_FIELDS = tuple(
    f.name for f in VendorProfile._meta.concrete_fields if f.name not in ("id", "updated_at")
)


@dataclass(frozen=True)
class ProfileChange:
    profile: VendorProfile
    fields: tuple[str, ...]  # the fields that changed; empty when nothing did


def write_vendor_profile(*, acting_user: AbstractBaseUser | None, **values: Any) -> ProfileChange:
    """Change some fields of the profile; an audit event records each field's before and after.

    The profile shows on every public page: the caller-facing
    ``do_update_vendor_profile`` (``herald.publication.actions``) calls this, then
    renders every page again. This writes the profile only.

    Giving the values the profile already has changes nothing and records nothing,
    so that importing the same page twice leaves no trace the second time.
    """
    if "base_url" in values:
        # A base URL given by a person stays; only herald.core.baseurl makes it follow.
        values.setdefault("base_url_follows_server", False)
    unknown = sorted(set(values) - set(EDITABLE_PROFILE_FIELDS))
    if unknown:
        raise ValidationError({name: "Not a field of the vendor profile." for name in unknown})
    with transaction.atomic():
        VendorProfile.get()  # created with its defaults on first use, before the lock
        profile = VendorProfile.objects.select_for_update().get(pk=1)
        errors: dict[str, list[str]] = {}
        changed: dict[str, tuple[Any, Any]] = {}
        for name, value in values.items():
            model_field = profile._meta.get_field(name)
            kind = _text_kind(model_field)  # type: ignore[arg-type]
            try:
                if kind is not None and isinstance(value, str):
                    # Refused or taken as given: the handbook page's import and export
                    # keep the vendor's exact text (its front matter's last newline).
                    check_text(value, name, kind=kind)
                cleaned = model_field.clean(value, profile)  # type: ignore[union-attr]
            except DjangoValidationError as exc:
                errors.setdefault(name, []).extend(exc.messages)
                continue
            if cleaned != getattr(profile, name):
                changed[name] = (getattr(profile, name), cleaned)
        if errors:
            raise ValidationError(errors)
        if not changed:
            return ProfileChange(profile, ())
        for name, (_, after) in changed.items():
            setattr(profile, name, after)
        profile.save(update_fields=[*changed, "updated_at"])
        record(
            acting_user=acting_user,
            action="vendor_profile.update",
            obj=profile,
            before={name: before for name, (before, _) in changed.items()},
            after={name: after for name, (_, after) in changed.items()},
        )
    return ProfileChange(profile, tuple(changed))


# The profile's texts that are not Markdown prose of the public page.
_PLAIN_TEXT_FIELDS = frozenset({"front_matter", "template_block"})


def _text_kind(field: models.Field[Any, Any]) -> Kind | None:
    """What the gatekeeper (herald.core.text) takes a profile field for; None: no text."""
    if isinstance(field, models.TextField):
        return "text" if field.name in _PLAIN_TEXT_FIELDS else "markdown"
    if isinstance(field, models.CharField):  # URLs and e-mail addresses too
        return "line"
    return None


PRODUCT_FIELDS = ("name", "slug", "description", "ecosystem", "package_name", "repository_url")


def do_add_product(*, acting_user: AbstractBaseUser | None, name: str, **values: Any) -> Product:
    """Add a product advisories can name as affected; the slug defaults to the name's.

    Every problem is reported at once, by field; a name or slug already used is
    refused, whatever its case, since advisories name products by either.
    """
    unknown = sorted(set(values) - set(PRODUCT_FIELDS))
    if unknown:
        raise ValidationError({key: "Not a field of a product." for key in unknown})
    name = " ".join(str(name or "").split())
    values = {key: str(value or "").strip() for key, value in values.items()}
    slug_given = bool(values.get("slug"))
    values["slug"] = values.get("slug") or slugify(name)[:100]
    product = Product(name=name, **values)
    errors: dict[str, list[str]] = {}
    try:
        product.full_clean(validate_unique=False)
    except DjangoValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(messages)
    if not name and not slug_given:
        errors.pop("slug", None)  # derived from the missing name: one error says it
    with transaction.atomic():
        if name and Product.objects.filter(name__iexact=name).exists():
            errors.setdefault("name", []).append(f"A product is already named {name!r}.")
        if product.slug and Product.objects.filter(slug__iexact=product.slug).exists():
            errors.setdefault("slug", []).append(
                f"The slug {product.slug!r} is taken; choose another."
            )
        if errors:
            raise ValidationError(errors)
        product.save()
        record(
            acting_user=acting_user,
            action="product.create",
            obj=product,
            after={key: getattr(product, key) for key in PRODUCT_FIELDS},
        )
    return product


@dataclass(frozen=True)
class BaseURL:
    url: str
    source: str  # for people: where the value comes from
    changed: bool
