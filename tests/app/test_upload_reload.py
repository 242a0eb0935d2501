"""Issue 19: an uploaded dataset survives a reload (the URL names it by fingerprint, the server holds it),
and a link naming one the server no longer holds opens the demo set with a note."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.conftest import open_with_params, texts
from tests.app.test_page_data import GOOD_CSV


def _sidebar(at: AppTest) -> str:
    return "\n".join(str(c.value) for c in at.sidebar.caption)


def test_an_upload_survives_a_reload_and_its_link_opens_it(app: AppTest) -> None:
    app.switch_page("app_pages/data.py").run()
    app.radio(key="data_source").set_value("upload").run()
    app.file_uploader(key="data_upload").upload("my_ratings.csv", GOOD_CSV.encode(), "text/csv").run()
    app.button(key="data_load_upload").click().run()
    assert not app.exception, app.exception
    params = {key: app.query_params[key] for key in app.query_params}
    assert params["data"] == "upload" and len(params["upload"]) == 32  # the content fingerprint, no file name
    assert "my_ratings" not in "".join(params.values())
    after = open_with_params(params, "app_pages/data.py")
    assert "Upload: my_ratings.csv" in _sidebar(after)
    assert "20 users" in _sidebar(after)
    assert "no longer holds" not in texts(after)
    # the Data page's Source radio shows the upload, not the demo set
    assert after.radio(key="data_source").value == "upload"


def test_a_link_to_an_upload_the_server_no_longer_holds_says_so() -> None:
    at = open_with_params({"data": "upload", "upload": "0" * 32, "factors": "20"})
    assert "no longer holds" in texts(at)
    assert "Built-in demo set" in _sidebar(at)
    at.switch_page("app_pages/train.py").run()
    assert at.slider(key="train_n_factors").value == 20  # the rest of the link still applies
