"""Real local peers for the intake's tests: an SMTP server, a Dovecot IMAP server, GnuPG.

Each runs on loopback, in a temporary directory, on a free port, and is stopped
afterwards; nothing of the machine's own services is touched. A missing program
skips the test with the reason, except under ``HERALD_REQUIRE_SERVICES=1`` (CI),
where it is a failure: CI must install ``dovecot-imapd`` and ``gnupg``.
"""

from __future__ import annotations

import email
import email.policy
import getpass
import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from herald.test import unavailable


def require_program(name: str, package: str) -> str:
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if path:
        return path
    unavailable(f"{name} is not installed (Debian package {package})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ---------------------------------------------------------------- SMTP


@dataclass
class Inbox:
    """What the loopback SMTP server received, parsed."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address in str(m["To"])]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def settings(self) -> dict[str, Any]:
        # Herald's one mail setting, as an operator sets it (herald.core.mail).
        return {"HERALD_SMTP_URL": f"smtp://127.0.0.1:{self.port}?timeout=5"}


# ---------------------------------------------------------------- IMAP

DOVECOT_CONF = """\
base_dir = {base}/run
state_dir = {base}/state
log_path = {base}/dovecot.log
info_log_path = {base}/dovecot.log
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{base}/mail/%u
first_valid_uid = 1
first_valid_gid = 1
default_login_user = {login_user}
default_internal_user = {internal_user}
default_internal_group = {internal_group}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/home/%u
}}
"""


class Dovecot:
    """A private Dovecot serving IMAP on a loopback port, from a temporary directory."""

    user = "security@example.com"
    password = "imap-test-password"

    def __init__(self) -> None:
        self.binary = require_program("dovecot", "dovecot-imapd")
        self.base = Path(tempfile.mkdtemp(prefix="herald-dovecot-"))
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        uid, gid = os.getuid(), os.getgid()
        if uid == 0:
            # As root, Dovecot drops privileges to its own accounts, which the
            # Debian package creates, and refuses to keep mail as root: the
            # mailbox belongs to the system's "mail" account, in our temp dir.
            login_user, internal_user = "dovenull", "dovecot"
            internal_group = "dovecot"
            mail_account = pwd.getpwnam("mail")
            uid, gid = mail_account.pw_uid, mail_account.pw_gid
        else:
            login_user = internal_user = getpass.getuser()
            internal_group = grp.getgrgid(gid).gr_name
        for sub in ("run", "state", "mail", "home"):
            (self.base / sub).mkdir(mode=0o755)
            if sub in ("mail", "home"):
                os.chown(self.base / sub, uid, gid)
        # Dovecot's unprivileged processes must reach the sockets and mail inside.
        os.chmod(self.base, 0o755)  # noqa: S103
        (self.base / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        conf = self.base / "dovecot.conf"
        conf.write_text(
            DOVECOT_CONF.format(
                base=self.base,
                port=self.port,
                uid=uid,
                gid=gid,
                login_user=login_user,
                internal_user=internal_user,
                internal_group=internal_group,
            )
        )
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(conf)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.process.stdout.read().decode() if self.process.stdout else ""
                log = (
                    (self.base / "dovecot.log").read_text()
                    if (self.base / "dovecot.log").exists()
                    else ""
                )
                raise RuntimeError(f"dovecot exited: {output}\n{log}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("dovecot did not start listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None and self.process.stdout:
            self.process.stdout.close()
        shutil.rmtree(self.base, ignore_errors=True)

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put a message in the mailbox the way a mail server would: IMAP APPEND."""
        import imaplib

        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            conn.login(self.user, self.password)
            status, data = conn.append(folder, "", imaplib.Time2Internaldate(time.time()), raw)
            assert status == "OK", data
        finally:
            conn.logout()

    def create(self, folder: str) -> None:
        import imaplib

        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            conn.login(self.user, self.password)
            conn.create(folder)
        finally:
            conn.logout()

    def rebuild(self, folder: str) -> None:
        """Delete and recreate ``folder`` with the same messages: a new UIDVALIDITY."""
        import imaplib

        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        try:
            conn.login(self.user, self.password)
            conn.select(folder)
            _, data = conn.uid("FETCH", "1:*", "(BODY.PEEK[])")
            messages = [bytes(d[1]) for d in data if isinstance(d, tuple)]
            conn.close()
            assert conn.delete(folder)[0] == "OK"
            assert conn.create(folder)[0] == "OK"
            for raw in messages:
                conn.append(folder, "", imaplib.Time2Internaldate(time.time()), raw)
        finally:
            conn.logout()


# ---------------------------------------------------------------- OpenPGP


class Keyring:
    """A GnuPG home with a fresh vendor key, for encrypting test reports to."""

    uid = "Northwind Security <security@example.com>"

    def __init__(self) -> None:
        self.gpg = require_program("gpg", "gnupg")
        self.home = Path(tempfile.mkdtemp(prefix="hg-", dir="/tmp"))
        os.chmod(self.home, 0o700)
        subprocess.run(
            [
                self.gpg,
                "--homedir",
                str(self.home),
                "--batch",
                "--passphrase",
                "",
                "--quick-generate-key",
                self.uid,
                "future-default",
                "default",
                "never",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )

    def encrypt(self, data: bytes) -> bytes:
        result = subprocess.run(
            [
                self.gpg,
                "--homedir",
                str(self.home),
                "--batch",
                "--trust-model",
                "always",
                "--armor",
                "--encrypt",
                "--recipient",
                "security@example.com",
            ],
            input=data,
            check=True,
            capture_output=True,
            timeout=60,
        )
        return result.stdout

    def close(self) -> None:
        gpgconf = shutil.which("gpgconf")
        if gpgconf:
            subprocess.run(
                [gpgconf, "--homedir", str(self.home), "--kill", "gpg-agent"],
                capture_output=True,
                timeout=30,
                check=False,
            )
        shutil.rmtree(self.home, ignore_errors=True)
