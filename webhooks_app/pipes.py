"""Pipes to the worker's child processes (the HTTP sender, the hook runner's children). A fork copies every open
descriptor, so each process forked later holds a copy of the parent's end of every pipe made before it. While any
copy stays open, a child never reads the end of its pipe when its worker dies (killed, however), and lives on
alone. So the parent's ends are closed in every process forked from the worker: each child then holds only its
own end, and ends with its worker."""

import os
import weakref
from multiprocessing.connection import Connection

_parent_ends: "weakref.WeakSet[Connection]" = weakref.WeakSet()


def parents_end(connection: Connection) -> Connection:
    """Mark `connection` as the parent's end of a pipe to a child: processes forked from now on close their copy."""
    _parent_ends.add(connection)
    return connection


def _close_copies() -> None:
    for connection in list(_parent_ends):
        connection.close()  # this process's copy of the descriptor only
    _parent_ends.clear()


os.register_at_fork(after_in_child=_close_copies)
