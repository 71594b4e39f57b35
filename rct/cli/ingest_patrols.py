"""`rct ingest patrols`."""

from __future__ import annotations

import typer  # noqa: F401

from rct.cli.ingest import app  # noqa: F401
