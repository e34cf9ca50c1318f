"""Shared test fixtures.

The reference data live in ``../shared/data`` next to the project (never copied into it). Tests that need them skip
with a clear reason when the folder is absent, and fail instead when ``XCOSMO_REQUIRE_SHARED=1`` (CI sets it).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("XCOSMO_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ``shared/data``; skips (or fails under XCOSMO_REQUIRE_SHARED=1) when it is missing."""
    if not SHARED_DATA.is_dir():
        msg = f"reference data folder {SHARED_DATA} not found (set XCOSMO_SHARED_DATA or check out shared/)"
        if os.environ.get("XCOSMO_REQUIRE_SHARED") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return SHARED_DATA
