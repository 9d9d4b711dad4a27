"""``python -m benchmarks`` (``make bench``): every benchmark, printed as ratios against its peer."""

from __future__ import annotations

import json
import platform
import sys

from benchmarks import (
    bench_backtest,
    bench_features,
    bench_monitor,
    bench_orders,
    bench_runner,
    bench_startup,
    bench_walkforward,
)


def main() -> int:
    print(f"AiTrade benchmarks on {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}\n")
    results = {"features": bench_features.main()}
    print()
    results["walkforward"] = bench_walkforward.main()
    print()
    results["backtest"] = bench_backtest.main()
    print()
    results["orders"] = bench_orders.main()
    print()
    results["runner"] = bench_runner.main()
    print()
    results["monitor"] = bench_monitor.main()
    print()
    results["startup"] = bench_startup.main()
    print("\n" + json.dumps(results, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
