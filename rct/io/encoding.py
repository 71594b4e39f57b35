"""One encoding detection for every text reader: a UTF-8 byte stream from any file.

Every CSV reader in :mod:`rct` opens its file through :func:`open_utf8`, so
every reader accepts the same files and says the same thing about them:

* UTF-8, with or without a byte-order mark (the BOM is dropped);
* UTF-16 and UTF-32 with a byte-order mark (Excel's "Unicode text"), and
  UTF-16 without one when the first 64 KiB show it (every other byte NUL);
* anything else that is not valid UTF-8 is read as cp1252 (Windows
  Latin-1, what Excel on a UK Windows PC writes); the five bytes cp1252
  leaves undefined are read as Latin-1 so no byte is ever lost.

The decision between UTF-8 and cp1252 is made while streaming, block by
block: a file that is pure ASCII up to its first invalid UTF-8 byte is read
as cp1252 from the start (ASCII is the same in both); a file that holds
valid non-ASCII UTF-8 *and later* bytes that are not UTF-8 mixes encodings
and is refused with a :class:`~rct.errors.DataError` naming the file and
the byte offset.  Compressed files (``.gz``, ``.bz2``, ``.xz``, ``.zip``
with one member) are decompressed on the fly.
"""

from __future__ import annotations

import codecs
import io
import os
from pathlib import Path
from typing import IO, Any

from rct.errors import DataError

__all__ = ["Utf8Stream", "open_utf8", "detect_encoding", "COMPRESSED_SUFFIXES"]

COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zip")
_SAMPLE = 1 << 16
_BLOCK = 1 << 22
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: same first two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_DESCRIPTION = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with a byte-order mark",
    "utf-16": "UTF-16 (byte-order mark)",
    "utf-16-le": "UTF-16 little-endian (no byte-order mark)",
    "utf-16-be": "UTF-16 big-endian (no byte-order mark)",
    "utf-32": "UTF-32 (byte-order mark)",
    "cp1252": "cp1252 (Windows Latin-1)",
}


