"""Shared fixtures: an isolated home, a clean environment, the loopback fake venues."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aitrade.config import FIELDS_BY_VAR, Settings, load_settings
from tests.fakes.bitget import FakeBitget
from tests.fakes.tinvest import FakeTinvest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--online", action="store_true", help="run checks against the real venues (needs credentials)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--online"):
        return
    skip = pytest.mark.skip(reason="talks to the real venues; opt in with --online")
    for item in items:
        if "online" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's settings, credentials or home."""
    for var in [*FIELDS_BY_VAR, "AITRADE_HOME"]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def settings(home: Path) -> Settings:
    return load_settings(home)


@pytest.fixture
async def bitget() -> AsyncIterator[FakeBitget]:
    fake = FakeBitget()
    fake.url = await fake.start()  # type: ignore[attr-defined]
    yield fake
    await fake.stop()
    assert not fake.refused, f"AiTrade sent requests the Bitget v2 pages do not allow: {fake.refused}"


@pytest.fixture
async def tinvest() -> AsyncIterator[FakeTinvest]:
    fake = FakeTinvest()
    fake.url = await fake.start()  # type: ignore[attr-defined]
    yield fake
    await fake.stop()
    assert not fake.refused, f"AiTrade sent requests the T-Invest .proto files do not allow: {fake.refused}"
