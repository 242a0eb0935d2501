"""Lesson: fast.ai's lecture 7 as one guided path, one live step per screen, the step in the URL."""

import streamlit as st

from ui.lesson import path as lesson_path

st.title(":material/school: Lesson 7, step by step")
step = lesson_path.current_step()
lesson_path.show_step(step)
