"""The template's questions, read from copier.yml: the one place their keys, choices and defaults live."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .errors import AnswerProblem, UsageProblem
from .template_store import copier_yml


@dataclass(frozen=True)
class Question:
    key: str
    type: str
    help: str
    default: Any
    choices: tuple[str, ...]

    @property
    def derived(self) -> bool:
        return isinstance(self.default, str) and "{{" in self.default

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "type": self.type,
            "help": self.help,
            "default": None if self.derived else self.default,
            "derived": self.derived,
            "choices": list(self.choices),
        }


@cache
def questions(path: Path | None = None) -> tuple[Question, ...]:
    """The questions a user answers, in the order they are asked (computed values left out)."""
    # libyaml where PyYAML has it: the pure-Python loader costs every command a few times more.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    config = yaml.load((path or copier_yml()).read_text(encoding="utf-8"), Loader=loader)
    found = []
    for key, spec in config.items():
        if key.startswith("_") or not isinstance(spec, dict) or spec.get("when") is False:
            continue
        found.append(
            Question(
                key=key,
                type=str(spec.get("type", "str")),
                help=str(spec.get("help", "")),
                default=spec.get("default"),
                choices=tuple(str(choice) for choice in spec.get("choices", ())),
            )
        )
    return tuple(found)


def question(key: str) -> Question:
    return {question.key: question for question in questions()}[key]


def choices_of(key: str) -> tuple[str, ...]:
    return question(key).choices


def check_answers(data: dict[str, Any]) -> None:
    """What Copier cannot say well: it drops unknown keys silently, and a non-number for an
    int question fails without naming the question. Every other rule is copier.yml's."""
    known = {question.key: question for question in questions()}
    for key, value in data.items():
        if key not in known:
            raise AnswerProblem(key, "unknown option (run `oauthgen options` to list them)")
        if known[key].type == "int" and not _is_int(value):
            raise AnswerProblem(key, f"{value!r} is not a whole number")


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True


def parse_pairs(pairs: list[str]) -> dict[str, str]:
    data: dict[str, str] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise UsageProblem(f"--data expects KEY=VALUE, got {pair!r}")
        data[key.strip()] = value
    return data


def read_data_file(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageProblem(f"--data-file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise UsageProblem(f"--data-file {path}: not valid YAML ({exc.__class__.__name__})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise UsageProblem(f"--data-file {path}: expected a mapping of KEY: VALUE")
    return {str(key): value for key, value in loaded.items()}
