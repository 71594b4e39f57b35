"""Benchmark: peak memory and CPU of `rct ingest airwave` and `rct ingest patrols` on CSV.

Issue 15 (case 7): peak memory set by ``--chunk-rows``, not by the input --
goals: 50 M pings under 1.5 GB, 5 M patrol rows under 2 GB, with the same
results at every chunk size.  Issue 16 (goal 2): ``rct ingest airwave`` on
CSV at most 3x the pyarrow CSV read of the same columns.

Each measurement runs the real command (``rct.cli.main``) in a fresh
process and reports that process's peak RSS (``VmHWM`` from
``/proc/self/status``; ``ru_maxrss`` elsewhere) and CPU seconds; the pyarrow
peer (``pyarrow.csv.read_csv`` of the same typed columns) runs in a fresh
process too.  "Same result" compares the SHA-256 of the output tables
written at two chunk sizes.  Prints JSON lines.

``--crimes 1000000 3000000`` adds `rct ingest crimes` on police.uk street CSVs of those
sizes (peak RSS and bytes per row; the crime reader still reads each file whole), and
``--pings 0 --patrols 0`` runs those alone.

Run: ``python benchmarks/ingest_memory.py`` (50 M pings, 5 M patrols; about
2.5 GB + 0.4 GB of temporary CSV), or smaller:
``python benchmarks/ingest_memory.py --pings 2000000 --patrols 500000``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

KEY = "benchmark-key-0123456789abcdef"
CHILD = r"""
import json, os, resource, sys, time
def peak_mib():
    try:
        for line in open('/proc/self/status'):
            if line.startswith('VmHWM:'):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
kind, args = sys.argv[1], sys.argv[2:]
t, c = time.perf_counter(), time.process_time()
if kind == "rct":
    from rct.cli import main
    code = main(args)
elif kind == "pyarrow":
    import pyarrow as pa, pyarrow.csv as pc
    types = json.loads(args[1])
    t_ = {k: getattr(pa, v)() if v != "timestamp" else pa.timestamp("ns") for k, v in types.items()}
    table = pc.read_csv(args[0], convert_options=pc.ConvertOptions(column_types=t_,
                        include_columns=list(t_)))
    code = 0 if table.num_rows else 1
print(json.dumps({"code": code, "seconds": time.perf_counter() - t,
                  "cpu_seconds": time.process_time() - c, "peak_mib": peak_mib()}))
"""


def emit(**kw: object) -> None:
    print(json.dumps({"benchmark": "ingest_memory", **kw}), flush=True)


def child(kind: str, args: list[str]) -> dict:
    env = {**os.environ, "RCT_PSEUDONYM_KEY": KEY}
    run = subprocess.run([sys.executable, "-c", CHILD, kind, *args], capture_output=True,
                         text=True, env=env, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"{kind} {args} failed:\n{run.stderr[-2000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def table_sha(path: Path) -> str:
    """SHA-256 of the table's content (rows sorted), independent of file layout."""
    import pandas as pd

    df = pd.read_parquet(path)
    df = df.sort_values(list(df.columns[:2])).reset_index(drop=True)
    h = pd.util.hash_pandas_object(df, index=False).to_numpy()
    return hashlib.sha256(h.tobytes()).hexdigest()


