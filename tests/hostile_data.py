"""Small hostile inputs shared by the tests/test_hostile_*.py files (issue 15)."""

from __future__ import annotations

from pathlib import Path

KEY = "hostile-test-key-0123456789"
HOTSPOTS = ("HS01", "HS02", "HS03", "HS04", "HS05")
PATROL_HEADER = "patrol_id,officer_id,hotspot_id,arrived_at,left_at,mode,stopped,notes"
NOTE = "spoke to Mrs Jane Smith of 12 High Street"


def patrol_rows(n: int = 20) -> list[str]:
    """``n`` good patrol rows: 10 minutes each, officer PC90xx, a note with personal data."""
    rows = []
    for i in range(n):
        hs = HOTSPOTS[i % len(HOTSPOTS)]
        day = 1 + i // 5
        mode = "foot" if i % 2 else "vehicle"
        rows.append(
            f"P{i:03d},PC90{i % 7:02d},{hs},2024-05-{day:02d} 10:{i % 6}0,"
            f"2024-05-{day:02d} 10:{i % 6}9,{mode},no,{NOTE}"
        )
    return rows


def patrol_csv(path: Path, rows: list[str] | None = None, *, header: str = PATROL_HEADER,
               encoding: str = "utf-8") -> Path:
    rows = patrol_rows() if rows is None else rows
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def hotspot_list(path: Path, ids: tuple[str, ...] = HOTSPOTS) -> Path:
    path.write_text("hotspot_id\n" + "\n".join(ids) + "\n")
    return path


PING_HEADER = "radio_id,timestamp,x,y,speed"


def ping_rows(n: int = 30) -> list[str]:
    """``n`` good pings of 3 radios, one a minute, inside hot spot A (see hotspots_geojson)."""
    return [
        f"ISSI{1000 + i % 3},2024-06-01T10:{i // 3:02d}:{(i % 3) * 10:02d},"
        f"{450010 + i},{200010 + i},1.5"
        for i in range(n)
    ]


def ping_csv(path: Path, rows: list[str] | None = None, *, header: str = PING_HEADER,
             encoding: str = "utf-8") -> Path:
    rows = ping_rows() if rows is None else rows
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def hotspots_geojson(path: Path) -> Path:
    """Hot spot A: a 100 m square at (450000, 200000) in British National Grid."""
    import geopandas as gpd
    import shapely

    from rct.io.hotspots import write_hotspots

    gdf = gpd.GeoDataFrame(
        {"hotspot_id": ["A", "B"]},
        geometry=[shapely.box(450000, 200000, 450100, 200100),
                  shapely.box(451000, 200000, 451100, 200100)],
        crs=27700,
    )
    write_hotspots(gdf, path)
    return path


CRIME_HEADER = "crime_id,occurred_at,easting,northing,offence_code,description"


def crime_rows(n: int = 10) -> list[str]:
    return [
        f"C{i:03d},2024-06-0{1 + i % 5} 1{i % 10}:00,{450010 + i},{200010 + i},8N,"
        f"victim Mr Bob Jones{i}"
        for i in range(n)
    ]


def crime_csv(path: Path, rows: list[str] | None = None, *, header: str = CRIME_HEADER,
              encoding: str = "utf-8") -> Path:
    rows = crime_rows() if rows is None else rows
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path
