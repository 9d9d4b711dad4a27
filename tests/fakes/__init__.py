"""Loopback fake venues (aiohttp.web on 127.0.0.1) speaking the real wire formats."""
