"""What the commands print: Rich tables and trees for people, JSON for scripts."""

from __future__ import annotations

import json
from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.tree import Tree

from .questions import questions
from .rendering import NAMED_AFTER_FOLDER, Generated
from .update import Updated

console = Console()


def show_generated(generated: Generated) -> None:
    table = Table(title="Options", show_header=True, header_style="bold")
    table.add_column("Question", no_wrap=True)
    table.add_column("Answer")
    for question in questions():
        table.add_row(question.key, str(generated.answers.get(question.key, "")))
    console.print(table)
    console.print(_file_tree(generated.path, generated.files))
    package = generated.answers["package_name"]
    steps = "\n".join(
        [
            f"cd {generated.path}",
            "git init && git add -A && git commit -m 'Generate with oauthgen'   # so `oauthgen update` can run later",
            f"python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/python -m {package} serve",
            ".venv/bin/python -m pytest",
        ]
    )
    console.print(Panel(escape(steps), title="Next steps", expand=False))


def show_updated(updated: Updated) -> None:
    if updated.repaired_source:
        _say(f"The recorded template source {updated.repaired_source} was gone: now using this machine's store.")
    if updated.previous == updated.current:
        _say(f"Template version {updated.current}, unchanged.")
    else:
        _say(f"Updated from {updated.previous} to {updated.current}.")
    if updated.answers:
        _say("Changed answers:")
        for key, old, new in updated.answers:
            _say(f"  {key}: {_answer(old)} -> {_answer(new)}")
    if updated.changed:
        _say("Changed files (review with `git diff`):")
        for name in updated.changed:
            _say(f"  {name}")
    else:
        _say("Nothing changed.")
    if updated.conflicts:
        _say("[bold red]Conflicts[/] (resolve the markers or .rej files, then commit):")
        for name in updated.conflicts:
            _say(f"  {name}")


def show_options(as_json: bool) -> None:
    if as_json:
        print(json.dumps([question.as_dict() for question in questions()], indent=2))
        return
    # Two columns, so that an 80-column terminal leaves the descriptions room to wrap.
    table = Table(box=box.SIMPLE_HEAD, header_style="bold", leading=1)
    table.add_column("Question", no_wrap=True)
    table.add_column("Meaning, choices and default")
    for question in questions():
        lines = [escape(question.help)]
        if question.choices:
            lines.append(f"Choices: {' '.join(question.choices)}")
        default = "derived from the answers before it" if question.derived else escape(str(question.default))
        if question.key == NAMED_AFTER_FOLDER:
            default = f"the project folder's name ({default} for a plain `copier copy`)"
        lines.append(f"Default: {default}" + (" (a whole number)" if question.type == "int" else ""))
        table.add_row(question.key, "\n".join(lines))
    console.print(table)


def _file_tree(root: Path, files: list[Path]) -> Tree:
    tree = Tree(f"[bold]{escape(str(root))}[/]")
    branches: dict[Path, Tree] = {Path(): tree}
    for file in files:
        for parent in reversed(file.parents[:-1]):
            if parent not in branches:
                branches[parent] = branches[parent.parent].add(f"{escape(parent.name)}/")
        branches[file.parent].add(escape(file.name))
    return tree


def _answer(value: object) -> str:
    return "(none)" if value is None else escape(str(value))


def _say(line: str) -> None:
    """One line that scripts can grep: never wrapped at the terminal's width."""
    console.print(line, soft_wrap=True, highlight=False)
