"""One patrol log and one crime extract, written the ways forces export them.

The same records as ISO 8601 CSV (canonical headers), as a UK app export
(day-first times, the app's own headers), as an Excel workbook (real date
cells, numbers as numbers, a notes sheet beside the data) and as database
tables; the tests check that every way gives the same dosage and outcomes.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

#: the app's headers for the canonical patrol columns (a --columns mapping maps them back)
APP_HEADERS = {"patrol_id": "Patrol Ref", "officer_id": "Collar No", "hotspot_id": "Hot Spot",
               "arrived_at": "Arrived", "left_at": "Departed", "mode": "Mode"}
#: a force extract's headers for the canonical crime columns
FORCE_CRIME_HEADERS = {"crime_id": "Crime Ref", "occurred_at": "Committed",
                       "easting": "Grid E", "northing": "Grid N", "category": "Crime Type"}
PATROL_COLUMNS = ("patrol_id", "officer_id", "hotspot_id", "arrived_at", "left_at", "mode")
CRIME_COLUMNS = ("crime_id", "occurred_at", "easting", "northing", "category")
HOTSPOT_IDS = ("HS1", "HS2", "HS3", "HS4")
_CORNERS = {"HS1": (451000, 206000), "HS2": (451400, 206000), "HS3": (451000, 206400),
            "HS4": (451400, 206400)}


def patrol_records(n: int = 60, seed: int = 7) -> list[dict]:
    """Patrols over September-November 2021 (days above 12; the October clock change)."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2021, 9, 6, 6, 0)
    out = []
    for i in range(n):
        arrive = start + dt.timedelta(minutes=int(rng.integers(0, 70 * 24 * 60)))
        arrive = arrive.replace(second=0)
        out.append({
            "patrol_id": f"P{i:04d}",
            "officer_id": int(rng.integers(1000, 1010)),  # a number: Excel stores 1001.0
            "hotspot_id": HOTSPOT_IDS[int(rng.integers(0, 4))],
            "arrived_at": arrive,
            "left_at": arrive + dt.timedelta(minutes=int(rng.integers(5, 40))),
            "mode": ["foot", "vehicle"][int(rng.integers(0, 2))],
        })
    # the repeated October hour (read as the first pass, BST), and rows the reader refuses
    out[1]["arrived_at"] = dt.datetime(2021, 10, 31, 1, 20)
    out[1]["left_at"] = dt.datetime(2021, 10, 31, 1, 40)
    out[2]["hotspot_id"] = "NOT-A-HOTSPOT"
    out[3]["left_at"] = out[3]["arrived_at"] - dt.timedelta(minutes=5)
    return out


def crime_records(n: int = 80, seed: int = 11) -> list[dict]:
    """Crimes in and around the hot spots over the same months."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        hid = HOTSPOT_IDS[int(rng.integers(0, 4))]
        x0, y0 = _CORNERS[hid]
        out.append({
            "crime_id": f"43/{i:05d}/21",
            "occurred_at": dt.datetime(2021, 9, 6) + dt.timedelta(
                minutes=int(rng.integers(0, 70 * 24 * 60))),
            "easting": x0 + int(rng.integers(-50, 250)),
            "northing": y0 + int(rng.integers(-50, 250)),
            "category": ["Violence and sexual offences", "Robbery", "Burglary"][
                int(rng.integers(0, 3))],
        })
    out[0]["easting"] = None  # missing coordinates: quarantined the same way everywhere
    return out


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S")


def _uk(t: dt.datetime) -> str:
    return t.strftime("%d/%m/%Y %H:%M")


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    def cell(v: object) -> str:
        return "" if v is None else str(v)

    path.write_text("\n".join([",".join(header)] + [",".join(cell(v) for v in r) for r in rows])
                    + "\n", encoding="utf-8")
    return path


def write_patrols_iso(path: Path, records: list[dict]) -> Path:
    rows = [[r[c] if c not in ("arrived_at", "left_at") else _iso(r[c]) for c in PATROL_COLUMNS]
            for r in records]
    return _csv(path, list(PATROL_COLUMNS), rows)


def write_patrols_uk(path: Path, records: list[dict]) -> Path:
    """The app's export: its own headers, dd/mm/yyyy HH:MM, written in cp1252 with ';'."""
    rows = [[r[c] if c not in ("arrived_at", "left_at") else _uk(r[c]) for c in PATROL_COLUMNS]
            for r in records]
    text = "\n".join([";".join(APP_HEADERS[c] for c in PATROL_COLUMNS)]
                     + [";".join(str(v) for v in r) for r in rows]) + "\n"
    path.write_bytes(text.encode("cp1252"))
    return path


