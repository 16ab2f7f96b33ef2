"""The live process tree: a prefork master, its workers, and the controller that runs them.

Nothing in this package imports Textual: the UI, the lessons, the tests and the benchmarks all
drive a lab through :class:`sigscope.lab.controller.Lab`.
"""

from typing import Any

__all__ = ["Lab", "LabError", "LabTimeout"]


def __getattr__(name: str) -> Any:
    # Lazy, so that `python -m sigscope.lab.master` does not import itself twice.
    if name in __all__:
        from sigscope.lab import controller

        return getattr(controller, name)
    raise AttributeError(name)
