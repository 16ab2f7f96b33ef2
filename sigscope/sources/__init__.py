"""Sources: what the dashboard, the lessons and ``sigscope trace`` watch and act on.

A source is a live lab (:class:`sigscope.lab.controller.Lab`), a tree of someone's processes
followed by pid (:mod:`sigscope.sources.attach`), or a recording played back
(:mod:`sigscope.sources.replay`). Each has the one surface of :class:`sigscope.sources.base.Source`:
an event log to read and wait on (:mod:`sigscope.sources.eventlog`), observer snapshots, ``send``,
and capabilities declared as attributes. :mod:`sigscope.ui.settings` makes them.

No Textual here, and nothing is imported by this package's ``__init__``. A lab is a source
built on this package: the lab imports its core modules (``base``, ``eventlog``, ``record``), so
nothing here imports the lab — this package is the layer below ``sigscope.lab``. The factory
that chooses between a lab, an attached tree and a replay (``sigscope.ui.settings``) sits above
both. No module here imports another in a circle (tests/unit/test_import_graph.py).
"""
