"""Committing the page to a real git checkout of the website, on a branch ready to push."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest

from herald.publishing.store.gitexport import GitExportError, export_to_git

PAGE = "contents/handbook/security-advisories.md"
NOW = dt.datetime(2026, 3, 3, 14, 30, 5, tzinfo=dt.UTC)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


def make_repo(path: Path) -> Path:
    """A website checkout with one commit holding the old page and a README."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "config", "user.name", "Website Bot")
    git(path, "config", "user.email", "bot@example.com")
    git(path, "config", "commit.gpgsign", "false")
    (path / "contents/handbook").mkdir(parents=True)
    (path / PAGE).write_text("old page\n")
    (path / "README.md").write_text("website\n")
    git(path, "add", ".")
    git(path, "commit", "--quiet", "-m", "Initial")
    return path


def state(repo: Path) -> tuple[str, str, str, str]:
    """Branches, HEAD, status and staged changes: what a refusal must leave as it was."""
    return (
        git(repo, "branch", "--list"),
        git(repo, "rev-parse", "HEAD"),
        git(repo, "status", "--porcelain"),
        git(repo, "diff", "--cached"),
    )


def test_it_commits_the_page_on_a_new_branch_named_after_the_incident(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "site")
    base = git(repo, "rev-parse", "HEAD")
    branch = export_to_git(repo, PAGE, "new page ✓\n", "INC-2026-0003", "Token leak", now=NOW)
    assert branch == "herald/INC-2026-0003-20260303143005"
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == branch
    assert git(repo, "rev-parse", "HEAD~1") == base
    assert git(repo, "log", "-1", "--format=%s") == (
        "Security advisories: update for INC-2026-0003 (Token leak)"
    )
    assert git(repo, "log", "-1", "--format=%an <%ae>") == "Website Bot <bot@example.com>"
    assert git(repo, "show", "--name-only", "--format=", "HEAD") == PAGE
    assert (repo / PAGE).read_text() == "new page ✓\n"
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "remote") == ""  # nothing was pushed, nowhere to push


def test_a_new_page_file_is_added_and_a_second_export_gets_its_own_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "site")
    first = export_to_git(repo, "security.md", "page\n", "INC-2026-0001", "First", now=NOW)
    git(repo, "checkout", "--quiet", "main")
    second = export_to_git(repo, "security.md", "page\n", "INC-2026-0001", "First", now=NOW)
    assert first != second and second.startswith(first)
    assert git(repo, "show", f"{second}:security.md") == "page"


def test_it_refuses_a_directory_that_is_not_a_git_repository(tmp_path: Path) -> None:
    with pytest.raises(GitExportError, match="is not a git repository"):
        export_to_git(tmp_path, PAGE, "page\n", "INC-2026-0001", "x")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "path", ["../outside.md", "contents/../../outside.md", "/etc/passwd", ".git/config", "contents"]
)
def test_it_refuses_a_path_outside_the_working_tree(tmp_path: Path, path: str) -> None:
    repo = make_repo(tmp_path / "site")
    before = state(repo)
    with pytest.raises(GitExportError):
        export_to_git(repo, path, "page\n", "INC-2026-0001", "x")
    assert state(repo) == before
    assert not (tmp_path / "outside.md").exists()


def test_it_refuses_a_page_with_uncommitted_changes_and_changes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "site")
    (repo / PAGE).write_text("someone's edit\n")
    before = state(repo)
    with pytest.raises(GitExportError, match="has uncommitted changes"):
        export_to_git(repo, PAGE, "page\n", "INC-2026-0001", "x")
    assert state(repo) == before
    assert (repo / PAGE).read_text() == "someone's edit\n"


def test_it_refuses_an_untracked_file_at_the_path(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "site")
    (repo / "new.md").write_text("draft\n")
    with pytest.raises(GitExportError, match="has uncommitted changes"):
        export_to_git(repo, "new.md", "page\n", "INC-2026-0001", "x")
    assert (repo / "new.md").read_text() == "draft\n"


def test_it_refuses_when_other_changes_are_staged(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "site")
    (repo / "README.md").write_text("changed\n")
    git(repo, "add", "README.md")
    before = state(repo)
    with pytest.raises(GitExportError, match="has staged changes"):
        export_to_git(repo, PAGE, "page\n", "INC-2026-0001", "x")
    assert state(repo) == before


def test_it_refuses_a_page_that_is_already_committed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "site")
    before = state(repo)
    with pytest.raises(GitExportError, match="nothing to commit"):
        export_to_git(repo, PAGE, "old page\n", "INC-2026-0001", "x")
    assert state(repo) == before


def test_unrelated_local_changes_stay_in_the_working_tree(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "site")
    (repo / "README.md").write_text("work in progress\n")
    export_to_git(repo, PAGE, "page\n", "INC-2026-0001", "x", now=NOW)
    assert (repo / "README.md").read_text() == "work in progress\n"
    assert git(repo, "show", "--name-only", "--format=", "HEAD") == PAGE
