"""The template's questions, read from copier.yml: the one place their keys, choices and defaults live."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .errors import AnswerProblem, UsageProblem
from .template_store import copier_yml

KIND = "kind"
# How copier.yml asks a question of one kind of project only: `when: "{{ kind == 'resource-server' }}"`.
_ONE_KIND = re.compile(r"^\{\{\s*kind\s*==\s*'(?P<kind>[a-z-]+)'\s*\}\}$")


@dataclass(frozen=True)
class Question:
    key: str
    type: str
    help: str
    default: Any
    choices: tuple[str, ...]
    kinds: tuple[str, ...]  # the kinds of project it is asked for; empty: every kind

    def asked_for(self, kind: str) -> bool:
        return not self.kinds or kind in self.kinds

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
            "kinds": list(self.kinds),
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
        when = spec.get("when")
        one_kind = _ONE_KIND.match(when) if isinstance(when, str) else None
        if when is not None and one_kind is None:
            raise ValueError(f"copier.yml: {key}: `when` must be false or name one kind, not {when!r}")
        found.append(
            Question(
                key=key,
                type=str(spec.get("type", "str")),
                help=str(spec.get("help", "")),
                default=spec.get("default"),
                choices=tuple(str(choice) for choice in spec.get("choices", ())),
                kinds=(one_kind["kind"],) if one_kind else (),
            )
        )
    return tuple(found)


def question(key: str) -> Question:
    return {question.key: question for question in questions()}[key]


def choices_of(key: str) -> tuple[str, ...]:
    return question(key).choices


def kind_of(data: dict[str, Any]) -> str:
    """The kind of project DATA describes: its answer, or the question's default."""
    return str(data.get(KIND, question(KIND).default))


def asked(kind: str) -> tuple[Question, ...]:
    """The questions a project of KIND answers."""
    return tuple(question for question in questions() if question.asked_for(kind))


def check_answers(data: dict[str, Any], kind: str | None = None) -> None:
    """What Copier cannot say well: it drops unknown keys silently (and the answers to questions of
    another kind of project), and a non-number for an int question fails without naming the question.
    Every other rule is copier.yml's. KIND is the project's when it has one already (an update)."""
    known = {question.key: question for question in questions()}
    kind = kind or kind_of(data)
    if kind not in known[KIND].choices:
        raise AnswerProblem(KIND, f"{kind!r} is not one of {', '.join(known[KIND].choices)}")
    for key, value in data.items():
        if key not in known:
            raise AnswerProblem(key, "unknown option (run `oauthgen options` to list them)")
        if not known[key].asked_for(kind):
            only = " and ".join(known[key].kinds)
            raise AnswerProblem(key, f"asked only of {only} projects, not of {kind} ones")
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
