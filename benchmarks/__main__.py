"""python -m benchmarks [--quick] [--json PATH] [--plot PATH] [--only SECTION]"""

import sys

from .main import main

sys.exit(main())
