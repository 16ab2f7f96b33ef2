"""``sigscope serve``'s machinery that is not web- or Textual-specific.

:mod:`~sigscope.serving.rules` (settings, keys, what a page may send, listening, the clean-up
of a page's processes) and :mod:`~sigscope.serving.classroom` (lessons for the start page,
student codes, progress and status files, the process budget). It imports neither Textual,
aiohttp, the UI nor the commands: the command is :mod:`sigscope.commands.serve`, the web
server :mod:`sigscope.ui.serve_web`, and both stand on this package.
"""
