"""Pseudonyms for officer and radio identifiers (keyed hash).

Officer IDs and radio IDs are personal data.  Derived tables and quarantine
files carry ``HMAC-SHA256(key, id)`` truncated to a short hex string with a
prefix (``officer-3f9a0c1b2d4e``): stable across runs with the same key, so
tables can be joined, and not reversible without the key.  The key is
supplied by the user (a key file or the ``RCT_PSEUDONYM_KEY`` environment
variable) or generated once and saved to a key file that must live outside
the outputs directory.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rct.errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "KEY_ENV",
    "Pseudonymiser",
    "default_key_file",
    "load_or_create_key",
]

KEY_ENV = "RCT_PSEUDONYM_KEY"
_MIN_KEY_BYTES = 16


def default_key_file() -> Path:
    """Where a generated key is kept: ``$XDG_CONFIG_HOME/hotspot-rct/pseudonym.key``.

    ``$XDG_CONFIG_HOME`` defaults to ``~/.config``; the file is outside any
    outputs directory by construction.
    """
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "hotspot-rct" / "pseudonym.key"


@dataclass(frozen=True)
class KeySource:
    """Where the key came from: ``"file"``, ``"env"``, ``"generated"`` or ``"argument"``."""

    kind: str
    path: Path | None = None

    def describe(self) -> str:
        if self.kind == "env":
            return f"pseudonym key from ${KEY_ENV}"
        if self.kind == "argument":
            return "pseudonym key given by the caller"
        if self.kind == "generated":
            return (
                f"generated a new pseudonym key and saved it to {self.path} "
                "(keep it, outside the outputs, to reproduce the same pseudonyms)"
            )
        return f"pseudonym key from {self.path}"


def load_or_create_key(
    key_file: str | os.PathLike[str] | None = None,
    *,
    outputs: str | os.PathLike[str] | list | tuple | None = None,
    env: str = KEY_ENV,
    create: bool = True,
) -> tuple[bytes, KeySource]:
    """Find the pseudonym key, or generate one.

    Parameters
    ----------
    key_file
        A key file to read; created (with a fresh random key) if it does not
        exist and ``create`` is true.  Default: the environment variable
        ``env`` if set, otherwise :func:`default_key_file`.
    outputs
        Output file(s) or directories of the run: the key file must not be
        in (or under) any of their directories, so a key is never shipped
        with the pseudonymised tables.
    env
        Environment variable holding the key text (at least 16 characters).
    create
        Generate a key when none exists (otherwise raise :class:`DataError`).

    Returns
    -------
    key : bytes
    source : KeySource
        Where the key came from; ``source.describe()`` tells the user.

    Notes
    -----
    A generated key is 32 bytes from :mod:`secrets` (a cryptographic key,
    not a statistical random draw), stored as hex text with mode 0600.
    """
    if key_file is None and os.environ.get(env):
        key = os.environ[env].strip().encode("utf-8")
        if len(key) < _MIN_KEY_BYTES:
            raise DataError(f"${env} must hold at least {_MIN_KEY_BYTES} characters")
        return key, KeySource("env")
    path = Path(key_file) if key_file is not None else default_key_file()
    _check_outside_outputs(path, outputs)
    if path.exists():
        text = path.read_text(encoding="utf-8").strip()
        if len(text) < _MIN_KEY_BYTES:
            raise DataError(
                f"pseudonym key too short (need at least {_MIN_KEY_BYTES} characters)", file=path
            )
        return text.encode("utf-8"), KeySource("file", path)
    if not create:
        raise DataError("pseudonym key file not found", file=path)
    text = secrets.token_hex(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    return text.encode("utf-8"), KeySource("generated", path)


def _check_outside_outputs(path: Path, outputs: object) -> None:
    if outputs is None:
        return
    items = outputs if isinstance(outputs, list | tuple) else [outputs]
    key = path.expanduser().resolve()
    for item in items:
        out = Path(item).expanduser().resolve()
        out_dir = out if out.is_dir() or not out.suffix else out.parent
        if key.is_relative_to(out_dir):
            raise DataError(
                f"the pseudonym key file must be kept outside the outputs directory {out_dir}",
                file=path,
            )


@dataclass(frozen=True)
class Pseudonymiser:
    """Keyed-hash pseudonyms: ``prefix + hex(HMAC-SHA256(key, id))[:length]``.

    Parameters
    ----------
    key
        Secret key bytes (see :func:`load_or_create_key`).
    prefix
        Text before the hash, e.g. ``"officer-"`` or ``"radio-"``.
    length
        Hex characters kept (12 = 48 bits; collisions are negligible for
        the thousands of officers or radios of a force).

    Examples
    --------
    >>> p = Pseudonymiser(b"0123456789abcdef", prefix="officer-")
    >>> p("PC 1234")[:8]
    'officer-'
    """

    key: bytes = field(repr=False)
    prefix: str = "officer-"
    length: int = 12

    def __post_init__(self) -> None:
        if len(self.key) < _MIN_KEY_BYTES:
            raise ValueError(f"pseudonym key must be at least {_MIN_KEY_BYTES} bytes")
        if not 8 <= self.length <= 64:
            raise ValueError("length must be between 8 and 64 hex characters")

    def __call__(self, value: object) -> str:
        digest = hmac.new(self.key, str(value).encode("utf-8"), hashlib.sha256).hexdigest()
        return self.prefix + digest[: self.length]

    def apply(self, values: pd.Series) -> pd.Series:
        """Pseudonymise a Series (missing values stay missing).

        Each distinct value is hashed once, so the cost is one HMAC per
        officer, not per row.
        """
        import pandas as pd

        s = pd.Series(values)
        present = s.notna()
        text = s[present].astype(str).str.strip()
        codes, uniques = pd.factorize(text)
        mapped = [self(u) for u in uniques]  # one HMAC per distinct id
        out = pd.Series(pd.NA, index=s.index, dtype="object")
        if len(codes):
            out[present] = pd.Series(mapped, dtype="object").to_numpy()[codes]
        return out
