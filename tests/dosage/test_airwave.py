"""Airwave presence against simulated pings with known truth."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from rct.dosage.airwave import airwave_presence

KEY = b"test-key-0123456789abcdef"
LONDON = ZoneInfo("Europe/London")
NS = 1_000_000_000
GAP_S = 300  # gap_minutes=5
SPOTS = {"A": (450_000, 200_000), "B": (450_400, 200_000), "C": (451_000, 200_500)}
SIZE = 100.0


def _hotspots() -> gpd.GeoDataFrame:
    ids = list(SPOTS)
    geoms = [shapely.box(x, y, x + SIZE, y + SIZE) for x, y in SPOTS.values()]
    return gpd.GeoDataFrame({"hotspot_id": ids}, geometry=geoms, crs=27700)


def _day_start(d: dt.date) -> int:
    local = dt.datetime(d.year, d.month, d.day, 6, 0, tzinfo=LONDON)
    return int(local.timestamp()) * NS


def _trial_day(t_ns: int) -> dt.date:
    local = dt.datetime.fromtimestamp(t_ns / NS, tz=LONDON) - dt.timedelta(hours=6)
    return local.date()


def simulate(seed: int):
    """Pings of radios making known visits; returns (pings frame, truth table, bad counts).

    Visits are built explicitly: consecutive pings at most 4 min apart, visits
    of one radio to one hot spot at least 10 min apart, so the sessioniser
    must recover exactly these visits.  The days include both clock changes
    of 2024 and visits crossing the 06:00 boundary.
    """
    rng = np.random.default_rng(seed)
    rows = []
    visits = []  # (hotspot, radio, [ping times ns])
    days = [
        dt.date(2024, 3, 30),
        dt.date(2024, 3, 31),
        dt.date(2024, 6, 12),
        dt.date(2024, 10, 26),
        dt.date(2024, 10, 27),
    ]
    radios = [f"TEI-{i:04d}" for i in range(6)]
    for radio in radios:
        for offset, hs in zip((0, NS // 10, NS // 5), SPOTS, strict=True):
            t = _day_start(days[0]) - 3 * 3600 * NS + int(rng.integers(0, 3600)) * NS
            for day in days:
                t = max(t, _day_start(day) - 2 * 3600 * NS)
                for _ in range(int(rng.integers(1, 5))):
                    t += int(rng.integers(11 * 60, 9 * 3600)) * NS  # > gap from previous visit
                    n = int(rng.integers(1, 25))
                    steps = rng.integers(5, 240, n - 1) * NS  # <= 4 min
                    times = t + np.concatenate([[0], np.cumsum(steps)])
                    # distinct sub-second phase per hot spot: a radio is never in two at once
                    visits.append((hs, radio, (times + offset).tolist()))
                    t = int(times[-1])
    # a radio present all day on both clock-change days (23 h and 25 h)
    for day in (dt.date(2024, 3, 30), dt.date(2024, 10, 26)):  # trial days of the changes
        a, b = _day_start(day) - 600 * NS, _day_start(day + dt.timedelta(days=1)) + 600 * NS
        visits.append(("C", "TEI-ALLDAY", list(range(a, b + 1, 120 * NS))))
    for hs, radio, times in visits:
        x0, y0 = SPOTS[hs]
        for tt in times:
            rows.append((radio, tt, x0 + rng.uniform(1, SIZE - 1), y0 + rng.uniform(1, SIZE - 1)))
    # away pings (outside every hot spot), at odd seconds so they never collide
    for radio in radios:
        tt = (
            _day_start(days[0])
            + np.sort(rng.choice(200 * 86400, 300, replace=False)) * NS
            + NS // 2
        )
        for v in tt:
            rows.append(
                (radio, int(v), 440_000 + rng.uniform(0, 5000), 190_000 + rng.uniform(0, 5000))
            )
    frame = pd.DataFrame(rows, columns=["radio_id", "t", "x", "y"])
    truth = _truth(visits)
    # bad rows (the truth above does not include them)
    bad = defaultdict(int)
    extra = []
    inside = frame[frame["x"] >= 450_000].sample(6, random_state=seed)
    for _, r in inside.iloc[:3].iterrows():  # exact duplicates of visit pings
        extra.append(r.to_dict())
        bad["duplicate ping"] += 1
    for _, r in inside.iloc[3:].iterrows():  # one radio at one (new) time in two places: both out
        new_t = int(r["t"]) + NS // 4
        extra.append({**r.to_dict(), "t": new_t})
        extra.append({**r.to_dict(), "t": new_t, "x": r["x"] - 5000})
        bad["radio in two places at once"] += 2
    away = frame[frame["x"] < 450_000].iloc[5]
    extra.append(away.to_dict())  # duplicate outside hot spots
    bad["duplicate ping"] += 1
    extra.append({"radio_id": "TEI-0001", "t": 0, "x": 450_050.0, "y": 200_050.0})  # 1970
    bad["implausible timestamp (before 2000 or after 2099)"] += 1
    extra.append({"radio_id": "TEI-0002", "t": _day_start(days[1]), "x": 900_000.0, "y": 5.0})
    bad["coordinates outside Great Britain"] += 1
    extra.append({"radio_id": None, "t": _day_start(days[1]), "x": 450_050.0, "y": 200_050.0})
    bad["missing radio_id"] += 1
    frame = pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # any order
    frame["timestamp"] = pd.to_datetime(frame.pop("t"), utc=True)
    frame.loc[frame["timestamp"].dt.year == 1970, "timestamp"] = pd.Timestamp(
        "1970-01-01", tz="UTC"
    )
    return frame, truth, dict(bad), len(frame)


def _truth(visits):
    """The table computed directly from the constructed visits (plain Python)."""
    per = defaultdict(lambda: {"pings": 0, "radios": set(), "visits": 0, "radio_ns": 0, "iv": []})
    for hs, radio, times in visits:
        first, last = times[0], times[-1]
        for tt in times:
            per[(hs, _trial_day(tt))]["pings"] += 1
        d = _trial_day(first)
        while True:
            lo, hi = _day_start(d), _day_start(d + dt.timedelta(days=1))
            s, e = max(first, lo), min(last, hi)
            cell = per[(hs, d)]
            cell["visits"] += 1
            cell["radios"].add(radio)
            cell["radio_ns"] += e - s
            cell["iv"].append((s, e))
            if last < hi:
                break
            d += dt.timedelta(days=1)
    out = []
    for (hs, d), c in sorted(per.items()):
        union, cur_s, cur_e = 0, None, None
        for s, e in sorted(c["iv"]):
            if cur_e is None or s > cur_e:
                union += 0 if cur_e is None else cur_e - cur_s
                cur_s, cur_e = s, e
            else:
                cur_e = max(cur_e, e)
        union += cur_e - cur_s
        out.append(
            {
                "hotspot_id": hs,
                "trial_date": d,
                "pings": c["pings"],
                "radios": len(c["radios"]),
                "presence_minutes": union / 60e9,
                "radio_minutes": c["radio_ns"] / 60e9,
                "visits": c["visits"],
            }
        )
    return pd.DataFrame(out)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    frame, truth, bad, n = simulate(11)
    d = tmp_path_factory.mktemp("airwave")
    frame.to_parquet(d / "pings.parquet", row_group_size=997)
    half = len(frame) // 2
    csv = frame.copy()
    csv["timestamp"] = csv["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    csv.iloc[:half].to_csv(d / "a.csv", index=False)
    csv.iloc[half:].to_csv(d / "b.csv", index=False)
    return {"dir": d, "frame": frame, "truth": truth, "bad": bad, "n": n}


def _run(paths, **kw):
    kw.setdefault("buffer_m", 0.0)
    return airwave_presence(paths, _hotspots(), key=KEY, gap_minutes=5, day_starts="06:00", **kw)


def _sorted(t):
    return t.sort_values(["hotspot_id", "trial_date"]).reset_index(drop=True)


def test_every_figure_matches_truth(sim):
    res = _run(sim["dir"] / "pings.parquet")
    pd.testing.assert_frame_equal(_sorted(res.table), _sorted(sim["truth"]), check_dtype=False)
    assert res.n_read == sim["n"] == res.n_accepted + res.n_quarantined
    assert res.reasons() == sim["bad"]


def test_clock_change_days_last_23_and_25_hours(sim):
    t = _run(sim["dir"] / "pings.parquet").table
    c = t[t.hotspot_id == "C"].set_index("trial_date")
    # TEI-ALLDAY is present from before 06:00 to after 06:00 the next day
    # (clocks change at 01:00 UTC on 31 March / 27 October, inside trial days 30 March / 26 Oct)
    assert c.loc[dt.date(2024, 3, 30), "presence_minutes"] == 23 * 60
    assert c.loc[dt.date(2024, 10, 26), "presence_minutes"] == 25 * 60
    assert c.loc[dt.date(2024, 3, 29), "presence_minutes"] >= 10  # the 05:50-06:00 piece
    assert c.loc[dt.date(2024, 10, 27), "visits"] >= 1  # the 06:00-06:10 piece


@pytest.mark.parametrize("chunk_rows", [1, 211, 500, 4096])
def test_chunked_equals_one_shot(sim, chunk_rows):
    one = _run(sim["dir"] / "pings.parquet", chunk_rows=10_000_000)
    got = _run(sim["dir"] / "pings.parquet", chunk_rows=chunk_rows) if chunk_rows > 1 else None
    if got is None:  # 1-row chunks on the CSV pair (slow on Parquet batches)
        got = _run([sim["dir"] / "a.csv", sim["dir"] / "b.csv"], chunk_rows=397)
    pd.testing.assert_frame_equal(got.table, one.table)
    assert got.reasons() == one.reasons()
    if chunk_rows > 1:
        pd.testing.assert_frame_equal(got.quarantine, one.quarantine)


def test_csv_and_lonlat_inputs_agree(sim, tmp_path):
    one = _run(sim["dir"] / "pings.parquet")
    csv = _run([sim["dir"] / "a.csv", sim["dir"] / "b.csv"], chunk_rows=1000)
    pd.testing.assert_frame_equal(csv.table, one.table)
    from pyproj import Transformer

    f = sim["frame"].copy()
    f["lon"], f["lat"] = Transformer.from_crs(27700, 4326, always_xy=True).transform(f.x, f.y)
    f = f.drop(columns=["x", "y"]).rename(columns={"radio_id": "ISSI", "timestamp": "Time"})
    f.loc[f.lon > 1, "lat"] = 75.0  # the out-of-GB ping stays out of GB
    f.to_parquet(tmp_path / "ll.parquet")
    ll = _run(tmp_path / "ll.parquet")
    pd.testing.assert_frame_equal(ll.table, one.table)
    assert ll.reasons() == one.reasons()


def test_quarantine_reasons_rows_and_pseudonyms(sim, tmp_path):
    f = sim["frame"].copy()
    f["timestamp"] = f["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S")  # naive = London
    f.loc[[0, 1], "timestamp"] = ["not a time", ""]
    f.loc[2, "x"] = np.nan
    f.to_csv(tmp_path / "p.csv", index=False)
    res = _run(tmp_path / "p.csv", chunk_rows=333)
    r = res.reasons()
    assert r["unparseable timestamp"] == 1 and r["missing timestamp"] == 1
    assert r["missing coordinates"] == 1
    assert res.n_read == len(f) == res.n_accepted + res.n_quarantined
    q = res.quarantine
    assert set(q.columns[:3]) == {"source_file", "source_row", "reason"}
    row1 = q[q.reason == "unparseable timestamp"].iloc[0]
    assert row1.source_row == 1  # 1-based data row
    ids = q["radio_id"].dropna()
    assert len(ids) and ids.str.fullmatch(r"radio-[0-9a-f]{12}").all()
    assert not q.astype(str).apply(lambda c: c.str.contains("TEI-")).any().any()


def test_buffer_and_overlapping_buffers(tmp_path):
    # two hot spots 30 m apart; a 20 m buffer makes them overlap: a ping in both counts in both
    g = gpd.GeoDataFrame(
        {"hotspot_id": ["L", "R"]},
        geometry=[shapely.box(0, 0, 100, 100), shapely.box(130, 0, 230, 100)],
        crs=27700,
    ).translate(450_000, 200_000)
    g = gpd.GeoDataFrame({"hotspot_id": ["L", "R"]}, geometry=g, crs=27700)
    t0 = pd.Timestamp("2024-06-12T10:00Z")
    f = pd.DataFrame(
        {
            "radio_id": ["r"] * 4,
            "timestamp": [t0 + pd.Timedelta(minutes=m) for m in (0, 1, 2, 3)],
            "x": [450_115.0, 450_115.0, 450_120.0, 450_050.0],
            "y": [200_050.0] * 4,
        }
    )
    f.to_parquet(tmp_path / "p.parquet")
    no = airwave_presence(tmp_path / "p.parquet", g, key=KEY, buffer_m=0)
    assert no.table[["hotspot_id", "pings"]].values.tolist() == [["L", 1]]
    yes = airwave_presence(tmp_path / "p.parquet", g, key=KEY, buffer_m=20)
    assert yes.table[["hotspot_id", "pings", "visits", "presence_minutes"]].values.tolist() == [
        ["L", 4, 1, 3.0],
        ["R", 3, 1, 2.0],
    ]


def test_tail_and_gap_options(tmp_path):
    g = _hotspots()
    t0 = pd.Timestamp("2024-06-12T10:00Z")
    mins = [0, 2, 4, 10, 11]  # gap 6 min between 4 and 10
    f = pd.DataFrame(
        {
            "radio_id": "r",
            "timestamp": [t0 + pd.Timedelta(minutes=m) for m in mins],
            "x": 450_050.0,
            "y": 200_050.0,
        }
    )
    f.to_parquet(tmp_path / "p.parquet")
    a = airwave_presence(tmp_path / "p.parquet", g, key=KEY).table.iloc[0]
    assert (a.visits, a.presence_minutes, a.radio_minutes) == (2, 5.0, 5.0)
    b = airwave_presence(tmp_path / "p.parquet", g, key=KEY, gap_minutes=6).table.iloc[0]
    assert (b.visits, b.presence_minutes) == (1, 11.0)
    c = airwave_presence(tmp_path / "p.parquet", g, key=KEY, tail_seconds=60).table.iloc[0]
    assert (c.visits, c.presence_minutes) == (2, 7.0)
    with pytest.raises(ValueError, match="default, dask"):
        airwave_presence(tmp_path / "p.parquet", g, key=KEY, engine="spark")


def test_dask_engine_on_local_cluster_matches_default(sim):
    from distributed import LocalCluster

    default = _run(sim["dir"] / "pings.parquet", chunk_rows=3000)
    with LocalCluster(
        n_workers=2, processes=False, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        got = _run(
            sim["dir"] / "pings.parquet",
            chunk_rows=3000,
            engine="dask",
            scheduler=cluster.scheduler_address,
        )
    assert got.engine == "dask"
    pd.testing.assert_frame_equal(got.table, default.table)
    pd.testing.assert_frame_equal(got.quarantine, default.quarantine)
    assert got.n_read == default.n_read


def test_cli_writes_table_and_quarantine(sim, tmp_path):
    from rct.cli import main
    from rct.io.hotspots import write_hotspots

    write_hotspots(_hotspots(), tmp_path / "hs.geojson")
    keyfile = tmp_path / "secret" / "key.txt"
    keyfile.parent.mkdir()
    keyfile.write_text(KEY.decode())
    out = tmp_path / "out" / "airwave_presence.parquet"
    code = main(
        [
            "ingest",
            "airwave",
            str(sim["dir"] / "pings.parquet"),
            "--hotspots",
            str(tmp_path / "hs.geojson"),
            "--buffer",
            "0",
            "--gap-minutes",
            "5",
            "--day-starts",
            "06:00",
            "--key-file",
            str(keyfile),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    got = pd.read_parquet(out)
    pd.testing.assert_frame_equal(_sorted(got), _sorted(sim["truth"]), check_dtype=False)
    q = pd.read_csv(out.with_name("airwave_presence.quarantine.csv"))
    assert len(q) == sum(sim["bad"].values())
    assert (
        main(
            [
                "ingest",
                "airwave",
                str(tmp_path / "nope.parquet"),
                "--hotspots",
                str(tmp_path / "hs.geojson"),
                "--key-file",
                str(keyfile),
                "--out",
                str(out),
            ]
        )
        == 2
    )


def test_duplicate_keys_found_across_sorted_runs():
    from rct.dosage.airwave import _duplicate_candidates
    from rct.dosage.airwave_read import partition_keys

    rng = np.random.default_rng(5)
    keys = rng.integers(0, 2**63, 50_000).astype(np.uint64) * np.uint64(2) + np.uint64(1)
    keys = np.concatenate(
        [keys, keys[:40], keys[-9:], keys[:3], [np.uint64(0)] * 2, [np.iinfo(np.uint64).max] * 3]
    )
    rng.shuffle(keys)
    runs = [partition_keys(part) for part in np.array_split(keys, 7)]
    values, counts = np.unique(keys, return_counts=True)
    np.testing.assert_array_equal(_duplicate_candidates(runs), values[counts > 1])
    assert len(_duplicate_candidates([])) == 0


def test_partitioned_parquet_directory_equals_single_file(sim, tmp_path):
    frame = sim["frame"]
    parts = tmp_path / "pings"
    for i, idx in enumerate(np.array_split(np.arange(len(frame)), 3)):
        d = parts / f"day={i}"
        d.mkdir(parents=True)
        frame.iloc[idx].to_parquet(d / "part-0.parquet", row_group_size=500)
    one = _run(sim["dir"] / "pings.parquet")
    got = _run(parts, chunk_rows=700)
    pd.testing.assert_frame_equal(got.table, one.table)
    assert got.reasons() == one.reasons() and got.n_read == one.n_read


@pytest.mark.parametrize("n", [0, 5, 100_003])
def test_partition_keeps_good_keys_in_their_buckets(n):
    from rct.dosage.airwave_read import partition_good
    from rct.pip import _compact as compact_first  # the compaction the airwave reader uses

    rng = np.random.default_rng(n)
    keys = rng.integers(0, 2**63, n).astype(np.uint64) * np.uint64(2) + np.uint64(1)
    good = rng.random(n) < 0.9
    out, off = partition_good(keys, good)
    assert off[0] == 0 and off[-1] == good.sum() == len(out)
    bucket = (out >> np.uint64(56)).astype(np.int64)
    np.testing.assert_array_equal(bucket, np.repeat(np.arange(256), np.diff(off)))
    np.testing.assert_array_equal(np.sort(out), np.sort(keys[good]))
    first = rng.integers(-3, 5, n).astype(np.int32)  # polygon, -1 none, < -1 special
    single, poly, special = compact_first(first)
    np.testing.assert_array_equal(single, np.flatnonzero(first >= 0))
    np.testing.assert_array_equal(poly, first[first >= 0])
    np.testing.assert_array_equal(special, np.flatnonzero(first < -1))
