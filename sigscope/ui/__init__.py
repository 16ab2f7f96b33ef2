"""Everything Textual: the dashboard app, its screens and widgets.

Only this package imports Textual (tests/test_boundaries.py checks it).
"""