def make_pings(path: Path, n: int, *, seed: int = 42) -> None:
    """``n`` pings of 2,000 radios over 30 days in a 40 km square, written in 5 M-row pieces."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)
    names = np.array([f"ISSI{i:07d}" for i in range(2000)], dtype=object)
    step = 5_000_000
    with pcsv.CSVWriter(path, pa.schema([("radio_id", pa.string()), ("timestamp", pa.string()),
                                         ("x", pa.float64()), ("y", pa.float64())]),
                        write_options=pcsv.WriteOptions(quoting_style="none")) as w:
        for a in range(0, n, step):
            m = min(step, n - a)
            sec = np.int64(1_717_200_000) + (np.arange(a, a + m, dtype=np.int64) * 2_592_000) // n
            ts = pc.strftime(pa.array(sec.astype("datetime64[s]")), format="%Y-%m-%dT%H:%M:%S")
            w.write_table(pa.table({
                "radio_id": pa.array(names[rng.integers(0, 2000, m)]),
                "timestamp": ts,
                "x": np.round(440_000 + rng.uniform(0, 40_000, m), 1),
                "y": np.round(190_000 + rng.uniform(0, 40_000, m), 1),
            }))


def make_hotspots(path: Path) -> None:
    import geopandas as gpd
    import shapely

    from rct.io.hotspots import write_hotspots

    rng = np.random.default_rng(3)
    cx, cy = 440_000 + rng.uniform(1000, 39_000, 300), 190_000 + rng.uniform(1000, 39_000, 300)
    gdf = gpd.GeoDataFrame({"hotspot_id": [f"HS{i:03d}" for i in range(300)]},
                           geometry=shapely.buffer(shapely.points(cx, cy), 120), crs=27700)
    write_hotspots(gdf, path)


def write_patrols_csv(path: Path, n: int, *, hotspot_ids: np.ndarray, year: int, days: int,
                      notes: bool, seed: int = 2) -> None:
    """``n`` patrol rows (naive local times) at ``hotspot_ids`` over ``days`` days from 1 January
    ``year``: the synthetic patrol log of this benchmark and of ``ingest_csv.py``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)
    start = np.datetime64(f"{year}-01-01T00:00:00", "s").astype(np.int64)
    arrive = start + rng.integers(0, days * 86400, n)
    dur = rng.integers(60, 3600, n)

    def fmt(s: np.ndarray) -> pa.Array:
        return pc.strftime(pa.array(s.astype("datetime64[s]")), format="%Y-%m-%d %H:%M:%S")

    cols = {
        "patrol_id": pa.array(np.char.add("P", np.arange(n).astype(str))),
        "officer_id": pa.array(np.char.add("PC", rng.integers(1000, 1500, n).astype(str))),
        "hotspot_id": pa.array(np.asarray(hotspot_ids)[rng.integers(0, len(hotspot_ids), n)]),
        "arrived_at": fmt(arrive),
        "left_at": fmt(arrive + dur),
        "mode": pa.array(np.where(rng.random(n) < 0.6, "foot", "vehicle")),
        "stopped": pa.array(np.where(rng.random(n) < 0.2, "yes", "no")),
    }
    if notes:
        cols["notes"] = pa.array(np.where(rng.random(n) < 0.3, "spoke to shop staff", "quiet"))
    pcsv.write_csv(pa.table(cols), path, write_options=pcsv.WriteOptions(quoting_style="none"))


def make_patrols(path: Path, n: int, *, seed: int = 2) -> Path:
    """``n`` patrol rows (about 85 bytes each) at 45 hot spots over a year; returns the id list."""
    hot = np.array([f"HS{i}" for i in range(10, 55)])
    write_patrols_csv(path, n, hotspot_ids=hot, year=2022, days=365, notes=True, seed=seed)
    ids = path.with_name("patrol_hotspots.csv")
    ids.write_text("hotspot_id\n" + "\n".join(hot) + "\n")
    return ids


