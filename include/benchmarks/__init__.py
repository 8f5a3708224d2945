"""`make bench`: measurements written to docs/BENCHMARKS.md (machine, command, medians and ratios
from one run). Each section is a module with `run(report)`; see __main__.py."""
