"""Safe output: atomic files, one overwrite rule, and outputs committed as one unit.

*One file.*  :func:`atomic_path` writes to a temporary file beside the
target and renames it over the target, so a crash or a full disk never
leaves a half-written file where a complete one is expected.  Errors name
the target (not the temporary file): an ``--out`` below a file, a folder
that is not writable.

*A unit.*  An ingest command writes its table, its quarantine file and a
manifest ``<output>.manifest.json`` (each file's name, SHA-256, bytes and
rows; the counts ``read = accepted + quarantined``; the SHA-256 of every
input).  :class:`OutputUnit` commits them together:

1. every file is written to a temporary file beside its target;
2. a commit record (``.<output>.commit.json``) naming every rename and
   removal is written atomically -- the commit point;
3. the temporaries are renamed over the targets, the manifest last, and a
   previous run's quarantine file that this run does not replace is removed;
4. the commit record is removed.

A crash before step 2 leaves the previous unit untouched (the temporaries
are removed by the next write or read: :func:`recover`); a crash after it
is rolled forward by :func:`recover`, which every reader of these outputs
calls (:func:`rct.io.tables.read_table`).  So a reader sees the old unit or
the new one, never a mix; and :func:`verify_unit` detects a mix that did
not come from rct (a quarantine file copied in, a table edited by hand) by
the SHA-256 in the manifest.

*One overwrite rule.*  Every file a command writes is refused if it exists,
unless the user passes ``--force`` (``force=True``); a unit counts as
existing if any of its members does.  See :func:`check_overwrite`.

*Fault injection.*  ``fault_hook`` (a callable given each point's name) or
the environment variable ``RCT_FAULT_INJECT=<point>`` (the process exits at
once with status 86, like ``kill -9``) stop a commit at: ``temp:<name>``
(after each temporary file is written), ``commit-record``, ``rename:<name>``
(after each rename), ``remove:<name>`` and ``done``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rct.errors import DataError, InconsistentOutputError, OutputExistsError

__all__ = [
    "atomic_path",
    "write_text",
    "write_bytes",
    "write_json",
    "write_table",
    "check_overwrite",
    "ensure_parent",
    "file_sha256",
    "manifest_path",
    "OutputUnit",
    "recover",
    "verify_unit",
    "UnitStatus",
    "fault_hook",
    "FAULT_ENV",
    "FAULT_EXIT",
    "MANIFEST_FORMAT",
]

MANIFEST_FORMAT = "hotspot-rct/output-manifest/1"
FAULT_ENV = "RCT_FAULT_INJECT"
FAULT_EXIT = 86
#: set by tests: called with the name of each commit point (may raise)
fault_hook: Callable[[str], None] | None = None


def _fault(point: str) -> None:
    if fault_hook is not None:
        fault_hook(point)
    if os.environ.get(FAULT_ENV) == point:
        os._exit(FAULT_EXIT)  # as abrupt as kill -9: no cleanup, no flush


# ------------------------------------------------------------------ one file


def ensure_parent(target: str | os.PathLike[str], *, create: bool = True) -> Path:
    """Create ``target``'s folder; DataError naming the target if that is impossible.

    Refuses a target that is itself a folder, a folder path that runs
    through a file (``--out results.csv/x.parquet``), and a folder that is
    not writable.  ``create=False`` only checks (nothing is made on disk).
    """
    target = Path(target)
    if target.is_dir():
        raise DataError("is a folder; give a file name to write", file=target)
    parent = target.parent
    probe = parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise DataError(
            f"cannot write here: {probe} is a file, not a folder", file=target
        )
    if not create:
        if not os.access(probe, os.W_OK | os.X_OK):
            raise DataError(
                f"cannot write: the folder {probe} is not writable (permission denied)",
                file=target,
            )
        return target
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except PermissionError:
        raise DataError(
            f"cannot create the folder {parent}: permission denied", file=target
        ) from None
    except (FileExistsError, NotADirectoryError):
        raise DataError(
            f"cannot write here: a part of {parent} is a file, not a folder", file=target
        ) from None
    except OSError as exc:
        raise DataError(f"cannot create the folder {parent}: {exc.strerror}", file=target) from None
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DataError(
            f"cannot write: the folder {parent} is not writable (permission denied)",
            file=target,
        )
    return target


def _temp_for(target: Path) -> Path:
    """A new temporary file beside ``target`` (``.<name>.<random>.tmp``, mode as a normal file)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except PermissionError:
        raise DataError(
            f"cannot write: the folder {target.parent} is not writable (permission denied)",
            file=target,
        ) from None
    except OSError as exc:
        raise DataError(f"cannot write ({exc.strerror})", file=target) from None
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are ordinary files
    return tmp_path


@contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it over ``target`` on success."""
    target = ensure_parent(target)
    tmp_path = _temp_for(target)
    try:
        yield tmp_path
        _fsync(tmp_path)
        try:
            os.replace(tmp_path, target)
        except OSError as exc:
            raise DataError(f"cannot write ({exc.strerror})", file=target) from None
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(target: str | os.PathLike[str], data: bytes) -> Path:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def write_text(target: str | os.PathLike[str], text: str) -> Path:
    return write_bytes(target, text.encode("utf-8"))


def write_json(target: str | os.PathLike[str], obj: Any, *, indent: int = 2) -> Path:
    """Write ``obj`` as UTF-8 JSON with sorted keys and a final newline."""
    return write_text(target, _dumps(obj, indent=indent))


def _dumps(obj: Any, *, indent: int = 2) -> str:
    return json.dumps(obj, indent=indent, sort_keys=True, default=_json_default) + "\n"


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


_TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def _write_frame(df: Any, path: Path, suffix: str, index: bool) -> None:
    if suffix == ".csv":
        from rct.io.safety import neutralise_frame

        neutralise_frame(df).to_csv(path, index=index, lineterminator="\n")
    else:
        df.to_parquet(path, index=index)


def write_table(
    df: Any, target: str | os.PathLike[str], *, index: bool = False, force: bool = True
) -> Path:
    """Write a DataFrame as CSV or Parquet, chosen by the file's suffix, atomically.

    CSV cells that a spreadsheet would run as a formula are neutralised
    (:func:`rct.io.safety.neutralise_frame`).  ``force=False`` refuses an
    existing ``target`` (:func:`check_overwrite`).
    """
    target = Path(target)
    suffix = _table_suffix(target)
    if not force:
        check_overwrite([target], force=False)
    with atomic_path(target) as tmp:
        _write_frame(df, tmp, suffix, index)
    return target


def _table_suffix(target: Path) -> str:
    suffix = target.suffix.lower()
    if suffix not in _TABLE_SUFFIXES:
        raise DataError(
            f"unknown output format {suffix!r}; use one of {sorted(_TABLE_SUFFIXES)}",
            file=target,
        )
    return suffix


def check_overwrite(paths: Iterable[str | os.PathLike[str]], *, force: bool) -> None:
    """The one overwrite rule: refuse existing outputs unless ``force``.

    Raises
    ------
    OutputExistsError
        Naming the first existing file (and how many others).
    """
    if force:
        return
    existing = [Path(p) for p in paths if Path(p).exists()]
    if existing:
        others = f" (and {len(existing) - 1} other file(s) of this output)" if len(existing) > 1 else ""
        raise OutputExistsError(
            f"{existing[0]} already exists{others}: refusing to overwrite it; pass --force "
            "(force=True) to replace it"
        )


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------ units


def manifest_path(output: str | os.PathLike[str]) -> Path:
    """``dosage.parquet`` -> ``dosage.parquet.manifest.json`` beside it."""
    out = Path(output)
    return out.with_name(f"{out.name}.manifest.json")


def _record_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.commit.json")


@dataclass(frozen=True)
class _Member:
    role: str
    path: Path
    temp: Path
    sha256: str
    bytes: int
    rows: int | None


class OutputUnit:
    """An output with its companions (quarantine file, manifest), committed as one unit.

    Parameters
    ----------
    output
        The main output table.
    companions
        Other files of the unit, by role (e.g. ``{"quarantine": path}``).  A
        companion that is not written in a run but exists from an earlier
        run is removed by :meth:`commit` (it would no longer match).
    force
        Replace an existing unit.

    Examples
    --------
    >>> unit = OutputUnit(out, companions={"quarantine": qpath}, force=force)
    >>> unit.check()                      # before the work: refuse early
    >>> unit.add_table("output", table)
    >>> unit.add_table("quarantine", bad_rows)     # only if there are any
    >>> unit.commit(counts={"read": n, "accepted": a, "quarantined": q}, inputs=files)
    """

    def __init__(
        self,
        output: str | os.PathLike[str],
        *,
        companions: dict[str, str | os.PathLike[str]] | None = None,
        force: bool = False,
        command: str | None = None,
    ) -> None:
        self.output = Path(output)
        self.manifest = manifest_path(self.output)
        self.paths: dict[str, Path] = {"output": self.output}
        for role, p in (companions or {}).items():
            self.paths[role] = Path(p)
        self.force = force
        self.command = command
        self._members: dict[str, _Member] = {}

    @property
    def all_paths(self) -> list[Path]:
        return [*self.paths.values(), self.manifest]

    def check(self) -> None:
        """Complete an interrupted commit, then apply the overwrite rule and path checks."""
        for p in self.all_paths:
            ensure_parent(p, create=False)
        if self.output.parent.is_dir():
            recover(self.output)
        check_overwrite(self.all_paths, force=self.force)

    def add_table(self, role: str, df: Any, *, rows: int | None = None) -> Path:
        """Write ``df`` (CSV/Parquet by suffix) to a temporary file for ``role``."""
        path = self.paths[role]
        suffix = _table_suffix(path)
        return self._add(role, lambda tmp: _write_frame(df, tmp, suffix, False),
                         len(df) if rows is None else rows)

    def add_bytes(self, role: str, data: bytes, *, rows: int | None = None) -> Path:
        """Write raw bytes for ``role`` (e.g. GeoJSON text; also the fault-injection tests)."""
        return self._add(role, lambda tmp: tmp.write_bytes(data), rows)

    def _add(self, role: str, write: Callable[[Path], Any], rows: int | None) -> Path:
        if role in self._members:
            raise ValueError(f"{role} already added")
        path = ensure_parent(self.paths[role])
        tmp = _temp_for(path)
        try:
            write(tmp)
            _fsync(tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            self.discard()
            raise
        self._members[role] = _Member(
            role, path, tmp, file_sha256(tmp), tmp.stat().st_size, rows
        )
        _fault(f"temp:{path.name}")
        return tmp

    def discard(self) -> None:
        """Remove the temporary files written so far (nothing is committed)."""
        for m in self._members.values():
            m.temp.unlink(missing_ok=True)
        self._members.clear()

    def commit(
        self,
        *,
        counts: dict[str, int] | None = None,
        inputs: Iterable[str | os.PathLike[str]] = (),
        parameters: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Write the manifest and rename everything into place (see the module notes).

        Returns the manifest.
        """
        if "output" not in self._members:
            raise ValueError("the unit has no output table")
        try:
            manifest = self._manifest(counts, inputs, parameters)
            mtemp = _temp_for(self.manifest)
            mtemp.write_text(_dumps(manifest), encoding="utf-8")
            _fsync(mtemp)
            _fault(f"temp:{self.manifest.name}")
        except BaseException:
            self.discard()
            raise
        renames = [(m.temp, m.path) for m in self._members.values()] + [(mtemp, self.manifest)]
        remove = [p for role, p in self.paths.items() if role not in self._members]
        record = {
            "renames": [[t.name, p.name] for t, p in renames],
            "remove": [p.name for p in remove],
        }
        rec = _record_path(self.output)
        try:
            with atomic_path(rec) as tmp:
                tmp.write_text(json.dumps(record), encoding="utf-8")
        except BaseException:
            self.discard()
            mtemp.unlink(missing_ok=True)
            raise
        _fault("commit-record")
        try:
            for tmp, final in renames:
                os.replace(tmp, final)
                _fault(f"rename:{final.name}")
            for p in remove:
                p.unlink(missing_ok=True)
                _fault(f"remove:{p.name}")
            _fsync_dir(self.output.parent)
            rec.unlink(missing_ok=True)
        except BaseException:
            recover(self.output, strict=False)  # roll forward what we can
            raise
        _fault("done")
        self._members.clear()
        return manifest

    def _manifest(
        self, counts: dict[str, int] | None, inputs: Iterable[Any], parameters: Any
    ) -> dict[str, Any]:
        from rct._version import __version__

        files = [
            {"role": m.role, "name": m.path.name, "sha256": m.sha256, "bytes": m.bytes,
             "rows": m.rows}
            for m in self._members.values()
        ]
        ins = []
        seen: set[Path] = set()
        for x in inputs:
            entry = getattr(x, "manifest_entry", None)
            query = entry() if callable(entry) else None
            if query is not None:  # a database query: redacted URL, SQL, rows' SHA-256
                ins.append(query)
                continue
            p = Path(x)
            if p in seen:
                continue
            seen.add(p)
            if p.is_file():
                item = {"path": _relative(p, self.output.parent), "sha256": file_sha256(p),
                        "bytes": p.stat().st_size}
                if getattr(x, "sheet", None) is not None:
                    item["sheet"] = str(x.sheet)
                ins.append(item)
        out: dict[str, Any] = {
            "format": MANIFEST_FORMAT,
            "output": self.output.name,
            "files": files,
            "inputs": ins,
            "software": {"package": "hotspot-rct", "version": __version__},
            "created_utc": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        }
        if counts is not None:
            c = {k: int(v) for k, v in counts.items()}
            if {"read", "accepted", "quarantined"} <= c.keys() and (
                c["read"] != c["accepted"] + c["quarantined"]
            ):
                raise AssertionError(f"counts do not reconcile: {c}")  # a bug, never user error
            out["counts"] = c
        if self.command:
            out["command"] = self.command
        if parameters:
            out["parameters"] = json.loads(json.dumps(parameters, default=_json_default))
        return out


