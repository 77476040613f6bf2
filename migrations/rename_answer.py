"""Rename a question's key in a project's answers file, so an update keeps the answer under the new name.

copier.yml's `_migrations` run this before an update renders the new template version (Copier runs it
in the project's folder with its own Python; standard library only). A project that never recorded
the old key, or that already has the new one, is left as it is.

    python rename_answer.py OLD_KEY NEW_KEY [--answers-file .copier-answers.yml]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def rename_answer(text: str, old: str, new: str) -> str:
    """``text`` with the top-level key ``old`` renamed ``new``, every other line and byte kept."""
    lines = text.splitlines(keepends=True)
    if any(line.startswith(f"{new}:") for line in lines):
        return text
    return "".join(f"{new}:{line[len(old) + 1 :]}" if line.startswith(f"{old}:") else line for line in lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="the key the project's answers file may still use")
    parser.add_argument("new", help="the key the template asks now")
    parser.add_argument("--answers-file", type=Path, default=Path(".copier-answers.yml"))
    arguments = parser.parse_args()
    for key in (arguments.old, arguments.new):
        if not KEY.match(key):
            parser.error(f"{key!r} is not a question's key")
    path: Path = arguments.answers_file
    text = path.read_text(encoding="utf-8")
    renamed = rename_answer(text, arguments.old, arguments.new)
    if renamed != text:
        path.write_text(renamed, encoding="utf-8")


if __name__ == "__main__":
    main()
