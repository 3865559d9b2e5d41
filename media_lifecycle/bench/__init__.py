"""`make bench`: the save-path cost of lifecycle hooks, delivery throughput and commit-to-receipt latency."""