def _relative(p: Path, base: Path) -> str:
    try:
        return os.path.relpath(p.resolve(), base.resolve())
    except ValueError:  # another drive (Windows)
        return str(p)


def recover(output: str | os.PathLike[str], *, strict: bool = True) -> bool:
    """Finish an interrupted commit of ``output``'s unit and remove stale temporaries.

    Returns True if an interrupted commit was rolled forward.

    Raises
    ------
    InconsistentOutputError
        (``strict``) The commit record cannot be completed (its files were
        removed) or the folder cannot be written.
    """
    output = Path(output)
    folder = output.parent
    rec = _record_path(output)
    rolled = False
    if rec.exists():
        try:
            record = json.loads(rec.read_text("utf-8"))
            for tmp_name, final_name in record["renames"]:
                tmp = folder / tmp_name
                if tmp.exists():
                    os.replace(tmp, folder / final_name)
            for name in record["remove"]:
                (folder / name).unlink(missing_ok=True)
            _fsync_dir(folder)
            rec.unlink()
            rolled = True
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if strict:
                raise InconsistentOutputError(
                    f"an interrupted write of this output could not be completed ({exc}); "
                    "run the command that writes it again with --force",
                    file=output,
                ) from None
            return False
    _remove_stale_temps(output)
    return rolled


