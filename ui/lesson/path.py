"""The Lesson page's frame: which step is shown, Previous / Next, the step list, and the step in the URL.

The step lives in `st.query_params["step"]` (1-based), so a reload or a shared link lands on the same
step; a step that does not exist is ignored with a note on the page.
"""

from __future__ import annotations

import streamlit as st

from ui import text
from ui.lesson.steps import STEPS

STEP_KEY = "lesson_step"  # int: the step list's widget value, 1-based
SAVED_KEY = "lesson_step_saved"  # int: the step shown last, kept while another page is open
URL_KEY = "lesson_step_url"  # str: the last ?step= value this session has applied
NOTE_KEY = "lesson_step_note"  # str: why a ?step= value was ignored
N_STEPS = len(STEPS)


def _title(number: int) -> str:
    return f"{number}. {STEPS[number - 1].title}"


def _apply_url() -> None:
    """A new ?step= value (a deep link, a reload) moves to that step; one that does not exist leaves a note."""
    raw = st.query_params.get("step")
    if raw is None or raw == st.session_state.get(URL_KEY):
        return
    st.session_state[URL_KEY] = raw
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if 1 <= number <= N_STEPS:
        st.session_state[STEP_KEY] = number
        st.session_state.pop(NOTE_KEY, None)
    else:
        st.session_state[NOTE_KEY] = (
            f"The link asks for step '{text.md(raw, 20)}', but the lesson has steps 1 to {N_STEPS}: it was ignored."
        )


def _move(delta: int) -> None:
    st.session_state[STEP_KEY] = min(max(st.session_state.get(STEP_KEY, 1) + delta, 1), N_STEPS)
    st.session_state.pop(NOTE_KEY, None)


def _buttons(where: str, step: int) -> None:
    cols = st.columns([1.3, 2.6, 1])
    cols[0].button("Previous", key=f"lesson_prev_{where}", icon=":material/arrow_back:", on_click=_move, args=(-1,),
                   disabled=step <= 1, width="stretch")  # fmt: skip
    cols[2].button("Next", key=f"lesson_next_{where}", icon=":material/arrow_forward:", on_click=_move, args=(1,),
                   disabled=step >= N_STEPS, type="primary", width="stretch")  # fmt: skip
    if where == "bottom" and step < N_STEPS:
        cols[1].caption(f"Next: {_title(step + 1)}")


def current_step() -> int:
    """The step navigation (Previous, the step list, Next); returns the step to show, 1-based."""
    if STEP_KEY not in st.session_state:  # first visit, or back from another page
        st.session_state[STEP_KEY] = st.session_state.get(SAVED_KEY, 1)
    _apply_url()
    step = int(st.session_state[STEP_KEY])
    top = st.columns([1.3, 2.6, 1], vertical_alignment="bottom")
    top[0].button("Previous", key="lesson_prev_top", icon=":material/arrow_back:", on_click=_move, args=(-1,),
                  disabled=step <= 1, width="stretch")  # fmt: skip
    top[1].selectbox("Step", range(1, N_STEPS + 1), format_func=_title, key=STEP_KEY,
                     on_change=lambda: st.session_state.pop(NOTE_KEY, None), label_visibility="collapsed")  # fmt: skip
    top[2].button("Next", key="lesson_next_top", icon=":material/arrow_forward:", on_click=_move, args=(1,),
                  disabled=step >= N_STEPS, type="primary", width="stretch")  # fmt: skip
    note = st.session_state.get(NOTE_KEY)
    if note:
        st.warning(note, icon=":material/link_off:")
    st.session_state[SAVED_KEY] = step
    st.query_params["step"] = str(step)
    st.session_state[URL_KEY] = str(step)
    return step


def show_step(step: int) -> None:
    """The step's heading, its content, and Previous / Next again at the bottom."""
    st.subheader(f"Step {_title(step)}".replace("*", "\\*"), anchor=False)  # "**kwargs" is not bold
    STEPS[step - 1].render()
    st.divider()
    _buttons("bottom", step)
