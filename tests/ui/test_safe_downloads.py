"""Every CSV a student can download from a table is formula-safe; the tables' own toolbar export is hidden."""

from __future__ import annotations

import pandas as pd

from ui import widgets


class _Where:
    """Stands in for a Streamlit container: records what a table helper draws."""

    def __init__(self) -> None:
        self.calls: dict[str, tuple] = {}

    def dataframe(self, frame, **options) -> None:
        self.calls["dataframe"] = (frame, options)

    def download_button(self, label, data, **options) -> None:
        self.calls["download"] = (label, data, options)


def test_a_tables_csv_download_neutralises_formulas_and_the_toolbar_export_is_hidden() -> None:
    frame = pd.DataFrame(
        {
            "title": ['=HYPERLINK("http://127.0.0.1:9","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "Toy Story"],
            "score": [-1.5, 2.0, 3.0, 4.0],
        }
    )
    where = _Where()
    widgets.table(where, frame, "rec_table", "recommendations.csv", hide_index=True)
    shown, options = where.calls["dataframe"]
    assert options["key"] == "rec_table" and shown["title"].tolist() == frame["title"].tolist()  # shown as is
    _, data, options = where.calls["download"]
    csv = data()
    assert options["file_name"] == "recommendations.csv"
    lines = csv.splitlines()
    assert (
        lines[1].startswith("\"'=HYPERLINK") and lines[2].startswith("'+cmd") and lines[3].startswith("'@SUM")
    )
    assert lines[4] == "Toy Story,4.0" and lines[1].endswith(",-1.5")  # numbers stay numbers
    assert 'aria-label="Download as CSV"' in widgets.TOOLBAR_CSS and "display:none" in widgets.TOOLBAR_CSS
