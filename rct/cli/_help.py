"""Help that reads well: metavars, full one-line descriptions, commands in pipeline order.

Typer prints an option's Python type as its value (``--hotspots <float>``,
``logs... <list[Path]>``) and cuts a command's description to fit one line.
:func:`polish` walks the click command tree once, after Typer has built it,
and gives every parameter a readable metavar (``--out FILE``, ``--start
DATE``, ``--buffer METRES``, ``--hotspots N``), every command its full first
sentence as its short help, and the root group its commands in pipeline
order.  Only click's public attributes are set (plus, on the parameter
object itself, the one display hook Typer uses), so it works across Typer
versions.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["polish", "PIPELINE_ORDER", "metavar_for"]

#: the root commands, in the order a trial uses them
PIPELINE_ORDER = (
    "data", "hotspots", "power", "randomise", "plan", "schema", "ingest", "monitor", "evaluate",
    "report", "meta", "simulate", "demo",
)

#: the one-line description of each root command in `rct --help` (fits 80 columns)
SHORT = {
    "data": "Where the bundled police.uk data and harm tables are.",
    "hotspots": "Choose hot spots: the cells with the most crime or harm.",
    "power": "Power and detectable effects: analytic, simulated, historical.",
    "randomise": "Randomise hot spots; verify an allocation; check balance.",
    "plan": "Register the analysis plan (plan.json) and its SHA-256.",
    "schema": "The columns each input needs, with aliases and an example.",
    "ingest": "Patrol logs, Airwave pings, crimes -> hot-spot-day tables.",
    "monitor": "Weekly dosage and compliance while the trial runs.",
    "evaluate": "Run the analysis plan; write results.json and a CSV.",
    "report": "HTML reports: design, monitoring, evaluation.",
    "meta": "Pool trials by meta-analysis (FE, DL, REML, as metafor).",
    "simulate": "Write a synthetic trial with known truth.",
    "demo": "The whole pipeline on a synthetic trial; no input needed.",
}

#: option or argument name -> the value it takes, as the help shows it
_BY_NAME = {
    "out": "FILE", "tasking": "FILE", "summary_out": "FILE", "plot": "FILE", "key_file": "FILE",
    "history": "FILE", "harm_weights": "FILE", "results": "FILE", "allocation": "FILE",
    "trial": "TRIAL", "counts": "COUNTS", "columns": "FILE", "xlsx": "FILE",
    "hotspots": "FILE", "out_dir": "DIR",
    "start": "DATE", "end": "DATE", "as_of": "DATE", "trial_start": "DATE", "trial_end": "DATE",
    "day_starts": "HH:MM",
    "seed": "SEED", "days": "DAYS", "per_day": "K", "top": "N", "draws": "N", "n_sims": "N",
    "workers": "N", "n_blocks": "N", "periods": "N", "per_period": "K", "baseline_days": "DAYS",
    "max_consecutive": "DAYS", "washout": "DAYS", "chunk_rows": "ROWS",
    "buffer": "METRES", "catchment": "METRES", "cell": "METRES", "min_separation": "METRES",
    "tolerance": "METRES", "line_buffer": "METRES",
    "gap_minutes": "MINUTES", "tail_seconds": "SECONDS", "max_visit_hours": "HOURS",
    "max_quarantined": "SHARE", "share": "SHARE", "share_of_harm": "SHARE",
    "alpha": "ALPHA", "power": "POWER", "rate": "RATE", "reduction": "REDUCTION",
    "effect": "RATIO", "base_rate": "RATE", "dispersion": "PHI", "heterogeneity": "TAU2",
    "harm_cv": "CV", "block_correlation": "SHARE", "r2": "R2", "threshold": "M",
    "acceptance": "P", "correction": "C",
    "id_column": "COLUMN", "block_column": "COLUMN", "blocks_from": "COLUMN",
    "rank_column": "COLUMN", "period_column": "COLUMN", "outcome": "NAME",
    "covariates": "COLUMNS", "arms": "ARMS", "ratio": "RATIO",
    "scheme": "SCHEME", "design": "DESIGN", "estimator": "ESTIMATOR", "method": "METHOD",
    "solve": "QUANTITY", "alternative": "SIDE", "scale": "SCALE", "kind": "KIND",
    "harm": "TABLE", "police_force": "NAME", "what": "WHAT", "sheet": "NAME",
}
_RAW = re.compile(r"<[^>]*>|list\[")


def _value_kind(param: Any) -> str:
    """``"path"``, ``"int"``, ``"float"`` or ``"other"`` (Typer's own descriptor, or click's type)."""
    d = getattr(param, "type_descriptor", None)
    if d is not None:  # Typer >= 0.2x: no click type object
        if d.is_path or d.is_file:
            return "path"
        ann = d.annotation
        args = getattr(ann, "__args__", ()) or ()
        for t in (ann, *args):
            if t is int:
                return "int"
            if t is float:
                return "float"
        return "other"
    name = getattr(getattr(param, "type", None), "name", "")
    return {"path": "path", "integer": "int", "float": "float"}.get(str(name), "other")


def _is_argument(param: Any) -> bool:
    return getattr(param, "param_type_name", "") == "argument"


def metavar_for(param: Any) -> str:
    """The readable value name of a parameter (see :data:`_BY_NAME`)."""
    name = str(param.name or "")
    if param.metavar and not _RAW.search(str(param.metavar)):
        return str(param.metavar)
    kind = _value_kind(param)
    many = getattr(param, "nargs", 1) != 1 or getattr(param, "multiple", False)
    if name == "hotspots" and kind in ("int", "float"):
        base = "N"
    elif name in _BY_NAME:
        base = _BY_NAME[name]
    elif kind == "path":
        base = "FILE"
    elif kind == "int":
        base = "N"
    elif kind == "float":
        base = "X"
    else:
        base = name.upper() or "VALUE"
    if _is_argument(param):
        base = name.upper()
    return f"{base}..." if many and _is_argument(param) else base


def _first_sentence(text: str | None) -> str:
    if not text:
        return ""
    para = re.split(r"\n\s*\n", text.strip(), maxsplit=1)[0]
    return " ".join(para.split())


def _fix_param(param: Any) -> None:
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return
    mv = metavar_for(param)
    param.metavar = mv
    if _is_argument(param):
        shown = mv if param.required else f"[{mv}]"
        # Typer's help record = name + its type; the name is the metavar now
        param.display_type_rich = lambda ctx=None, **kw: ""
        param._rich_display_name = lambda: mv
        param.get_usage_pieces = lambda ctx: [shown]
        param.make_metavar = lambda *a, **k: mv
    else:
        param.display_type_rich = lambda ctx=None, **kw: mv
        param.make_metavar = lambda *a, **k: mv


def polish(command: Any, *, root: bool = True) -> Any:
    """Readable metavars, full short help and pipeline order, in place; returns ``command``."""
    for p in command.params:
        _fix_param(p)
    if command.help and not command.short_help:
        command.short_help = _first_sentence(command.help)
    if hasattr(command, "commands"):
        for sub in command.commands.values():
            polish(sub, root=False)
        if root:
            for name, text in SHORT.items():
                if name in command.commands:
                    command.commands[name].short_help = text
            order = {n: i for i, n in enumerate(PIPELINE_ORDER)}
            names = sorted(command.commands, key=lambda n: (order.get(n, len(order)), n))
            command.list_commands = lambda ctx: list(names)
    return command


def walk(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every (path, command) of the tree, leaves and groups, root first."""
    out = [(prefix, command)]
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            out.extend(walk(sub, (*prefix, name)))
    return out
