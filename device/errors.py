"""One-line errors: expected failures of a command become a message and exit status 1, no traceback."""

from __future__ import annotations

import functools
import os

import click

# Failures that are the user's to fix: shown as one line, exit status 1, no traceback
# (set LEAF_EDGE_DEBUG=1 to see the traceback instead). The project raises LeafEdgeError (a
# ValueError); LiteRT raises ValueError and RuntimeError on files it cannot use; OSError is the
# machine's (a full disk, a read-only folder, a missing file).
USER_ERRORS = (ValueError, OSError, RuntimeError)


def is_user_error(error: BaseException) -> bool:
    """One of :data:`USER_ERRORS`, or TensorFlow's own file errors (its ``OpError``: a full disk or a
    read-only folder under TensorFlow's writers), recognised without importing TensorFlow."""
    if isinstance(error, USER_ERRORS):
        return True
    return any(
        cls.__name__ == "OpError" and cls.__module__.startswith("tensorflow") for cls in type(error).__mro__
    )


def user_errors(command):
    """Turn expected exceptions of a command into a one-line error and a non-zero exit."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except click.ClickException:
            raise
        except Exception as error:
            if os.environ.get("LEAF_EDGE_DEBUG") or not is_user_error(error):
                raise
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            raise click.ClickException(first) from None

    return wrapper
