"""The `oauthgen` command line: its options, help and exit codes; the work is done elsewhere.

Every expected failure ends with one line on stderr: exit code 2 for bad input (nothing is
written), 1 for a git command that failed or no git at all, 130 for Ctrl-C. Copier is imported
only by the commands that need it, and copier.yml is read only by them and by their --help.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperOption

if TYPE_CHECKING:
    from .questions import Question

app = typer.Typer(
    name="oauthgen",
    help="Generate production-grade OAuth2/JWT FastAPI services, and keep them up to date.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

ANSWERS = "Answers"
MAIN_OPTIONS = "Main options (see `oauthgen options`)"
# The question of copier.yml each main option answers.
FLAGS = {
    "kind": "--kind",
    "issuer_preset": "--issuer-preset",
    "jwt_algorithm": "--algorithm",
    "storage": "--storage",
    "token_store": "--token-store",
    "access_token_expire_minutes": "--access-minutes",
    "refresh_token_expire_days": "--refresh-days",
}
NOTHING_WRITTEN = "nothing was written"
HALF_UPDATED = "the update may be half applied; `git status` shows what it changed (the project was clean before)"


class _AnswerCommand(TyperCommand):
    """A command whose main options show in --help the choices and the default of their question, read
    from copier.yml only when help is asked for."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from .questions import question

        answered = {flag: key for key, flag in FLAGS.items()}
        for param in self.params:
            if isinstance(param, TyperOption) and param.opts[0] in answered:
                param.help = _described(param.help or "", question(answered[param.opts[0]]))
        super().format_help(ctx, formatter)


def _described(help_text: str, question: Question) -> str:
    choices = f": one of {' '.join(question.choices)}" if question.choices else ""
    return f"{help_text}{choices}. \\[default: {question.default}]"  # `\[`: not Rich markup


def _complete(key: str) -> Any:
    def complete(incomplete: str) -> list[str]:
        from .questions import choices_of

        return [choice for choice in choices_of(key) if choice.startswith(incomplete)]

    return complete


def _fail(message: str, code: int = 2) -> typer.Exit:
    one_line = " ".join(line.strip() for line in message.splitlines() if line.strip())  # git may say more
    typer.echo(f"error: {one_line}", err=True)
    return typer.Exit(code)


@contextmanager
def _reported(interrupted: str, names: dict[str, str] | None = None) -> Iterator[None]:
    """End an expected failure with one line and its exit code. ``names`` says how the user gave each
    answer (``--access-minutes``, a -d key, the data file), and a refused answer is named that way."""
    from .bundle import GitError
    from .errors import AnswerProblem, UsageProblem

    try:
        yield
    except AnswerProblem as exc:
        name = (names or {}).get(exc.key, exc.key)  # a derived answer, such as package_name, has no other name
        raise _fail(f"{name}: {exc.reason}") from None
    except UsageProblem as exc:
        raise _fail(str(exc)) from None
    except GitError as exc:
        raise _fail(str(exc), 1) from None
    except KeyboardInterrupt:
        raise _fail(f"interrupted: {interrupted}", 130) from None


