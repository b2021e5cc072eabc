"""The training scripts live in train/, a folder of scripts (not an installed package, so that no top-level package
named ``train`` shadows another): put it on ``sys.path`` for these tests, as running a script there does."""

from __future__ import annotations

import sys
from pathlib import Path

TRAIN_DIR = Path(__file__).resolve().parents[2] / "train"
if str(TRAIN_DIR) not in sys.path:
    sys.path.insert(0, str(TRAIN_DIR))
