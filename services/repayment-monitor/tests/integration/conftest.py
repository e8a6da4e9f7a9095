"""Makes rm_testkit (the shared loan and product builders, in tests/) importable by these tests."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))
