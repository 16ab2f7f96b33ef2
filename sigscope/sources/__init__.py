"""Sources: what the dashboard, the lessons and ``sigscope trace`` watch and act on.

A source is a live lab (:class:`sigscope.lab.controller.Lab`), a tree of someone's processes
followed by pid (:mod:`sigscope.sources.attach`), or a recording played back
(:mod:`sigscope.sources.replay`). Each has the one surface of :class:`sigscope.sources.base.Source`:
an event log to read and wait on (:mod:`sigscope.sources.eventlog`), observer snapshots, ``send``,
and capabilities declared as attributes. :mod:`sigscope.sources.settings` makes them.

No Textual here, and nothing is imported by this package's ``__init__``. A lab is a source:
the lab imports the core modules (``base``, ``eventlog``, ``record``); of this package only
``settings`` (which makes a lab) imports the lab, and ``base`` its ctypes ``libc`` for a queued
send. No module here imports another in a circle (tests/unit/test_import_graph.py).
"""
