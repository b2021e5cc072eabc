"""Fixtures of the test suite. Helper functions live in ``tests/helpers.py`` (import them from there)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

from tests.helpers import DATA_DIR

# Property tests draw the same examples on every run by default, so that a CI verdict never depends on luck (a random
# example once failed CI and not the run before it). HYPOTHESIS_PROFILE=explore draws new examples each run, to look
# for more failures; a failure prints its example, which a test can then pin.
settings.register_profile("derandomized", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "derandomized"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"the shared data folder {DATA_DIR} is not beside the repository")
    return DATA_DIR
