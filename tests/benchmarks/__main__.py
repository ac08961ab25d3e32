"""``python -m tests.benchmarks [--quick]``: see run.py."""

import sys

from .run import main

sys.exit(main())