def _show_version(value: bool) -> None:
    if value:
        from . import __version__

        typer.echo(f"oauthgen {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    _version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Generate production-grade OAuth2/JWT FastAPI services, and keep them up to date."""


def _main_option(question: str, metavar: str, help_text: str) -> Any:
    return typer.Option(
        FLAGS[question],
        metavar=metavar,
        help=help_text,
        autocompletion=_complete(question),
        rich_help_panel=MAIN_OPTIONS,
    )


# The answer options `new` and `update` share, declared once.
Data = Annotated[
    list[str] | None,
    typer.Option("--data", "-d", metavar="KEY=VALUE", help="Answer a question (repeatable).", rich_help_panel=ANSWERS),
]
DataFile = Annotated[
    Path | None,
    typer.Option("--data-file", metavar="FILE", help="YAML file of KEY: VALUE answers.", rich_help_panel=ANSWERS),
]
Kind = Annotated[str | None, _main_option("kind", "KIND", "What to generate")]
IssuerPreset = Annotated[str | None, _main_option("issuer_preset", "PRESET", "Resource server: who issues its tokens")]
Algorithm = Annotated[str | None, _main_option("jwt_algorithm", "ALG", "JWT signing algorithm")]
Storage = Annotated[str | None, _main_option("storage", "DB", "Database for users")]
TokenStore = Annotated[str | None, _main_option("token_store", "STORE", "Where token state lives")]
AccessMinutes = Annotated[
    str | None, _main_option("access_token_expire_minutes", "MINUTES", "Access-token lifetime in minutes")
]
RefreshDays = Annotated[
    str | None, _main_option("refresh_token_expire_days", "DAYS", "Refresh-token lifetime in days (0: none)")
]


def _given_answers(
    data_file: Path | None,
    data: list[str] | None,
    kind: str | None,
    issuer_preset: str | None,
    algorithm: str | None,
    storage: str | None,
    token_store: str | None,
    access_minutes: str | None,
    refresh_days: str | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The answers on the command line, and how the user named each: the data file's, then -d's, then
    the typed flags', each overriding the ones before."""
    from .questions import parse_pairs, read_data_file

    typed = {
        "kind": kind,
        "issuer_preset": issuer_preset,
        "jwt_algorithm": algorithm,
        "storage": storage,
        "token_store": token_store,
        "access_token_expire_minutes": access_minutes,
        "refresh_token_expire_days": refresh_days,
    }
    answers: dict[str, Any] = {}
    names: dict[str, str] = {}
    if data_file is not None:
        for key, value in read_data_file(data_file).items():
            answers[key], names[key] = value, f"--data-file {data_file}: {key}"
    for key, value in parse_pairs(data or []).items():
        answers[key], names[key] = value, key
    for key, value in typed.items():
        if value is not None:
            answers[key], names[key] = value, FLAGS[key]
    return answers, names


@app.command(cls=_AnswerCommand, rich_help_panel="Projects")
def new(
    dest: Annotated[Path, typer.Argument(metavar="DEST", help="Folder to create the service in.", show_default=False)],
    defaults: Annotated[
        bool,
        typer.Option(
            "--defaults", "--no-input", help="Use defaults for unanswered questions.", rich_help_panel=ANSWERS
        ),
    ] = False,
    data: Data = None,
    data_file: DataFile = None,
    kind: Kind = None,
    issuer_preset: IssuerPreset = None,
    algorithm: Algorithm = None,
    storage: Storage = None,
    token_store: TokenStore = None,
    access_minutes: AccessMinutes = None,
    refresh_days: RefreshDays = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty folder.")] = False,
    no_git: Annotated[
        bool, typer.Option("--no-git", help="Make no git repository (`oauthgen update` needs the project in one).")
    ] = False,
    tree: Annotated[bool, typer.Option("--tree", help="Also print the tree of the files written.")] = False,
) -> None:
    """Generate a new service in DEST, committed in a git repository of its own unless DEST is inside one."""
    from .rendering import generate
    from .report import show_generated

    with _reported(NOTHING_WRITTEN):
        answers, names = _given_answers(
            data_file, data, kind, issuer_preset, algorithm, storage, token_store, access_minutes, refresh_days
        )
    with _reported(NOTHING_WRITTEN, names):
        generated = generate(dest, answers, defaults=defaults, force=force, repository=not no_git)
    show_generated(generated, tree=tree)


@app.command(cls=_AnswerCommand, rich_help_panel="Projects")
def update(
    path: Annotated[Path, typer.Argument(metavar="PROJECT", help="The project to update.")] = Path(),
    data: Data = None,
    data_file: DataFile = None,
    kind: Kind = None,
    issuer_preset: IssuerPreset = None,
    algorithm: Algorithm = None,
    storage: Storage = None,
    token_store: TokenStore = None,
    access_minutes: AccessMinutes = None,
    refresh_days: RefreshDays = None,
) -> None:
    """Bring this oauthgen's template into an existing project, keeping your edits; -d or a flag changes an answer."""
    from .report import show_updated
    from .update import update as run_update

    with _reported(NOTHING_WRITTEN):
        answers, names = _given_answers(
            data_file, data, kind, issuer_preset, algorithm, storage, token_store, access_minutes, refresh_days
        )
    with _reported(HALF_UPDATED, names):
        updated = run_update(path, answers)
    show_updated(updated)
    if updated.conflicts:
        raise typer.Exit(1)


@app.command(rich_help_panel="Reference")
def options(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List every question, its choices and its default."""
    from .report import show_options

    show_options(as_json=as_json)
