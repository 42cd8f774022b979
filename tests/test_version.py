"""The single version number: swarmjac.__version__ is read from the installed metadata, which pip writes
from pyproject.toml; a tree with no metadata reports "0+unknown".  Runs against an installed wheel too
(.ci/wheel.sh, cibuildwheel), with pyproject.toml copied beside tests/."""
from __future__ import annotations

import importlib.metadata
import json
import os
import re
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

import swarmjac as sj

PYPROJECT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pyproject.toml")


def _metadata_version():
    try:
        return importlib.metadata.version("swarmjac")
    except importlib.metadata.PackageNotFoundError:
        return None


def _metadata_describes_imported_package(dist: importlib.metadata.Distribution) -> bool:
    """Whether ``dist`` is the installation that ``import swarmjac`` loaded (not, say, another checkout's
    editable install while this tree is on PYTHONPATH)."""
    imported = os.path.realpath(sj.__file__)
    direct_url = dist.read_text("direct_url.json")
    if direct_url and json.loads(direct_url).get("dir_info", {}).get("editable"):
        url = urlparse(json.loads(direct_url)["url"])
        root = os.path.realpath(url2pathname(url.path)) if url.scheme == "file" else None
        return root is not None and imported.startswith(root + os.sep)
    return os.path.realpath(str(dist.locate_file("swarmjac/__init__.py"))) == imported


def test_version_is_the_metadata_version():
    expected = _metadata_version()
    assert sj.__version__ == (expected if expected is not None else "0+unknown")


def test_version_without_metadata_is_a_pep440_placeholder():
    version = sj._distribution_version("surely-not-an-installed-distribution")
    assert version == "0+unknown"
    # PEP 440 public version "0" with local label "unknown": sorts below any release.
    assert re.fullmatch(r"[0-9]+(\.[0-9]+)*\+[a-z0-9]+(\.[a-z0-9]+)*", version)


def test_version_equals_pyproject():
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python >= 3.11")
    if not os.path.exists(PYPROJECT):
        pytest.skip(f"no pyproject.toml beside the tests ({PYPROJECT})")
    with open(PYPROJECT, "rb") as handle:
        declared = tomllib.load(handle)["project"]["version"]
    if _metadata_version() is None:
        pytest.skip("swarmjac is not installed: no metadata to compare with pyproject.toml")
    dist = importlib.metadata.distribution("swarmjac")
    if not _metadata_describes_imported_package(dist):
        pytest.skip(f"the installed metadata ({dist.version}) belongs to another copy than the imported "
                    f"{sj.__file__}; reinstall to compare")
    assert sj.__version__ == declared
