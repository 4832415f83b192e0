"""Benchmarks: the lab's own formulation beside the course engine, timed in one process."""
