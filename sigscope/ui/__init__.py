"""Everything Textual: the dashboard app, its screens and widgets (only this package imports Textual)."""
