# The optional tqdm progress bar of PSO.run: created only when asked for (or on a terminal), tqdm
# imported lazily so that swarmjac.pso works without it.
"""Progress bar of :meth:`swarmjac.PSO.run`."""
from __future__ import annotations

import sys
import warnings
from typing import Any, Optional

__all__ = ["progress_bar"]


def progress_bar(progress: Optional[bool], total: int, desc: str = "PSO") -> Any:
    """A tqdm bar, or None: tqdm is optional and only used when asked for (or on a TTY)."""
    if progress is None:
        stream = sys.stderr
        try:
            wanted = stream is not None and stream.isatty()
        except (AttributeError, ValueError):
            wanted = False
        if not wanted:
            return None
    elif not progress:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if progress:
            warnings.warn("progress=True needs tqdm (pip install tqdm); running without a progress bar",
                          UserWarning, stacklevel=3)
        return None
    return tqdm(total=total, desc=desc, unit="it", leave=False)
