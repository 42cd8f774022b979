"""Build of swarmjac's compiled core: the Cython wrapper plus the C kernels in csrc/.

Compilers: gcc and clang (Linux, macOS, MinGW) get the GNU flags below; MSVC gets its own (/O2, /openmp).
The x86-64 ISA dispatch needs gcc >= 11 or clang >= 14; csrc/sj_kernels.c warns at build time otherwise.
Release builds carry no debug info (-g0, and --strip-debug on Linux).

Switches (environment variables, read at build time):
  SWARMJAC_OPENMP=0      build without OpenMP even when the compiler supports it
  SWARMJAC_SANITIZE=1    build with -fsanitize=address,undefined (for the sanitizer CI job)
  SWARMJAC_DEBUG=1       Cython bounds checks on, -O0 -g
  SWARMJAC_NATIVE=1      add -march=native (local experiments only; never for wheels)
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).strip().lower() in ("1", "true", "yes", "on")


def _compiler_supports_openmp(cc: list) -> bool:
    """Compile and link a tiny OpenMP program with the C compiler the build will use (its command, cc)."""
    if not cc or shutil.which(cc[0]) is None:
        return False
    source = "#include <omp.h>\nint main(void){int n=0;\n#pragma omp parallel reduction(+:n)\nn+=1;\nreturn omp_get_max_threads()>0 && n>0 ? 0 : 1;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as fh:
            fh.write(source)
        try:
            result = subprocess.run(
                list(cc) + ["-fopenmp", src, "-o", os.path.join(tmp, "probe")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
            )
        except OSError:
            return False
        return result.returncode == 0


debug = _flag("SWARMJAC_DEBUG")
sanitize = _flag("SWARMJAC_SANITIZE")
want_openmp = _flag("SWARMJAC_OPENMP", "1")

# GNU-style compilers (gcc, clang, MinGW).
# -ffp-contract=fast: -std=c11 would otherwise forbid fusing a*b+c into FMA instructions in the clones.
gnu_compile = ["-std=c11", "-ffp-contract=fast", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wno-unused-function"]
gnu_compile += ["-O0", "-g"] if debug else ["-O3"]
gnu_link = []
if not debug and not sanitize:
    # The .so is ~6 MB with debug info (Python's CFLAGS carry -g), ~1.6 MB without.
    gnu_compile.append("-g0")
    if sys.platform.startswith("linux"):
        gnu_link.append("-Wl,--strip-debug")
if sanitize:
    # -fno-wrapv undoes Python's -fwrapv, under which signed overflow is defined and UBSan cannot report it.
    san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-g",
           "-fno-wrapv"]
    gnu_compile += san
    gnu_link += san
if _flag("SWARMJAC_NATIVE"):
    gnu_compile.append("-march=native")

# MSVC: C11 mode (restrict, _Pragma, _Alignas), fast float model (contraction, no errno), OpenMP 2.0
# (vcomp, in the standard runtime; the kernels use only 2.0 constructs), no libm.
msvc_compile = ["/std:c11", "/fp:fast", "/Od", "/Zi"] if debug else ["/std:c11", "/fp:fast", "/O2"]
msvc_link = []


class BuildExt(build_ext):
    """Picks the flags of the compiler setuptools chose (MSVC or a GNU-style one) and says loudly when
    the build goes without OpenMP."""

    def build_extensions(self) -> None:
        msvc = self.compiler.compiler_type == "msvc"
        if msvc:
            use_openmp = want_openmp
            omp_compile, omp_link = ["/openmp"], []
        else:
            use_openmp = want_openmp and _compiler_supports_openmp(self.compiler.compiler_so[:1])
            omp_compile, omp_link = ["-fopenmp"], ["-fopenmp"]
        if want_openmp and not use_openmp:
            print("*** swarmjac: the C compiler cannot build OpenMP code (on macOS: brew install libomp and "
                  "build with a clang that has it); the kernels will run on ONE thread. ***", file=sys.stderr)
        for ext in self.extensions:
            ext.extra_compile_args = (msvc_compile if msvc else gnu_compile) + (omp_compile if use_openmp else [])
            ext.extra_link_args = (msvc_link if msvc else gnu_link) + (omp_link if use_openmp else [])
            if use_openmp:
                ext.define_macros.append(("SJ_HAVE_OPENMP", "1"))
            # libm: sj_fastmath.h falls back to sin/cos for |x| > 2^20; do not rely on Python having loaded
            # it.  MSVC's C runtime has no separate libm.
            ext.libraries = [] if msvc else ["m"]
        super().build_extensions()


directives = {
    "language_level": 3,
    "boundscheck": debug,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": debug,
    "embedsignature": True,
}

extensions = [
    Extension(
        "swarmjac._kernels",
        sources=["src/swarmjac/_kernels.pyx", "csrc/sj_kernels.c"],
        include_dirs=["csrc", np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        # compile and link arguments, OpenMP and libraries: BuildExt, per compiler
        depends=sorted(glob.glob("csrc/*.h")),
    )
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives), cmdclass={"build_ext": BuildExt})
