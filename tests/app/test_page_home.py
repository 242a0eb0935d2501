"""Home page and the shell: opens on the demo set with no network, sidebar status, navigation."""

from tests.app.conftest import texts


def test_app_opens_on_demo_data_without_network(app):
    assert not app.exception
    assert app.title[0].value.endswith("Collab Lab")
    sidebar = "\n".join(str(c.value) for c in app.sidebar.caption)
    assert "Built-in demo set" in sidebar
    assert "ratings" in sidebar and "users" in sidebar
    assert "None trained yet" in sidebar
    assert "CPU" in sidebar or "CUDA" in sidebar or "MPS" in sidebar


def test_home_points_to_the_next_step(app):
    page_text = texts(app)
    assert "No model yet" in page_text
    assert "Built-in demo set" in page_text


def test_every_page_renders_without_exception(app):
    for page in (
        "app_pages/data.py",
        "app_pages/train.py",
        "app_pages/embeddings.py",
        "app_pages/recommend.py",
        "app_pages/loss_playground.py",
    ):
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
