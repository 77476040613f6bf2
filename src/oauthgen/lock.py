"""uv.lock for generated projects: the exact versions their CI and image install.

`oauthgen new` and `oauthgen update` write it with the `uv` package oauthgen depends on. Locking reads
the package index, so it may fail (offline, an index that refuses): then the project is still generated,
and one warning line says how to write the lock later.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

LOCK_FILE = "uv.lock"
# Long enough for a first resolution with an empty cache; a hung index must not hang the command.
TIMEOUT_SECONDS = 300


def write_lock(project: Path, shown_as: Path | None = None) -> bool:
    """Run `uv lock` in ``project``; True when uv.lock is written and current.

    On failure, print one warning line naming ``shown_as`` (the folder the user knows; ``project`` by
    default) and the command to run there, and return False: a missing lock never fails generation.
    """
    from uv import find_uv_bin

    where = shown_as or project
    try:
        result = subprocess.run(
            # The interpreter running oauthgen (3.11 or later) resolves: uv need not look for or fetch one.
            [find_uv_bin(), "lock", "--quiet", "--no-progress", "--python", sys.executable],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=False,
        )
        reason = _reason(result.stderr) if result.returncode else ""
    except subprocess.TimeoutExpired:
        reason = f"uv lock took longer than {TIMEOUT_SECONDS} s"
    except OSError as exc:  # uv's binary missing or not executable
        reason = str(exc)
    if not reason:
        return True
    print(
        f"warning: {where / LOCK_FILE} was not written ({reason}); run `uv lock` in {where} to write it",
        file=sys.stderr,
    )
    return False


def _reason(output: str) -> str:
    """uv's error on one line: its first line, and its last (the root cause or a hint) when there are more."""
    lines = [line.strip().removeprefix("error: ") for line in output.splitlines() if line.strip()]
    if not lines:
        return "uv lock failed"
    last = lines[-1].removeprefix("cause: ").removeprefix("hint: ")
    return lines[0] if len(lines) == 1 else f"{lines[0]}: {last}"
