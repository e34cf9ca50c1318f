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


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Keep the emissivity-table cache (and pyatomdb's stub ATOMDB folder) of the test session out of ~/.cache."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if old is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(scope="module", autouse=True)
def _release_compiled_programs():
    """Drop JAX's compiled programs after each test module: the session compiles hundreds of them (PM boxes, LDL
    fits with L-BFGS), and keeping them all for 13 minutes only grows the process."""
    yield
    import jax

    jax.clear_caches()
