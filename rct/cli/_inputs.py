"""Turning command-line inputs (files, --db/--query, --columns, --sheet, ...) into Inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["inputs", "column_map", "check_xlsx"]


def column_map(path: Path | None) -> Any:
    """The :class:`rct.io.columns.ColumnMap` of ``--columns FILE`` (empty without it)."""
    from rct.io.columns import ColumnMap, load_columns

    return ColumnMap() if path is None else load_columns(path)


def inputs(
    kind: str,
    files: list[Path] | None,
    *,
    columns: Path | None = None,
    dayfirst: bool | None = None,
    sheet: str | None = None,
    db: str | None = None,
    query: str | None = None,
    what: str = "input files",
) -> list[Any]:
    """Files and/or a database query as :class:`rct.io.sources.Input` s with their settings.

    Raises
    ------
    typer.BadParameter
        Neither files nor ``--db``/``--query``; ``--query`` without ``--db``
        (or the other way round).
    """
    import typer

    from rct.io.sources import Input
    from rct.io.sql import Query

    cmap = column_map(columns)
    mapping = cmap.for_kind(kind)
    order = cmap.dayfirst if dayfirst is None else dayfirst
    if (db is None) != (query is None):
        raise typer.BadParameter("--db and --query go together: the database URL and the SQL")
    out: list[Any] = [
        Input(path=Path(f), sheet=sheet, columns=mapping, dayfirst=order) for f in files or []
    ]
    if db is not None:
        out.append(Input(query=Query(db, query), columns=mapping, dayfirst=order))
    if not out:
        raise typer.BadParameter(f"give {what}, or --db URL --query SQL")
    return out


def check_xlsx(path: Path | None, force: bool) -> None:
    """Refuse a --xlsx target that is not .xlsx, or exists without --force (before any work)."""
    if path is None:
        return
    from rct.errors import DataError
    from rct.io.atomic import check_overwrite

    if path.suffix.lower() != ".xlsx":
        raise DataError(f"--xlsx must name an .xlsx file, not {path.name!r}", file=path)
    check_overwrite([path], force=force)
