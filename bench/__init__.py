"""The benchmarks behind `make bench`: `python -m bench` runs them and writes BENCHMARKS.md.

Every figure is printed with its spread over repeats; nothing here passes or fails.
"""
