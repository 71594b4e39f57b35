"""Run every benchmark and print one table: benchmark, rct time, peer, peer time, ratio.

    python benchmarks/run_all.py            # small sizes, a few minutes
    python benchmarks/run_all.py --full     # the sizes of the issues (long; GBs of temp files)
    python benchmarks/run_all.py --only airwave patrols

Each benchmark runs in its own process (``benchmarks/<name>.py``) and prints
JSON lines.  A line ``{"row": {"benchmark": ..., "rct_s": ..., "peer": ...,
"peer_s": ...}}`` is taken as a table row as it is (``ratio`` = rct / peer:
below 1 means rct is faster); for benchmarks that print other figures, an
adapter below turns them into rows (rates become seconds per unit of work,
named in the row).  A benchmark whose output an adapter cannot read still
gets a row saying so, and its output is kept in the log directory
(``--log``).  Times are the benchmarks' own (best of their repeats; CPU
seconds where they report them: the machine may be shared).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name -> (quick arguments, full arguments)
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "airwave": (["2000000", "--repeats", "1"], ["10000000", "--repeats", "2"]),
    "patrols": (["--patrols", "100000"], ["--patrols", "1000000"]),
    "ingest_csv": (["--patrols", "200000", "--crimes", "200000", "--repeats", "1"],
                   ["--patrols", "1000000", "--crimes", "1000000", "--repeats", "2"]),
    "ingest_memory": (["--pings", "500000", "--patrols", "100000"], []),
    "crossover_draws": (["--quick"], []),
    "rerandomise": ([], []),
    "power_sim": ([], []),
    "report_render": (["--hotspots", "20", "--days", "60", "--repeat", "1"], []),
    "simulate_memory": (["--hotspots", "45", "--days", "90"], []),
    "cli_help": (["--repeats", "1"], []),
}


def _row(benchmark: str, rct_s: float | None, peer: str, peer_s: float | None, note: str = ""
         ) -> dict:
    ratio = rct_s / peer_s if rct_s is not None and peer_s else None
    return {"benchmark": benchmark, "rct_s": rct_s, "peer": peer, "peer_s": peer_s, "ratio": ratio,
            "note": note}


def _find(lines: list[dict], **match: object) -> dict:
    for d in lines:
        if all(d.get(k) == v for k, v in match.items()):
            return d
    raise KeyError(str(match))


def _per(rate: float, unit: float) -> float:
    return unit / rate


def adapt_ingest_memory(lines: list[dict]) -> list[dict]:
    peer = _find(lines, step="pyarrow_read_pings")
    runs = [d for d in lines if d.get("step") == "ingest_airwave"]
    best = min(runs, key=lambda d: d.get("cpu_seconds", d.get("seconds")))
    return [_row("ingest airwave CSV (fresh process, CPU)",
                 best.get("cpu_seconds", best.get("seconds")), "pyarrow read_csv typed (CPU)",
                 peer.get("cpu_seconds", peer.get("seconds")),
                 f"peak {best.get('peak_mib', '?')} MiB")]


def adapt_crossover_draws(lines: list[dict]) -> list[dict]:
    out = []
    for d in lines:
        if "v3_draws_per_cpu_s" in d:
            out.append(_row(f"crossover draws {d['hotspots']}x{d['days']} (per 1000, CPU)",
                            _per(d["v3_draws_per_cpu_s"], 1000), "rct-randomise/2 (previous)",
                            _per(d["v2_draws_per_cpu_s"], 1000),
                            f"{d['v3_draws_per_cpu_s']:,.0f} draws/s; word ceiling "
                            f"{d['v3_word_ceiling_draws_per_cpu_s']:,.0f}"))
    return out


def adapt_rerandomise(lines: list[dict]) -> list[dict]:
    used = _find(lines, benchmark="rerandomise.score")
    peer = next(d for d in lines if "peer" in str(d.get("implementation", ""))
                and "numpy" in str(d.get("implementation", "")))
    return [_row("rerandomise score (per 1 M candidates)", _per(used["candidates_per_s"], 1e6),
                 "numpy batch", _per(peer["candidates_per_s"], 1e6))]


def adapt_power_sim(lines: list[dict]) -> list[dict]:
    out = []
    for d in lines:
        if "statsmodels_glm_trials_per_s" in d:
            out.append(_row(f"{d['benchmark']} (per 1000 trials)", _per(d["trials_per_s"], 1000),
                            "statsmodels GLM", _per(d["statsmodels_glm_trials_per_s"], 1000)))
    return out


def adapt_report_render(lines: list[dict]) -> list[dict]:
    return [_row(d["benchmark"], d["seconds_best"], "-", None)
            for d in lines if "seconds_best" in d]


def adapt_simulate_memory(lines: list[dict]) -> list[dict]:
    d = _find(lines, benchmark="simulate_memory")
    sec = d.get("cpu_s", d.get("cpu_seconds", d.get("seconds")))
    peak = d.get("peak_rss_gb")
    return [_row(f"simulate {d.get('hotspots')}x{d.get('days')} (CPU)", sec, "-", None,
                 f"peak {peak} GB" if peak is not None else "")]


def adapt_cli_help(lines: list[dict]) -> list[dict]:
    d = _find(lines, summary=True)
    return [_row("rct <cmd> --help (worst median)", d["worst_median_s"],
                 "python -c 'import typer, pydantic'", d["typer_pydantic_import_floor_s"])]


ADAPTERS: dict[str, Callable[[list[dict]], list[dict]]] = {
    "ingest_memory": adapt_ingest_memory,
    "crossover_draws": adapt_crossover_draws,
    "rerandomise": adapt_rerandomise,
    "power_sim": adapt_power_sim,
    "report_render": adapt_report_render,
    "simulate_memory": adapt_simulate_memory,
    "cli_help": adapt_cli_help,
}


def run(name: str, args: list[str], log: Path, timeout: float) -> list[dict]:
    t = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, str(HERE / f"{name}.py"), *args],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return [_row(name, None, "-", None, f"timed out after {timeout:.0f} s")]
    (log / f"{name}.out").write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    lines = []
    for text in proc.stdout.splitlines():
        try:
            d = json.loads(text)
        except ValueError:
            continue
        if isinstance(d, dict):
            lines.append(d)
    took = time.perf_counter() - t
    if proc.returncode:
        return [_row(name, None, "-", None, f"failed (exit {proc.returncode}); see {log}")]
    rows = [_row(**{k: v for k, v in d["row"].items() if k != "ratio"}) for d in lines
            if isinstance(d.get("row"), dict)]
    if rows:
        return rows
    adapter = ADAPTERS.get(name)
    try:
        rows = adapter(lines) if adapter else []
    except (KeyError, StopIteration, TypeError, ZeroDivisionError):
        rows = []
    return rows or [_row(name, None, "-", None, f"ran in {took:.0f} s; output not read, see {log}")]


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3g}" if v < 100 else f"{v:,.0f}"


def table(rows: list[dict]) -> str:
    head = ["benchmark", "rct (s)", "peer", "peer (s)", "ratio", "note"]
    body = [[r["benchmark"], _fmt(r["rct_s"]), r["peer"], _fmt(r["peer_s"]),
             "-" if r["ratio"] is None else f"{r['ratio']:.3g}", r.get("note", "")] for r in rows]
    width = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, width, strict=True))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in width]), *map(line, body)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="the issues' sizes (slow)")
    ap.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run only these")
    ap.add_argument("--log", type=Path, default=None, help="keep each benchmark's output here")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per benchmark (default 900, 7200 with --full)")
    a = ap.parse_args(argv)
    log = a.log or Path(tempfile.mkdtemp(prefix="rct-bench-"))
    log.mkdir(parents=True, exist_ok=True)
    timeout = a.timeout or (7200.0 if a.full else 900.0)
    rows: list[dict] = []
    for name, (quick, full) in BENCHMARKS.items():
        if a.only and name not in a.only:
            continue
        print(f"# {name} ...", file=sys.stderr, flush=True)
        rows += run(name, full if a.full else quick, log, timeout)
    print(table(rows))
    print(f"\nratio = rct / peer (below 1: rct faster); outputs in {log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
