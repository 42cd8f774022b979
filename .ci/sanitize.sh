#!/usr/bin/env bash
# Sanitizer job: builds the compiled core with AddressSanitizer + UBSan (SWARMJAC_SANITIZE=1) in a scratch copy
# of the source tree, then runs the kernel, fitness and hostile-input tests plus a sweep of every kernel path
# against that build. Fails on any sanitizer report. Run from the repo root: bash .ci/sanitize.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python}
start=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/swarmjac-sanitize.XXXXXX")
if [ "${SWARMJAC_SANITIZE_KEEP:-0}" = 1 ]; then echo "keeping $work"; else trap 'rm -rf "$work"' EXIT; fi
tree="$work/tree"
mkdir "$tree"

echo "== sanitize: copy the sources to $tree"
cp -R setup.py pyproject.toml csrc src tests "$tree/"
[ -f README.md ] && cp README.md "$tree/"
# Nothing of a normal build may leak into this one: no compiled module, no generated C, no object files.
find "$tree/src" \( -name '*.so' -o -name '*.pyd' -o -name '_kernels.c' -o -name '__pycache__' \) -prune -exec rm -rf {} +

echo "== sanitize: build with SWARMJAC_SANITIZE=1"
(cd "$tree" && SWARMJAC_SANITIZE=1 SWARMJAC_OPENMP=1 "$python" setup.py build_ext --inplace --force) \
    > "$work/build.log" 2>&1 || { tail -50 "$work/build.log"; echo "sanitize: build failed"; exit 1; }
grep -q -- "-fsanitize=address,undefined" "$work/build.log" \
    || { echo "sanitize: the build did not use -fsanitize=address,undefined"; exit 1; }
so=$(ls "$tree"/src/swarmjac/_kernels*.so)
# Preload the very runtimes the module was linked against (ASan must be the first library loaded).
asan=$(ldd "$so" | awk '/libasan/ {print $3}')
ubsan=$(ldd "$so" | awk '/libubsan/ {print $3}')
[ -n "$asan" ] && [ -f "$asan" ] || { echo "sanitize: $so is not linked to libasan"; ldd "$so"; exit 1; }
preload="$asan"
[ -n "$ubsan" ] && [ -f "$ubsan" ] && preload="$asan:$ubsan"