def airwave_and_patrols(a: argparse.Namespace, d: Path) -> None:
    """Issue 15/16 steps: airwave pings and patrol logs at two chunk sizes."""
    t = time.perf_counter()
    pings = d / "pings.csv"
    make_pings(pings, a.pings)
    hs = d / "hotspots.geojson"
    make_hotspots(hs)
    logs = d / "patrols.csv"
    ids = make_patrols(logs, a.patrols)
    emit(step="generate", pings=a.pings, ping_csv_mib=round(pings.stat().st_size / 2**20),
         patrols=a.patrols, patrol_csv_mib=round(logs.stat().st_size / 2**20),
         seconds=round(time.perf_counter() - t, 1))

    peer = child("pyarrow", [str(pings), json.dumps(
        {"radio_id": "string", "timestamp": "timestamp", "x": "float64", "y": "float64"})])
    emit(step="pyarrow_read_pings", seconds=round(peer["seconds"], 2),
         cpu_seconds=round(peer["cpu_seconds"], 2), peak_mib=round(peer["peak_mib"]),
         note="pyarrow.csv.read_csv of radio_id, timestamp (typed), x, y; all threads")
    tiny = d / "tiny.csv"
    make_pings(tiny, 1000)
    start = child("rct", ["ingest", "airwave", str(tiny), "--hotspots", str(hs), "--out",
                          str(d / "tiny.parquet")])
    emit(step="startup", seconds=round(start["seconds"], 2),
         cpu_seconds=round(start["cpu_seconds"], 2), peak_mib=round(start["peak_mib"]),
         note="the same command on 1,000 pings: imports, numba cache, polygon index")
    shas = []
    for rows in a.chunk_rows:
        out = d / f"aw-{rows}.parquet"
        r = child("rct", ["ingest", "airwave", str(pings), "--hotspots", str(hs), "--out",
                          str(out), "--chunk-rows", str(rows), "--buffer", "25"])
        shas.append(table_sha(out))
        emit(step="ingest_airwave", pings=a.pings, chunk_rows=rows,
             seconds=round(r["seconds"], 2), cpu_seconds=round(r["cpu_seconds"], 2),
             peak_mib=round(r["peak_mib"]), goal_mib=1536, met=bool(r["peak_mib"] < 1536),
             cpu_ratio_to_pyarrow=round(r["cpu_seconds"] / peer["cpu_seconds"], 2),
             cpu_ratio_without_startup=round(
                 (r["cpu_seconds"] - start["cpu_seconds"]) / peer["cpu_seconds"], 2),
             wall_ratio_to_pyarrow=round(r["seconds"] / peer["seconds"], 2),
             goal_ratio=3.0)
    emit(step="airwave_same_result", same=len(set(shas)) == 1, sha256=shas[0])

    peer = child("pyarrow", [str(logs), json.dumps({c: "string" for c in (
        "patrol_id", "officer_id", "hotspot_id", "arrived_at", "left_at", "mode", "stopped",
        "notes")})])
    emit(step="pyarrow_read_patrols", seconds=round(peer["seconds"], 2),
         cpu_seconds=round(peer["cpu_seconds"], 2), peak_mib=round(peer["peak_mib"]))
    shas = []
    for rows in (a.chunk_rows[0] // 2, a.chunk_rows[1] // 2):
        out = d / f"dosage-{rows}.parquet"
        r = child("rct", ["ingest", "patrols", str(logs), "--hotspots", str(ids), "--out",
                          str(out), "--chunk-rows", str(rows), "--nonexistent",
                          "shift_forward"])
        shas.append(table_sha(out))
        emit(step="ingest_patrols", rows=a.patrols, chunk_rows=rows,
             seconds=round(r["seconds"], 2), cpu_seconds=round(r["cpu_seconds"], 2),
             peak_mib=round(r["peak_mib"]), goal_mib=2048, met=bool(r["peak_mib"] < 2048),
             cpu_ratio_to_pyarrow=round(r["cpu_seconds"] / peer["cpu_seconds"], 2))
    emit(step="patrols_same_result", same=len(set(shas)) == 1, sha256=shas[0])


def crimes_step(d: Path, n: int) -> None:
    """Peak memory and CPU of `rct ingest crimes` on an ``n``-row police.uk street CSV.

    The CSV is ``benchmarks/ingest_csv.py``'s (anonymised points, blank ASB ids, a year
    of months); the peer is pyarrow's typed read of the columns rct uses.  Until the
    crime reader streams (no ``--chunk-rows`` yet) the file is read whole.
    """
    sys.path.insert(0, str(Path(__file__).parent))
    import ingest_csv

    csv = d / f"police_uk_{n}.csv"
    hs, _, cx, cy = ingest_csv.make_hotspots(d)
    ingest_csv.make_police_uk(csv, n, cx, cy)
    peer = child("pyarrow", [str(csv), json.dumps(
        {"Crime ID": "string", "Month": "string", "Longitude": "float64",
         "Latitude": "float64", "Crime type": "string"})])
    emit(step="pyarrow_read_crimes", rows=n, csv_mib=round(csv.stat().st_size / 2**20),
         seconds=round(peer["seconds"], 2), cpu_seconds=round(peer["cpu_seconds"], 2),
         peak_mib=round(peer["peak_mib"]))
    out = d / f"crimes-{n}.parquet"
    r = child("rct", ["ingest", "crimes", str(csv), "--hotspots", str(hs), "--out", str(out),
                      "--force"])
    emit(step="ingest_crimes_police_uk", rows=n, seconds=round(r["seconds"], 2),
         cpu_seconds=round(r["cpu_seconds"], 2), peak_mib=round(r["peak_mib"]),
         peak_bytes_per_row=round(r["peak_mib"] * 2**20 / n),
         sha256=table_sha(out), note="whole-file read (no --chunk-rows yet)")
    csv.unlink()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pings", type=int, default=50_000_000)
    ap.add_argument("--patrols", type=int, default=5_000_000)
    ap.add_argument("--chunk-rows", type=int, nargs=2, default=[1_000_000, 250_000],
                    help="two chunk sizes whose results must agree (pings; patrols use half)")
    ap.add_argument("--crimes", type=int, nargs="*", default=[],
                    help="police.uk rows for `rct ingest crimes` (one run per size); "
                    "--pings 0 --patrols 0 runs the crime steps alone")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        if a.pings and a.patrols:
            airwave_and_patrols(a, d)
        for n in a.crimes:
            crimes_step(d, n)


if __name__ == "__main__":
    main()
