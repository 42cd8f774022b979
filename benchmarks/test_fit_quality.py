"""Smoke test of the fit-quality benchmark (benchmarks/fit_quality.py) and unit tests of its pieces.

Seconds to a minute: the demo problem in the quick setting (SMT is not needed; the JENN column only where
jenn is installed). Run with ``PYTHONPATH=src python -m pytest -q benchmarks/test_fit_quality.py``.
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


def test_quick_demo_columns_and_json(tmp_path, capsys):
    out = tmp_path / "fit.json"
    result = fq.main(["--quick", "--problems", "demo", "--columns", "default,multistart,gek",
                      "--variant", 'short:{"iters": 3}', "--variant", 'unknown:{"no_such_option": 1}',
                      "--json", str(out)])
    rows = result["rows"]
    assert [(row["data"], row["noise"]) for row in rows] == [("mixed", 0.0), ("mixed", fq.NOISE_LEVEL)]
    for row in rows:
        assert row["seeds"] == [0, 1] and row["layer_sizes"] == [2, *fq.QUICK["hidden"], 1]
        assert list(row["columns"]) == ["default", "multistart", "gek", "short", "unknown"]
        assert "no_such_option" in row["columns"]["unknown"]["skipped"]
        for name in ("default", "multistart", "gek", "short"):
            stats = row["columns"][name]
            for key in ("values_median", "values_worst", "partials_median", "partials_worst", "wall_s_median"):
                assert math.isfinite(stats[key]) and stats[key] >= 0, (name, key, stats)
            assert stats["values_median"] <= stats["values_worst"]
        assert row["columns"]["multistart"]["n_starts_median"] >= 1
    # The multistart column used the default's wall time on each seed (cut at its next evaluation).
    for record in result["records"]:
        default, multi = record["columns"]["default"], record["columns"]["multistart"]
        assert multi["budget_s"] == default["wall_s"] and multi["wall_s"] >= default["wall_s"]
    printed = capsys.readouterr().out
    assert printed.count("| demo (2-D, 30 rows)") == 2 * 5 and "Targets" in printed
    saved = json.loads(out.read_text())
    assert len(saved["records"]) == 4 and len(saved["targets"]) == 2


@pytest.mark.skipif(importlib.util.find_spec("jenn") is None, reason="jenn not installed")
def test_quick_demo_with_jenn_and_plain_pso():
    result = fq.main(["--quick", "--problems", "demo", "--columns", "default,plainpso,jenn", "--seeds", "1",
                      "--rows", "clean"])
    (row,) = result["rows"]
    assert list(row["columns"]) == ["default", "plainpso", "jenn"]
    assert all(math.isfinite(s["values_median"]) for s in row["columns"].values())


def test_noise_is_relative_to_each_quantity_and_leaves_points_alone():
    problem = fq.get_problem("demo")
    clean = fq.make_training_set(problem, 400, seed=3, kind="full")
    noisy = fq.make_training_set(problem, 400, seed=3, kind="full", noise=0.1)
    np.testing.assert_array_equal(clean.X, noisy.X)
    np.testing.assert_allclose(clean.y, problem.function(clean.X))
    ratio_y = np.std(noisy.y - clean.y) / np.std(clean.y)
    ratio_partials = np.std(noisy.dydx - clean.dydx, axis=0) / np.std(clean.dydx, axis=0)
    assert 0.08 < ratio_y < 0.12 and np.all((0.08 < ratio_partials) & (ratio_partials < 0.12))
    mixed = fq.make_training_set(problem, 9, seed=0)
    counts = (~np.isnan(mixed.y)).astype(int) + (~np.isnan(mixed.dydx)).sum(axis=1)
    assert np.all(counts == 1)


def test_metrics_against_hand_computed():
    X = np.array([[0.0, 0.0], [2.0, 4.0]])  # std(x) = (1, 2)
    y = np.array([1.0, 3.0])  # std(y) = 1
    dydx = np.zeros((2, 2))
    errors = fq.relative_errors(X, y, dydx, y + 0.5, dydx + np.array([1.0, 0.25]))
    assert errors["values"] == pytest.approx(0.5)
    assert errors["partials_each"] == pytest.approx([1.0, 0.5])
    assert errors["partials"] == pytest.approx(0.75)


def test_ensemble_calibration_by_hand():
    truth = np.zeros(4)
    mean = np.array([0.1, -0.2, 0.3, 1.0])
    spread = np.array([0.1, 0.2, 0.3, 0.4])  # same order as the errors; last point outside 2 spread
    figures = fq.ensemble_calibration(mean, spread, truth)
    assert figures["spearman"] == pytest.approx(1.0) and figures["coverage_2sd"] == pytest.approx(0.75)


def test_targets_by_hand():
    def row(noise, default, multi, ratio=None):
        stats = {"values_median": default[0], "values_worst": default[1], "partials_median": default[0],
                 "partials_worst": default[1]}
        if ratio:
            stats.update(validation_ratio_median=1.0, validation_ratio_min=ratio[0], validation_ratio_max=ratio[1])
        return {"problem": "p", "layer_sizes": [2, 4, 1], "data": "mixed", "noise": noise,
                "columns": {"default": stats, "multistart": {"values_median": multi, "partials_median": multi}}}
    clean, noisy = fq.compute_targets([row(0.0, (0.1, 0.3), 0.2), row(0.02, (0.15, 0.3), 0.1, (0.6, 2.5))])
    assert clean["a_values"] == (0.1, 0.2, True) and clean["b_values"] == (0.3, 0.2, False)
    assert clean["c_values"] == (None, None, None) and clean["d"] == (None, None, None)
    assert noisy["a_values"] == (0.15, 0.1, False) and noisy["b_values"] == (0.3, 0.3, True)
    assert noisy["c_values"][2] is True and noisy["c_values"][1] == pytest.approx(1.5 * 0.1 + 0.02)
    assert noisy["d"] == (0.6, 2.5, False)
    table = fq.format_targets([clean, noisy])
    assert "0.1 vs 0.2 yes" in table and "0.6-2.5 **no**" in table


def test_variants_and_unknown_options():
    assert fq.parse_variant('m:{"refine": {"every": 5}}') == ("m", {"refine": {"every": 5}})
    for bad in ("nocolon", 'x:[1]', "x:{bad json", 'default:{}'):
        with pytest.raises(SystemExit):
            fq.parse_variant(bad)
    assert fq.unsupported_options({"iters": 3, "w": 0.5}) is None
    assert "nope" in fq.unsupported_options({"nope": 1})
    assert "unknown refine option" in fq.unsupported_options({"refine": {"nope": 1}})
    assert fq.merge_options({"refine": {"a": 1}, "iters": 2}, {"refine": {"b": 2}}) == \
        {"refine": {"a": 1, "b": 2}, "iters": 2}


def test_aggregate_medians_worst_and_validation_ratio():
    def record(seed, values, validation):
        default = {"skipped": None, "values": values, "partials": 2 * values, "wall_s": 1.0 + seed,
                   "validation_values": validation, "ensemble": {"spearman": 0.5, "coverage_2sd": 0.9}}
        return {"problem": "p", "d": 2, "layer_sizes": [2, 4, 1], "data": "mixed", "noise": 0.0, "seed": seed,
                "n_rows": 10, "columns": {"default": default, "gek": {"skipped": "too big"}}}
    (row,) = fq.aggregate([record(0, 0.1, 0.1), record(1, 0.2, 0.1), record(2, 0.4, 0.2)])
    stats = row["columns"]["default"]
    assert (stats["values_median"], stats["values_worst"], stats["partials_worst"]) == (0.2, 0.4, 0.8)
    assert stats["wall_s_median"] == 2.0 and row["seeds"] == [0, 1, 2]
    assert (stats["validation_ratio_min"], stats["validation_ratio_median"], stats["validation_ratio_max"]) == \
        pytest.approx((0.5, 0.5, 1.0))
    assert stats["ensemble_coverage_median"] == 0.9 and row["columns"]["gek"] == {"skipped": "too big"}
    assert "skipped: too big" in fq.format_table([row]) and "| 0.9 |" in fq.format_ensemble([row])
