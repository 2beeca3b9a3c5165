"""Child processes that a test interrupts with Ctrl-C (SIGINT)."""

from __future__ import annotations

import signal


def interruptible() -> None:
    """``preexec_fn`` that gives the child SIGINT's default action.

    A shell ignores SIGINT in the commands it starts in the background (POSIX, when job control
    is off), children inherit that, and Python then installs no KeyboardInterrupt handler: a
    test suite started that way (a CI runner, ``nohup ... &``) could not interrupt its children.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
