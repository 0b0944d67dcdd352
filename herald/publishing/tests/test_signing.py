"""Signing keys: generated, imported, rotated; signatures verify with GnuPG too."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from herald.audit.models import AuditEvent
from herald.core.errors import HeraldError
from herald.publishing.models import SigningKey
from herald.publishing.store import signing
from herald.test import HeraldTestCase


def gpg_verify(tmp: Path, public_keys: str, signed: Path, data: Path | None = None) -> str:
    home = tmp / "gnupg"
    home.mkdir(mode=0o700, exist_ok=True)
    keyfile = tmp / "keys.asc"
    keyfile.write_text(public_keys)
    subprocess.run(
        ["gpg", "--batch", "--homedir", str(home), "--import", str(keyfile)],
        check=True,
        capture_output=True,
    )
    args = ["gpg", "--batch", "--homedir", str(home), "--verify", str(signed)]
    if data is not None:
        args.append(str(data))
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return result.stderr


class SigningKeys(HeraldTestCase):
    @pytest.fixture(autouse=True)
    def _keydir(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp = tmp_path
        monkeypatch.setitem(settings.HERALD_ENV, "HERALD_SIGNING_KEY_DIR", str(tmp_path / "keys"))

    def test_a_generated_key_keeps_its_secret_out_of_the_database(self) -> None:
        key = signing.do_generate_signing_key(acting_user=self.alice)
        assert "PRIVATE KEY" not in key.public_key
        secret = self.tmp / "keys" / f"{key.fingerprint}.key"
        assert "PRIVATE KEY" in secret.read_text()
        assert secret.stat().st_mode & 0o077 == 0
        assert AuditEvent.objects.filter(action="signing_key.generate").exists()

    @pytest.mark.skipif(shutil.which("gpg") is None, reason="GnuPG is not installed")
    def test_detached_signatures_verify_with_gnupg(self) -> None:
        signing.do_generate_signing_key(acting_user=self.alice)
        data = self.tmp / "doc.json"
        data.write_bytes(b'{"document": {"title": "\xc3\xbcn\xc3\xafc\xc3\xb8d\xc3\xa9"}}\n')
        sig = self.tmp / "doc.json.asc"
        sig.write_text(signing.sign_detached(data.read_bytes()))
        assert "Good signature" in gpg_verify(self.tmp, signing.public_keys_armored(), sig, data)

    def test_rotation_keeps_old_signatures_verifiable(self) -> None:
        old = signing.do_generate_signing_key(acting_user=self.alice)
        signed_before = signing.sign_detached(b"old document")
        new = signing.do_generate_signing_key(acting_user=self.alice)
        old.refresh_from_db()
        assert old.state == SigningKey.State.RETIRED
        assert new.state == SigningKey.State.ACTIVE
        assert signing.verify_detached(b"old document", signed_before) == old.fingerprint
        assert signing.verify_detached(b"new", signing.sign_detached(b"new")) == new.fingerprint
        assert old.fingerprint.upper()[-16:] in signing.public_keys_armored().replace(" ", "")

    def test_a_tampered_document_does_not_verify(self) -> None:
        signing.do_generate_signing_key(acting_user=self.alice)
        signature = signing.sign_detached(b"original")
        with pytest.raises(HeraldError, match="does not verify"):
            signing.verify_detached(b"tampered", signature)

    def test_an_existing_key_can_be_imported_and_garbage_is_refused(self) -> None:
        import pysequoia

        tsk = pysequoia.Tsk.generate(user_id="Imported <sec@example.com>")
        key = signing.do_import_signing_key(str(tsk).encode(), acting_user=self.alice)
        assert key.imported and key.user_id == "Imported <sec@example.com>"
        with pytest.raises(HeraldError, match="Not a usable OpenPGP secret key"):
            signing.do_import_signing_key(b"-----BEGIN PGP nonsense", acting_user=self.alice)
        assert SigningKey.objects.count() == 1

    def test_a_missing_secret_file_is_a_clear_error(self) -> None:
        key = signing.do_generate_signing_key(acting_user=self.alice)
        (self.tmp / "keys" / f"{key.fingerprint}.key").unlink()
        with pytest.raises(HeraldError, match="secret half"):
            signing.sign_detached(b"x")


@override_settings()
class SigningSetup(HeraldTestCase):
    def test_setup_generates_a_key_once(self) -> None:
        assert signing.active_key() is None
        first = signing.ensure_signing_key()
        assert signing.ensure_signing_key() == first
