"""Child processes that a test interrupts with Ctrl-C (SIGINT), or runs on a nearly full disk."""

from __future__ import annotations

import resource
import signal


def interruptible() -> None:
    """``preexec_fn`` that gives the child SIGINT's default action.

    A shell ignores SIGINT in the commands it starts in the background (POSIX, when job control
    is off), children inherit that, and Python then installs no KeyboardInterrupt handler: a
    test suite started that way (a CI runner, ``nohup ... &``) could not interrupt its children.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def small_disk(limit_bytes: int):
    """``preexec_fn`` that stops the child's files at ``limit_bytes``, as a full disk would stop
    them: a write past it fails with EFBIG ("File too large") where a full disk gives ENOSPC."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails instead of the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return limit
