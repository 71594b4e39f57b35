"""The CLI shell: help, version, error handling."""

from __future__ import annotations

import subprocess
import sys

from rct._version import __version__
from rct.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def test_help_lists_command_groups(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for group in ("hotspots", "randomise", "ingest", "power", "report"):
        assert group in out


def test_unknown_command_is_usage_error(capsys):
    assert main(["no-such-command"]) == 2


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from rct.cli import main; main(['--help']);"
        "heavy=[m for m in ('pandas','numpy','statsmodels','matplotlib','scipy','geopandas') if m in sys.modules];"
        "print('HEAVY=' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy = [ln for ln in out.stdout.splitlines() if ln.startswith("HEAVY=")]
    assert heavy == ["HEAVY="]


def test_warnings_are_one_line(capsys):
    import warnings as w

    from rct.cli import _show_warning
    from rct.errors import QuarantineWarning

    with w.catch_warnings():
        w.showwarning = _show_warning
        w.warn("3 rows quarantined", QuarantineWarning, stacklevel=1)
    assert capsys.readouterr().err == "rct: warning: 3 rows quarantined\n"
