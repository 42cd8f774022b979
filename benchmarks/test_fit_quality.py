"""Smoke test of the fit-quality benchmark (benchmarks/fit_quality.py) in its quick setting.

Runs in a few seconds: the demo problem with swarmjac only (JENN too where it is installed; SMT is not
needed). Run with ``PYTHONPATH=src python -m pytest -q benchmarks/test_fit_quality.py``.
"""
from __future__ import annotations

import importlib.util
import json
import math
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fit_quality as fq  # noqa: E402
import swarmjac as sj  # noqa: E402


def _check_rows(rows: list[dict], methods: list[str]) -> None:
    assert [(row["problem"], row["data"]) for row in rows] == [
        ("demo", kind) for kind in fq.DATA_KINDS for _ in methods]
    assert [row["method"] for row in rows] == methods * len(fq.DATA_KINDS)
    for row in rows:
        assert row["layer_sizes"] == [2, *fq.QUICK["hidden"][0], 1]
        for key in ("wall_s", "value_rel_rmse", "partial_rel_rmse"):
            assert math.isfinite(row[key]) and row[key] >= 0, (key, row)
        assert len(row["partial_rel_rmse_each"]) == 2


def test_quick_demo_swarmjac(tmp_path, capsys):
    out = tmp_path / "fit.json"
    rows = fq.main(["--quick", "--problems", "demo", "--methods", "swarmjac", "--json", str(out)])
    methods = ["swarmjac", "swarmjac PSO only (time-matched)"]
    _check_rows(rows, methods)
    table = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| demo (2-D)")]
    assert len(table) == len(rows)
    saved = json.loads(out.read_text())
    assert len(saved["rows"]) == len(rows) and "swarmjac" in saved["environment"]


def test_options_pass_through():
    # A command-line option reaches sj.fit and the table: iters=3 is used instead of the problem's.
    rows = fq.run_benchmark(["demo"], ["swarmjac"], ["mixed"], fq.parse_options(["iters=3"], "--sj-option"),
                            {}, quick=True)
    assert all(row["options"]["iters"] == 3 for row in rows)
    assert "iters=3" in fq.format_table(rows)


def test_dotted_options_build_a_dict():
    options = fq.parse_options(["refine={'every': 5}", "refine.final_maxiter=1000", "refine.top=2", "iters=7"],
                               "--sj-option")
    assert options == {"refine": {"every": 5, "final_maxiter": 1000, "top": 2}, "iters": 7}
    with pytest.raises(SystemExit):
        fq.parse_options(["refine=None", "refine.top=2"], "--sj-option")
    with pytest.raises(SystemExit):
        fq.parse_options(["a.b.c=1"], "--sj-option")


def test_refine_override_keeps_defaults_and_plain_pso():
    # refine.top=3 changes one field of SJ_DEFAULTS' refine dict; the plain-PSO row still runs beside it.
    variants = dict(fq.swarmjac_variants(None, {"refine": {"top": 3}}))
    expected = {**fq.SJ_DEFAULTS.get("refine", {}), "top": 3}
    assert variants["swarmjac"]["refine"] == expected
    assert variants["swarmjac PSO only"]["refine"] is None
    assert variants["swarmjac PSO only"]["n_particles"] == fq.PSO_ONLY["n_particles"]
    assert variants["swarmjac"]["iters"] == fq.SJ_DEFAULTS["iters"]
    assert [label for label, _ in fq.swarmjac_variants(5, {"refine": None})] == ["swarmjac"]


def test_table_reports_effective_refine_settings():
    rows = fq.run_benchmark(["demo"], ["swarmjac"], ["full"], fq.parse_options(
        ["iters=3", "refine.final_maxiter=50", "refine.every=2"], "--sj-option"), {}, quick=True)
    table = fq.format_table(rows)
    defaults = sj.RefineOptions()
    assert rows[0]["options"]["refine"] == {**defaults.to_dict(), **fq.SJ_DEFAULTS.get("refine", {}),
                                            "every": 2, "final_maxiter": 50}
    assert rows[0]["options"]["scale"] is True and rows[1]["options"]["refine"] is None
    assert "every 2 " in table and "x50," in table and "refine=None" in table
    assert rows[0]["polish_s"] > 0 and rows[1]["polish_s"] == 0


def test_targets_table_ratios():
    def row(method, kind, value, partial, wall):
        return {"problem": "p", "layer_sizes": [2, 4, 1], "method": method, "data": kind,
                "value_rel_rmse": value, "partial_rel_rmse": partial, "wall_s": wall}
    rows = [row("swarmjac", "full", 0.1, 0.2, 2.0), row("swarmjac PSO only", "full", 9.0, 9.0, 2.0),
            row("jenn (time-matched)", "full", 0.4, 0.4, 4.0), row("swarmjac", "mixed", 0.3, 0.2, 1.0),
            row("jenn (time-matched)", "mixed", 0.6, 0.1, 1.0)]
    lines = fq.format_targets(rows).splitlines()
    assert lines[2] == "| p | [2, 4, 1] | full | 0.25 | 0.5 | 0.50 | - | - |"
    assert lines[3] == "| p | [2, 4, 1] | mixed | 0.5 | 2 | 1.00 | 3 | 1 |"


def test_metrics_against_hand_computed():
    X = np.array([[0.0, 0.0], [2.0, 4.0]])  # std(x) = (1, 2)
    y = np.array([1.0, 3.0])  # std(y) = 1
    dydx = np.zeros((2, 2))
    errors = fq.relative_errors(X, y, dydx, y + 0.5, dydx + np.array([1.0, 0.25]))
    assert errors["value_rel_rmse"] == pytest.approx(0.5)
    assert errors["partial_rel_rmse_each"] == pytest.approx([1.0, 0.5])
    assert errors["partial_rel_rmse"] == pytest.approx(0.75)


def test_mixed_rows_observe_one_quantity():
    problem = fq.get_problem("demo")
    sets = fq.make_training_sets(problem, 9, seed=0)
    mixed, full = sets["mixed"], sets["full"]
    counts = (~np.isnan(mixed.y)).astype(int) + (~np.isnan(mixed.dydx)).sum(axis=1)
    assert np.all(counts == 1)
    np.testing.assert_array_equal(mixed.X, full.X)
    np.testing.assert_allclose(full.dydx, problem.gradient(full.X))


@pytest.mark.skipif(importlib.util.find_spec("jenn") is None, reason="jenn not installed")
def test_quick_demo_with_jenn():
    rows = fq.run_benchmark(["demo"], ["swarmjac", "jenn"], list(fq.DATA_KINDS), {}, {}, quick=True)
    methods = ["swarmjac", "swarmjac PSO only (time-matched)", "jenn (time-matched)"]
    _check_rows(rows, methods)