def _remove_stale_temps(output: Path) -> None:
    folder = output.parent
    if not folder.is_dir():
        return
    names = {output.name, manifest_path(output).name}
    man = manifest_path(output)
    if man.exists():
        try:
            names |= {f["name"] for f in json.loads(man.read_text("utf-8")).get("files", [])}
        except (OSError, ValueError, TypeError, KeyError):
            pass
    from rct.io.quarantine import quarantine_path

    names.add(quarantine_path(output).name)
    names.add(_record_path(output).name)
    for name in names:
        for tmp in folder.glob(f".{_glob_escape(name)}.*.tmp"):
            try:
                tmp.unlink()
            except OSError:
                pass


def _glob_escape(name: str) -> str:
    import glob

    return glob.escape(name)


@dataclass(frozen=True)
class UnitStatus:
    """What :func:`verify_unit` found."""

    output: Path
    manifest: dict[str, Any] | None
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_unit(output: str | os.PathLike[str], *, strict: bool = True) -> UnitStatus:
    """Check an output against its manifest (after :func:`recover`).

    An output without a manifest (written by an older version, or by hand)
    passes with ``manifest=None``.

    Raises
    ------
    InconsistentOutputError
        (``strict``) A file differs from its SHA-256, is missing, or the
        counts do not reconcile; the message names every problem.
    """
    output = Path(output)
    try:
        recover(output)
    except InconsistentOutputError:
        if strict:
            raise
    man_path = manifest_path(output)
    if not man_path.exists():
        return UnitStatus(output, None)
    problems: list[str] = []
    try:
        man = json.loads(man_path.read_text("utf-8"))
        if not isinstance(man, dict) or man.get("format") != MANIFEST_FORMAT:
            # another kind of manifest (an allocation's: `rct randomise verify` checks it)
            return UnitStatus(output, None)
        files = man["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problems.append(f"manifest {man_path.name} is unreadable ({exc})")
        man, files = None, []
    seen = set()
    for f in files:
        p = output.parent / f["name"]
        seen.add(f["role"])
        if not p.exists():
            problems.append(f"{f['name']} ({f['role']}) is missing")
        elif file_sha256(p) != f["sha256"]:
            problems.append(f"{f['name']} ({f['role']}) does not match its SHA-256 in the manifest")
    if man is not None and "output" not in seen:
        problems.append("the manifest lists no output table")
    from rct.io.quarantine import quarantine_path

    q = quarantine_path(output)
    if man is not None and "quarantine" not in seen and q.exists():
        problems.append(f"{q.name} is not part of this output (left from another run)")
    counts = (man or {}).get("counts") or {}
    if {"read", "accepted", "quarantined"} <= counts.keys():
        if counts["read"] != counts["accepted"] + counts["quarantined"]:
            problems.append("the manifest's counts do not reconcile")
        qrows = next((f.get("rows") for f in files if f["role"] == "quarantine"), 0)
        if qrows is not None and counts["quarantined"] != (qrows or 0):
            problems.append(
                f"the manifest counts {counts['quarantined']} quarantined rows but the "
                f"quarantine file holds {qrows or 0}"
            )
    status = UnitStatus(output, man, tuple(problems))
    if problems and strict:
        raise InconsistentOutputError(
            "the output and its companions do not belong together: " + "; ".join(problems)
            + f" (see {man_path.name}); run the command that writes it again with --force",
            file=output,
        )
    return status
