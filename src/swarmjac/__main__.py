"""``python -m swarmjac``: the same command line as the ``swarmjac`` console script (see cli.py)."""
import sys

from swarmjac.cli import main

sys.exit(main())
