"""`site-api user create / list`, run as the real console script an operator runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from site_api.accounts import users
from site_api.db import make_engine

SITE_API = Path(sys.executable).with_name("site-api")
PASSWORD = "correct horse battery staple"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A fresh var/ (no database yet) and site/ for the command."""
    (tmp_path / "site").mkdir()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SITE_")}
    return {
        **environ,
        "SITE_VAR_DIR": str(tmp_path / "var"),
        "SITE_SITE_DIR": str(tmp_path / "site"),
    }


def run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    # A new session has no controlling terminal, so the hidden prompt reads the piped stdin
    # rather than the terminal of whoever runs the tests.
    return subprocess.run(
        [str(SITE_API), "user", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        start_new_session=True,
    )


def engine_of(env: dict[str, str]) -> Engine:
    return make_engine(f"sqlite:///{env['SITE_VAR_DIR']}/site.db")


def test_create_reader_from_stdin(env: dict[str, str]) -> None:
    result = run(
        env, "create", "--email", " Reader@Example.ORG ", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert result.returncode == 0, result.stderr
    assert "created reader account reader@example.org" in result.stdout
    user = users.authenticate(engine_of(env), "reader@example.org", PASSWORD)
    assert user is not None
    assert user.email_verified_at is not None
    assert user.role == "reader"


def test_create_editor(env: dict[str, str]) -> None:
    result = run(
        env, "create", "--email", "ed@example.org", "--editor", "--password-stdin", stdin=PASSWORD
    )
    assert result.returncode == 0, result.stderr
    user = users.find_user(engine_of(env), "ed@example.org")
    assert user is not None and user.role == "editor"
    listed = run(env, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("ed@example.org\t")
    assert "confirmed, editor" in listed.stdout


def test_role_makes_an_editor_and_a_reader_again(env: dict[str, str]) -> None:
    created = run(env, "create", "--email", "r@example.org", "--password-stdin", stdin=PASSWORD)
    assert created.returncode == 0, created.stderr
    promoted = run(env, "role", "R@Example.org", "editor")
    assert promoted.returncode == 0, promoted.stderr
    assert "r@example.org is now an editor" in promoted.stdout
    user = users.find_user(engine_of(env), "r@example.org")
    assert user is not None and user.role == "editor"
    demoted = run(env, "role", "r@example.org", "reader")
    assert demoted.returncode == 0, demoted.stderr
    user = users.find_user(engine_of(env), "r@example.org")
    assert user is not None and user.role == "reader"


def test_role_refuses_unknown_accounts_and_roles(env: dict[str, str]) -> None:
    missing = run(env, "role", "nobody@example.org", "editor")
    assert missing.returncode == 1
    assert "no account for nobody@example.org" in missing.stderr
    odd = run(env, "role", "nobody@example.org", "admin")
    assert odd.returncode == 2
    assert "'admin' is not one of 'editor', 'reader'" in odd.stderr


def test_prompts_twice_without_stdin_flag(env: dict[str, str]) -> None:
    result = run(env, "create", "--email", "p@example.org", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.returncode == 0, result.stderr
    assert "Password: " in result.stderr and "Repeat for confirmation: " in result.stderr
    assert PASSWORD not in result.stdout + result.stderr  # hidden input is not echoed
    assert users.authenticate(engine_of(env), "p@example.org", PASSWORD) is not None


def test_prompted_passwords_must_match(env: dict[str, str]) -> None:
    result = run(env, "create", "--email", "p@example.org", stdin=f"{PASSWORD}\nsomething else\n")
    assert result.returncode == 1
    assert "do not match" in result.stdout
    assert "Traceback" not in result.stderr
    assert users.find_user(engine_of(env), "p@example.org") is None


def test_duplicate_email_is_refused(env: dict[str, str]) -> None:
    assert (
        run(
            env, "create", "--email", "dup@example.org", "--password-stdin", stdin=PASSWORD
        ).returncode
        == 0
    )
    result = run(env, "create", "--email", "DUP@example.org", "--password-stdin", stdin=PASSWORD)
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: An account with that email address already exists."
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("weak@example.org", "password1", "Error: Use at least 10 characters."),
        ("weak@example.org", "password123", "Error: That password is too common"),
        ("weak@example.org", "", "Error: Use at least 10 characters."),
        ("not-an-address", PASSWORD, "Error: That email address is not valid"),
    ],
)
def test_bad_input_is_refused(env: dict[str, str], email: str, password: str, message: str) -> None:
    result = run(env, "create", "--email", email, "--password-stdin", stdin=password)
    assert result.returncode == 1
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.stderr
    assert run(env, "list").stdout == ""


def test_bad_setting_is_a_message(env: dict[str, str]) -> None:
    result = run({**env, "SITE_FREE_PAGES": "many"}, "list")
    assert result.returncode == 1
    assert result.stderr.startswith("Error: SITE_FREE_PAGES:")
    assert "Traceback" not in result.stderr
