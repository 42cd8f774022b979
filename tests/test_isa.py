"""Every instruction-set level of the compiled kernels against the reference.

A build holds one instance per ISA level (on x86-64 with the runtime dispatch: baseline x86-64, x86-64-v3,
x86-64-v4; otherwise the one level it was compiled for, e.g. aarch64-neon), each with its own vector width
and register tile, and runs the best one the CPU supports; _kernels.isa_levels() lists them.  The rest of the suite therefore
tests only that one; here each lower level is forced with SWARMJAC_ISA in a fresh interpreter (the level is
read once per process) and checked against swarmjac.reference on widths that exercise every weight chunk
(full tiles, then 4, 2 and 1 rows), both dtypes and both Jacobian modes.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

kernels = pytest.importorskip("swarmjac._kernels")

LEVELS = list(kernels.isa_levels())  # lowest first

# The CPU flags (/proc/cpuinfo) each dispatched x86-64 level needs (lzcnt shows as abm).
LEVEL_FLAGS = {
    "x86-64": set(),
    "x86-64-v3": {"avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "abm"},
    "x86-64-v4": {"avx2", "fma", "bmi1", "bmi2", "f16c", "movbe", "abm",
                  "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"},
}

# Runs in the child: prints the level in use and the worst scaled error of each quantity.
CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    import swarmjac as sj
    from swarmjac import _kernels, reference
    sys.path.insert(0, sys.argv[1])
    from conftest import random_dataset, tolerances

    rng = np.random.default_rng(7)
    worst = {}
    def record(name, got, want, dtype):
        tol = tolerances(dtype)
        excess = np.abs(np.asarray(got, np.float64) - want) / (tol["atol"] + tol["rtol"] * np.abs(want))
        worst[name] = max(worst.get(name, 0.0), float(excess.max()))
    # widths 1..15 and 17 cover every chunk split for tiles of 4 and 8 rows
    shapes = [[2, 1, 1], [3, 2, 3, 1], [2, 5, 7, 2], [4, 9, 13, 3], [1, 15, 17, 1], [5, 8, 16, 4],
              [3, 6, 5, 2], [2, 9, 1]]
    # the last two: a linear hidden layer and non-linear output layers (the reverse sweep's special cases)
    activations = ["tanh", "sigmoid", "softplus", "tanh", "sigmoid", "softplus",
                   ["linear", "tanh", "sigmoid"], ["sigmoid", "softplus"]]
    for k, sizes in enumerate(shapes):
        net = sj.MLP(sizes, activations[k])
        params = net.init_params(3, seed=k)
        X = rng.uniform(-2, 2, size=(70, sizes[0]))
        data = random_dataset(rng, 70, sizes[0], sizes[-1])
        Y_ref, J_ref = reference.value_and_jacobian(net, params, X)
        f_ref = reference.fitness(net, params, data)
        for dtype in (np.float64, np.float32):
            p, x = params.astype(dtype), X.astype(dtype)
            record("predict", net.predict(p, x), Y_ref, dtype)
            for mode in ("forward", "reverse"):
                Y, J = net.value_and_jacobian(p, x, mode=mode)
                record("value", Y, Y_ref, dtype)
                record("jacobian " + mode, J, J_ref, dtype)
            for mode in ("auto", "forward", "reverse"):
                record("fitness " + mode, net.fitness(p, data, mode=mode), f_ref, dtype)
    print(json.dumps({"isa": _kernels.isa(), "worst": worst}))
""")


def _run_level(level: str) -> dict:
    env = dict(os.environ, SWARMJAC_ISA=level)
    tests_dir = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([sys.executable, "-c", CHILD, tests_dir], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def best_level() -> str:
    """The level a process picks with no SWARMJAC_ISA: the best the CPU supports."""
    return _run_level("")["isa"]


def test_default_level_is_the_best_supported(best_level):
    assert best_level in LEVELS
    if "SWARMJAC_ISA" not in os.environ:
        assert kernels.isa() == best_level


@pytest.mark.parametrize("level", LEVELS)
def test_level_matches_reference(level, best_level):
    result = _run_level(level)
    # A level the CPU lacks falls back to the best one it has; never to a higher one.
    assert result["isa"] == LEVELS[min(LEVELS.index(level), LEVELS.index(best_level))]
    assert set(result["worst"]) >= {"predict", "value", "jacobian forward", "jacobian reverse", "fitness auto"}
    for name, excess in result["worst"].items():
        assert excess <= 1.0, f"{name} at {result['isa']}: {excess:.3g} x the tolerance"


def test_levels_are_named_for_the_platform():
    assert LEVELS, "the build holds no ISA level"
    known = {"x86-64", "x86-64-v3", "x86-64-v4", "aarch64-neon", "generic"}
    assert set(LEVELS) <= known and kernels.isa() in LEVELS
    if len(LEVELS) > 1:  # only the x86-64 dispatch holds several levels
        assert LEVELS == ["x86-64", "x86-64-v3", "x86-64-v4"]


def _cpu_flags() -> set | None:
    """The CPU flags of /proc/cpuinfo (Linux), or None where there is no such file."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        return None
    return None


def test_dispatch_picks_the_best_level_the_cpu_supports(best_level):
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip(f"the ISA dispatch exists on x86-64 only (this is {platform.machine()})")
    if len(LEVELS) == 1:
        pytest.skip(f"this build has no ISA dispatch (its one level: {LEVELS[0]}; gcc >= 11 or clang >= 14 build it)")
    flags = _cpu_flags()
    if flags is None:
        pytest.skip("no /proc/cpuinfo to read the CPU flags from")
    supported = [level for level in LEVELS if LEVEL_FLAGS[level] <= flags]
    assert best_level == supported[-1], f"CPU flags allow {supported}, the dispatch chose {best_level}"


def test_unknown_level_name_is_ignored(best_level):
    assert _run_level("pentium-pro")["isa"] == best_level
