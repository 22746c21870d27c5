"""Benchmarks for Talent Connect (`make bench`)."""
