"""The one error type the CLI turns into a one-line message and exit code 2."""


class UsageProblem(Exception):
    """Bad input from the user: an invalid answer, a non-empty target, a dirty repository."""
