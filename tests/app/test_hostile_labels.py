"""Labels and titles from data are shown as text: Markdown in a user id or a title renders literally."""

from __future__ import annotations

import io

import pytest

from collab.data.items import read_items
from collab.data.read import read_ratings
from collab.training.config import TrainConfig
from collab.training.loop import train
from tests.app.conftest import texts
from ui import state, text

IMAGE = "![x](http://host/x.png)"
LINK = "[click](http://host/)"
USERS = [IMAGE, "u2", "u3", "u4", "u5", "u6"]


@pytest.fixture(scope="module")
def hostile():
    rows = "".join(f"{u},i{i},{(a * 3 + i) % 5 + 1}\n" for a, u in enumerate(USERS) for i in range(12))
    items = read_items(
        io.BytesIO(("movieId,title\n" + "".join(f"i{i},{LINK} {i}\n" for i in range(12))).encode())
    )
    ratings = read_ratings(io.BytesIO(("user,item,rating\n" + rows).encode()), items=items)
    result = train(ratings, ratings, TrainConfig(n_factors=4, epochs=1, batch_size=8))
    return ratings, result


def _load(app, hostile, name: str) -> None:
    ratings, result = hostile
    app.session_state[state.DATASET] = ratings
    app.session_state[state.DATASET_SOURCE] = f"Upload: {name}"
    app.session_state[state.RESULT] = state.TrainedModel(result, ratings.fingerprint, state.SplitParams())


def test_the_helper_escapes_images_links_and_directives():
    wj = text.WORD_JOINER  # keeps the URL from being auto-linked (Streamlit links even escaped URLs)
    assert text.md(IMAGE) == rf"\!\[x\](http{wj}\://host/x.png)"
    assert text.md("mail me: a@b.org, www.b.org") == rf"mail me: a{wj}\@b.org, www{wj}\.b.org"
    assert (
        text.md(":red[x]") == rf"\:{wj}red\[x\]"
    )  # the joiner: Streamlit draws `\:material/home:` as an icon
    assert text.md("Built-in demo set") == "Built-in demo set"


def test_a_user_id_with_markdown_shows_literally_in_the_lookup_text(app, hostile):
    _load(app, hostile, IMAGE)
    app.switch_page("app_pages/embeddings.py").run()
    assert not app.exception, app.exception
    app.selectbox(key="emb_lookup_user").set_value(0).run()
    shown = texts(app)
    assert f"user **{text.md(IMAGE)}**" in shown
    assert "![x](" not in shown  # nowhere as live Markdown, the sidebar's file name included
    sidebar = " ".join(str(element.value) for element in app.sidebar.caption)
    assert text.md(f"Upload: {IMAGE}") in sidebar


def test_titles_with_markdown_are_literal_radio_labels_on_recommend(app, hostile):
    _load(app, hostile, "ratings.csv")
    app.switch_page("app_pages/recommend.py").run()
    assert not app.exception, app.exception
    labels = [radio.label for radio in app.radio if radio.key and radio.key.startswith("rec_new_")]
    assert labels and all(
        label.startswith(rf"\[click\](http{text.WORD_JOINER}\://host/)") for label in labels
    )


def test_bidirectional_controls_in_data_are_shown_as_their_code_in_text_and_tables():
    import pandas as pd

    spoof = "x\u202eexe.txt"  # reads "xtxt.exe" when the control is obeyed
    assert text.md(spoof) == r"x\[U+202E\]exe.txt"
    frame = pd.DataFrame({"title": [spoof, "plain"], "rating": [1.0, 2.0], spoof: ["a", "b"]})
    shown = text.table(frame)
    assert (
        list(shown["title"]) == ["x[U+202E]exe.txt", "plain"] and list(shown.columns)[2] == "x[U+202E]exe.txt"
    )
    assert list(frame["title"]) == [spoof, "plain"]  # the caller's frame is left as it was
    clean = frame.drop(columns=spoof).assign(title=["a", "b"])
    assert text.table(clean) is clean  # nothing to show differently: no copy
