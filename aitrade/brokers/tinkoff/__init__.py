"""T-Invest (T-Bank) API v2 through its REST gateway."""
