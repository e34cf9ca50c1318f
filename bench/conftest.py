"""Benchmarks run with ``make bench`` (pytest-benchmark). Each compares xcosmo with a named peer in one run:
read the medians in the table that pytest-benchmark prints, grouped per comparison."""
