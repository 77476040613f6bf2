"""Generator benchmarks: `oauthgen new --no-git` against a plain `copier copy` of the same template
version (the same work), `oauthgen new` with its first commit, start-up of `oauthgen --help` and
`--version`, and `oauthgen update` of an unchanged project against a plain `copier update` of it.

Every figure is the median of several runs, measured side by side in one run; ratios matter more
than seconds on a shared machine. By default oauthgen is measured as users run it: built into a
wheel and installed in a virtual environment of its own. `--source` measures this checkout's
editable install instead, which rebuilds the template bundle from git on every run.

Usage: python bench/generator.py [--runs N] [--source]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def timed(command: list[str], cwd: Path | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - started


def median_of(runs: int, command: list[str], cwd: Path | None = None, before: object = None) -> float:
    samples = []
    for _ in range(runs):
        if callable(before):
            before()
        samples.append(timed(command, cwd))
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--source", action="store_true", help="measure this checkout's editable install")
    options = parser.parse_args()
    runs = options.runs
    scratch = Path(tempfile.mkdtemp(prefix="oauthgen-bench-"))
    try:
        os.environ["COPIER_SETTINGS_PATH"] = str(scratch / "no-settings.yml")
        (scratch / "no-settings.yml").write_text("{}\n")
        bin_dir = Path(sys.executable).parent if options.source else _install_wheel(scratch)
        oauthgen, copier = str(bin_dir / "oauthgen"), str(bin_dir / "copier")
        # Warm-up: builds the per-user template store both commands then read.
        subprocess.run([oauthgen, "new", str(scratch / "warm"), "--defaults"], check=True, capture_output=True)
        source = _answers(scratch / "warm")

        def clean() -> None:
            for name in ("a", "b"):
                shutil.rmtree(scratch / name, ignore_errors=True)

        new = median_of(runs, [oauthgen, "new", str(scratch / "a"), "--defaults", "--no-git"], before=clean)
        committed = median_of(runs, [oauthgen, "new", str(scratch / "a"), "--defaults"], before=clean)
        copy = median_of(
            runs,
            [copier, "copy", "--defaults", "--quiet", "-r", source["_commit"], source["_src_path"], str(scratch / "b")],
            before=clean,
        )
        help_ = median_of(runs, [oauthgen, "--help"])
        version = median_of(runs, [oauthgen, "--version"])
        project = scratch / "warm"  # committed by `oauthgen new`
        update = median_of(runs, [oauthgen, "update", str(project)])
        # What `oauthgen update` asks of Copier, asked directly.
        copier_update = median_of(
            runs,
            [copier, "update", "--defaults", "--quiet", "--conflict", "inline", "-r", source["_commit"]],
            cwd=project,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    how = "editable install" if options.source else "installed wheel"
    print(f"| Generator ({how}, median of {runs} runs) | seconds | ratio |")
    print("|---|---:|---:|")
    print(f"| `copier copy --defaults` (same template version) | {copy:.3f} | 1.00 |")
    print(f"| `oauthgen new --defaults --no-git` | {new:.3f} | {new / copy:.2f} |")
    print(f"| `oauthgen new --defaults` (and its first commit) | {committed:.3f} | {committed / copy:.2f} |")
    print(f"| `oauthgen --help` | {help_:.3f} | |")
    print(f"| `oauthgen --version` | {version:.3f} | |")
    print(f"| `copier update` (unchanged project, same options) | {copier_update:.3f} | 1.00 |")
    print(f"| `oauthgen update` (unchanged project) | {update:.3f} | {update / copier_update:.2f} |")


def _install_wheel(scratch: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(scratch / "dist")],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    (wheel,) = (scratch / "dist").glob("oauthgen-*.whl")
    subprocess.run([sys.executable, "-m", "venv", str(scratch / "venv")], check=True)
    pip = [str(scratch / "venv" / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, str(wheel)], check=True, capture_output=True)
    return scratch / "venv" / "bin"


def _answers(project: Path) -> dict[str, str]:
    answers: dict[str, str] = {}
    for line in (project / ".copier-answers.yml").read_text().splitlines():
        key, _, value = line.partition(": ")
        if key in ("_commit", "_src_path"):
            answers[key] = os.path.expanduser(value)
    return answers


if __name__ == "__main__":
    main()
