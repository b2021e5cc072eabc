"""Fixtures of the test suite. Helper functions live in ``tests/helpers.py`` (import them from there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import DATA_DIR


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not DATA_DIR.is_dir():
        pytest.skip(f"the shared data folder {DATA_DIR} is not beside the repository")
    return DATA_DIR
