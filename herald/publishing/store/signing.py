"""OpenPGP signing of published documents, with key generation, import and rotation.

pysequoia (Sequoia-PGP) does the cryptography; signatures it makes verify with
GnuPG, which the tests check. Rotation retires the old key instead of deleting
it: its certificate stays published, so signatures it made still verify.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pysequoia as pgp
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from herald.audit.actions import record
from herald.core.errors import HeraldError
from herald.core.models import VendorProfile
from herald.publishing.models import SigningKey

# pysequoia 0.1.x marks some Cert helpers deprecated in favour of Tsk; we use Tsk.
warnings.filterwarnings("ignore", category=DeprecationWarning, module="pysequoia")


def key_dir() -> Path:
    return Path(settings.HERALD_ENV.get("HERALD_SIGNING_KEY_DIR") or settings.HERALD_HOME / "keys")


def _secret_path(fingerprint: str) -> Path:
    return key_dir() / f"{fingerprint}.key"


def _write_secret(fingerprint: str, armored: str) -> None:
    directory = key_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = _secret_path(fingerprint)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(armored)


def _store(tsk: pgp.Tsk, *, acting_user: AbstractBaseUser | None, imported: bool) -> SigningKey:
    cert = tsk.extract_certificate()
    fingerprint = cert.fingerprint.lower()
    if SigningKey.objects.filter(fingerprint=fingerprint).exists():
        raise HeraldError(f"Key {fingerprint} is already known.")
    with transaction.atomic():
        now = timezone.now()
        retired = list(SigningKey.objects.filter(state=SigningKey.State.ACTIVE))
        SigningKey.objects.filter(state=SigningKey.State.ACTIVE).update(
            state=SigningKey.State.RETIRED, retired_at=now
        )
        key = SigningKey.objects.create(
            fingerprint=fingerprint,
            user_id=str(cert.user_ids[0]) if cert.user_ids else "",
            public_key=str(cert),
            created_at=now,
            imported=imported,
        )
        # The file is written inside the transaction: if it fails, no row claims a key
        # that cannot sign.
        _write_secret(fingerprint, str(tsk))
        record(
            acting_user=acting_user,
            action="signing_key.import" if imported else "signing_key.generate",
            obj=key,
            object_id=fingerprint,
            after={"fingerprint": fingerprint, "retired": [k.fingerprint for k in retired]},
        )
    return key


def do_generate_signing_key(*, acting_user: AbstractBaseUser | None) -> SigningKey:
    """A new key for the vendor's security contact; the previous one is retired."""
    profile = VendorProfile.get()
    user_id = f"{profile.name} Security <{profile.security_contact}>"
    return _store(pgp.Tsk.generate(user_id=user_id), acting_user=acting_user, imported=False)


def do_import_signing_key(armored: bytes, *, acting_user: AbstractBaseUser | None) -> SigningKey:
    """Import an existing secret key (ASCII-armored or binary); it becomes the active key."""
    try:
        tsk = pgp.Tsk.from_bytes(armored)
        tsk.signer()
    except Exception as exc:  # pysequoia raises plain exceptions with Sequoia's message
        raise HeraldError(f"Not a usable OpenPGP secret key: {exc}") from None
    return _store(tsk, acting_user=acting_user, imported=True)


def ensure_signing_key() -> SigningKey:
    """The active key, generated on first use."""
    key = active_key()
    return key or do_generate_signing_key(acting_user=None)


def active_key() -> SigningKey | None:
    return SigningKey.objects.filter(state=SigningKey.State.ACTIVE).first()


def _signer() -> tuple[SigningKey, pgp.PySigner]:
    key = active_key()
    if key is None:
        raise HeraldError("No signing key: run `herald setup` or `herald keys generate`.")
    path = _secret_path(key.fingerprint)
    try:
        tsk = pgp.Tsk.from_bytes(path.read_bytes())
    except FileNotFoundError:
        raise HeraldError(
            f"The secret half of signing key {key.fingerprint} is missing from {path}. "
            "Restore it, set HERALD_SIGNING_KEY_DIR, or generate a new key."
        ) from None
    return key, tsk.signer()


def sign_detached(data: bytes) -> str:
    """An ASCII-armored detached signature (the CSAF ``.asc`` file)."""
    _, signer = _signer()
    return pgp.sign(signer, data, mode=pgp.SignatureMode.DETACHED).decode()


def sign_cleartext(text: str) -> str:
    """The text wrapped in an OpenPGP cleartext signature (RFC 9116 security.txt)."""
    _, signer = _signer()
    return pgp.sign(signer, text.encode(), mode=pgp.SignatureMode.CLEAR).decode()


def verify_detached(data: bytes, signature: str) -> str:
    """The fingerprint of the known key (active or retired) that made this signature."""
    certs = [pgp.Cert.from_bytes(k.public_key.encode()) for k in SigningKey.objects.all()]
    try:
        result = pgp.verify(
            bytes=data,
            store=lambda ids: certs,
            signature=pgp.Sig.from_bytes(signature.encode()),
        )
    except Exception as exc:
        raise HeraldError(f"Signature does not verify: {exc}") from None
    if not result.valid_sigs:
        raise HeraldError("Signature does not verify with any known key.")
    return str(result.valid_sigs[0].certificate).lower()


def public_keys_armored() -> str:
    """Every key's certificate, active first: what the public key URL serves."""
    keys = SigningKey.objects.order_by("state", "-created_at")
    return "".join(k.public_key if k.public_key.endswith("\n") else k.public_key + "\n"
                   for k in keys)  # fmt: skip
