"""Every public name resolves, and `import rct` stays light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import rct
import rct.evaluate


@pytest.mark.parametrize("name", sorted(rct._LAZY))
def test_top_level_names_resolve(name):
    assert getattr(rct, name) is not None
    assert name in dir(rct)


@pytest.mark.parametrize("name", sorted(rct.evaluate._LAZY))
def test_evaluate_names_resolve(name):
    assert getattr(rct.evaluate, name) is not None


def test_unknown_name_is_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        rct.no_such_thing  # noqa: B018


def test_import_rct_does_not_import_pandas():
    code = "import sys, rct; print('pandas' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
