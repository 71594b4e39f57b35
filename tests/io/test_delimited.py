"""The shared CSV reader: row numbers, malformed lines, typed reading with a text fallback."""

from __future__ import annotations

import pytest

from rct.errors import DataError
from rct.io.delimited import iter_csv, read_csv_table, sniff_csv


def test_typed_read_falls_back_to_text_mid_file_without_losing_or_repeating_rows(tmp_path):
    # the coordinates are parsed as numbers while reading; a value that is not a number
    # (here after the first blocks were returned) makes the rest be read again as text
    import numpy as np
    import pyarrow as pa

    from rct.io.convert import to_float64

    n = 150_000
    x = [f"{450000 + i * 0.5}" for i in range(n)]
    x[120_000] = "NULL"
    lines = [f"r{i},{v},{200000 + i}" for i, v in enumerate(x)]
    lines[60_000] += ",extra"  # and a malformed line before it
    p = tmp_path / "pings.csv"
    p.write_text("radio_id,x,y\n" + "\n".join(lines) + "\n")
    chunks = list(iter_csv(p, chunk_rows=10_000, prefer={"x": pa.float64(), "y": pa.float64()}))
    rows = np.concatenate([c.rows for c in chunks])
    assert (np.diff(rows) > 0).all() and len(rows) == n - 1  # each row once, in order
    assert [b.row for c in chunks for b in c.bad] == [60_001]
    typed = {str(c.table.column("x").type) for c in chunks}
    assert typed == {"double", "string"}  # typed until the bad value, text after
    got = np.concatenate([to_float64(c.table.column("x")) for c in chunks])
    want = np.array([float(v) if v != "NULL" else np.nan for v in x])
    want = np.delete(want, 60_000)
    np.testing.assert_array_equal(got, want)


def test_rows_keep_their_numbers_around_malformed_and_multiline_rows(tmp_path):
    p = tmp_path / "a.csv"
    p.write_bytes(b'a,b,c\n1,2,3\n4,5,6,7\n"x\ny",8,9\n\n10,11\n12,13,14\n')
    t = read_csv_table(p, keep_text=True)
    assert t.rows.tolist() == [0, 2, 4]  # 0-based data rows of the good rows
    assert [(b.row, b.expected, b.saw, b.text) for b in t.bad] == [
        (2, 3, 4, "4,5,6,7"), (4, 3, 2, "10,11")]
    assert t.table.column("a").to_pylist() == ["1", "x\ny", "12"]
    with pytest.raises(DataError, match=r"a\.csv, row 2: wrong number of fields"):
        read_csv_table(p, strict=True)


def test_delimiter_blank_lines_and_bom(tmp_path):
    p = tmp_path / "s.csv"
    p.write_bytes(b"\xef\xbb\xbf\n\nid;name\n1;a\n")
    lay = sniff_csv(p)
    assert lay.delimiter == ";" and lay.columns == ("id", "name") and lay.blank_lines == 2
    assert read_csv_table(p).table.to_pydict() == {"id": ["1"], "name": ["a"]}


def test_blank_lines_before_the_header_do_not_shift_malformed_row_numbers(tmp_path):
    """Found by hypothesis (``b"\\r,\\x01\\n\\x00"``): pyarrow counts the skipped blank
    lines in a bad row's number, so the malformed row was placed two rows late (past the
    end of the table) and the good rows after it were numbered as if it had not been."""
    p = tmp_path / "b.csv"
    p.write_bytes(b"\n\r\na,b\n1,2\n3\n4,5\n")
    t = read_csv_table(p)
    assert [(b.row, b.expected, b.saw) for b in t.bad] == [(2, 2, 1)]
    assert t.rows.tolist() == [0, 2]
    from rct.io.crimes import read_raw_table

    p2 = tmp_path / "c.csv"
    p2.write_bytes(b"\r,\x01\n\x00")  # the example: one data row, malformed
    frame, _ = read_raw_table(p2)
    assert len(frame) == 1 and frame["_malformed"].tolist()[0].startswith("wrong number")


def test_mixed_encodings_are_refused(tmp_path):
    p = tmp_path / "m.csv"
    p.write_bytes("x,y\ncafé,1\n".encode() + b"caf\xe9,2\n")
    with pytest.raises(DataError, match=r"m\.csv.*mixed text encodings"):
        read_csv_table(p)


def test_a_line_break_inside_a_header_name_is_refused(tmp_path):
    """Found by hypothesis: a quoted CR in a column name made a phantom data row appear."""
    import pytest

    from rct.errors import DataError
    from rct.io.crimes import read_crimes

    p = tmp_path / "h.csv"
    p.write_bytes(b'Month,Longitude,Latitude,"\r"\r\n')
    with pytest.raises(DataError, match="holds a line break"):
        read_crimes(p)
