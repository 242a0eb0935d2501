"""On a read-only disk the compiled kernels step aside (the PyTorch path, with a note), never a traceback."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from collab import kernels
from collab.training.loop import train
from tests.readonly import forget_kernels, unwritable_numba_cache
from tests.training.test_loop import TRAIN, small


@pytest.fixture(autouse=True)
def clean_kernels() -> Iterator[None]:
    yield
    forget_kernels()


def test_no_writable_cache_folder_trains_on_the_pytorch_path_with_a_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLLAB_KERNELS", "1")
    unwritable_numba_cache(monkeypatch)
    with pytest.warns(RuntimeWarning, match="compiled kernels are off"):
        result = train(TRAIN, None, small(batch_size=8, epochs=2))
    assert result.optimizer == "fused AdamW"
    cache_notes = [note for note in result.notes if "valid=None" not in note]  # the other: nothing scored
    assert len(cache_notes) == 1 and "no writable folder for its cache" in cache_notes[0]
    assert "NUMBA_CACHE_DIR" in cache_notes[0]
    assert not kernels.available() and not kernels.usable()
    again = train(TRAIN, None, small(batch_size=8, epochs=2))  # remembered: no second attempt, same note
    assert again.optimizer == "fused AdamW" and again.notes == result.notes


def test_the_temporary_folder_is_the_last_place_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    # only the kernels' own temp folder: a checkout that itself lies under /tmp must not count
    unwritable_numba_cache(monkeypatch, writable=os.path.join(tempfile.gettempdir(), "collab-lab-numba"))
    compiled = kernels._compiled()
    assert set(compiled) >= {"dense_steps", "row_steps", "sampled_dot"}
    assert kernels.os.environ["NUMBA_CACHE_DIR"].startswith(tempfile.gettempdir())
    assert kernels.failure() is None


def test_the_autoencoder_uses_the_dense_decoder_when_the_kernels_are_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unwritable_numba_cache(monkeypatch)
    with pytest.warns(RuntimeWarning, match="compiled kernels are off"):
        result = train(TRAIN, None, small(model="autorec", epochs=2))
    assert result.history and all(s.train_loss == s.train_loss for s in result.history)  # not nan


def test_a_failed_cache_write_after_compiling_warns_instead_of_failing() -> None:
    class Cache:
        def save_overload(self, sig: object, data: object) -> None:
            raise OSError(28, "No space left on device")

    cache = Cache()
    kernels._tolerate_full_disk(cache)
    kernels._tolerate_full_disk(cache)  # once only
    with pytest.warns(RuntimeWarning, match="No space left on device.*compiled again"):
        cache.save_overload(("float32",), object())


def test_every_loaded_kernel_tolerates_a_failed_cache_write() -> None:
    kernels._compiled()
    from collab.kernels import numba_cpu as _numba_kernels

    dispatchers = [v for v in vars(_numba_kernels).values() if hasattr(v, "_cache")]
    assert len(dispatchers) >= 4
    assert all(getattr(d._cache, "_collab_tolerant", False) for d in dispatchers)
