"""Collab Lab's entry point: page setup, navigation over app_pages/, and the sidebar status."""

from pathlib import Path

import streamlit as st
import streamlit.components.v1 as components

from ui import cached, sidebar, uploads, url_state, widgets

# the icon is a file served by the app itself: a `:material/...:` icon is fetched from fonts.gstatic.com
# on every page load, which fails in a classroom without internet
FAVICON = str(Path(__file__).parent / "assets" / "favicon.png")
st.set_page_config(page_title="Collab Lab", page_icon=FAVICON, layout="wide")
# Projector and phone layout (issue 19). 1280 x 720: the title starts near the top (Streamlit leaves 6rem).
# 150% zoom (853 x 480 CSS px): a 168 px sidebar with tighter padding (its labels still fit) and a smaller
# title, so a step's first screen shows more than the title; the Train page's five memory metrics wrap to
# 3 + 2, so no value is cut. Phones: plotly's toolbar (download, zoom) hidden, as it covered the charts'
# titles; the spreadsheet's heatmap without in-cell numbers (15 columns of 16 px: they ran together; a tap
# shows the value); tables in a smaller font, so the playground's step table keeps its loss column on screen.
st.html(
    """<style>
    [data-testid="stMainBlockContainer"] { padding-top: 2.5rem; }
    @media (max-width: 1000px) {
      section[data-testid="stSidebar"] { width: 168px !important; min-width: 0 !important; }
      [data-testid="stSidebarContent"] { padding-left: 0.5rem; padding-right: 0.5rem; }
      [data-testid="stSidebarNavLink"] { padding-left: 0.3rem; padding-right: 0.3rem; gap: 0.4rem; }
      [data-testid="stSidebarNavLink"] span { font-size: 0.8rem; }
      [data-testid="stMainBlockContainer"] { padding-top: 3.5rem; padding-left: 1.25rem; padding-right: 1.25rem; }
      [data-testid="stMainBlockContainer"] h1 { font-size: 1.9rem; padding-top: 0.25rem; }
      .st-key-train_memory [data-testid="stHorizontalBlock"] { flex-wrap: wrap; row-gap: 0.75rem; }
      .st-key-train_memory [data-testid="stColumn"] { flex: 1 1 30% !important; min-width: 30% !important; }
    }
    @media (max-width: 640px) {
      [data-testid="stMainBlockContainer"] { padding-top: 4rem; }  /* below the header and its sidebar button */
      .js-plotly-plot .modebar-container { display: none; }
      .st-key-lesson_sheet_predictions g.heatmap-label { display: none; }
      [data-testid="stTable"] th, [data-testid="stTable"] td { font-size: 0.75rem; padding: 0.3rem 0.25rem; }
    }
    </style>"""
)

# On a narrow window (a projector at 150% zoom is 853 CSS px wide) the sidebar starts collapsed, once per
# browser tab, so a Lesson step gets the whole width; its button (top left) opens it again and the choice
# stays. Streamlit's own "auto" state collapses only below 768 px. The script runs in the component's
# same-origin frame and presses the sidebar's own collapse button.
AUTO_COLLAPSE = """<script>
(function () {
  const host = window.parent, key = "collab-sidebar-auto-collapsed";
  if (host.innerWidth > 1000 || host.innerWidth <= 640 || host.sessionStorage.getItem(key)) return;
  let tries = 0;
  const press = () => {
    const sidebar = host.document.querySelector('section[data-testid="stSidebar"]');
    const button = host.document.querySelector('[data-testid="stSidebarCollapseButton"] button');
    if (sidebar && (sidebar.getAttribute("aria-expanded") === "false" || sidebar.dataset.collapsed === "true")) { host.sessionStorage.setItem(key, "1"); return; }
    if (button) { button.click(); host.sessionStorage.setItem(key, "1"); return; }
    if (++tries < 40) setTimeout(press, 100);
  };
  press();
})();
</script>"""
with st.sidebar:
    components.html(AUTO_COLLAPSE, height=0)

PAGES = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", url_path="home", default=True),
    st.Page("app_pages/lesson.py", title="Lesson", icon=":material/school:", url_path="lesson"),
    st.Page("app_pages/data.py", title="Data", icon=":material/table_chart:", url_path="data"),
    st.Page("app_pages/train.py", title="Train", icon=":material/model_training:", url_path="train"),
    st.Page(
        "app_pages/embeddings.py", title="Embeddings", icon=":material/scatter_plot:", url_path="embeddings"
    ),
    st.Page("app_pages/recommend.py", title="Recommend", icon=":material/recommend:", url_path="recommend"),
    st.Page(
        "app_pages/loss_playground.py", title="Loss playground", icon=":material/functions:", url_path="loss"
    ),
]

page = st.navigation(PAGES)
uploads.begin_run()  # Streamlit keeps every file PUT to a session; only what its uploaders hold stays (ui/uploads.py)
widgets.hide_toolbar_downloads()  # tables' own CSV export runs formulas: ours are formula-safe (ui/widgets.py)
status_slot = st.sidebar.container()
url_state.restore()  # a fresh session takes its dataset, split and Train settings from the link
url_state.show_notes()
try:
    page.run()
    uploads.end_run()  # the run finished: an uploader it did not draw (another page) holds nothing now
    url_state.sync()  # the URL holds this session's setup on every page, so a reload or a copy keeps it
finally:
    # drawn after the page, so it shows what the page just did (a model trained, a dataset loaded);
    # in `finally` so a page that calls st.stop() still gets it
    sidebar.status(status_slot)
    cached.server_start()  # once per server, after the first page is drawn: cleanup and warm-up
