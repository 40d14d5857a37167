"""The README as written: its Python snippets run as doctests, its shell sessions as commands.

Each ```python block is one part of a single doctest (names carry over from block to block,
as when a reader types them in order at one prompt); each ```console block is a session
whose ``$ sepconv ...`` lines run through the CLI and whose ``$ python -c ...`` lines run in
this interpreter, in one scratch directory, each compared with the lines shown after it
(``...`` matches anything, timings are not compared).
"""

from __future__ import annotations

import doctest
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _blocks(language: str) -> str:
    """The README with every line outside ```language blocks blanked (line numbers kept)."""
    lines, inside = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            inside = not inside and line.strip() == f"```{language}"
            lines.append("")  # a fence ends the expected output above it
        else:
            lines.append(line if inside else "")
    return "\n".join(lines)


def test_python_snippets_run_as_doctests():
    pytest.importorskip("torch")
    pytest.importorskip("skimage")
    test = doctest.DocTestParser().get_doctest(_blocks("python"), {}, "README.md", str(README), 0)
    assert len(test.examples) > 40, "the README's snippets were not found"
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    try:
        result = runner.run(test, out=report.append)
    finally:
        import sepconv

        sepconv.set_num_threads(sepconv.get_num_threads(max=True))  # whatever a snippet did
    assert result.failed == 0, "".join(report)


def _sessions() -> list[tuple[int, str, str]]:
    """``(line, command, expected output)`` of every ``$`` line of the console blocks."""
    found, command, start, expected = [], None, 0, []
    for number, line in enumerate(_blocks("console").splitlines(), 1):
        if line.startswith("$ ") or (command is not None and not line):
            if command is not None:
                found.append((start, command, "\n".join(expected)))
            command, start, expected = (line[2:], number, []) if line else (None, 0, [])
        elif command is not None:
            expected.append(line)
    return found


def _timings(text: str) -> str:
    return re.sub(r"time: [\d.]+ s", "time: <seconds> s", text)


def test_command_line_sessions_print_what_they_show(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from sepconv._cli import app

    pytest.importorskip("skimage")
    monkeypatch.chdir(tmp_path)
    sessions = _sessions()
    assert [c.split()[1] for _, c, _ in sessions if c.startswith("sepconv")] == [
        "analyze", "cost", "filter"
    ], sessions  # fmt: skip
    checker = doctest.OutputChecker()
    for line, command, expected in sessions:
        words = shlex.split(command)
        if words[0] == "python":
            proc = subprocess.run([sys.executable, *words[1:]], capture_output=True, text=True)
            got, code = proc.stdout + proc.stderr, proc.returncode
        else:
            assert words[0] == "sepconv", (line, command)
            result = CliRunner().invoke(app, words[1:])
            got, code = result.output, result.exit_code
        assert code == 0, (line, command, got)
        want, got = _timings(expected.strip()) + "\n", _timings(got.strip()) + "\n"
        assert checker.check_output(want, got, FLAGS), (
            f"README.md line {line}: $ {command}\n"
            + checker.output_difference(doctest.Example(command, want), got, FLAGS)
        )
