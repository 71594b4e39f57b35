"""How fast do `rct --help` and every `rct <cmd> --help` answer?  Goal: < 0.5 s.

Runs each help command in a fresh subprocess (as a user would), several
times, and prints one JSON line per command with the median and maximum wall
time, then a summary line.  The peers are the bare interpreter start-up
(``python -c pass``), ``import typer`` and ``import typer, pydantic`` (typer
0.29 coerces parameter values through pydantic, so every subcommand's help
imports it): the floor no Typer CLI can beat.  The machine is shared, so times are noisy; the
goal is judged on the median.

    .venv/bin/python benchmarks/cli_help.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

GOAL_S = 0.5


def command_paths() -> list[list[str]]:
    """Every command and group path of the Typer app, e.g. ["hotspots", "build"]."""
    import typer

    from rct.cli import app

    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]

    def walk(cmd: object, prefix: list[str]) -> None:
        if isinstance(getattr(cmd, "commands", None), dict):  # a group (click or typer's own)
            for name in sorted(cmd.commands):
                sub = cmd.commands[name]
                paths.append([*prefix, name])
                walk(sub, [*prefix, name])

    walk(root, [])
    return paths


def rct_executable() -> list[str]:
    """The installed console script beside this interpreter, else ``python -c``."""
    script = Path(sys.executable).with_name("rct")
    if script.exists():
        return [str(script)]
    found = shutil.which("rct")
    if found:
        return [found]
    return [sys.executable, "-c", "from rct.cli import entry; entry()"]


def _child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(argv: list[str], repeats: int) -> tuple[list[float], list[float], int]:
    """Wall times and CPU times (user + system of the child: robust to a busy machine)."""
    times, cpu, code = [], [], 0
    for _ in range(repeats):
        c0 = _child_cpu()
        t0 = time.perf_counter()
        proc = subprocess.run(argv, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        cpu.append(_child_cpu() - c0)
        code = code or proc.returncode
    return times, cpu, code


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    baseline = {}
    for label, argv in (("python -c pass", [sys.executable, "-c", "pass"]),
                        ("python -c 'import typer'", [sys.executable, "-c", "import typer"]),
                        # typer 0.29 coerces parameters through pydantic: any subcommand pays this
                        ("python -c 'import typer, pydantic'",
                         [sys.executable, "-c", "import typer, pydantic"])):
        t, cpu, _ = time_command(argv, args.repeats)
        baseline[label] = t
        print(json.dumps({"benchmark": "cli_help", "peer": label, "repeats": args.repeats,
                          "median_s": round(statistics.median(t), 4), "max_s": round(max(t), 4),
                          "cpu_median_s": round(statistics.median(cpu), 4)}))

    rct = rct_executable()
    medians, cpus, worst, failed = [], [], 0.0, []
    for path in command_paths():
        t, cpu, code = time_command([*rct, *path, "--help"], args.repeats)
        med = statistics.median(t)
        medians.append(med)
        cpus.append(statistics.median(cpu))
        worst = max(worst, max(t))
        if code:
            failed.append(" ".join(path))
        print(json.dumps({
            "benchmark": "cli_help", "command": " ".join(["rct", *path, "--help"]),
            "repeats": args.repeats, "median_s": round(med, 4), "max_s": round(max(t), 4),
            "cpu_median_s": round(cpus[-1], 4), "exit_code": code, "goal_s": GOAL_S, "met": med < GOAL_S and code == 0,
        }))
    floor = statistics.median(baseline["python -c 'import typer, pydantic'"])
    print(json.dumps({
        "benchmark": "cli_help", "summary": True, "commands": len(medians),
        "worst_median_s": round(max(medians), 4), "worst_single_s": round(worst, 4),
        "worst_cpu_median_s": round(max(cpus), 4),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "typer_pydantic_import_floor_s": round(floor, 4),
        "worst_median_over_floor_s": round(max(medians) - floor, 4),
        "failed": failed, "goal_s": GOAL_S, "met": max(medians) < GOAL_S and not failed,
        "met_on_cpu_time": max(cpus) < GOAL_S and not failed,
        "note": ("2-core machine shared with other jobs: wall times are noisy; "
                 "cpu_median_s (child user+system time) is what a quiet machine would see"),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
