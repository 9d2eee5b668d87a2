"""Pacer's benchmarks: each one measures Pacer against a baseline it measures in the same run."""
