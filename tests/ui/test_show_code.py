"""Every 'Show the code' target has real source, and the notes find in-place methods and **kwargs."""

from __future__ import annotations

import inspect

import pytest

from ui import show_code


@pytest.mark.parametrize("place", sorted(show_code.TARGETS))
def test_every_target_has_source(place: str) -> None:
    for target in show_code.TARGETS[place]:
        text = show_code.source(target)
        assert text.startswith(("def ", "class ", "@")), show_code.name_of(target)
        assert text == text.lstrip() and inspect.getsource(target).strip().endswith(
            text.strip().splitlines()[-1]
        )


def test_every_lesson_step_and_page_has_a_target() -> None:
    from ui.lesson.steps import STEPS

    assert {"train", "embeddings", "loss"} <= set(show_code.TARGETS)
    assert len([p for p in show_code.TARGETS if p.startswith("lesson_")]) == len(STEPS)


def test_in_place_methods_are_found() -> None:
    from collab.lesson import spreadsheet

    found = show_code.in_place_methods(show_code.source(spreadsheet.sgd_step))
    assert found == ["sub_", "zero_"]
    assert "uniform_" in show_code.in_place_methods(show_code.source(spreadsheet.Spreadsheet.__init__))


def test_kwargs_parameter_is_named() -> None:
    def takes(a: int, **options: object) -> None: ...

    assert show_code.kwargs_name(takes) == "options"
    assert show_code.kwargs_name(show_code.source) is None
