"""Open each report in a real headless browser (Debian chromium over the DevTools pipe).

No skips: without chromium these tests fail and say how to install it
(``.ci/install-chromium.sh``).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from tests.reports._browser import Browser, find_chromium

KINDS = ("design", "monitor", "evaluation")

_IMAGES = """Array.from(document.images).map(i => ({
  natural: [i.naturalWidth, i.naturalHeight], complete: i.complete,
  box: [i.getBoundingClientRect().width, i.getBoundingClientRect().height]}))"""
_OVERFLOW = """(() => {
  const doc = document.documentElement.scrollWidth;
  const cut = Array.from(document.querySelectorAll('table')).filter(t => {
    const r = t.getBoundingClientRect(), wrap = t.closest('.table-wrap') || t.parentElement;
    return r.right > document.documentElement.clientWidth + 1 && wrap.scrollWidth <= wrap.clientWidth;
  }).length;
  return {doc: doc, view: document.documentElement.clientWidth, cut: cut};
})()"""


def test_chromium_is_installed() -> None:
    assert Path(find_chromium()).exists()


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


def _non_blank(png: bytes) -> tuple[int, float]:
    from PIL import Image

    im = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    return len(np.unique(im)), float(im.std())


@pytest.mark.parametrize("kind", KINDS)
def test_report_opens_cleanly_in_chromium(browser: Browser, reports: dict, kind: str,
                                          tmp_path: Path) -> None:
    path = reports[kind][1]
    page = browser.open(path, width=1000, height=1400)
    assert page.console_errors() == []
    fetched = [u for u in page.requests() if not u.startswith("data:")]
    assert fetched == [path.resolve().as_uri()]  # the file itself and nothing else
    imgs = page.evaluate(_IMAGES)
    assert len(imgs) >= 2
    for im in imgs:
        assert im["complete"] and min(im["natural"]) > 0 and min(im["box"]) > 0, im
    assert page.evaluate("document.scripts.length") == 0
    assert page.evaluate("document.querySelectorAll('section').length") >= 5
    shot = page.screenshot(tmp_path / f"{kind}.png")
    levels, spread = _non_blank(shot.read_bytes())
    assert levels > 20 and spread > 10, (levels, spread)


@pytest.mark.parametrize("kind", ["design", "monitor"])
def test_script_name_renders_as_text(browser: Browser, reports: dict, kind: str) -> None:
    page = browser.open(reports[kind][1])
    text = page.evaluate("document.body.innerText")
    assert '<script>alert("pwned")</script> & "Market St"' in text
    assert page.evaluate("document.scripts.length") == 0


@pytest.mark.parametrize("kind", KINDS)
def test_readable_on_a_phone(browser: Browser, reports: dict, kind: str) -> None:
    page = browser.open(reports[kind][1], width=390, height=844, mobile=True)
    o = page.evaluate(_OVERFLOW)
    assert o["doc"] <= o["view"] + 1, o  # no sideways scrolling of the page
    assert o["cut"] == 0, o  # wide tables scroll inside their own box
    widths = page.evaluate("Array.from(document.images).map(i => "
                           "i.getBoundingClientRect().width)")
    assert max(widths) <= 390


@pytest.mark.parametrize("kind", KINDS)
def test_printable_tables_not_cut(browser: Browser, reports: dict, kind: str) -> None:
    page = browser.open(reports[kind][1], width=720, height=1000)
    browser.send("Emulation.setEmulatedMedia", {"media": "print"})
    o = page.evaluate(_OVERFLOW)
    wide = page.evaluate("""Array.from(document.querySelectorAll('table')).filter(t =>
        t.getBoundingClientRect().right > document.documentElement.clientWidth + 1).length""")
    browser.send("Emulation.setEmulatedMedia", {"media": ""})
    assert wide == 0, o
    pdf = browser.send("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69})
    assert len(pdf["data"]) > 10_000


# ---------------------------------------------------------------------------
# the new structure (issue 13): what a reader sees in the browser

_VISIBLE = """(() => {
  const c = document.body.cloneNode(true);
  c.querySelectorAll('code, style, script, img').forEach(e => e.remove());
  document.body.appendChild(c);  // innerText needs layout
  c.style.position = 'absolute'; c.style.left = '-99999px';
  const t = c.innerText; c.remove(); return t;
})()"""


@pytest.fixture(scope="module")
def both(reports: dict, parallel_reports: dict, trial_path: Path, parallel_trial: Path) -> dict:
    return {"crossover": (trial_path, reports), "parallel": (parallel_trial, parallel_reports)}


@pytest.mark.parametrize("design", ["crossover", "parallel"])
def test_browser_headline_order_and_no_internals(browser: Browser, both: dict,
                                                 design: str) -> None:
    import json
    import re

    from rct.reports.evaluation import SECTION_ORDER
    from tests.reports.test_structure import INTERNALS

    toml, reps = both[design]
    rd = json.loads((toml.parent / "out" / "results.json").read_text(encoding="utf-8"))
    page = browser.open(reps["evaluation"][1], width=1000, height=1400)
    heads = page.evaluate("Array.from(document.querySelectorAll('.headline'))"
                          ".map(e => e.innerText.trim())")
    assert heads == [rd["meta"]["headline"]["sentence"]]
    ids = page.evaluate("Array.from(document.querySelectorAll('section')).map(s => s.id)")
    assert tuple(ids) == SECTION_ORDER
    for kind in KINDS:
        page = browser.open(reps[kind][1], width=1000, height=1400)
        text = page.evaluate(_VISIBLE)
        found = {n: re.findall(rx, text)[:3] for n, rx in INTERNALS.items()
                 if re.search(rx, text)}
        assert found == {}, (kind, found)


@pytest.mark.parametrize("design", ["crossover", "parallel"])
@pytest.mark.parametrize("media", ["screen", "print"])
def test_sha256_cells_wrap_not_clip(browser: Browser, both: dict, design: str,
                                    media: str) -> None:
    _, reps = both[design]
    for kind in ("design", "evaluation"):
        page = browser.open(reps[kind][1], width=720 if media == "print" else 1000, height=1000)
        if media == "print":
            browser.send("Emulation.setEmulatedMedia", {"media": "print"})
        cells = page.evaluate("""Array.from(document.querySelectorAll('td.mono')).map(td => ({
            text: td.innerText.trim(), over: td.scrollWidth - td.clientWidth,
            right: td.getBoundingClientRect().right,
            wrap: (td.closest('.table-wrap') || document.body).getBoundingClientRect().right}))""")
        plain = page.evaluate("""Array.from(document.querySelectorAll('td')).filter(td =>
            /^[0-9a-f]{64}$/.test(td.innerText.trim()) && !td.classList.contains('mono'))
            .map(td => td.innerText)""")
        browser.send("Emulation.setEmulatedMedia", {"media": ""})
        assert plain == [], (kind, plain)  # every digest is set in a wrapping monospace cell
        digests = [c for c in cells if len(c["text"]) == 64]
        assert digests, kind
        for c in cells:
            assert c["over"] <= 1, (kind, c)  # the digest wraps inside its cell
            if media == "print":
                assert c["right"] <= c["wrap"] + 1, (kind, c)  # and the cell is on the page
