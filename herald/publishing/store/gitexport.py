"""Committing the handbook page to a git checkout of the vendor's website, ready to push.

The seed page's rule is that changes to it happen as part of an incident, so the
commit goes on a new branch named after the incident, for the usual review (a pull
request); Herald pushes only when asked to (``push_branch``, for
``herald github handbook``, which then opens the pull request).

The commit is built with git's plumbing (a temporary index, ``commit-tree``), so
nothing in the checkout changes until the branch exists and is complete; only then
is it checked out, which writes the file. A refusal, at any step, leaves the
repository as it was. Hooks do not run: the website's CI checks the pull request.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import tempfile
from pathlib import Path, PurePosixPath

from herald.core.errors import HeraldError

GIT_TIMEOUT = 60  # seconds; a local repository answers in far less


class GitExportError(HeraldError):
    """The page was not committed, and the repository was left as it was."""


def _git(
    repo: Path,
    *args: str,
    input: bytes | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    # Fixed argv, never a shell; the repository's path and the page path are
    # arguments, so no character in them is interpreted.
    try:
        result = subprocess.run(  # noqa: S603
            ["git", "-C", str(repo), *args],  # noqa: S607  (git from PATH, as a user runs it)
            input=input,
            capture_output=True,
            env={**os.environ, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", **(env or {})},
            timeout=GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise GitExportError("git is not installed (no 'git' command on PATH).") from None
    except subprocess.TimeoutExpired:
        raise GitExportError(f"git {args[0]} took more than {GIT_TIMEOUT} seconds.") from None
    if check and result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip() or f"exit {result.returncode}"
        raise GitExportError(f"git {args[0]} failed: {message}")
    return result


def _out(result: subprocess.CompletedProcess[bytes]) -> str:
    return result.stdout.decode(errors="replace").strip()


def branch_name(incident_identifier: str, at: dt.datetime | None = None) -> str:
    """``herald/INC-2026-0003-20260127143005`` (UTC)."""
    moment = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    return f"herald/{incident_identifier}-{moment:%Y%m%d%H%M%S}"


def commit_message(incident_identifier: str, incident_title: str) -> str:
    return (
        f"Security advisories: update for {incident_identifier} ({incident_title})\n\n"
        "Exported by Herald from the advisory desk.\n"
    )


def _repo_path(toplevel: Path, repo_dir: Path, rel_path: str) -> str:
    """``rel_path`` as a path inside the repository, or a refusal if it leaves it."""
    if not rel_path or not rel_path.strip():
        raise GitExportError("Give the path of the page inside the repository.")
    if Path(rel_path).is_absolute():
        raise GitExportError(f"{rel_path} is absolute; give the page's path inside the repository.")
    target = (repo_dir / rel_path).resolve()
    try:
        inside = PurePosixPath(target.relative_to(toplevel).as_posix())
    except ValueError:
        raise GitExportError(f"{rel_path} is outside the repository {toplevel}.") from None
    if not inside.parts or inside.parts[0] == ".git":
        raise GitExportError(f"{rel_path} is not a file of the repository's working tree.")
    if target.is_dir():
        raise GitExportError(f"{rel_path} is a directory; give the page's file name.")
    return str(inside)


def export_to_git(
    repo_dir: str | Path,
    rel_path: str,
    content: str,
    incident_identifier: str,
    incident_title: str,
    *,
    now: dt.datetime | None = None,
) -> str:
    """Commit ``content`` at ``rel_path`` on a new branch from HEAD; the branch's name.

    Refuses, changing nothing, when ``repo_dir`` is not a git checkout, when the
    path leaves it, when the page has uncommitted changes, when other changes are
    staged (they would not be in the commit, and would confuse the reviewer), or
    when the page in HEAD is already this content.
    """
    repo = Path(repo_dir).expanduser().resolve()
    if not repo.is_dir():
        raise GitExportError(f"{repo_dir} is not a directory.")
    probe = _git(repo, "rev-parse", "--show-toplevel", check=False)
    if probe.returncode != 0 or not _out(probe):
        raise GitExportError(f"{repo_dir} is not a git repository (git rev-parse found none).")
    toplevel = Path(_out(probe)).resolve()
    path = _repo_path(toplevel, repo, rel_path)
    head = _git(toplevel, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    if head.returncode != 0:
        raise GitExportError(f"{toplevel} has no commit yet; the branch starts from HEAD.")
    head_sha = _out(head)
    if _out(_git(toplevel, "status", "--porcelain", "--", path)):
        raise GitExportError(
            f"{path} has uncommitted changes in {toplevel}; commit or discard them first."
        )
    if _git(toplevel, "diff", "--cached", "--quiet", check=False).returncode != 0:
        raise GitExportError(
            f"{toplevel} has staged changes; commit or unstage them first, so that the "
            "branch holds the page alone."
        )

    data = content.encode()
    blob = _out(_git(toplevel, "hash-object", "-w", "--stdin", input=data))
    listed = _out(_git(toplevel, "ls-tree", "HEAD", "--", path)).split()
    if listed and listed[1] != "blob":
        raise GitExportError(f"{path} is a {listed[1]} in HEAD, not a file.")
    if listed and listed[2] == blob:
        raise GitExportError(f"{path} in HEAD is already this page; there is nothing to commit.")
    mode = listed[0] if listed else "100644"

    with tempfile.TemporaryDirectory(prefix="herald-git-") as scratch:
        # A private index: the user's staging area is never touched.
        env = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        _git(toplevel, "read-tree", head_sha, env=env)
        _git(toplevel, "update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
        tree = _out(_git(toplevel, "write-tree", env=env))
    message = commit_message(incident_identifier, incident_title).encode()
    commit = _out(_git(toplevel, "commit-tree", tree, "-p", head_sha, input=message))

    branch = branch_name(incident_identifier, now)
    base, suffix = branch, 1
    while (
        _git(
            toplevel, "show-ref", "--verify", "--quiet", f"refs/heads/{branch}", check=False
        ).returncode
        == 0
    ):
        suffix += 1
        branch = f"{base}-{suffix}"
    if _git(toplevel, "check-ref-format", "--branch", branch, check=False).returncode != 0:
        raise GitExportError(f"{branch!r} is not a valid branch name; check the incident id.")
    # The ref is created only if it does not exist yet (the empty old value).
    _git(toplevel, "update-ref", f"refs/heads/{branch}", commit, "")
    switched = _git(toplevel, "checkout", "--quiet", branch, check=False)
    if switched.returncode != 0:
        _git(toplevel, "update-ref", "-d", f"refs/heads/{branch}", commit, check=False)
        message_text = switched.stderr.decode(errors="replace").strip()
        raise GitExportError(f"git checkout {branch} failed, nothing was changed: {message_text}")
    return branch


def head_commit(repo_dir: str | Path) -> str:
    """The commit HEAD names, for the audit record of an export."""
    return _out(_git(Path(repo_dir).expanduser().resolve(), "rev-parse", "HEAD"))


def current_branch(repo_dir: str | Path) -> str:
    """The branch checked out ("" on a detached HEAD): the pull request's base."""
    result = _git(Path(repo_dir).expanduser().resolve(), "symbolic-ref", "--quiet", "--short",
                  "HEAD", check=False)  # fmt: skip
    return _out(result) if result.returncode == 0 else ""


def push_branch(repo_dir: str | Path, remote: str, branch: str) -> None:
    """Push ``branch`` to ``remote`` (a remote's name), setting it as the upstream."""
    if not remote or remote.startswith("-") or not branch or branch.startswith("-"):
        raise GitExportError(f"{remote!r} {branch!r}: not a remote and a branch to push.")
    _git(Path(repo_dir).expanduser().resolve(), "push", "--quiet", "-u", remote,
         f"refs/heads/{branch}:refs/heads/{branch}")  # fmt: skip
