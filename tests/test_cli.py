"""The command line: what `new` prints, its help, and its errors: bad input exits 2 with one line
and writes nothing; a failed git command exits 1, Ctrl-C 130, each with one line."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from oauthgen import __version__
from oauthgen.bundle import GitError

from .support.generator import QUESTIONS, asked, oauthgen, recorded_answers
from .support.git import git

CHOICE_QUESTIONS = {key: spec for key, spec in QUESTIONS.items() if asked(spec) and "choices" in spec}
METAVARS = {"--algorithm": "ALG", "--storage": "DB", "--token-store": "STORE", "--access-minutes": "MINUTES"}
METAVARS |= {"--refresh-days": "DAYS", "--data": "KEY=VALUE", "--data-file": "FILE"}


def test_new_with_defaults_generates_and_reports(tmp_path: Path) -> None:
    code, out, err = oauthgen("new", str(tmp_path / "demo"), "--defaults")

    assert code == 0, err
    answers = recorded_answers(tmp_path / "demo")
    assert answers["project_name"] == "demo"
    assert answers["jwt_algorithm"] == "HS256"
    assert answers["_commit"] == f"v{__version__}"
    assert answers["_src_path"] == "~/.local/share/oauthgen/template.bundle"
    assert re.search(r"^  jwt_algorithm +HS256$", out, re.M)  # the answers
    written = len([path for path in (tmp_path / "demo").rglob("*") if path.is_file() and ".git" not in path.parts])
    assert f"Wrote {written} files to {tmp_path / 'demo'} and committed them in a new git repository.\n" in out
    assert "main.py" not in out  # no file tree without --tree
    assert f"  cd {tmp_path / 'demo'}\n" in out  # the next steps
    assert ".venv/bin/python -m demo serve" in out
    assert ".venv/bin/python -m pytest" in out
    assert "git init" not in out and "git add" not in out
    assert err == ""


def test_default_output_fits_in_25_lines_of_a_terminal(tmp_path: Path) -> None:
    """As a user sees it: the installed command, 80 columns, standard output and error together."""
    result = subprocess.run(
        [sys.executable, "-m", "oauthgen", "new", "demo", "--defaults"],
        cwd=tmp_path,
        env={**os.environ, "COLUMNS": "80"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout
    lines = result.stdout.splitlines()
    assert len(lines) < 25, result.stdout
    assert "Next steps" in lines


def test_tree_prints_the_files_written(tmp_path: Path) -> None:
    code, out, err = oauthgen("new", str(tmp_path / "demo"), "--defaults", "--tree")

    assert code == 0, err
    assert "main.py" in out
    assert "test_verified_tokens.py" in out
    assert not re.search(r"── \.git/$", out, re.M), "the tree shows the files written, not the repository"


def test_typed_flags_data_and_data_file_are_applied(tmp_path: Path) -> None:
    data_file = tmp_path / "answers.yml"
    data_file.write_text("description: From a file\nstorage: mysql\n", encoding="utf-8")

    code, _, err = oauthgen(
        "new",
        str(tmp_path / "svc"),
        "--defaults",
        "--data-file",
        str(data_file),
        "-d",
        "project_name=Billing API",
        "--algorithm",
        "ES384",
        "--storage",
        "postgresql",
        "--token-store",
        "redis",
        "--access-minutes",
        "15",
        "--refresh-days",
        "0",
    )

    assert code == 0, err
    answers = recorded_answers(tmp_path / "svc")
    assert answers["description"] == "From a file"
    assert answers["project_name"] == "Billing API"
    assert answers["package_name"] == "billing_api"
    assert answers["jwt_algorithm"] == "ES384"
    assert answers["storage"] == "postgresql"  # the typed flag wins over the data file
    assert answers["token_store"] == "redis"
    assert answers["access_token_expire_minutes"] == 15
    assert answers["refresh_token_expire_days"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # A refused answer is named as the user gave it: the flag typed, or the key of -d.
        (["--algorithm", "HS999"], "error: --algorithm: 'HS999' is not in ['HS256',"),
        (["--storage", "oracle"], "error: --storage: 'oracle' is not in ['sqlite', 'postgresql', 'mysql']"),
        (["--token-store", "memcached"], "error: --token-store: 'memcached' is not in ['database', 'redis']"),
        (["--access-minutes", "0"], "error: --access-minutes: must be a whole number from 1 to 1440"),
        (["--access-minutes", "1441"], "error: --access-minutes: must be a whole number from 1 to 1440"),
        (["--access-minutes", "soon"], "error: --access-minutes: 'soon' is not a whole number"),
        (["--refresh-days", "-1"], "error: --refresh-days: must be a whole number, 0 or more"),
        (["-d", "access_token_expire_minutes=0"], "error: access_token_expire_minutes: must be a whole number"),
        (["-d", "refresh_token_expire_days=x"], "error: refresh_token_expire_days: 'x' is not a whole number"),
        (["-d", "storage=x", "--storage", "oracle"], "error: --storage: 'oracle' is not in"),
        (["--storage", "sqlite", "-d", "storage=oracle"], None),  # the flag wins: nothing to refuse
        (["-d", "project_name=9 lives"], "error: project_name: must start with a letter"),
        (["-d", "package_name=class"], "error: package_name: 'class' is a Python keyword"),
        (["-d", "package_name=My-Pkg"], "error: package_name: must be a lowercase Python identifier"),
        (["-d", "author_email=nobody"], "error: author_email: must be an e-mail address"),
        (["-d", "colour=blue"], "error: colour: unknown option"),
        (["-d", "storage"], "error: --data expects KEY=VALUE, got 'storage'"),
    ],
)
def test_bad_answer_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, args: list[str], message: str | None
) -> None:
    code, _, err = oauthgen("new", str(tmp_path / "demo"), "--defaults", *args)

    if message is None:
        assert code == 0, err
        return
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert err.startswith(message)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("storage: oracle", "storage: 'oracle' is not in ['sqlite', 'postgresql', 'mysql']"),
        ("access_token_expire_minutes: soon", "access_token_expire_minutes: 'soon' is not a whole number"),
        ("colour: blue", "colour: unknown option"),
    ],
)
def test_a_refused_answer_from_the_data_file_names_the_file(tmp_path: Path, line: str, message: str) -> None:
    data_file = tmp_path / "answers.yml"
    data_file.write_text(line + "\n", encoding="utf-8")

    code, _, err = oauthgen("new", str(tmp_path / "demo"), "--defaults", "--data-file", str(data_file))

    assert code == 2
    assert err.startswith(f"error: --data-file {data_file}: {message}")
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "demo").exists()


def test_bad_data_file_exits_2(tmp_path: Path) -> None:
    data_file = tmp_path / "answers.yml"
    data_file.write_text("- not\n- a mapping\n", encoding="utf-8")

    code, _, err = oauthgen("new", str(tmp_path / "demo"), "--defaults", "--data-file", str(data_file))

    assert code == 2
    assert err.strip() == f"error: --data-file {data_file}: expected a mapping of KEY: VALUE"
    assert not (tmp_path / "demo").exists()


def test_non_empty_destination_is_refused_without_force(tmp_path: Path) -> None:
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine", encoding="utf-8")

    code, _, err = oauthgen("new", str(dest), "--defaults")

    assert code == 2
    assert err.strip() == f"error: {dest}: directory is not empty (use --force to write into it)"
    assert [path.name for path in dest.iterdir()] == ["notes.txt"]
    assert [path.name for path in tmp_path.iterdir()] == ["busy"]


def test_force_writes_into_a_non_empty_destination_and_keeps_other_files(tmp_path: Path) -> None:
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "notes.txt").write_text("mine", encoding="utf-8")

    code, _, err = oauthgen("new", str(dest), "--defaults", "--force")

    assert code == 0, err
    assert (dest / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert (dest / "src" / "busy" / "main.py").is_file()
    assert git(dest, "status", "--porcelain") == "?? notes.txt\n", "the first commit holds what `new` wrote"


def test_no_terminal_and_missing_answers_names_them(tmp_path: Path) -> None:
    given = [f"{key}=x" for key in ("description", "author_name")]

    code, _, err = oauthgen("new", str(tmp_path / "demo"), *[arg for pair in given for arg in ("-d", pair)])

    assert code == 2
    missing = [
        key
        for key, spec in QUESTIONS.items()
        if asked(spec, "authorization-server") and key not in ("description", "author_name")
    ]
    assert err.strip() == f"error: no terminal to ask for {', '.join(missing)}: pass --defaults or -d KEY=VALUE"
    assert list(tmp_path.iterdir()) == []


def test_interrupt_leaves_no_half_written_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import copier

    real_run_copy = copier.run_copy

    def copy_then_interrupt(*args: object, **kwargs: object) -> object:
        real_run_copy(*args, **kwargs)  # files are on disk when Ctrl-C arrives
        raise KeyboardInterrupt

    monkeypatch.setattr(copier, "run_copy", copy_then_interrupt)

    code, _, err = oauthgen("new", str(tmp_path / "demo"), "--defaults")

    assert code == 130
    assert err.strip() == "error: interrupted: nothing was written"
    assert list(tmp_path.iterdir()) == []


def test_interrupt_during_the_first_commit_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from oauthgen import rendering

    def interrupted(project: Path, message: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(rendering, "first_commit", interrupted)

    code, _, err = oauthgen("new", str(tmp_path / "demo"), "--defaults")

    assert code == 130
    assert err.strip() == "error: interrupted: nothing was written"
    assert list(tmp_path.iterdir()) == []


def test_a_failed_first_commit_exits_1_and_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from oauthgen import rendering

    def failed(project: Path, message: str) -> None:
        raise GitError("git commit -q --no-verify -m Generate failed: fatal: cannot lock ref 'HEAD'\nhint: retry")

    monkeypatch.setattr(rendering, "first_commit", failed)

    code, _, err = oauthgen("new", str(tmp_path / "demo"), "--defaults")

    assert code == 1
    assert err == "error: git commit -q --no-verify -m Generate failed: fatal: cannot lock ref 'HEAD' hint: retry\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["new", "update"])
def test_without_git_the_commands_refuse_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    """Copier reads the template from a git bundle, so nothing works without git: say so, write nothing."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "demo").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))

    code, _, err = oauthgen(command, str(tmp_path / "demo"), *(["--defaults"] if command == "new" else []))

    assert code == 1
    assert err == "error: git is not installed (no `git` on PATH); oauthgen needs it for its template and projects\n"
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["bin", "demo"]


