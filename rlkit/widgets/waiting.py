"""Waiting in a notebook cell while a Stop button stays live.

A widget's click reaches Python as a comm message on the kernel's shell channel, and the
kernel handles shell messages one at a time on its main thread: while a cell blocks in
``board.wait()`` (as under Run All), a click on Stop waits in the queue until the cell ends,
i.e. until the sweep it should have stopped has run to the end.

ipykernel 7 receives shell messages on a thread of its own and, for a comm message, asks the
comm which subshell should handle it (``Comm._reply_subshell_for(data, default)``) before it
queues the message for the main thread. ``hear_clicks`` wraps that question for one button:
a click calls the action there and then (the Stop's only work is to set a
``threading.Event``), and the message is still queued, so the main thread runs the button's
``on_click`` handlers later as usual (Stop is idempotent). Nothing else changes: other widgets'
messages and the next cells' execute requests wait for the cell as before.

Outside a kernel, or with an ipykernel without that hook, ``hear_clicks`` does nothing and a
blocking wait blocks the button as before (top-level ``await`` of an asyncio sleep loop is
then the way to keep widgets live).

    >>> with hear_clicks(board.stop_button, board.stop):
    ...     thread.join()
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

_HOOK = "_reply_subshell_for"


def is_click(data: Any) -> bool:
    """True for the comm data a Button sends when clicked: {"method": "custom", ...}."""
    if not isinstance(data, dict) or data.get("method") != "custom":
        return False
    content = data.get("content")
    return isinstance(content, dict) and content.get("event") == "click"


@contextlib.contextmanager
def hear_clicks(button: Any, action: Callable[[], None]) -> Iterator[bool]:
    """Call ``action`` as soon as ``button`` is clicked, even while the kernel runs a cell.

    Args:
        button: an ipywidgets Button shown in the notebook.
        action: what the click must do at once; runs in ipykernel's shell-channel thread, so
            keep it short and thread-safe (set an Event, write a status line).

    Yields:
        whether clicks are heard early (False outside ipykernel 7 or before the button has a
        front-end connection).
    """
    comm = getattr(button, "comm", None)
    route = getattr(comm, _HOOK, None)
    if route is None or _HOOK in vars(comm):  # no hook, or already wrapped by another wait
        yield False
        return

    def route_and_hear(data: Any, default: Any) -> Any:
        if is_click(data) and not button.disabled:
            with contextlib.suppress(Exception):  # never lose the message: on_click runs later
                action()
        return route(data, default)

    setattr(comm, _HOOK, route_and_hear)
    try:
        yield True
    finally:
        delattr(comm, _HOOK)  # the class's method answers again


def wait_hearing(
    thread: threading.Thread | None,
    timeout: float | None,
    buttons: list[tuple[Any, Callable[[], None]]],
) -> bool:
    """Join ``thread`` (up to ``timeout`` seconds) while the buttons' clicks act at once.

    Returns:
        True when the thread has ended (or there was none).
    """
    if thread is None:
        return True
    with contextlib.ExitStack() as stack:
        for button, action in buttons:
            stack.enter_context(hear_clicks(button, action))
        thread.join(timeout)
    return not thread.is_alive()
