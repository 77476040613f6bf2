"""Copier glue for both commands: rendering a new project, checking answers, and Copier's errors.

`new` renders the template into a scratch folder, makes its first commit there, then moves it
into place, so an invalid answer, a failure or Ctrl-C never leaves a half-made project behind.
`update` checks changed answers here the same way, in Copier's pretend mode, before it changes
anything.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .bundle import GitError, require_git
from .errors import AnswerProblem, UsageProblem
from .lock import write_lock
from .questions import KIND, asked, check_answers, kind_of
from .repository import Repository, enclosing_work_tree, first_commit
from .template_store import TemplateSource, template_source

ANSWERS_FILE = ".copier-answers.yml"
NAMED_AFTER_FOLDER = "project_name"  # `new` offers the destination folder's name as its default
_COPIER_ANSWER_ERROR = re.compile(
    r"^(?:Validation error for question|Invalid choice for) '(?P<key>[^']+)': (?P<reason>.*)$", re.S
)


@dataclass(frozen=True)
class Generated:
    path: Path
    answers: dict[str, Any]
    files: list[Path]
    repository: Repository | None  # None with --no-git


def check_destination(dest: Path, force: bool) -> None:
    if dest.exists() and not dest.is_dir():
        raise UsageProblem(f"{dest}: exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise UsageProblem(f"{dest}: directory is not empty (use --force to write into it)")


def check_can_answer(data: dict[str, Any], defaults: bool) -> None:
    """Without a terminal Copier cannot ask: name every question left unanswered."""
    if defaults or sys.stdin.isatty():
        return
    missing = [question.key for question in asked(kind_of(data)) if question.key not in data]
    if missing:
        raise UsageProblem(f"no terminal to ask for {', '.join(missing)}: pass --defaults or -d KEY=VALUE")


def generate(dest: Path, data: dict[str, Any], *, defaults: bool, force: bool, repository: bool) -> Generated:
    """Render the template into ``dest``; with ``repository``, leave it committed (see repository.py)."""
    from copier import run_copy

    check_answers(data)
    check_destination(dest, force)
    check_can_answer(data, defaults)
    require_git()  # Copier reads the template from a git bundle
    enclosing = enclosing_work_tree(dest) if repository else None
    source = template_source()
    scratch_parent = _nearest_existing(dest.parent)
    scratch = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=scratch_parent))
    try:
        with copier_problems():
            run_copy(
                source.src_path,
                scratch / "project",
                data=data,
                user_defaults={NAMED_AFTER_FOLDER: dest.resolve().name},
                vcs_ref=source.vcs_ref,
                defaults=defaults,
                quiet=True,
                overwrite=True,
            )
        rendered = scratch / "project"
        write_lock(rendered, shown_as=dest)
        files = sorted(path.relative_to(rendered) for path in rendered.rglob("*") if path.is_file())
        answers = yaml.safe_load((rendered / ANSWERS_FILE).read_text(encoding="utf-8"))
        if not repository:
            made = None
        elif enclosing is not None:
            made = Repository(enclosing, committed=False)
        else:
            message = f"Generate {answers['project_name']} with oauthgen {source.vcs_ref}"
            made = Repository(dest, committed=True, stand_in_author=first_commit(rendered, message))
        _move_into_place(rendered, dest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Generated(dest, answers, files, made)


def check_changed_answers(project: Path, data: dict[str, Any], source: TemplateSource) -> None:
    """Validate new answers for an existing project as `new` does, writing nothing: Copier runs its
    questionnaire (choices, validators) in pretend mode, on the project's recorded answers and ``data``."""
    from copier import run_copy

    recorded = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8")) or {}
    kind = kind_of(recorded)  # projects from before the question were all authorization servers
    if KIND in data and str(data[KIND]) != kind:
        raise UsageProblem(
            f"{KIND}: a project keeps its kind (this one is a {kind}); generate a {data[KIND]} with `oauthgen new`"
        )
    check_answers(data, kind)
    with tempfile.TemporaryDirectory(prefix="oauthgen-check-") as scratch:
        shutil.copyfile(project / ANSWERS_FILE, Path(scratch) / ANSWERS_FILE)
        with copier_problems():
            run_copy(
                source.src_path,
                scratch,
                data=data,
                vcs_ref=source.vcs_ref,
                defaults=True,
                pretend=True,
                quiet=True,
            )


@contextmanager
def copier_problems() -> Iterator[None]:
    """Copier's complaints about answers and input as one-line usage problems, and the git commands
    it runs (through plumbum) that fail as GitError. Ctrl-C at a prompt stays a KeyboardInterrupt."""
    from copier.errors import CopierError, InteractiveSessionError
    from plumbum.commands.processes import ProcessExecutionError

    try:
        yield
    except KeyboardInterrupt:  # Copier's CopierAnswersInterrupt is a CopierError too
        raise
    except InteractiveSessionError as exc:
        raise UsageProblem(f"no terminal to ask the remaining questions ({exc}): pass --defaults") from None
    except ValueError as exc:
        raise _answer_problem(exc) from None
    except CopierError as exc:
        raise UsageProblem(" ".join(str(exc).split())) from None
    except ProcessExecutionError as exc:
        command = " ".join(["git", *map(str, exc.argv[1:])])
        raise GitError(f"{command} failed: {str(exc.stderr).strip()}") from None


def _answer_problem(exc: ValueError) -> UsageProblem:
    message = " ".join(str(exc).split())
    match = _COPIER_ANSWER_ERROR.match(message)
    if match:
        return AnswerProblem(match["key"], match["reason"])
    return UsageProblem(message)


def _nearest_existing(path: Path) -> Path:
    path = path.resolve()
    while not path.exists():
        path = path.parent
    return path


def _move_into_place(rendered: Path, dest: Path) -> None:
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        rendered.rename(dest)
    else:
        shutil.copytree(rendered, dest, dirs_exist_ok=True)
