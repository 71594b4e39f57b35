"""Readers and writers for every input format; validation at the boundary; quarantine.

Reading: :mod:`~rct.io.encoding` (one encoding detection), :mod:`~rct.io.delimited`
(CSV as Arrow chunks; malformed lines set aside, never shifted), :mod:`~rct.io.sources`
(CSV / Parquet / DataFrame in chunks), :mod:`~rct.io.convert` (typed columns from text),
:mod:`~rct.io.crimes`, :mod:`~rct.io.hotspots`, :mod:`~rct.io.times`, :mod:`~rct.io.tables`
(rct's own outputs, checked against their manifests).

Writing: :mod:`~rct.io.atomic` (atomic files, output units with manifests, the overwrite
rule, fault injection), :mod:`~rct.io.safety` (formula neutralisation, invisible
characters), :mod:`~rct.io.quarantine` (quarantined rows, the quarantine limit).
"""
