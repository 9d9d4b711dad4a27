"""Networking shared by data sources and brokers: the HTTP seam, retry with backoff, rate limiting."""

from aitrade.net.http import Response, request_json, retry_after_s
from aitrade.net.ratelimit import RateLimiter, Window
from aitrade.net.retry import RetryPolicy, retry_async

__all__ = ["RateLimiter", "Response", "RetryPolicy", "Window", "request_json", "retry_after_s", "retry_async"]