def test_options_json_lists_every_question_with_choices_and_defaults() -> None:
    code, out, _ = oauthgen("options", "--json")

    assert code == 0
    listed = {entry["key"]: entry for entry in json.loads(out)}
    questions = {key: spec for key, spec in QUESTIONS.items() if asked(spec)}
    assert list(listed) == list(questions)
    assert listed["jwt_algorithm"]["choices"] == questions["jwt_algorithm"]["choices"]
    assert listed["jwt_algorithm"]["default"] == "HS256"
    assert listed["access_token_expire_minutes"]["default"] == 30
    assert listed["package_name"]["derived"] is True
    assert all(entry["help"] for entry in listed.values())


def test_options_table_reads_at_80_columns() -> None:
    code, out, _ = oauthgen("options", env={"COLUMNS": "80"})

    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "…" not in out, "nothing is cut short"
    for key, spec in QUESTIONS.items():
        if asked(spec):
            assert re.search(rf"^  {key} ", out, re.M)
    for spec in CHOICE_QUESTIONS.values():
        assert all(re.search(rf"\b{choice}\b", out) for choice in spec["choices"])


def test_version() -> None:
    code, out, _ = oauthgen("--version")

    assert code == 0
    assert out.strip() == f"oauthgen {__version__}"


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_do_not_import_copier(flag: str) -> None:
    probe = (
        "import sys\n"
        "from oauthgen.cli import app\n"
        f"try:\n    app([{flag!r}], prog_name='oauthgen')\nexcept SystemExit:\n    pass\n"
        "print('COPIER LOADED' if 'copier' in sys.modules else 'COPIER NOT LOADED')\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)

    assert result.stdout.strip().endswith("COPIER NOT LOADED")


def test_help_groups_options_in_panels() -> None:
    code, out, _ = oauthgen("new", "--help")

    assert code == 0
    assert "Answers" in out
    assert "Main options" in out


@pytest.mark.parametrize("command", ["new", "update"])
def test_help_shows_each_option_s_metavar_choices_and_default_at_80_columns(command: str) -> None:
    code, out, _ = oauthgen(command, "--help", env={"COLUMNS": "80"})

    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 80
    words = " ".join(line.strip("│ ") for line in out.splitlines())  # the help column, unwrapped
    for flag, metavar in METAVARS.items():
        assert re.search(rf"{flag} +(-d +)?{re.escape(metavar)} ", out), flag
    for key, spec in CHOICE_QUESTIONS.items():
        assert f"one of {' '.join(spec['choices'])}. [default: {spec['default']}]" in " ".join(words.split()), key
    assert "[default: 30]" in words and "[default: 7]" in words
    if command == "new":
        assert re.search(r"^ Usage: oauthgen new \[OPTIONS\] \S*DEST", out, re.M)
        assert "--no-git" in out and "--tree" in out


def test_update_refuses_a_folder_outside_git(tmp_path: Path) -> None:
    code, _, err = oauthgen("update", str(tmp_path))

    assert code == 2
    assert err.strip() == f"error: {tmp_path}: not a git repository (updates are applied as a reviewable diff)"


def test_update_refuses_a_dirty_repository(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    assert oauthgen("new", str(project), "--defaults")[0] == 0
    (project / "scratch.txt").write_text("untracked", encoding="utf-8")

    code, _, err = oauthgen("update", str(project))

    assert code == 2
    assert err.strip() == f"error: {project}: uncommitted changes; commit or stash them before updating"


def test_update_refuses_a_repository_that_is_not_a_project(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")

    code, _, err = oauthgen("update", str(tmp_path))

    assert code == 2
    assert err.strip() == f"error: {tmp_path}: no .copier-answers.yml, so not a project generated by oauthgen"


def test_unchanged_project_updates_to_nothing(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    assert oauthgen("new", str(project), "--defaults")[0] == 0

    code, out, err = oauthgen("update", str(project))

    assert code == 0, err
    assert "Nothing changed." in out
    assert git(project, "status", "--porcelain") == ""


def test_update_names_the_flag_of_a_refused_answer(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    assert oauthgen("new", str(project), "--defaults")[0] == 0

    code, _, err = oauthgen("update", str(project), "--access-minutes", "0")

    assert code == 2
    assert err == "error: --access-minutes: must be a whole number from 1 to 1440\n"
    assert git(project, "status", "--porcelain") == ""


def test_update_ends_a_failed_git_command_with_one_line_and_exit_1(tmp_path: Path) -> None:
    project = tmp_path / "demo"
    assert oauthgen("new", str(project), "--defaults")[0] == 0
    (project / ".git" / "index").write_bytes(b"not an index")

    code, out, err = oauthgen("update", str(project))

    assert code == 1
    assert out == ""
    assert err.startswith("error: git status --porcelain -- . failed: ")
    assert "index" in err
    assert len(err.splitlines()) == 1


def test_update_ends_a_failed_git_command_of_copier_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copier
    from plumbum.commands.processes import ProcessExecutionError

    project = tmp_path / "demo"
    assert oauthgen("new", str(project), "--defaults")[0] == 0

    def apply_fails(*args: object, **kwargs: object) -> None:
        argv = ["/usr/bin/git", "apply", "--reject", "--exclude", ".git"]
        raise ProcessExecutionError(
            argv, 1, "", "error: patch failed: README.md:3\nerror: README.md: patch does not apply"
        )

    monkeypatch.setattr(copier, "run_update", apply_fails)

    code, _, err = oauthgen("update", str(project))

    assert code == 1
    assert err == (
        "error: git apply --reject --exclude .git failed: "
        "error: patch failed: README.md:3 error: README.md: patch does not apply\n"
    )


def test_update_interrupted_exits_130_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import copier

    project = tmp_path / "demo"
    assert oauthgen("new", str(project), "--defaults")[0] == 0

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(copier, "run_update", interrupted)

    code, out, err = oauthgen("update", str(project))

    assert code == 130
    assert out == ""
    assert err == (
        "error: interrupted: the update may be half applied; `git status` shows what it changed "
        "(the project was clean before)\n"
    )


def test_new_resource_server_records_its_kind_and_preset_and_no_authorization_server_answer(tmp_path: Path) -> None:
    project = tmp_path / "api"
    code, _, err = oauthgen("new", str(project), "--kind", "resource-server", "--defaults")

    assert code == 0, err
    answers = recorded_answers(project)
    assert answers["kind"] == "resource-server"
    assert answers["issuer_preset"] == "oauthgen"
    only_for_authorization_servers = {
        key for key, spec in QUESTIONS.items() if asked(spec) and not asked(spec, "resource-server")
    }
    assert "storage" in only_for_authorization_servers
    assert not only_for_authorization_servers & set(answers)
    assert (project / "src" / "api" / "issuer" / "keys.py").is_file()

    code, out, err = oauthgen("update", str(project))
    assert code == 0, err
    assert "Nothing changed." in out

    code, _, err = oauthgen("update", str(project), "-d", "kind=authorization-server")
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("error: kind: a project keeps its kind")
    assert git(project, "status", "--porcelain") == ""
    assert recorded_answers(project) == answers


def test_an_authorization_server_answer_for_a_resource_server_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    code, _, err = oauthgen(
        "new", str(tmp_path / "api"), "--kind", "resource-server", "--defaults", "-d", "storage=postgresql"
    )

    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("error: storage: ")
    assert list(tmp_path.iterdir()) == []
