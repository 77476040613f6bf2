"""The `oauthgen` command line. Copier is imported only by the commands that need it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="oauthgen",
    help="Generate production-grade OAuth2/JWT FastAPI services, and keep them up to date.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

ANSWERS = "Answers"
MAIN_OPTIONS = "Main options (see `oauthgen options`)"


def _complete(key: str) -> Any:
    def complete(incomplete: str) -> list[str]:
        from .questions import choices_of

        return [choice for choice in choices_of(key) if choice.startswith(incomplete)]

    return complete


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


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


def _main_option(help_text: str, question: str | None = None) -> Any:
    completion = _complete(question) if question else None
    return typer.Option(help=help_text, autocompletion=completion, rich_help_panel=MAIN_OPTIONS)


# The answer options `new` and `update` share, declared once.
Data = Annotated[
    list[str] | None,
    typer.Option("--data", "-d", metavar="KEY=VALUE", help="Answer a question (repeatable).", rich_help_panel=ANSWERS),
]
DataFile = Annotated[
    Path | None, typer.Option("--data-file", help="YAML file of KEY: VALUE answers.", rich_help_panel=ANSWERS)
]
Algorithm = Annotated[str | None, _main_option("JWT signing algorithm.", "jwt_algorithm")]
Storage = Annotated[str | None, _main_option("Database for users.", "storage")]
TokenStore = Annotated[str | None, _main_option("Where token state lives.", "token_store")]
AccessMinutes = Annotated[str | None, _main_option("Access-token lifetime in minutes.")]
RefreshDays = Annotated[str | None, _main_option("Refresh-token lifetime in days (0: none).")]


def _given_answers(
    data_file: Path | None,
    data: list[str] | None,
    algorithm: str | None,
    storage: str | None,
    token_store: str | None,
    access_minutes: str | None,
    refresh_days: str | None,
) -> dict[str, Any]:
    """The answers on the command line: a typed flag wins over -d, which wins over the data file."""
    from .questions import parse_pairs, read_data_file

    typed = {
        "jwt_algorithm": algorithm,
        "storage": storage,
        "token_store": token_store,
        "access_token_expire_minutes": access_minutes,
        "refresh_token_expire_days": refresh_days,
    }
    answers: dict[str, Any] = read_data_file(data_file) if data_file else {}
    answers |= parse_pairs(data or [])
    answers |= {key: value for key, value in typed.items() if value is not None}
    return answers


@app.command(rich_help_panel="Projects")
def new(
    dest: Annotated[Path, typer.Argument(help="Folder to create the service in.", show_default=False)],
    defaults: Annotated[
        bool,
        typer.Option(
            "--defaults", "--no-input", help="Use defaults for unanswered questions.", rich_help_panel=ANSWERS
        ),
    ] = False,
    data: Data = None,
    data_file: DataFile = None,
    algorithm: Algorithm = None,
    storage: Storage = None,
    token_store: TokenStore = None,
    access_minutes: AccessMinutes = None,
    refresh_days: RefreshDays = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a non-empty folder.")] = False,
) -> None:
    """Generate a new service in DEST."""
    from .errors import UsageProblem
    from .rendering import generate
    from .report import show_generated

    try:
        answers = _given_answers(data_file, data, algorithm, storage, token_store, access_minutes, refresh_days)
        generated = generate(dest, answers, defaults=defaults, force=force)
    except UsageProblem as exc:
        raise _fail(str(exc)) from None
    except KeyboardInterrupt:
        raise _fail("interrupted: nothing was written", 130) from None
    show_generated(generated)


@app.command(rich_help_panel="Projects")
def update(
    path: Annotated[Path, typer.Argument(help="The project to update.")] = Path(),
    data: Data = None,
    data_file: DataFile = None,
    algorithm: Algorithm = None,
    storage: Storage = None,
    token_store: TokenStore = None,
    access_minutes: AccessMinutes = None,
    refresh_days: RefreshDays = None,
) -> None:
    """Bring this oauthgen's template into an existing project, keeping your edits; -d or a flag changes an answer."""
    from .errors import UsageProblem
    from .report import show_updated
    from .update import update as run_update

    try:
        answers = _given_answers(data_file, data, algorithm, storage, token_store, access_minutes, refresh_days)
        updated = run_update(path, answers)
    except UsageProblem as exc:
        raise _fail(str(exc)) from None
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
