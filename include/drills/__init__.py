"""Reliability drills (`make drills`, `python -m drills [NAME ...]`): faults injected into the real
stack or the real writer and evaluator, and the counts that say whether anything was lost or
duplicated, written to docs/RELIABILITY.md. One module per drill; model.py holds what a drill declares
and what it reports, runner.py runs them, report.py writes the table."""
