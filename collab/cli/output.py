"""The command line's output: bad-input errors in the words of its flags, tables, JSON, atomic files, progress bars, Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    pass


EXIT_BAD_INPUT = 2


EXIT_INTERRUPTED = 130


class BadInput(ValueError):
    """Input the command refuses (exit code 2)."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside `path`, renamed onto it only when the block completes; an error or
    Ctrl-C inside the block leaves `path` as it was (never half-written)."""
    target = check_folder(path)
    temporary = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def check_folder(path: str | os.PathLike) -> Path:
    target = Path(path)
    if not target.parent.is_dir():
        raise BadInput(f"cannot write {str(target)!r}: the folder {str(target.parent)!r} does not exist")
    if target.is_dir():
        raise BadInput(f"cannot write {str(target)!r}: it is a folder")
    return target


def _plain(value: Any) -> Any:
    """JSON-ready: NaN as null, numpy scalars as numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: str, payload: dict[str, Any]) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(_plain(payload), indent=2) + "\n")


def print_table(rows: Sequence[tuple[str, Any]], file: Any = None) -> None:
    """Two aligned columns, numbers to 4 decimals."""
    file = file or sys.stdout
    cells = [(name, f"{v:.4f}" if isinstance(v, float) else str(v)) for name, v in rows]
    width = max(len(name) for name, _ in cells)
    for name, value in cells:
        print(f"{name:<{width}}  {value}", file=file)


class EpochBars:
    """A tqdm bar per epoch on stderr (only on a terminal, never with --quiet), and one line per
    epoch (unless quiet); only the main process shows anything."""

    def __init__(self, show_bar: bool, show_lines: bool, epochs: int) -> None:
        self.show_bar, self.show_lines, self.epochs = show_bar, show_lines, epochs
        self.bar: Any = None
        self.done = 0  # steps of the finished epochs

    def on_batch(self, step: int, total: int) -> None:
        if not self.show_bar:
            return
        from tqdm import tqdm

        per_epoch = max(1, total // self.epochs)
        if self.bar is None:
            epoch = self.done // per_epoch + 1
            self.bar = tqdm(
                total=per_epoch,
                desc=f"epoch {epoch}/{self.epochs}",
                unit="step",
                file=sys.stderr,
                leave=False,
            )
        self.bar.update(max(0, min(step - self.done, per_epoch) - self.bar.n))

    def on_epoch(self, stats: Any) -> None:
        if self.bar is not None:
            self.done += self.bar.total
            self.bar.close()
            self.bar = None
        if self.show_lines:
            print(
                f"epoch {stats.epoch}/{stats.epochs}  train loss {stats.train_loss:.4f}  "
                f"valid loss {stats.valid_loss:.4f}  valid RMSE {stats.valid_rmse:.4f}  {stats.seconds:.1f} s",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextlib.contextmanager
def stop_on_interrupt(stop: threading.Event, say: Callable[[str], None]) -> Iterator[None]:
    """Ctrl-C sets `stop` (training ends after the current step); a second Ctrl-C aborts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        say("interrupted: stopping after the current step (Ctrl-C again to abort)")

    def terminate(signum: int, frame: Any) -> None:  # torchrun ending the workers: clean up, then go
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    previous_term = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)


def error_line(line: str) -> None:
    """One write per line: under torchrun every process may report the same error at once, and print's
    separate write of the newline let two processes' lines run together."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


class ErrorsOnly:
    """stderr under --quiet: error lines ("collab COMMAND: error: ...") pass, notes and warnings do not."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        if ": error" in text or "error:" in text:
            return self.stream.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()
