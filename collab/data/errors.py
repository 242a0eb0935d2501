"""Errors and messages of the data layer: `DataError` and `Message`, one text with two wordings
(library arguments, or the app's controls)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Arg:
    """A library argument named in a message (`rating_col=...`); the app names its control instead."""

    name: str
    value: str = "..."

    @property
    def library(self) -> str:
        return f"{self.name}={self.value}"


class Message(str):
    """One message, two wordings: as a str it names library arguments (`rating_col=...`);
    `worded(controls)` names the app's controls instead (`the Rating column box`).

    Built from text and `Arg` parts: `Message("choose one with ", Arg("rating_col"), ".")`.
    """

    parts: tuple[str | Arg, ...]

    def __new__(cls, *parts: str | Arg) -> Message:
        flat: list[str | Arg] = []
        for part in parts:
            flat.extend(part.parts if isinstance(part, Message) else (part,))
        message = super().__new__(cls, "".join(p if isinstance(p, str) else p.library for p in flat))
        message.parts = tuple(flat)
        return message

    def worded(self, controls: Mapping[str, str], escape: Callable[[str], str] | None = None) -> str:
        """The text with each argument replaced by `controls[name]` (the library wording if absent);
        `escape` (e.g. Markdown escaping) applies to the text, not to the controls' names."""
        keep = escape or (lambda text: text)
        return "".join(
            keep(part) if isinstance(part, str) else controls.get(part.name, keep(part.library))
            for part in self.parts
        )

    @classmethod
    def join(cls, separator: str, messages: Sequence[str]) -> Message:
        parts: list[str | Arg] = []
        for i, message in enumerate(messages):
            if i:
                parts.append(separator)
            parts.append(message)
        return cls(*parts)


def worded(message: object, controls: Mapping[str, str], escape: Callable[[str], str] | None = None) -> str:
    """`message` in the app's words when it is a `Message` (or a `DataError` holding one), else as str."""
    if isinstance(message, DataError):
        message = message.args[0] if message.args else ""
    if isinstance(message, Message):
        return message.worded(controls, escape)
    return escape(str(message)) if escape else str(message)


class DataError(ValueError):
    """Bad input data: the message names the problem, the column, the count and the fix.

    `str(error)` names library arguments; `error.worded(controls)` names the app's controls.
    """

    def worded(self, controls: Mapping[str, str], escape: Callable[[str], str] | None = None) -> str:
        """The message in the app's words (see `Message.worded`)."""
        return worded(self, controls, escape)
