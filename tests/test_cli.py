"""The CLI commands of issue 3: analyze, cost, report, --help, --version."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

import sepconv
from sepconv._cli import app

runner = CliRunner()


def run(*args: str):
    result = runner.invoke(app, list(args))
    return result


def test_version_and_help():
    assert sepconv.__version__ in run("--version").output
    out = run("--help").output
    for command in ("analyze", "cost", "report"):
        assert command in out


def test_every_subcommand_help_has_examples():
    for args in (["analyze"], ["cost", "spatial"], ["cost", "depthwise"], ["report"]):
        out = run(*args, "--help").output
        assert "Examples" in out and "sepconv " in out, args


def _commands(group, path=()):
    """Every command path of the CLI, subcommands of groups included."""
    import typer.main

    command = typer.main.get_command(app) if not path else group
    subs = getattr(command, "commands", {})
    yield path
    for name, sub in subs.items():
        yield from _commands(sub, (*path, name))


def test_help_shows_no_value_type_beside_flags():
    paths = list(_commands(app))
    assert ("filter",) in paths and ("cost", "spatial") in paths and () in paths
    for path in paths:
        out = run(*path, "--help").output
        assert "<bool>" not in out, path
        assert "--help" in out, path
    # options that take a value keep their type
    assert "<str>" in run("filter", "--help").output


def test_analyze_sobel_prints_integer_factors():
    result = run("analyze", "sobel")
    assert result.exit_code == 0, result.output
    assert "exact integer" in result.output
    assert "[1 2 1]" in result.output and "[-1  0  1]" in result.output


def test_analyze_json_inline_matrix():
    result = run("analyze", "[[1,2,1],[2,4,2],[1,2,1]]", "--json")
    data = json.loads(result.output)
    assert data["rank"] == 1 and data["exact"] is True
    assert np.array_equal(np.outer(*data["factors"]), [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_analyze_non_separable_file(tmp_path):
    path = tmp_path / "disk.npy"
    np.save(path, sepconv.kernels.disk(3))
    data = json.loads(run("analyze", str(path), "--json").output)
    assert data["separable"] is False and data["rank"] == sepconv.rank(sepconv.kernels.disk(3))
    assert data["break_even_rank"] >= 1
    text = run("analyze", str(path)).output
    assert "not separable" in text and "break-even" in text


def test_analyze_csv_and_txt(tmp_path):
    (tmp_path / "k.csv").write_text("1,2,1\n2,4,2\n1,2,1\n")
    (tmp_path / "k.txt").write_text("1 0 -1\n2 0 -2\n1 0 -1\n")
    assert json.loads(run("analyze", str(tmp_path / "k.csv"), "--json").output)["rank"] == 1
    assert json.loads(run("analyze", str(tmp_path / "k.txt"), "--json").output)["exact"]


def test_analyze_bad_specs_exit_2_with_reason():
    for spec, words in (
        ("nosuchkernel", "unknown kernel"),
        ("[[1,2],[3]", "not a valid"),
        ("gaussian:sigma", "key=value"),
        ("missing.npy", "does not exist"),
        ("[]", "the kernel is empty"),
        ("[[]]", "the kernel is empty"),
        ("[['a']]", "not real numbers"),
        ("[1e999]", "NaN or infinite"),
    ):
        result = run("analyze", spec)
        assert result.exit_code == 2 and words in result.output, (spec, result.output)


def test_cost_depthwise_prints_the_article_table():
    result = run(
        "cost", "depthwise", "--input", "12x12x3", "--out-channels", "256", "--kernel", "5"
    )
    assert result.exit_code == 0, result.output
    for number in ("1,228,800", "4,800", "49,152", "53,952", "19,200", "843"):
        assert number in result.output


def test_cost_spatial_json():
    data = json.loads(run("cost", "spatial", "--image", "5x5", "--kernel", "3x3", "--json").output)
    assert (data["normal"], data["separable"]) == (81, 72)


def test_cost_bad_shape():
    result = run("cost", "spatial", "--image", "5y5", "--kernel", "3")
    assert result.exit_code != 0 and "--image" in result.output


def test_report_writes_html_and_json(tmp_path):
    result = run("report", "--out", str(tmp_path), "--sections", "kernels")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "index.html").read_text()
    data = json.loads((tmp_path / "report.json").read_text())
    assert "Which kernels separate" in html and "http" not in html.split("<body>")[1]
    assert data["sections"]["kernels"]["status"] == "ok"
    sobel = data["sections"]["kernels"]["data"]["kernels"]["sobel"]
    assert sobel["factors"] == [[1, 2, 1], [-1, 0, 1]]


def test_report_rejects_unknown_section(tmp_path):
    result = run("report", "--out", str(tmp_path), "--sections", "nope")
    assert result.exit_code != 0 and "unknown" in result.output
