"""Streamlit's in-memory copies of uploaded files, bounded per session.

Streamlit keeps every file a session PUTs to its upload endpoint (`/_stcore/upload_file/<session>/<file>`)
until the session ends, whether or not a widget holds it (issue 24: ten 19 MB PUTs took the server from
475 to 655 MiB for as long as the tab stayed open). Here a session keeps only

- the files its uploaders hold now (`hold`, called right after each `st.file_uploader`; a key whose
  widget a finished run did not draw is let go, as Streamlit drops that widget's state), and
- at most `MAX_SPARE_FILES` others that arrived in the last `GRACE_SECONDS` (a file PUT a moment before the
  rerun that hands it to its widget, or two files dropped at once),

and every other file of the session is removed from Streamlit's `MemoryUploadedFileManager` with its own
`remove_file`, as Streamlit's chat input does once it has read a file. The check runs when a file arrives
(`install` wraps the manager's `add_file`, so a session that only PUTs never holds more), on every run
of the session, and from the cache janitor.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

GRACE_SECONDS = 30.0  # a file just PUT waits this long for the rerun that hands it to its widget
MAX_SPARE_FILES = 2  # per session: files no uploader holds (yet)

_lock = threading.Lock()
_held: dict[str, dict[str, str]] = {}  # session -> {uploader key: file id}
_drawn: dict[str, set[str]] = {}  # session -> uploader keys drawn in its current run
_arrived: dict[tuple[str, str], float] = {}  # (session, file id) -> when this module first saw it
_managers: weakref.WeakSet[Any] = weakref.WeakSet()  # every manager `install` wrapped (one per server)


def _context() -> Any | None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return get_script_run_ctx()


def _memory_manager(manager: object) -> bool:
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager

    return isinstance(manager, MemoryUploadedFileManager)


def install(manager: Any) -> None:
    """Release spare files as they arrive: wrap `manager.add_file` (once) so a session that PUTs file
    after file holds at most `MAX_SPARE_FILES` no uploader holds."""
    if not _memory_manager(manager) or manager in _managers:
        return
    add_file = manager.add_file

    def bounded_add_file(session_id: str, file: Any) -> None:
        add_file(session_id, file)
        with _lock:
            _arrived.setdefault((session_id, file.file_id), time.monotonic())
        release(manager, session_id)

    manager.add_file = bounded_add_file
    _managers.add(manager)


def begin_run() -> None:
    """At the top of every script run: wrap this server's manager, start the list of uploaders drawn."""
    ctx = _context()
    if ctx is None:
        return
    install(ctx.uploaded_file_mgr)
    with _lock:
        _drawn[ctx.session_id] = set()


def hold(key: str, upload: Any | None) -> None:
    """The uploader `key` holds `upload` (an `UploadedFile`, or None) now; the session's other files that
    no uploader holds and that are not new are released."""
    ctx = _context()
    if ctx is None:
        return
    with _lock:
        held = _held.setdefault(ctx.session_id, {})
        if upload is None:
            held.pop(key, None)
        else:
            held[key] = upload.file_id
        _drawn.setdefault(ctx.session_id, set()).add(key)
    release(ctx.uploaded_file_mgr, ctx.session_id)


def end_run() -> None:
    """After a run that finished: uploaders it did not draw hold nothing any more (Streamlit has dropped
    their state: the page changed), so their files go too."""
    ctx = _context()
    if ctx is None:
        return
    with _lock:
        drawn = _drawn.get(ctx.session_id, set())
        held = _held.get(ctx.session_id, {})
        for key in [k for k in held if k not in drawn]:
            del held[key]
    release(ctx.uploaded_file_mgr, ctx.session_id)


def release(manager: Any, session_id: str, now: float | None = None) -> int:
    """Remove `session_id`'s files that no uploader holds, keeping the newest `MAX_SPARE_FILES` of those
    that arrived within `GRACE_SECONDS`; how many were removed."""
    if not _memory_manager(manager):
        return 0
    now = time.monotonic() if now is None else now
    file_ids = list(manager.file_storage.get(session_id, {}))  # a snapshot: PUTs arrive on other threads
    with _lock:
        held = set(_held.get(session_id, {}).values())
        spare = [f for f in file_ids if f not in held]
        for file_id in spare:
            _arrived.setdefault((session_id, file_id), now)
        spare.sort(key=lambda f: _arrived[(session_id, f)], reverse=True)  # newest first
        fresh = [f for f in spare if now - _arrived[(session_id, f)] < GRACE_SECONDS][:MAX_SPARE_FILES]
        doomed = [f for f in spare if f not in fresh]
        for file_id in doomed:
            _arrived.pop((session_id, file_id), None)
    for file_id in doomed:
        manager.remove_file(session_id, file_id)
    return len(doomed)


def release_all(alive: Callable[[str], bool] = lambda session: True) -> int:
    """For the janitor: every session's spare files past their grace; what is recorded about sessions
    `alive` says have ended is forgotten (Streamlit removes their files itself)."""
    removed = 0
    for manager in list(_managers):
        for session_id in list(manager.file_storage):
            removed += release(manager, session_id)
    with _lock:
        known = {*_held, *_drawn, *(session for session, _ in _arrived)}
        ended = {session for session in known if not alive(session)}
        for session in ended:
            _held.pop(session, None)
            _drawn.pop(session, None)
        for key in [k for k in _arrived if k[0] in ended]:
            del _arrived[key]
    return removed


# ---- the upload limit, the same on every side ---------------------------------------------------------
# Streamlit 1.67 counts `server.maxUploadSize` two ways: its upload endpoint refuses a file over that many
# MiB (2**20 bytes) whatever a widget says, while the browser checks a widget's `max_upload_size` in MB of
# 10**6 bytes (2**20 on Windows). The budget's limit (ui/budget.py) is in MB of 10**6 bytes, the smallest of
# these: a file the browser lets through and the endpoint accepts above it is refused by
# `Budget.check_upload`, with the numbers, before it is parsed.
SERVER_OPTION = "server.maxUploadSize"


def follow_budget(limit_mb: int) -> None:
    """At server start: make Streamlit's upload endpoint accept files of the budget's limit (`limit_mb`).
    Its own setting (`.streamlit/config.toml`, the default 1 GB budget's 7) would otherwise refuse a bigger
    host's files with a bare HTTP 413 after the browser had accepted them, and a larger setting would let
    any session PUT files the budget never counted."""
    from streamlit import config

    try:
        if int(config.get_option(SERVER_OPTION)) != limit_mb:
            config.set_option(SERVER_OPTION, limit_mb, "the memory budget (ui/budget.py)")
    except Exception:  # noqa: BLE001 - an internal API that moved: `limit_mb` below still keeps every side honest
        pass


def limit_mb(budget_mb: int) -> int:
    """The limit every uploader states, passes to the browser and checks: the budget's `budget_mb`, never
    more than Streamlit's upload endpoint accepts."""
    import streamlit as st

    return max(1, min(budget_mb, int(st.get_option(SERVER_OPTION))))
