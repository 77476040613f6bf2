"""What the commands print: Rich tables and trees for people, JSON for scripts."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from .questions import asked, kind_of, questions
from .rendering import NAMED_AFTER_FOLDER, Generated
from .update import Updated

console = Console()


def show_generated(generated: Generated, tree: bool = False) -> None:
    """The answers, what was written, and the next steps: short enough to read at a glance."""
    _say("[bold]Answers[/]")
    answered = asked(kind_of(generated.answers))
    width = max(len(question.key) for question in answered)
    for question in answered:
        _say(f"  {question.key:<{width}}  {escape(str(generated.answers.get(question.key, '')))}")
    if tree:
        console.print(_file_tree(generated.path, generated.files))
    _say("")
    for line in _written(generated):
        _say(line)
    _say("")
    _say("[bold]Next steps[/]")
    for step in _next_steps(generated):
        _say(f"  {escape(step)}")


def _written(generated: Generated) -> list[str]:
    """What `new` wrote, and where the project's history is to be kept."""
    written = f"Wrote {len(generated.files)} files to {escape(str(generated.path))}"
    repository = generated.repository
    if repository is None:
        return [f"{written} (no git repository: `oauthgen update` needs the project committed in one)."]
    if not repository.committed:
        return [f"{written}, inside the git repository at {escape(str(repository.root))}: commit them there."]
    lines = [f"{written} and committed them in a new git repository."]
    if repository.stand_in_author:
        lines.append(
            f"git has no identity here: the first commit names {escape(repository.stand_in_author)} "
            "(set user.name and user.email, then `git commit --amend --reset-author --no-edit`)."
        )
    return lines


def _next_steps(generated: Generated) -> list[str]:
    steps = [f"cd {shlex.quote(str(generated.path))}"]
    if generated.repository is not None and not generated.repository.committed:
        steps.append("git add -A . && git commit -m 'Generate with oauthgen' -- .   # so `oauthgen update` can run")
    package = generated.answers["package_name"]
    return [
        *steps,
        f"python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/python -m {package} serve",
        ".venv/bin/python -m pytest",
    ]


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
    if updated.carried:
        _say("Your edits to files the template moved, merged into their new places:")
        for carried in updated.carried:
            _say(f"  {carried.old} -> {carried.new}" + ("" if carried.clean else " (conflicts marked)"))
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
        if question.kinds:
            lines.append(f"Asked only of: {' '.join(question.kinds)}")
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
