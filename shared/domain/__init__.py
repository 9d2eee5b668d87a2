"""Pacer's pure domain: targets, plans, attainment, projections, rules.

Nothing here does I/O or reads a clock: every function that depends on time takes ``now``.
Only the standard library is imported.
"""
