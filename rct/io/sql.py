"""Rows from a force database: an SQLAlchemy URL and a query, read like a file.

``--db URL --query SQL`` (or ``Input(query=Query(url, sql))``) reads crime
records or patrol logs straight from a data warehouse: PostgreSQL
(``postgresql+psycopg://user@host/db``), SQL Server, Oracle, SQLite
(``sqlite:///extract.db``) -- any database SQLAlchemy has a driver for.

* The query runs **once**, streamed in chunks (``stream_results``), and its
  rows are spooled to a temporary Parquet file of text columns (deleted
  when the read ends), so a second pass (the duplicate check) sees exactly
  the same rows in the same order even without an ``ORDER BY``.
* Values become the text a CSV export would hold (:mod:`rct.io.cells`), so
  the validators give the same results as for the CSV.
* ``source_row`` is the row's position in the query result (1-based).
* The password never leaves this module: the URL is shown and recorded
  (messages, quarantine files, manifests) as :func:`redact` gives it, and
  any error text is scrubbed of it.  Pass the URL in an environment
  variable (``RCT_DB_URL``) to keep it off the command line too.

The manifest records the redacted URL, the query and the SHA-256 of the rows
read (their CSV text), so a re-run against a changed table is visible.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rct.errors import DataError

__all__ = ["Query", "redact", "spool_query", "SpooledQuery"]


def redact(url: str) -> str:
    """The URL without its password (``postgresql://rct:***@host/db``)."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(str(url)).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can read: show only its scheme
        text = str(url)
        return (text.split("://", 1)[0] + "://***") if "://" in text else "***"


def _password(url: str) -> str | None:
    try:
        from sqlalchemy.engine import make_url

        pw = make_url(str(url)).password
        return None if pw is None else str(pw)
    except Exception:
        return None


def _scrub(text: str, url: str) -> str:
    pw = _password(url)
    text = text.replace(str(url), redact(url))
    if pw:
        text = text.replace(pw, "***")
        from urllib.parse import quote

        text = text.replace(quote(pw, safe=""), "***")
    return text


@dataclass(frozen=True)
class Query:
    """A database URL (SQLAlchemy) and the SQL whose rows are the input.

    ``repr`` and ``str`` never show the password.
    """

    url: str = field(repr=False)
    sql: str

    def __post_init__(self) -> None:
        if not str(self.url).strip():
            raise ValueError("a database query needs a URL (--db)")
        if not str(self.sql).strip():
            raise ValueError("a database query needs the SQL (--query)")

    @property
    def shown_url(self) -> str:
        return redact(self.url)

    @property
    def name(self) -> str:
        """How the source is named in messages and quarantine files (no password)."""
        return f"query on {self.shown_url}"

    def __repr__(self) -> str:
        return f"Query(url={self.shown_url!r}, sql={self.sql!r})"

    def __str__(self) -> str:
        return self.name


@dataclass(eq=False)
class SpooledQuery:
    """The rows of one run of a query, spooled to a temporary Parquet file."""

    query: Query
    path: Path
    columns: tuple[str, ...]
    rows: int
    sha256: str
    _dir: Any = field(default=None, repr=False)

    def manifest_entry(self) -> dict[str, Any]:
        return {"database": self.query.shown_url, "query": self.query.sql, "rows": self.rows,
                "sha256": self.sha256}

    def close(self) -> None:
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __del__(self) -> None:  # the spool is temporary
        try:
            self.close()
        except Exception:  # pragma: no cover - interpreter shutdown
            pass


def spool_query(query: Query, *, chunk_rows: int = 100_000) -> SpooledQuery:
    """Run ``query`` once and spool its rows (as text columns) to a temporary Parquet file.

    Raises
    ------
    DataError
        The database cannot be reached, the query fails, or it returns no
        columns; the message names the redacted URL and the database's
        reason, never the password.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from rct.io.cells import text_table
    from rct.io.delimited import check_unique_columns

    try:
        import sqlalchemy as sa
    except ImportError:  # pragma: no cover - a declared dependency
        raise DataError("reading from a database needs SQLAlchemy (pip install sqlalchemy)") \
            from None
    tmp = tempfile.TemporaryDirectory(prefix="rct-query-")
    spool = Path(tmp.name) / "rows.parquet"
    digest = hashlib.sha256()
    n = 0
    names: tuple[str, ...] = ()
    try:
        try:
            engine = sa.create_engine(query.url)
        except Exception as exc:
            raise DataError(f"cannot use the database URL {query.shown_url} "
                            f"({type(exc).__name__}: {_scrub(str(exc), query.url)[:300]})") \
                from None
        writer = None
        try:
            with engine.connect() as conn:
                result = conn.execution_options(stream_results=True, max_row_buffer=chunk_rows
                                                ).execute(sa.text(query.sql))
                if not result.returns_rows:
                    raise DataError(f"the query returned no rows or columns ({query.name})")
                names = tuple(str(k) for k in result.keys())
                check_unique_columns(names, file=query.name)
                while True:
                    rows = result.fetchmany(chunk_rows)
                    if not rows and writer is not None:
                        break
                    cols = [list(c) for c in zip(*rows, strict=True)] if rows else [
                        [] for _ in names]
                    table = text_table(names, cols)
                    if writer is None:
                        writer = pq.ParquetWriter(spool, table.schema)
                    writer.write_table(table)
                    buf = pa.BufferOutputStream()
                    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=n == 0))
                    digest.update(buf.getvalue().to_pybytes())
                    n += len(rows)
                    if not rows:
                        break
        except DataError:
            raise
        except Exception as exc:  # drivers raise their own types
            msg = _scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else "", query.url)
            raise DataError(f"the database query failed ({type(exc).__name__}: {msg[:300]}); "
                            f"database {query.shown_url}") from None
        finally:
            if writer is not None:
                writer.close()
            engine.dispose()
    except BaseException:
        tmp.cleanup()
        raise
    return SpooledQuery(query, spool, names, n, digest.hexdigest(), tmp)
