#!/usr/bin/env python3
"""python benchmarks/bench.py [options]: the same as python -m benchmarks."""

import sys
from pathlib import Path

if __name__ == "__main__":
    # Run as a script, sys.path[0] is this file's directory; the package
    # needs its parent, the repository, there instead.
    sys.path[0] = str(Path(__file__).resolve().parent.parent)
    from benchmarks.main import main

    sys.exit(main())
