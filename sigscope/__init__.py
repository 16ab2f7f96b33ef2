"""sigscope: explore POSIX signals on a live prefork master/worker tree."""

__version__ = "0.1.0"
