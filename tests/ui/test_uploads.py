"""Uploads no widget holds are released (ui/uploads.py): Streamlit's own in-memory manager, no server."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec

from ui import uploads

SIZE = 1_000_000


@pytest.fixture
def manager(monkeypatch: pytest.MonkeyPatch) -> MemoryUploadedFileManager:
    """A fresh manager, wrapped, and a script-run context of session 's1' that uses it."""
    for name in ("_held", "_drawn", "_arrived"):  # nothing recorded by other tests
        monkeypatch.setattr(uploads, name, {})
    made = MemoryUploadedFileManager("/_stcore/upload_file")
    uploads.install(made)
    monkeypatch.setattr(uploads, "_context", lambda: SimpleNamespace(session_id="s1", uploaded_file_mgr=made))
    return made


def put(manager: MemoryUploadedFileManager, file_id: str, session: str = "s1") -> None:
    """What Streamlit's upload endpoint does for one PUT."""
    manager.add_file(
        session, UploadedFileRec(file_id=file_id, name=f"{file_id}.csv", type="text/csv", data=b"x" * SIZE)
    )


def files(manager: MemoryUploadedFileManager, session: str = "s1") -> list[str]:
    return sorted(manager.file_storage.get(session, {}))


def test_ten_puts_nobody_uses_leave_at_most_the_spare_files(manager: MemoryUploadedFileManager) -> None:
    """Issue 24: ten 19 MB PUTs stayed in memory until the session ended."""
    for index in range(10):
        put(manager, f"f{index}")
    assert files(manager) == ["f8", "f9"]  # the newest MAX_SPARE_FILES, waiting for their rerun
    assert manager._total_bytes == uploads.MAX_SPARE_FILES * SIZE


def test_the_file_an_uploader_holds_stays_and_the_one_it_replaced_goes(
    manager: MemoryUploadedFileManager,
) -> None:
    put(manager, "first")
    uploads.hold("data_upload", SimpleNamespace(file_id="first"))
    for index in range(5):
        put(manager, f"junk{index}")
    assert "first" in files(manager) and len(files(manager)) == 1 + uploads.MAX_SPARE_FILES
    put(manager, "second")
    uploads.hold("data_upload", SimpleNamespace(file_id="second"))  # the student chose another file
    uploads.release(manager, "s1", now=10**9)  # later than every grace
    assert files(manager) == ["second"]


def test_spare_files_go_after_their_grace(manager: MemoryUploadedFileManager) -> None:
    put(manager, "held")
    uploads.hold("data_items_upload", SimpleNamespace(file_id="held"))
    put(manager, "new")
    assert files(manager) == ["held", "new"]  # a file just PUT waits for the rerun that reads it
    assert uploads.release_all() == 0
    uploads.release(manager, "s1", now=10**9)
    assert files(manager) == ["held"]


def test_an_uploader_emptied_or_not_drawn_by_a_finished_run_releases_its_file(
    manager: MemoryUploadedFileManager,
) -> None:
    put(manager, "ratings")
    put(manager, "model")
    uploads.begin_run()
    uploads.hold("data_upload", SimpleNamespace(file_id="ratings"))
    uploads.hold("rec_upload", SimpleNamespace(file_id="model"))
    uploads.end_run()
    uploads.release(manager, "s1", now=10**9)
    assert files(manager) == ["model", "ratings"]
    uploads.begin_run()  # the student went to Recommend: the Data page's uploaders were not drawn
    uploads.hold("rec_upload", None)  # and removed the model file
    uploads.end_run()
    uploads.release(manager, "s1", now=10**9)
    assert files(manager) == []


def test_other_sessions_files_are_left_alone_and_ended_sessions_forgotten(
    manager: MemoryUploadedFileManager,
) -> None:
    put(manager, "mine")
    uploads.hold("data_upload", SimpleNamespace(file_id="mine"))
    for index in range(4):
        put(manager, f"theirs{index}", session="s2")
    assert files(manager) == ["mine"] and len(files(manager, "s2")) == uploads.MAX_SPARE_FILES
    uploads.release_all(alive=lambda session: session != "s1")
    assert "s1" not in uploads._held
