"""The dashboard's models: what each panel shows, kept apart from the widgets that draw it.

Nothing here imports Textual (tests/unit/test_models.py tests them without it): a panel owns
one of these and redraws only when it says something changed.
"""
