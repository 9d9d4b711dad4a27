"""Root pytest configuration: notebooks collected by nbval get a scratch AiTrade home."""

from __future__ import annotations

import os
import tempfile

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """nbval kernels inherit this environment, so their runs land in a temporary home."""
    if not os.environ.get("AITRADE_HOME"):
        os.environ["AITRADE_HOME"] = tempfile.mkdtemp(prefix="aitrade-nbval-")
