"""CSV tables of numbers: the text file format of swarmjac, next to the ``.npz`` files of _io.py and modelfile.py.

``Dataset.from_csv`` (data.py) and ``swarmjac predict`` (cli.py) read their points with :func:`read_csv`;
``swarmjac predict`` writes its results with :func:`write_csv`. The standard ``csv`` module splits the
cells, NumPy converts them; errors name the file, the line and the column.
"""
from __future__ import annotations

import csv
import io
import os
from typing import IO, Any, Sequence, Union

import numpy as np

__all__ = ["read_csv", "write_csv"]

_PathLike = Union[str, "os.PathLike[str]"]


def read_csv(path: _PathLike) -> tuple[list[str], np.ndarray]:
    """Read a CSV file of numbers with a header row; an empty cell is NaN (not observed).

    Cells are parsed like Python's ``float`` (``nan``, ``inf``, ``1e-3`` and surrounding spaces are
    accepted); rows whose cells are all empty are skipped.

    Parameters
    ----------
    path : str or PathLike
        The CSV file.

    Returns
    -------
    header : list of str
        The column names, stripped of surrounding spaces.
    table : ndarray, shape (n_rows, len(header)), float64
        The data rows.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        For an empty file, a header with empty or duplicate names, a row with the wrong number of
        cells, a cell that is not a number, malformed CSV, or no data rows; the message names the
        file (and the line and column where there is one).

    Examples
    --------
    >>> import os, tempfile
    >>> from swarmjac.csvfile import read_csv
    >>> path = os.path.join(tempfile.mkdtemp(), "points.csv")
    >>> with open(path, "w") as handle:
    ...     _ = handle.write("x1,y\\n0.5,\\n1,2\\n")
    >>> header, table = read_csv(path)
    >>> header, table.tolist()
    (['x1', 'y'], [[0.5, nan], [1.0, 2.0]])
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    with open(path, newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise ValueError(f"{path}: the file is empty (expected a header row)") from None
        except csv.Error as exc:
            raise ValueError(f"{path}: malformed CSV: {exc}") from None
        header = [name.strip() for name in header]
        if not header or any(not name for name in header):
            raise ValueError(f"{path}: the header has empty column names: {header}")
        if len(set(header)) != len(header):
            raise ValueError(f"{path}: duplicate column names in header {header}")
        rows: list[list[str]] = []
        line_numbers: list[int] = []
        try:
            for line_number, row in enumerate(reader, start=2):
                if not row or all(not cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    raise ValueError(f"{path}, line {line_number}: {len(row)} cells, expected {len(header)}")
                rows.append([cell if cell.strip() else "nan" for cell in row])
                line_numbers.append(line_number)
        except csv.Error as exc:
            raise ValueError(f"{path}: malformed CSV: {exc}") from None
    if not rows:
        raise ValueError(f"{path}: no data rows")
    # An object array of str converts cell by cell with Python's float(); a NumPy str array would
    # silently drop trailing NUL characters first.
    try:
        return header, np.array(rows, dtype=object).astype(np.float64)
    except ValueError:
        pass
    # Slow path, only to say where the first bad cell is.
    for line_number, row in zip(line_numbers, rows):
        for name, cell in zip(header, row):
            cell = cell.strip()
            try:
                float(cell)
            except ValueError:
                raise ValueError(f"{path}, line {line_number}, column {name!r}: not a number: {cell!r}") from None
    raise AssertionError("unreachable: NumPy refused a cell that float() accepts")  # pragma: no cover


def write_csv(file: Union[_PathLike, IO[str]], header: Sequence[str], values: Any) -> None:
    """Write a header and rows of numbers as CSV, each number as ``repr(float)`` (round-trips exactly).

    Parameters
    ----------
    file : str, PathLike or text file object
        Destination path (overwritten), or an open text stream such as ``sys.stdout``.
    header : sequence of str
        Column names.
    values : array_like, shape (n_rows, len(header))
        Real numbers.

    Raises
    ------
    TypeError
        If ``header`` is not a sequence of str or ``values`` is not real.
    ValueError
        If ``values`` is not 2-D with ``len(header)`` columns.

    Examples
    --------
    >>> import io
    >>> from swarmjac.csvfile import write_csv
    >>> out = io.StringIO()
    >>> write_csv(out, ["x", "y"], [[0.1, 2.0]])
    >>> out.getvalue()
    'x,y\\n0.1,2.0\\n'
    """
    if isinstance(header, str) or not all(isinstance(name, str) for name in header):
        raise TypeError("header must be a sequence of str")
    values = np.asarray(values)
    if values.dtype.kind not in "biuf":
        raise TypeError(f"values must be real numbers, got dtype {values.dtype}")
    if values.ndim != 2 or values.shape[1] != len(header):
        raise ValueError(f"values must have shape (n_rows, {len(header)}) to match the header, got {values.shape}")
    # Formatted in memory first: the destination is opened (and written) only once all is ready.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[repr(float(v)) for v in row] for row in values])
    if isinstance(file, (str, os.PathLike)):
        with open(file, "w", newline="") as handle:
            handle.write(buffer.getvalue())
    else:
        file.write(buffer.getvalue())
