"""`make bench`: throughput and latency beside the raw ceiling of the same machine."""
