"""T-Invest authentication: a Bearer token on every call (reference/broker_apis.md B1)."""

from __future__ import annotations


def bearer_headers(token: str, app_name: str) -> dict[str, str]:
    """The headers of every REST gateway call; the token never appears anywhere else."""
    return {"Authorization": f"Bearer {token}", "Accept": "application/json", "x-app-name": app_name}
