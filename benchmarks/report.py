"""Report formatting of the benchmark scripts: tables (plain text or Markdown), number formats, the header.

compare.py builds its tables from these; the header lines (machine, library versions, the compiled core's
ISA level and import path, load average) are the first lines of every report and of RESULTS.md.
"""
from __future__ import annotations

import datetime
import importlib
import os
import platform
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

__all__ = [
    "Table",
    "fmt_time",
    "fmt_ratio",
    "fmt_rate",
    "fmt_gflops",
    "compiled_core",
    "core_info",
    "usable_cpus",
    "load_line",
    "blas_description",
    "machine_lines",
]


@dataclass
class Table:
    """A titled table of already formatted cells, with numbered notes printed under it.

    Examples
    --------
    >>> table = Table("demo", ["name", "time"], [["a", "1 ms"]], ["a note"])
    >>> print(table.render(markdown=True))
    ### demo
    <BLANKLINE>
    | name | time |
    |:---|---:|
    | a | 1 ms |
    <BLANKLINE>
    1. a note
    <BLANKLINE>
    """

    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render(self, markdown: bool) -> str:
        """The table as aligned plain text or as a Markdown table."""
        if markdown:
            lines = [f"### {self.title}", "", "| " + " | ".join(self.header) + " |",
                     "|" + "|".join([":---"] + ["---:"] * (len(self.header) - 1)) + "|"]
            lines += ["| " + " | ".join(row) + " |" for row in self.rows]
            if self.notes:
                lines.append("")
                lines += [f"{i + 1}. {note}" for i, note in enumerate(self.notes)]
            return "\n".join(lines) + "\n"
        widths = [max(len(row[c]) for row in [self.header] + self.rows) for c in range(len(self.header))]

        def line(cells: Sequence[str]) -> str:
            first = cells[0].ljust(widths[0])
            return "  ".join([first] + [cell.rjust(w) for cell, w in zip(cells[1:], widths[1:])]).rstrip()

        rule = "-" * len(line(self.header))
        lines = [self.title, rule, line(self.header), rule] + [line(row) for row in self.rows] + [rule]
        lines += [f"  [{i + 1}] {note}" for i, note in enumerate(self.notes)]
        return "\n".join(lines) + "\n"


def fmt_time(seconds: float) -> str:
    """A duration with three significant digits and a unit (us, ms, s); ``-`` when unknown.

    Examples
    --------
    >>> fmt_time(0.0123), fmt_time(2.5e-5), fmt_time(float("nan"))
    ('12.3 ms', '25 us', '-')
    """
    if seconds is None or not np.isfinite(seconds):
        return "-"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale or unit == "us":
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 100 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")


def fmt_ratio(value: Optional[float]) -> str:
    """A speed ratio like ``12.3x`` (``-`` when unknown).

    Examples
    --------
    >>> fmt_ratio(12.345), fmt_ratio(8652.1), fmt_ratio(None)
    ('12.3x', '8,652x', '-')
    """
    if value is None or not np.isfinite(value):
        return "-"
    return f"{value:.3g}x" if value < 1000 else f"{value:,.0f}x"


def fmt_rate(value: float) -> str:
    """A large rate in engineering notation, e.g. ``12.3 M``.

    Examples
    --------
    >>> fmt_rate(1.234e7)
    '12.3 M'
    """
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.3g}"


def fmt_gflops(flops: float, seconds: float, peak: Optional[float] = None) -> str:
    """A GFLOP/s rate, with its percentage of ``peak`` (GFLOP/s) when given.

    Examples
    --------
    >>> fmt_gflops(2e9, 0.1), fmt_gflops(2e9, 0.1, peak=40.0)
    ('20', '20 (50%)')
    """
    rate = flops / seconds / 1e9
    return f"{rate:.3g}" if peak is None else f"{rate:.3g} ({100 * rate / peak:.0f}%)"


def compiled_core() -> Any:
    """The compiled module swarmjac._kernels (imported here so that a missing build fails loudly)."""
    return importlib.import_module("swarmjac._kernels")


def core_info() -> tuple[bool, int]:
    """Whether the compiled core has OpenMP, and the thread count ``n_threads=None`` means."""
    core = compiled_core()
    return bool(core.openmp_enabled()), int(core.max_threads())


def usable_cpus() -> int:
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def load_line(when: str) -> str:
    """The 1-minute load average, with a warning when other work competes for the cores.

    Parameters
    ----------
    when : str
        ``"start"`` (warns on a busy machine) or ``"end"`` (notes that the run's own threads count).

    Returns
    -------
    str
    """
    if not hasattr(os, "getloadavg"):
        return f"load average at {when}: n/a"
    load = os.getloadavg()[0]
    usable = usable_cpus()
    text = f"load average at {when}: {load:.2f} on {usable} CPUs"
    if when != "start":
        text += " (includes this run's own threads)"
    elif load > 0.5 * usable + 0.5:
        text += " - the machine was busy with other work: timings, above all the thread scaling, are noisy"
    return text


def blas_description() -> str:
    """Name and version of the BLAS NumPy uses, as far as NumPy reports it."""
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # pragma: no cover - old NumPy or unusual builds
        return "unknown"


def machine_lines(command: str, threads: int, blas_backend: str) -> list[str]:
    """Date, command, CPU, cores, library versions and load, one item per line.

    Parameters
    ----------
    command : str
        The command line of the run.
    threads : int
        Threads the compiled kernels run with.
    blas_backend : str
        How the BLAS thread count is set (``timing.BlasThreads.backend``).

    Returns
    -------
    list of str
    """
    import swarmjac as sj

    model = "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        model = platform.processor() or "unknown"
    openmp, max_threads = core_info()
    core = compiled_core()
    return [
        f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"command: {command}",
        f"machine: {model}, {os.cpu_count()} logical CPUs ({usable_cpus()} usable), {platform.machine()}, "
        f"{platform.system()} {platform.release()}",
        f"python {platform.python_version()}, numpy {np.__version__}, swarmjac {sj.__version__} "
        f"(OpenMP {'on' if openmp else 'off'}, max threads {max_threads}, kernels {core.isa()}, "
        f"from {os.path.dirname(core.__file__)}), compiled kernels run with n_threads={threads}",
        f"BLAS: {blas_description()}; thread control: {blas_backend}",
        load_line("start"),
    ]
