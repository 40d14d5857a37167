"""Shared test setup: CLI output that does not depend on the terminal running pytest."""

from __future__ import annotations

import sys

import pytest

#: Columns the in-process CLI tests render at, whatever ``COLUMNS`` the shell has.
TEST_COLUMNS = 100


@pytest.fixture(autouse=True)
def _fixed_terminal_width(monkeypatch):
    # Rich tables and typer's help are laid out at the terminal width, read from COLUMNS
    # when a console is made: typer makes one per help page, the CLI one at import.  A
    # test asserting on a table would otherwise pass or fail with the shell's size.
    # Tests of the width behaviour itself run the CLI as a subprocess with its own env.
    monkeypatch.setenv("COLUMNS", str(TEST_COLUMNS))
    monkeypatch.delenv("LINES", raising=False)
    app = sys.modules.get("sepconv._cli._app")
    if app is not None:
        monkeypatch.setattr(app.console, "width", TEST_COLUMNS)
