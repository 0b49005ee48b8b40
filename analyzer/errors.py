"""Errors the user can act on: one line, exit status 2, never a traceback."""


class UserError(Exception):
    """Bad usage or bad input. ``str(err)`` is the whole message: what is
    wrong and what to do about it."""

    exit_status = 2
