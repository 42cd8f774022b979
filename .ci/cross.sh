#!/usr/bin/env bash
# Cross-platform checks of the C core (csrc/) with the Python-free driver tests/c/check_kernels.c:
#  (a) aarch64: cross-compiled, run under qemu-aarch64 (correctness only; never a speed measurement);
#  (b) the same driver natively with gcc and clang (the clang build must dispatch like gcc's), and with
#      the plain-lane vector fallback that MSVC builds use (SJ_SCALAR_VECTORS);
#  (c) Windows: the core cross-compiled with MinGW-w64, -Werror, with and without OpenMP (compile only).
# Run from the repository root: bash .ci/cross.sh.  Installs its tools with apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS

need=()
for pair in aarch64-linux-gnu-gcc:gcc-aarch64-linux-gnu qemu-aarch64:qemu-user \
            x86_64-w64-mingw32-gcc:gcc-mingw-w64-x86-64 clang:clang; do
    command -v "${pair%%:*}" > /dev/null || need+=("${pair#*:}")
done
[ -e /usr/aarch64-linux-gnu/lib/libc.so.6 ] || need+=(libc6-dev-arm64-cross)
# clang's -fopenmp needs LLVM's OpenMP runtime
[ -n "$(ls /usr/lib/llvm-*/lib/libomp.so 2>/dev/null)" ] || need+=(libomp-dev)
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq > /dev/null
    apt-get install -y -qq "${need[@]}" > /dev/null
fi

# The flags setup.py uses for gcc and clang, plus -Wextra; -O2 keeps the builds short.
FLAGS=(-std=c11 -ffp-contract=fast -fno-math-errno -fno-trapping-math -Wall -Wextra -Wno-unused-function -O2 -Werror)
OMP=(-fopenmp -DSJ_HAVE_OPENMP=1)
SRC=(-Icsrc csrc/sj_kernels.c tests/c/check_kernels.c -lm)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The x86-64 level this CPU should get from the dispatch (as tests/test_isa.py reads it).
flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has() { for f in "$@"; do [[ "$flags" == *" $f "* ]] || return 1; done; }
x86_level=x86-64
if has avx2 fma bmi1 bmi2 f16c movbe abm; then
    x86_level=x86-64-v3
    if has avx512f avx512bw avx512cd avx512dq avx512vl; then x86_level=x86-64-v4; fi
fi

# Builds run two at a time (the core takes most of a minute to compile); each run prints its summary line.
echo "== building: aarch64 (gcc cross), gcc, clang, gcc plain-lane fallback; MinGW compile-only"
# (a plain `wait` would not report a failed build: wait for each one by its id)
aarch64-linux-gnu-gcc "${FLAGS[@]}" "${OMP[@]}" "${SRC[@]}" -o "$tmp/check-aarch64" & p1=$!
gcc "${FLAGS[@]}" "${OMP[@]}" "${SRC[@]}" -o "$tmp/check-gcc" & p2=$!
wait $p1; wait $p2
clang "${FLAGS[@]}" "${OMP[@]}" "${SRC[@]}" -o "$tmp/check-clang" & p1=$!
gcc "${FLAGS[@]}" -DSJ_SCALAR_VECTORS "${SRC[@]}" -o "$tmp/check-scalar" & p2=$!
wait $p1; wait $p2
x86_64-w64-mingw32-gcc "${FLAGS[@]}" -Icsrc -c csrc/sj_kernels.c -o "$tmp/win-serial.o" & p1=$!
x86_64-w64-mingw32-gcc "${FLAGS[@]}" "${OMP[@]}" -Icsrc -c csrc/sj_kernels.c -o "$tmp/win-openmp.o" & p2=$!
wait $p1; wait $p2
echo "mingw-w64: core compiles with -Werror, serial and OpenMP"

echo "== running the check driver"
qemu-aarch64 -L /usr/aarch64-linux-gnu "$tmp/check-aarch64" aarch64 aarch64-neon
"$tmp/check-gcc" gcc "$x86_level"
"$tmp/check-clang" clang "$x86_level"
"$tmp/check-scalar" gcc-plain-lanes
echo "cross: all checks passed in $((SECONDS - start)) s"
