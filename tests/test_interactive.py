"""A person at a real terminal answers Copier's prompts (driven through a pseudo-terminal)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import yaml

from oauthgen.questions import questions

DOWN = "\x1b[B"
CLEAR_LINE = "\x15"  # Ctrl-U: drop the pre-filled default


def test_prompts_are_answered_at_a_terminal(tmp_path: Path) -> None:
    prompts = {question.key: question.help for question in questions()}
    child = _new_at_a_terminal(tmp_path)

    def answer(key: str, keys: str) -> None:
        child.expect_exact(prompts[key])
        child.send(keys)

    answer("kind", "\r")  # authorization-server
    answer("project_name", CLEAR_LINE + "Pty Service\r")
    answer("package_name", "\r")  # derived: pty_service
    answer("description", CLEAR_LINE + "Typed at a terminal\r")
    answer("author_name", "\r")
    answer("author_email", "\r")
    answer("jwt_algorithm", DOWN * 9 + "\r")  # the tenth choice: ES256
    answer("access_token_expire_minutes", CLEAR_LINE + "12\r")
    answer("refresh_token_expire_days", "\r")
    answer("storage", DOWN + "\r")  # postgresql
    answer("token_store", "\r")
    child.expect_exact("Next steps")
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 0
    answers = yaml.safe_load((tmp_path / "svc" / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert answers["project_name"] == "Pty Service"
    assert answers["package_name"] == "pty_service"
    assert answers["description"] == "Typed at a terminal"
    assert answers["jwt_algorithm"] == "ES256"
    assert answers["access_token_expire_minutes"] == 12
    assert answers["storage"] == "postgresql"
    assert answers["token_store"] == "database"


def test_ctrl_c_at_a_prompt_exits_130_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    child = _new_at_a_terminal(tmp_path)
    child.expect_exact(questions()[0].help)
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()

    assert child.exitstatus == 130
    shown = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before)  # without the prompt's terminal controls
    assert shown.strip().splitlines()[-1] == "error: interrupted: nothing was written"
    assert list(tmp_path.iterdir()) == []


def _new_at_a_terminal(tmp_path: Path) -> pexpect.spawn:
    """`oauthgen new` in a pseudo-terminal, as a person runs it."""
    return pexpect.spawn(
        sys.executable,
        ["-m", "oauthgen", "new", str(tmp_path / "svc")],
        cwd=str(tmp_path),
        env={**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1"},
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 200),
    )
