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
