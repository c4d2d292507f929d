"""Side-by-side timings of nablanet and PyTorch on the same workloads (not tests)."""
