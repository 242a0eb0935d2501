"""Helpers for read-only-disk tests: a disk numba cannot write its cache to (tests run as root, so
folder permissions would not stop them; the failure is injected where numba checks a folder)."""

from __future__ import annotations

import os
import sys

import pytest

from collab import kernels


def unwritable_numba_cache(monkeypatch: pytest.MonkeyPatch, writable: str | None = None) -> None:
    """Every numba cache folder fails numba's write check (except under `writable`), and the kernels
    are loaded anew, as in a fresh process on a read-only disk. monkeypatch undoes it all."""
    import numba.core.caching

    real = numba.core.caching._CacheLocator.ensure_cache_path

    def ensure_cache_path(self: object) -> None:
        path = self.get_cache_path()  # type: ignore[attr-defined]
        if writable is not None and os.path.abspath(path).startswith(os.path.abspath(writable)):
            real(self)
            return
        raise OSError(30, "Read-only file system", path)

    monkeypatch.setattr(numba.core.caching._CacheLocator, "ensure_cache_path", ensure_cache_path)
    monkeypatch.delitem(sys.modules, "collab.kernels.numba_cpu", raising=False)
    monkeypatch.delattr(kernels, "numba_cpu", raising=False)  # else `from collab.kernels import` finds it
    monkeypatch.setattr(kernels, "_failure", None)
    monkeypatch.setenv("NUMBA_CACHE_DIR", "")  # recorded, so what the code sets is undone afterwards
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    kernels._compiled.cache_clear()


def forget_kernels() -> None:
    """After a test that broke numba's cache: let the next load start clean."""
    kernels._compiled.cache_clear()