reports="$work/reports"
mkdir "$reports"
run_sanitized() {
    # Python's own leaks are not ours (detect_leaks=0); huge malloc requests return NULL (MemoryError) instead
    # of aborting, as without ASan. Any other finding aborts the process. Reports also go to files, so that
    # none is lost to pytest's output capture or to a child process.
    env LD_PRELOAD="$preload" \
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_string_checks=1:log_path=$reports/asan" \
        UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$reports/ubsan" \
        PYTHONMALLOC=malloc PYTHONPATH="$tree/src" PYTHONDONTWRITEBYTECODE=1 \
        SWARMJAC_EXPECT_KERNELS_DIR="$tree/src" HYPOTHESIS_STORAGE_DIRECTORY="$work/hypothesis" \
        "$@"
}
fail() {
    echo "sanitize: FAILED in: $1"
    for report in "$reports"/*; do
        [ -e "$report" ] || continue
        echo "---- $report"; cat "$report"
    done
    exit 1
}
check_reports() {
    if compgen -G "$reports/*" > /dev/null; then fail "$1 (sanitizer report)"; fi
}

echo "== sanitize: the sanitized module is the one imported"
cd "$tree"
run_sanitized "$python" - "$tree/src" <<'PY' || fail "import check"
import os, sys
import swarmjac._kernels as kernels
expected = os.path.realpath(sys.argv[1]) + os.sep
path = os.path.realpath(kernels.__file__)
print(f"swarmjac._kernels: {path}")
assert path.startswith(expected), f"imported {path}, not the sanitized build under {expected}"
with open("/proc/self/maps") as maps:
    assert "libasan" in maps.read(), "the ASan runtime is not loaded"
PY
check_reports "import check"

echo "== sanitize: kernel, fitness and hostile-input tests"
run_sanitized "$python" -m pytest -q -p no:cacheprovider -x --capture=sys \
    tests/test_kernels.py tests/test_fitness.py tests/test_gradient.py tests/test_hostile.py || fail "pytest"
check_reports "pytest"

echo "== sanitize: sweep of every kernel path"
run_sanitized "$python" - <<'PY' || fail "sweep"
# Every activation x dtype x mode x thread count x sample count that exercises the padding (1, 63, 64, 65, 129),
# on networks with layer widths below, at and above the 4-row register tile, d_out above and below d_in, and
# data whose blocks carry 0, some or all input directions. Checked against the reference as well.
import itertools, time, warnings
import numpy as np
import swarmjac as sj
from swarmjac import reference
from swarmjac.activations import ACTIVATIONS

start = time.perf_counter()
TOL = {np.float64: dict(rtol=1e-9, atol=1e-10), np.float32: dict(rtol=3e-3, atol=3e-4)}
SHAPES = [(1, [], 1), (3, [5], 2), (2, [4, 3], 4), (5, [7, 1], 1)]
rng = np.random.default_rng(0)
cases = 0


def fitness_from(Y, J, data):
    """The fitness formula of DESIGN.md on reference values and Jacobians (float64)."""
    y_seen, d_seen = ~np.isnan(data.y), ~np.isnan(data.dydx)
    out = np.zeros(Y.shape[0])
    for p in range(Y.shape[0]):
        total = 0.0
        if y_seen.any():
            total += data.value_weight * np.mean((Y[p][y_seen] - data.y[y_seen]) ** 2)
        if d_seen.any():
            total += data.derivative_weight * np.mean((J[p][d_seen] - data.dydx[d_seen]) ** 2)
        out[p] = total if np.isfinite(total) else np.inf
    return out


for (d_in, hidden, d_out), activation, n in itertools.product(SHAPES, ACTIVATIONS, (1, 63, 64, 65, 129)):
    net = sj.MLP([d_in, *hidden, d_out], activation if hidden else [activation])
    params64 = net.init_params(3, seed=cases)
    X64 = rng.uniform(-2, 2, size=(n, d_in))
    y = rng.normal(size=(n, d_out))
    dydx = rng.normal(size=(n, d_out, d_in))
    dydx[rng.random(dydx.shape) < 0.6] = np.nan  # blocks with 0, some and all directions
    y[rng.random(y.shape) < 0.3] = np.nan
    dydx[: n // 3] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        data = sj.Dataset(X64, y=y, dydx=dydx, value_weight=0.5, derivative_weight=2.0)
    Yr, Jr = reference.value_and_jacobian(net, params64, X64)  # float64: float32 results are compared loosely
    fr = fitness_from(Yr, Jr, data)
    gradients = {}
    for dtype in (np.float64, np.float32):
        params, X = params64.astype(dtype), X64.astype(dtype)
        for n_threads in (1, 2):
            np.testing.assert_allclose(net.predict(params, X, n_threads=n_threads), Yr, **TOL[dtype])
            np.testing.assert_allclose(net.predict(params[1], X, n_threads=n_threads), Yr[1], **TOL[dtype])
            for mode in ("forward", "reverse", "auto"):
                Y, J = net.value_and_jacobian(params, X, n_threads=n_threads, mode=mode)
                np.testing.assert_allclose(Y, Yr, **TOL[dtype])
                np.testing.assert_allclose(J, Jr, **TOL[dtype])
                f = net.fitness(params, data, n_threads=n_threads, mode=mode)
                assert f.dtype == dtype and not np.isnan(f).any()
                np.testing.assert_allclose(f, fr, rtol=10 * TOL[dtype]["rtol"], atol=1e-300)
                f_grad, g = net.fitness_and_gradient(params, data, n_threads=n_threads, mode=mode)
                np.testing.assert_array_equal(f_grad, f)
                gradients[(dtype, n_threads, mode)] = g
                cases += 1
        for (g_dtype, _, _), g in gradients.items():  # every mode and thread count: the same gradient
            scale = np.abs(gradients[(np.float64, 1, "forward")]).max() + 1e-300
            np.testing.assert_allclose(g, gradients[(np.float64, 1, "forward")], rtol=10 * TOL[g_dtype]["rtol"],
                                       atol=10 * TOL[g_dtype]["rtol"] * scale)
    if n <= 63:  # the per-sample reference gradient is slow: the smaller sample counts only
        g_ref = reference.fitness_and_gradient(net, params64, data)[1]
        np.testing.assert_allclose(gradients[(np.float64, 2, "auto")], g_ref, rtol=1e-8,
                                   atol=1e-8 * (np.abs(g_ref).max() + 1e-300))
print(f"sweep: {cases} (network, activation, N, dtype, threads, mode) cases in {time.perf_counter() - start:.1f} s")
PY

check_reports "sweep"
echo "== sanitize: clean, no sanitizer report ($(( $(date +%s) - start )) s)"
