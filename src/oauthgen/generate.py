"""`oauthgen new`: render the template into a scratch folder, then move it into place.

Rendering aside means an invalid answer, a failure or Ctrl-C never leaves a half-written
project behind.
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

from .errors import UsageProblem
from .lock import write_lock
from .questions import check_answers, questions
from .source import TemplateSource, template_source

ANSWERS_FILE = ".copier-answers.yml"
_COPIER_ANSWER_ERROR = re.compile(
    r"^(?:Validation error for question|Invalid choice for) '(?P<key>[^']+)': (?P<reason>.*)$", re.S
)


@dataclass(frozen=True)
class Generated:
    path: Path
    answers: dict[str, Any]
    files: list[Path]


def check_destination(dest: Path, force: bool) -> None:
    if dest.exists() and not dest.is_dir():
        raise UsageProblem(f"{dest}: exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise UsageProblem(f"{dest}: directory is not empty (use --force to write into it)")


def check_can_answer(data: dict[str, Any], defaults: bool) -> None:
    """Without a terminal Copier cannot ask: name every question left unanswered."""
    if defaults or sys.stdin.isatty():
        return
    missing = [question.key for question in questions() if question.key not in data]
    if missing:
        raise UsageProblem(f"no terminal to ask for {', '.join(missing)}: pass --defaults or -d KEY=VALUE")


def generate(dest: Path, data: dict[str, Any], *, defaults: bool, force: bool) -> Generated:
    from copier import run_copy

    check_answers(data)
    check_destination(dest, force)
    check_can_answer(data, defaults)
    source = template_source()
    scratch_parent = _nearest_existing(dest.parent)
    scratch = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=scratch_parent))
    try:
        with copier_problems():
            run_copy(
                source.src_path,
                scratch / "project",
                data=data,
                user_defaults={"project_name": dest.resolve().name},
                vcs_ref=source.vcs_ref,
                defaults=defaults,
                quiet=True,
                overwrite=True,
            )
        rendered = scratch / "project"
        write_lock(rendered, shown_as=dest)
        files = sorted(path.relative_to(rendered) for path in rendered.rglob("*") if path.is_file())
        answers = yaml.safe_load((rendered / ANSWERS_FILE).read_text(encoding="utf-8"))
        _move_into_place(rendered, dest)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Generated(dest, answers, files)


def check_changed_answers(project: Path, data: dict[str, Any], source: TemplateSource) -> None:
    """Validate new answers for an existing project as `new` does, writing nothing: Copier runs its
    questionnaire (choices, validators) in pretend mode, on the project's recorded answers and ``data``."""
    from copier import run_copy

    check_answers(data)
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
    """Copier's complaints about answers and input, as one-line usage problems."""
    from copier.errors import CopierError, InteractiveSessionError

    try:
        yield
    except InteractiveSessionError as exc:
        raise UsageProblem(f"no terminal to ask the remaining questions ({exc}): pass --defaults") from None
    except ValueError as exc:
        raise UsageProblem(_answer_error(exc)) from None
    except CopierError as exc:
        raise UsageProblem(" ".join(str(exc).split())) from None


def _answer_error(exc: ValueError) -> str:
    message = " ".join(str(exc).split())
    match = _COPIER_ANSWER_ERROR.match(message)
    if match:
        return f"{match['key']}: {match['reason']}"
    return message


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
