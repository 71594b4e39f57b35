"""Report building blocks: sections, facts, and the :class:`Report` result.

A section collects paragraphs, tables and figures.  Any failure while a
section is being built (an upstream table missing, a stage not run yet) turns
into a plain "Not available: <why>" paragraph instead of faked numbers, and
is listed in :attr:`Report.unavailable`.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from rct.reports.render import figure_html, render, table_html, write_report

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = ["Section", "ReportBuilder", "Report", "NotAvailable", "kv_html", "inline_code"]


class NotAvailable(Exception):  # noqa: N818 - a message, not a failure of the code
    """Raised inside a section when something it needs is not there (yet)."""


@dataclass
class Section:
    """One ``<section>`` of a report (see ``templates/base.html.j2``)."""

    id: str
    title: str
    major: bool = False
    text: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)

    def para(self, text: str, *, note: bool = False, cls: str | None = None) -> Section:
        """A paragraph, shown in the order it was added among the tables and figures."""
        block = {"para": True, "text": inline_code(text), "cls": cls or ("note" if note else "")}
        self.text.append(block)
        self.items.append(block)
        return self

    def not_available(self, why: str) -> Section:
        self.unavailable.append(why)
        return self.para(f"Not available: {why}", cls="na")

    def html(self, markup: Markup, *, heading: str | None = None,
             note: str | None = None) -> Section:
        self.items.append({"para": False, "heading": heading, "text": note, "html": markup})
        return self

    def table(self, df: pd.DataFrame, *, heading: str | None = None, note: str | None = None,
              caption: str | None = None, digits: int = 3, mono: tuple[str, ...] = ()
              ) -> Section:
        return self.html(table_html(df, digits=digits, caption=caption, mono=mono),
                         heading=heading, note=note)

    def figure(self, fig: Figure, *, alt: str, heading: str | None = None,
               note: str | None = None) -> Section:
        return self.html(figure_html(fig, alt=alt), heading=heading, note=note)

    def context(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "major": self.major, "text": self.text,
                "items": self.items}


@dataclass(frozen=True)
class Report:
    """A rendered report: the HTML and what could not be shown (section id -> reasons)."""

    kind: str
    title: str
    html: str
    unavailable: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "unavailable", MappingProxyType(dict(self.unavailable)))

    def write(self, out: str | Path, *, force: bool = True) -> Path:
        """Write the HTML atomically; returns the path (``force=False``: refuse an existing one)."""
        return write_report(self.html, out, force=force)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "bytes": len(self.html.encode()),
                "unavailable": {k: list(v) for k, v in self.unavailable.items()}}


class ReportBuilder:
    """Collects facts and sections, then renders one template."""

    def __init__(self, *, kind: str, title: str, subtitle: str, source: str) -> None:
        self.kind, self.title, self.subtitle, self.source = kind, title, subtitle, source
        self.facts: list[dict[str, str]] = []
        self.sections: list[Section] = []
        self.banner: list[str] = []  # red warnings at the top of the page

    def fact(self, label: str, value: Any) -> None:
        from rct.reports.render import fmt_num

        self.facts.append({"label": label, "value": value if isinstance(value, str)
                           else fmt_num(value)})

    @contextlib.contextmanager
    def section(self, id: str, title: str, *, major: bool = False) -> Iterator[Section]:  # noqa: A002
        """Yield a section; any exception inside becomes "Not available: <why>"."""
        s = Section(id=id, title=title, major=major)
        self.sections.append(s)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # library warnings are reported as notes
                yield s
        except NotAvailable as exc:
            s.not_available(str(exc))
        except Exception as exc:  # noqa: BLE001 - one failing section must not sink the report
            s.not_available(_reason(exc))

    def render(self, template: str, **extra: Any) -> Report:
        extra.setdefault("banner", self.banner)
        html = render(template, kind=self.kind, title=self.title, subtitle=self.subtitle,
                      source=self.source, facts=self.facts,
                      sections=[s.context() for s in self.sections], **extra)
        missing = {s.id: tuple(s.unavailable) for s in self.sections if s.unavailable}
        return Report(kind=self.kind, title=self.title, html=html, unavailable=missing)


def inline_code(text: Any) -> Any:
    """Plain text with ```command``` spans as escaped HTML with ``<code>`` (Markup passes through)."""
    import re

    from markupsafe import escape

    if isinstance(text, Markup) or "`" not in str(text):
        return text
    parts = re.split(r"`([^`]+)`", str(text))
    return Markup("").join(escape(p) if i % 2 == 0 else Markup("<code>{}</code>").format(p)
                           for i, p in enumerate(parts))


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text[:400]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def kv_html(pairs: Mapping[str, Any] | list[tuple[str, Any]]) -> Markup:
    """A definition list of key/value pairs (escaped)."""
    from markupsafe import escape

    from rct.reports.render import fmt_num

    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    rows = []
    for k, v in items:
        if isinstance(v, Markup):
            rows.append(f"<dt>{escape(k)}</dt><dd>{v}</dd>")
            continue
        if isinstance(v, bool):
            v = "yes" if v else "no"
        elif isinstance(v, list | tuple):
            v = ", ".join(str(x) for x in v) if v else "–"
        elif v is None:
            v = "–"
        elif isinstance(v, float | int) and not isinstance(v, bool):
            v = fmt_num(v, 4)
        rows.append(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>")
    return Markup('<dl class="kv">' + "".join(rows) + "</dl>")
