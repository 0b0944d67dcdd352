"""Decrypting reports sent encrypted to the vendor's OpenPGP key.

GnuPG does the work, through python-gnupg: the vendor's key already lives in a
GnuPG keyring on most security teams' machines, and GnuPG is the implementation
every other tool is measured against. The keyring is ``HERALD_GNUPG_HOME``
(default HERALD_HOME/gnupg); import the secret key there with
``gpg --homedir ... --import``. A key with a passphrase needs
``HERALD_GNUPG_PASSPHRASE``.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass

from herald.intake.conf import gnupg_home, text_setting

ARMORED = re.compile(r"-----BEGIN PGP MESSAGE-----\r?\n.*?-----END PGP MESSAGE-----", re.DOTALL)


@dataclass(frozen=True)
class Decrypted:
    ok: bool
    data: bytes
    problem: str = ""


def decrypt(ciphertext: bytes) -> Decrypted:
    """Decrypt one OpenPGP message; on failure say why, never raise."""
    if shutil.which("gpg") is None:
        return Decrypted(False, b"", "gpg is not installed, so the message stays encrypted")
    home = gnupg_home()
    if not home.is_dir():
        return Decrypted(
            False, b"", f"no OpenPGP keyring at {home}, so the message stays encrypted"
        )
    import gnupg  # imported here: a desk that receives no encrypted mail never needs it

    try:
        gpg = gnupg.GPG(gnupghome=str(home))
        passphrase = text_setting("HERALD_GNUPG_PASSPHRASE") or None
        result = gpg.decrypt(ciphertext, passphrase=passphrase)
    except (OSError, ValueError) as exc:
        return Decrypted(False, b"", f"GnuPG failed: {exc}")
    if not result.ok:
        status = result.status or "unknown error"
        return Decrypted(False, b"", f"could not decrypt: {status}")
    return Decrypted(True, bytes(result.data))
