"""Shared command-line options: numeric ranges checked at the boundary, the overwrite rule.

Every numeric option states its valid range in its help text and refuses a
value outside it (and NaN or infinity) with a one-line error naming the
option, before any file is read::

    rct: error: --buffer = 1e+09 is out of range: must be between 0 and 1000 (metres)
"""

from __future__ import annotations

import math
from typing import Any

import typer

from rct.errors import RCTError

__all__ = ["OptionRangeError", "ranged", "FORCE_HELP", "force_option", "max_quarantined_option",
           "quarantine_raw_option", "chunk_rows_option"]


class OptionRangeError(RCTError):
    """A numeric command-line option outside its valid range."""


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if float(v).is_integer() and abs(v) >= 10_000 else f"{v:g}"


def check_range(
    name: str,
    value: Any,
    lo: float | None,
    hi: float | None,
    *,
    unit: str = "",
    integer: bool = False,
    lo_open: bool = False,
) -> Any:
    """Return ``value`` if it is a finite number in range, else raise OptionRangeError."""
    if value is None:
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise OptionRangeError(f"{name} = {value!r} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise OptionRangeError(f"{name} = {value!r} is not a finite number")
    if integer and int(value) != value:
        raise OptionRangeError(f"{name} = {value!r} must be a whole number")
    below = lo is not None and (value <= lo if lo_open else value < lo)
    above = hi is not None and value > hi
    if below or above:
        raise OptionRangeError(
            f"{name} = {_fmt(value)} is out of range: must be {describe(lo, hi, lo_open=lo_open)}"
            + (f" ({unit})" if unit else "")
        )
    return value


def describe(lo: float | None, hi: float | None, *, lo_open: bool = False) -> str:
    """``"between 0 and 1000"``, ``"more than 0 and at most 24"``, ``"at least 1"`` ..."""
    if lo is not None and hi is not None:
        return (f"more than {_fmt(lo)} and at most {_fmt(hi)}" if lo_open
                else f"between {_fmt(lo)} and {_fmt(hi)}")
    if lo is not None:
        return f"more than {_fmt(lo)}" if lo_open else f"at least {_fmt(lo)}"
    if hi is not None:
        return f"at most {_fmt(hi)}"
    return "a number"


def ranged(
    default: Any,
    *names: str,
    help: str,
    lo: float | None = None,
    hi: float | None = None,
    unit: str = "",
    lo_open: bool = False,
    integer: bool = False,
    **kw: Any,
) -> Any:
    """A ``typer.Option`` whose value must lie in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``).

    The range is appended to the help text; the check runs when the
    command line is parsed.
    """
    span = describe(lo, hi, lo_open=lo_open)
    text = f"{help} Range: {span}{' ' + unit if unit else ''}."

    def _check(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if ctx.resilient_parsing:
            return value
        label = max(param.opts, key=len) if param.opts else str(param.name)
        return check_range(label, value, lo, hi, unit=unit, integer=integer, lo_open=lo_open)

    return typer.Option(default, *names, help=text, callback=_check, **kw)


FORCE_HELP = (
    "Replace existing output files (the output, its quarantine file and manifest); "
    "without it an existing output is refused."
)


def force_option() -> Any:
    return typer.Option(False, "--force", help=FORCE_HELP)


def max_quarantined_option() -> Any:
    return ranged(
        0.5,
        "--max-quarantined",
        help="Largest share of input rows that may be quarantined; above it the run stops "
        "(exit 2) with the top reasons and writes nothing.",
        lo=0.0,
        hi=1.0,
    )


def quarantine_raw_option(what: str) -> Any:
    return typer.Option(
        False,
        "--quarantine-raw",
        help=f"Write quarantined rows exactly as read: {what}, and the full text of lines with "
        "the wrong number of fields. This is personal data: keep the file as securely as the "
        "input. Off: quarantine files carry pseudonyms and no free text.",
    )


def chunk_rows_option(default: int) -> Any:
    return ranged(
        default,
        "--chunk-rows",
        help="Rows read at a time: the memory bound (never changes the result).",
        lo=1_000,
        hi=100_000_000,
        integer=True,
    )


# ------------------------------------------------------------- reading a force's data

def columns_option() -> Any:
    return typer.Option(
        None, "--columns", metavar="FILE",
        help="Map the force's column headers to the canonical names: a TOML file "
        '([patrols] "Hot Spot" = "hotspot_id"; a trial.toml\'s [columns] works too) or a CSV '
        "(input,column,canonical). See `rct schema`.",
    )


def dayfirst_option() -> Any:
    return typer.Option(
        None, "--dayfirst/--monthfirst",
        help="Order of slash dates: dd/mm/yyyy (--dayfirst, the UK order) or mm/dd/yyyy. "
        "Default: told from the file (a day above 12); a file where it cannot be told is "
        "refused, never guessed.",
    )


def sheet_option() -> Any:
    return typer.Option(
        None, "--sheet", metavar="NAME",
        help="Excel (.xlsx) inputs: the sheet to read (needed when a workbook has several).",
    )


def db_option(what: str) -> Any:
    return typer.Option(
        None, "--db", metavar="URL", envvar="RCT_DB_URL", show_envvar=True,
        help=f"Read {what} from a database instead of files: an SQLAlchemy URL, e.g. "
        "postgresql+psycopg://user@host/db or sqlite:///extract.db (with --query). Put a "
        "password in $RCT_DB_URL rather than on the command line; it is never printed or "
        "written.",
    )


def query_option() -> Any:
    return typer.Option(None, "--query", metavar="SQL",
                        help="With --db: the SELECT whose rows are the input (one row each).")


def line_buffer_option() -> Any:
    return ranged(
        None, "--line-buffer", metavar="METRES",
        help="Metres each side of a line hot spot (a street segment), ends cut square; "
        "default 15.",
        lo=0.0, hi=1000.0, lo_open=True,
    )


def xlsx_option(what: str) -> Any:
    return typer.Option(
        None, "--xlsx", metavar="FILE",
        help=f"Also write {what} as an Excel workbook (.xlsx); cells Excel would run as a "
        "formula are neutralised.",
    )
