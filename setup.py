"""Build of swarmjac's compiled core: the Cython wrapper plus the C kernels in csrc/.

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


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).strip().lower() in ("1", "true", "yes", "on")


def _compiler_supports_openmp() -> bool:
    """Compile and link a tiny OpenMP program with the C compiler the build will use."""
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc.split()[0]) is None:
        return False
    source = "#include <omp.h>\nint main(void){int n=0;\n#pragma omp parallel reduction(+:n)\nn+=1;\nreturn omp_get_max_threads()>0 && n>0 ? 0 : 1;}\n"
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as fh:
            fh.write(source)
        try:
            result = subprocess.run(
                cc.split() + ["-fopenmp", src, "-o", os.path.join(tmp, "probe")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
            )
        except OSError:
            return False
        return result.returncode == 0


debug = _flag("SWARMJAC_DEBUG")
sanitize = _flag("SWARMJAC_SANITIZE")
use_openmp = _flag("SWARMJAC_OPENMP", "1") and sys.platform != "win32" and _compiler_supports_openmp()

# -ffp-contract=fast: -std=c11 would otherwise forbid fusing a*b+c into FMA instructions in the clones.
compile_args = ["-std=c11", "-ffp-contract=fast", "-fno-math-errno", "-fno-trapping-math", "-Wall", "-Wno-unused-function"]
compile_args += ["-O0", "-g"] if debug else ["-O3"]
link_args = []
macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if use_openmp:
    compile_args.append("-fopenmp")
    link_args.append("-fopenmp")
    macros.append(("SJ_HAVE_OPENMP", "1"))
if sanitize:
    # -fno-wrapv undoes Python's -fwrapv, under which signed overflow is defined and UBSan cannot report it.
    san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=undefined", "-g",
           "-fno-wrapv"]
    compile_args += san
    link_args += san
if _flag("SWARMJAC_NATIVE"):
    compile_args.append("-march=native")

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
        define_macros=macros,
        # libm: sj_fastmath.h falls back to sin/cos for |x| > 2^20; do not rely on Python having loaded it.
        libraries=["m"],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        depends=sorted(glob.glob("csrc/*.h")),
    )
]

setup(ext_modules=cythonize(extensions, compiler_directives=directives))
