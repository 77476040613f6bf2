"""The errors the CLI turns into one line and exit code 2: bad input, and a refused answer."""


class UsageProblem(Exception):
    """Bad input from the user: an invalid answer, a non-empty target, a dirty repository."""


class AnswerProblem(UsageProblem):
    """An answer that a question refuses. The CLI names the answer as the user gave it: a flag such as
    ``--access-minutes``, the key of ``-d``, or the data file it came from."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason
