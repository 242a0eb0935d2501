"""Lesson: fast.ai's lecture 7 as one guided path, one live step per screen, the step in the URL."""

import streamlit as st

from ui import lesson_view

st.title(":material/school: Lesson 7, step by step")
step = lesson_view.current_step()
lesson_view.show_step(step)
