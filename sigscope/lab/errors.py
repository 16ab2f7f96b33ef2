"""What a lab raises: one plain line fit to show a user (the controller's and the playground's
errors alike, so that neither module imports the other for them)."""

from __future__ import annotations

from sigscope.sources.base import SourceError, SourceTimeout


class LabError(SourceError):
    """A lab could not do what was asked; the message is fit to show a user."""


class LabTimeout(LabError, SourceTimeout):
    """An awaited event did not come in time."""
