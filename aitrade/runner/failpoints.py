"""Failpoints: named places where a test makes the runner die as ``kill -9`` would.

``AITRADE_FAILPOINT=<name>[:<n>]`` kills the process (SIGKILL, no cleanup) the
``n``-th time (default first) execution reaches ``hit(name)``. Unset, a hit is
one dictionary lookup. The names: ``intent_written`` (recorded, not sent),
``order_sent`` (sent, the answer not recorded), ``fill_seen`` (a fill known
at the venue, the book not saved), ``protection_placed`` (a protection placed,
the book not saved), ``flatten`` (a flatten half done).
"""

from __future__ import annotations

import os
import signal

POINTS = ("intent_written", "order_sent", "fill_seen", "protection_placed", "flatten")
_spec = os.environ.get("AITRADE_FAILPOINT", "")
_name, _, _nth = _spec.partition(":")
_left = {_name: int(_nth) if _nth.isdigit() else 1} if _name else {}


def hit(name: str) -> None:
    if name not in _left:
        return
    _left[name] -= 1
    if _left[name] <= 0:
        os.kill(os.getpid(), signal.SIGKILL)