def _latin1_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Error handler: bytes cp1252 leaves undefined (0x81, 0x8D, ...) read as Latin-1."""
    if not isinstance(exc, UnicodeDecodeError):  # pragma: no cover - decoding only
        raise exc
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("rct-latin1", _latin1_fallback)


def _open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed by suffix."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".gz":
            import gzip

            return gzip.open(path, "rb")
        if suffix == ".bz2":
            import bz2

            return bz2.open(path, "rb")
        if suffix == ".xz":
            import lzma

            return lzma.open(path, "rb")
        if suffix == ".zip":
            import zipfile

            zf = zipfile.ZipFile(path)
            names = [n for n in zf.namelist() if not n.endswith("/")]
            if len(names) != 1:
                raise DataError(
                    f"a zipped table must hold exactly one file; this one holds {len(names)}",
                    file=path,
                )
            return zf.open(names[0], "r")
        return open(path, "rb")
    except DataError:
        raise
    except FileNotFoundError:
        raise DataError("file not found", file=path) from None
    except IsADirectoryError:
        raise DataError("is a folder, not a file", file=path) from None
    except PermissionError:
        raise DataError("permission denied: cannot read the file", file=path) from None
    except Exception as exc:  # a corrupt archive
        raise DataError(f"cannot read as CSV ({type(exc).__name__}: {exc})", file=path) from None


def detect_encoding(sample: bytes) -> str:
    """Encoding told from the first bytes: a BOM, UTF-16 NUL pattern, else ``"utf-8"``.

    ``"utf-8"`` means "UTF-8 unless a later byte says otherwise" (see
    :class:`Utf8Stream`, which falls back to cp1252).
    """
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    n = len(sample) - len(sample) % 2
    if n >= 4 and b"\x00" in sample[:n]:
        even = sample[0:n:2].count(0)
        odd = sample[1:n:2].count(0)
        half = n // 2
        if odd > 0.3 * half and even < 0.05 * half:
            return "utf-16-le"
        if even > 0.3 * half and odd < 0.05 * half:
            return "utf-16-be"
    return "utf-8"


class QuoteTracker:
    """Quote bookkeeping on a UTF-8 byte stream as it is read, to find a quote that opens
    a field and is never closed (a CSV parser would swallow every row after it)."""

    def _reset_quotes(self) -> None:
        self.quotes = 0
        self.newlines = 0
        self._last_quote_line = 0
        self._last_quote_prev = b""
        self._prev_byte = b"\n"

    def _track(self, data: bytes) -> None:
        """Quotes so far, and the line and preceding byte of the last quote."""
        if not data:
            return
        import numpy as np

        a = np.frombuffer(data, dtype=np.uint8)
        nl = int(np.count_nonzero(a == 10))
        q = int(np.count_nonzero(a == 34))
        if q:
            last = data.rindex(b'"')
            after = int(np.count_nonzero(a[last:] == 10))
            self._last_quote_line = self.newlines + nl - after + 1
            self._last_quote_prev = data[last - 1 : last] if last else self._prev_byte
            self.quotes += q
        self.newlines += nl
        self._prev_byte = data[-1:]

    def open_quote_line(self, delimiter: str) -> int | None:
        """The line of a quote that opens a field and is never closed (read to the end), or None.

        A CSV parser reads everything after such a quote as one field (up
        to the end of the file), so the rows after it would be lost.
        """
        if self.quotes % 2 == 0:
            return None
        if self._last_quote_prev in (b"", b"\n", b"\r", delimiter.encode()):
            return self._last_quote_line
        return None


class Utf8Stream(QuoteTracker, io.RawIOBase):
    """A read-only binary stream of UTF-8 bytes transcoded from ``raw``.

    Parameters
    ----------
    raw
        The file's (decompressed) bytes.
    name
        The file, for messages.

    Attributes
    ----------
    encoding : str
        The encoding read (``"cp1252"`` once a fallback happened).
    notes : list of str
        What the reader should tell the user (e.g. the fallback).
    """

    def __init__(self, raw: IO[bytes], *, name: object) -> None:
        super().__init__()
        self._raw = raw
        self.name = str(name)
        try:
            head = raw.read(_SAMPLE)
        except Exception as exc:  # not gzip after all, a truncated archive, ...
            raise DataError(f"cannot read as CSV ({type(exc).__name__}: {exc})", file=name) from None
        self.encoding = detect_encoding(head)
        self.notes: list[str] = []
        self._buffer = bytearray()
        self._offset = 0  # raw bytes consumed (for messages)
        self._ascii_so_far = True
        self._validator = codecs.getincrementaldecoder("utf-8")()
        self._decoder: Any = None
        if self.encoding not in ("utf-8", "utf-8-sig"):
            self._start_decoder(self.encoding)
            self.notes.append(f"read as {_DESCRIPTION[self.encoding]}")
        elif self.encoding == "utf-8-sig":
            head = head[len(codecs.BOM_UTF8) :]
            self._offset = len(codecs.BOM_UTF8)
        self._pending_raw = head
        self._eof = False
        # quote bookkeeping on the UTF-8 output, to find a quote that is never closed
        self._reset_quotes()

    # -- io.RawIOBase ---------------------------------------------------------
    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            chunks = [bytes(self._buffer)]
            self._buffer.clear()
            while True:
                block = self._next_block()
                if block is None:
                    break
                chunks.append(block)
            out = b"".join(chunks)
            self._track(out)
            return out
        while len(self._buffer) < size:
            block = self._next_block()
            if block is None:
                break
            self._buffer += block
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        self._track(out)
        return out

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            super().close()

    # -- decoding --------------------------------------------------------------
    def _start_decoder(self, encoding: str) -> None:
        errors = "rct-latin1" if encoding == "cp1252" else "strict"
        self._decoder = codecs.getincrementaldecoder(encoding)(errors=errors)

    def _next_block(self) -> bytes | None:
        if self._pending_raw:
            raw, self._pending_raw = self._pending_raw, b""
        elif self._eof:
            return None
        else:
            try:
                raw = self._raw.read(_BLOCK)
            except Exception as exc:  # a truncated or corrupt archive
                raise DataError(
                    f"cannot read as CSV ({type(exc).__name__}: {exc})", file=self.name
                ) from None
        final = not raw
        if final:
            self._eof = True
        start = self._offset
        self._offset += len(raw)
        if self._decoder is not None:
            try:
                text = self._decoder.decode(raw, final=final)
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"not valid {_DESCRIPTION.get(self.encoding, self.encoding)} at byte "
                    f"{start + exc.start:,} ({exc.reason})",
                    file=self.name,
                ) from None
            if final and not text:
                return None
            return text.encode("utf-8")
        if final:
            try:
                self._validator.decode(b"", final=True)
            except UnicodeDecodeError:
                raise DataError(
                    "not valid UTF-8: the file ends inside a multi-byte character",
                    file=self.name,
                ) from None
            return None
        if raw.isascii():
            return raw
        try:
            self._validator.decode(raw)
        except UnicodeDecodeError as exc:
            if not (self._ascii_so_far and raw[: exc.start].isascii()):
                raise DataError(
                    "mixed text encodings: valid UTF-8 (with non-ASCII characters) before "
                    f"byte {start + exc.start:,}, then a byte that is not UTF-8; save the file "
                    "again in one encoding (UTF-8)",
                    file=self.name,
                ) from None
            self.encoding = "cp1252"
            self.notes.append(
                f"not UTF-8 (byte {start + exc.start:,}); read as {_DESCRIPTION['cp1252']}"
            )
            self._start_decoder("cp1252")
            return self._decoder.decode(raw).encode("utf-8")
        self._ascii_so_far = False
        return raw


def open_utf8(path: str | os.PathLike[str]) -> Utf8Stream:
    """Open a text file (plain or compressed) as a stream of UTF-8 bytes.

    Raises
    ------
    DataError
        The file is missing, a folder, unreadable or a corrupt archive.
    """
    p = Path(path)
    if not p.exists():
        raise DataError("file not found", file=p)
    if p.is_dir():
        raise DataError("is a folder, not a file", file=p)
    return Utf8Stream(_open_binary(p), name=p)
