"""The observer: what the kernel knows about each lab process, read from /proc, and decoded.

No Textual here. ``masks`` decodes the signal masks of /proc/PID/status, ``waitstatus`` the raw
status ``wait()`` returns, ``siginfo`` the ``si_code`` of a signal, and ``sampler`` reads the
whole managed tree a few times a second into immutable snapshots.
"""