def write_patrols_xlsx(path: Path, records: list[dict]) -> Path:
    """A workbook: a notes sheet first, then the data with date cells and numbers."""
    from openpyxl import Workbook

    wb = Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes.append(["Exported from the tasking app"])
    ws = wb.create_sheet("Patrols")
    ws.append([APP_HEADERS[c] for c in PATROL_COLUMNS])
    for r in records:
        ws.append([r[c] for c in PATROL_COLUMNS])
    wb.save(path)
    return path


def write_crimes_iso(path: Path, records: list[dict]) -> Path:
    rows = [[r[c] if c != "occurred_at" else _iso(r[c]) for c in CRIME_COLUMNS] for r in records]
    return _csv(path, list(CRIME_COLUMNS), rows)


def write_crimes_uk(path: Path, records: list[dict]) -> Path:
    rows = [[r[c] if c != "occurred_at" else _uk(r[c]) for c in CRIME_COLUMNS] for r in records]
    return _csv(path, [FORCE_CRIME_HEADERS[c] for c in CRIME_COLUMNS], rows)


def write_crimes_xlsx(path: Path, records: list[dict]) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Crimes"
    ws.append([FORCE_CRIME_HEADERS[c] for c in CRIME_COLUMNS])
    for r in records:
        ws.append([r[c] for c in CRIME_COLUMNS])
    wb.save(path)
    return path


def load_table(engine_url: str, table: str, records: list[dict], columns: tuple[str, ...],
               types: dict[str, str]) -> None:
    """``records`` into a new database table (typed columns, as a warehouse holds them)."""
    import sqlalchemy as sa

    engine = sa.create_engine(engine_url)
    cols = ", ".join(f'"{c}" {types.get(c, "TEXT")}' for c in columns)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))
        conn.execute(sa.text(f'CREATE TABLE "{table}" ({cols})'))
        marks = ", ".join(f":{c}" for c in columns)
        conn.execute(sa.text(f'INSERT INTO "{table}" VALUES ({marks})'),
                     [{c: r[c] for c in columns} for r in records])
    engine.dispose()


def column_mapping_toml(path: Path, *, dayfirst: bool | None = None) -> Path:
    """The --columns file mapping the app's and the extract's headers back."""
    lines = [] if dayfirst is None else [f"dayfirst = {str(dayfirst).lower()}"]
    lines += ["[patrols]"]
    lines += [f'"{h}" = "{c}"' for c, h in APP_HEADERS.items()]
    lines += ["[crimes]"] + [f'"{h}" = "{c}"' for c, h in FORCE_CRIME_HEADERS.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def hotspots_geojson(path: Path) -> Path:
    """Four 200 m squares (British National Grid), as GeoJSON."""
    import geopandas as gpd
    from shapely.geometry import box

    geoms = [box(x, y, x + 200, y + 200) for x, y in (_CORNERS[h] for h in HOTSPOT_IDS)]
    gpd.GeoDataFrame({"hotspot_id": list(HOTSPOT_IDS)}, geometry=geoms,
                     crs="EPSG:27700").to_file(path, driver="GeoJSON")
    return path
