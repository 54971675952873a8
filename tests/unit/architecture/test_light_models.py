"""Loading the models loads no imaging library: PIL and numpy come with the image checks, not with the tables."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

PROBE = """
import sys
import govern.models
import govern.policy.models
heavy = sorted(name for name in ("PIL", "numpy", "imagehash") if name in sys.modules)
print(",".join(heavy))
"""


def test_importing_the_models_loads_neither_pil_nor_numpy():
    # a fresh interpreter: in this one, other tests have long since imported the image checks
    done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "", f"importing the models loaded {done.stdout.strip()}"
