"""Regenerate the report screenshots in docs/ (for the README).

    .venv/bin/python docs/screenshots.py

Builds the synthetic trial the report tests use (20 hot spots, 42 days),
renders the three reports, opens each in headless chromium and saves the top
of the page as ``docs/<kind>-report.png`` (900 x 1300 px), plus the HTML
files as ``docs/<kind>-report.html`` when ``--html`` is given.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", action="store_true", help="also keep the HTML reports")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from rct.reports import design_report, evaluation_report, monitor_report
    from tests.reports._browser import Browser
    from tests.reports.conftest import build_trial

    out = ROOT / "docs"
    with tempfile.TemporaryDirectory() as tmp:
        toml = build_trial(Path(tmp) / "trial", n_hotspots=20, days=42, plant=False)
        with Browser() as b:
            for kind, fn in (("design", design_report), ("monitor", monitor_report),
                             ("evaluation", evaluation_report)):
                rep = fn(toml)
                html = rep.write(Path(tmp) / f"{kind}.html")
                page = b.open(html, width=900, height=1300)
                page.screenshot(out / f"{kind}-report.png")
                if args.html:
                    rep.write(out / f"{kind}-report.html")
                print(out / f"{kind}-report.png")


if __name__ == "__main__":
    main()
