"""Render reports: Jinja2 templates (autoescaped), inline CSS and inline figures.

Templates only format what result objects give (``.tidy()`` / ``.to_dict()``);
no statistics happen here.  Everything user-supplied is escaped; figures are
embedded as base64 PNG so the file needs no network and no other files.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
import platform
import re
from collections.abc import Sequence
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup, escape

from rct.io.atomic import write_text

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["environment", "render", "figure_html", "table_html", "versions", "write_report"]


def environment():
    """The Jinja2 environment: package templates, autoescape on, strict undefined."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("rct.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = fmt_num
    env.filters["pct"] = fmt_pct
    env.filters["pval"] = fmt_p
    return env


def render(template: str, **context: Any) -> str:
    """Render ``template`` (e.g. ``"design.html.j2"``) with the shared page context."""
    css = files("rct.reports").joinpath("templates/report.css").read_text("utf-8")
    base = {
        "css": Markup(css),
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "versions": versions(),
    }
    return environment().get_template(template).render(**base, **context)


def write_report(html: str, out: str | Path, *, force: bool = True) -> Path:
    """Write the report atomically; ``force=False`` refuses an existing file (the one
    overwrite rule, as ``rct report`` applies it)."""
    if not force:
        from rct.io.atomic import check_overwrite

        check_overwrite([out], force=False)
    return write_text(out, html)


def figure_html(fig: Figure, *, alt: str, dpi: int = 110) -> Markup:
    """A matplotlib figure as an inline ``<img>`` (base64 PNG).

    Figures are made with constrained layout (:mod:`rct.reports.figures`), so
    no second ``bbox_inches="tight"`` drawing pass is needed.
    """
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return Markup('<img class="fig" src="data:image/png;base64,{}" alt="{}">').format(
        Markup(data), alt
    )


P_VALUE_COLUMNS = frozenset({"p", "p adjusted", "p_value", "p_adjusted", "randomisation p",
                             "adjusted p"})


_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NUMERIC_TEXT = re.compile(r"^[<>≤≥]?\s?[−+-]?\d[\d,]*(\.\d+)?(\s?%)?( to [−+-]?\d[\d,]*(\.\d+)?(\s?%)?)?$")


def table_html(df: pd.DataFrame, *, digits: int = 3, caption: str | None = None,
               index: bool = False, mono: Sequence[str] = ()) -> Markup:
    """A DataFrame as an escaped HTML table (numbers right-aligned).

    Columns named like p-values (:data:`P_VALUE_COLUMNS`) are shown as
    p-values (:func:`rct.plan.headline.format_p`: three decimals, and ``< 0.001``
    below that).  Text cells that are already formatted numbers (``"8,190"``,
    ``"0.729 to 0.917"``, ``"< 0.001"``) are right-aligned too.  Columns in
    ``mono`` (SHA-256 digests, file names) are set in monospace and wrap
    anywhere, so a 64-character digest is never clipped.
    """
    import pandas as pd

    rows = []
    cols = ([df.index.name or ""] if index else []) + [str(c) for c in df.columns]
    is_p = [c.lower() in P_VALUE_COLUMNS for c in cols]
    is_mono = [c in set(mono) for c in cols]
    head = "".join(f"<th>{escape(c)}</th>" for c in cols)
    for idx, rec in zip(df.index, df.itertuples(index=False), strict=True):
        cells = [idx] if index else []
        cells += list(rec)
        tds = []
        for v, p_col, m_col in zip(cells, is_p, is_mono, strict=True):
            if m_col and not _isna(v):
                tds.append(f'<td class="mono"><code>{escape(v)}</code></td>')
            elif isinstance(v, int | float) and not isinstance(v, bool) and not pd.isna(v):
                text = fmt_p(v) if p_col else fmt_num(v, digits)
                tds.append(f'<td class="n">{escape(text)}</td>')
            elif isinstance(v, str) and _NUMERIC_TEXT.match(v):
                tds.append(f'<td class="n">{escape(v)}</td>')
            elif isinstance(v, str) and _DATE_TEXT.match(v):
                tds.append(f'<td class="d">{escape(v)}</td>')
            else:
                tds.append(f"<td>{escape('–' if _isna(v) else v)}</td>")
        rows.append("<tr>" + "".join(tds) + "</tr>")
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    return Markup(
        f'<div class="table-wrap"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def versions() -> dict[str, str]:
    """Versions of Python and the packages behind a report (for the appendix)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("hotspot-rct", "numpy", "pandas", "scipy", "statsmodels", "linearmodels",
                 "matplotlib", "geopandas", "shapely", "pyproj", "jinja2"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _isna(v: Any) -> bool:
    try:
        return v is None or (isinstance(v, float) and math.isnan(v))
    except TypeError:
        return False


def fmt_num(v: Any, digits: int = 3) -> str:
    """Numbers for people: thousands separators, ``digits`` significant figures."""
    if _isna(v):
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int) or (isinstance(v, float) and v.is_integer() and abs(v) < 1e15):
        return f"{int(v):,}"
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.{digits}g}"
        return f"{v:,.{max(digits - len(str(int(abs(v)))), 0) if abs(v) >= 1 else digits}f}"
    return str(v)


def fmt_pct(v: Any, digits: int = 1) -> str:
    return "–" if _isna(v) else f"{100 * float(v):.{digits}f} %"


def fmt_p(v: Any, alpha: float = 0.05) -> str:
    """A p-value cell, as :func:`rct.plan.headline.format_p` writes it (without ``p =``)."""
    from rct.reports.words import p_cell

    return "–" if _isna(v) else p_cell(float(v), alpha=alpha)
