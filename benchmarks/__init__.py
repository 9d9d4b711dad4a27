"""Speed benchmarks: ratios against peers run side by side (``make bench``). Not tests."""
