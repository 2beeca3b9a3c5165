"""One-line errors: expected failures of a command become a message and exit status 1, no traceback."""

from __future__ import annotations

import functools
import os

import click

# Failures that are the user's to fix: shown as one line, exit status 1, no traceback
# (set LEAF_EDGE_DEBUG=1 to see the traceback instead). The project raises LeafEdgeError (a
# ValueError); LiteRT raises ValueError and RuntimeError on files it cannot use.
USER_ERRORS = (ValueError, FileExistsError, FileNotFoundError, PermissionError, RuntimeError)


def user_errors(command):
    """Turn expected exceptions of a command into a one-line error and a non-zero exit."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except click.ClickException:
            raise
        except USER_ERRORS as error:
            if os.environ.get("LEAF_EDGE_DEBUG"):
                raise
            raise click.ClickException(str(error) or type(error).__name__) from None

    return wrapper
