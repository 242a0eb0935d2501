"""Loss playground page: presets, cell edits, temperature and threshold sliders, and bad cells."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from collab.lesson import losses
from tests.app.conftest import charts, texts

PAGE = "app_pages/loss_playground.py"


@pytest.fixture
def page(app: AppTest) -> AppTest:
    """The app from its entry script, switched to the loss playground."""
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    return app


def metric(at: AppTest, label: str) -> float:
    return float(next(m.value for m in at.metric if m.label == label))


def ce(at: AppTest) -> float:
    return metric(at, "Cross-entropy (ours, written out)")


def target_box(at: AppTest):
    """The 'right class' selectbox: one per preset (and per fastbook image), so each starts at its own target."""
    return next(box for box in at.selectbox if box.key and box.key.startswith("loss_target_"))


def edit(at: AppTest, key: str, edited_rows=None, added_rows=None, deleted_rows=None) -> AppTest:
    """Seed a data editor's edit state, as the browser would send it, and rerun."""
    at.session_state[key] = {
        "edited_rows": edited_rows or {},
        "added_rows": added_rows or [],
        "deleted_rows": deleted_rows or [],
    }
    return at.run()


def test_page_opens_with_every_section_and_agreement(page: AppTest) -> None:
    assert page.title[0].value.endswith("Loss playground")
    assert len(page.tabs) == 4
    preset = losses.PRESETS["confident_right"]
    expected = losses.softmax_breakdown(preset.logits, preset.target, preset.labels)
    assert ce(page) == pytest.approx(expected.loss, abs=1e-4)
    assert metric(page, "PyTorch F.cross_entropy") == pytest.approx(expected.torch_loss, abs=1e-4)
    assert len(page.success) == 4  # multi-class, binary, multi-label and two heads each agree with PyTorch
    assert not page.error
    specs = charts(page)
    # five step panels, temperature bars and curve, gradient, BCE curves, the BCE recommender's ranking,
    # multi-label, two heads
    assert len(specs) == 12
    assert all([trace["type"] for trace in spec["data"]] == ["bar"] for spec in specs[:5])
    assert all(spec["data"][0]["orientation"] == "h" for spec in specs[:5])  # labels on their own rows
    assert "sum" in page.table[0].value.index


@pytest.mark.parametrize("key", [k for k in losses.PRESETS if k != "fastbook"])
def test_each_preset_shows_its_loss(page: AppTest, key: str) -> None:
    page.radio(key="loss_preset").set_value(key).run()
    assert not page.exception
    preset = losses.PRESETS[key]
    expected = losses.softmax_breakdown(preset.logits, preset.target, preset.labels)
    assert target_box(page).value == preset.target
    assert ce(page) == pytest.approx(expected.loss, abs=1e-4)
    if key == "huge":
        assert any("naive path fails" in w.value for w in page.warning)
        assert "nan" in page.table[1].value.to_string()  # the naive column shows the breakage
    else:
        assert not page.warning


def test_fastbook_preset_verifies_the_book_number(page: AppTest) -> None:
    page.radio(key="loss_preset").set_value("fastbook").run()
    assert not page.exception
    mean = metric(page, "Mean cross-entropy of the batch")
    assert mean == pytest.approx(1.8045, abs=1e-4)
    assert any("F.cross_entropy(acts, targets)" in s.value for s in page.success)
    batch_table = page.table[0].value
    assert len(batch_table) == 6 and list(batch_table["target"]) == ["3", "7", "3", "7", "7", "3"]
    page.selectbox(key="loss_fastbook_row").set_value(3).run()
    acts, targets = losses.fastbook_activations()
    row = losses.batch_breakdown(acts, targets).losses[3]
    assert target_box(page).value == 1  # image 3 is a 7
    assert ce(page) == pytest.approx(float(row), abs=1e-4)


def test_editing_a_cell_changes_the_loss(page: AppTest) -> None:
    before = ce(page)
    edit(page, "loss_logits", edited_rows={0: {"logit": -3.0}})  # the right class, cat, drops to -3
    assert not page.exception and not page.error
    expected = losses.softmax_breakdown([-3.0, 1.0, -1.0, -2.0], 0)
    assert ce(page) == pytest.approx(expected.loss, abs=1e-4)
    assert ce(page) > before + 3


def test_temperature_slider_rescales_the_logits(page: AppTest) -> None:
    page.slider(key="loss_temperature_confident_right").set_value(3.0).run()
    assert not page.exception
    preset = losses.PRESETS["confident_right"]
    expected = losses.softmax_breakdown(preset.logits, 0, temperature=3.0)
    assert ce(page) == pytest.approx(expected.loss, abs=1e-4)
    assert "logit ÷ 3" in page.table[0].value.columns
    marker = charts(page)[6]["data"][1]  # the chosen T on the loss-versus-T curve
    assert marker["x"] == [3.0]


def test_threshold_slider_changes_predictions_and_accuracy(page: AppTest) -> None:
    assert metric_text(page, "Accuracy at 0.5") == "80%"  # chair (logit 0.3) is predicted but absent
    page.slider(key="loss_threshold").set_value(0.6).run()
    assert not page.exception
    assert metric_text(page, "Accuracy at 0.6") == "100%"
    assert metric(page, "Mean BCE (ours)") == pytest.approx(
        losses.multilabel_breakdown([2.5, 1.0, -0.5, -2.0, 0.3], [1, 1, 0, 0, 0]).loss, abs=1e-4
    )


def metric_text(at: AppTest, label: str) -> str:
    return str(next(m.value for m in at.metric if m.label == label))


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        pytest.param({"deleted_rows": [0, 1, 2, 3]}, "the table is empty", id="empty"),
        pytest.param({"deleted_rows": [1, 2, 3]}, "only 1 class", id="single-class"),
        pytest.param({"edited_rows": {1: {"logit": "abc"}}}, "row 2 has no logit", id="non-numeric"),
        pytest.param({"edited_rows": {2: {"logit": None}}}, "row 3 has no logit", id="blank"),
        pytest.param({"added_rows": [{"class": "eel"}]}, "row 5 has no logit", id="new-row-without-logit"),
        pytest.param({"edited_rows": {1: {"class": "cat"}}}, "both named 'cat'", id="duplicate-name"),
    ],
)
def test_bad_cells_show_a_message_and_the_rest_keeps_working(
    page: AppTest, edits: dict, message: str
) -> None:
    edit(page, "loss_logits", **edits)
    assert not page.exception
    assert any(message in e.value for e in page.error), [e.value for e in page.error]
    # the other two tabs are untouched
    assert metric(page, "BCE (ours)") == pytest.approx(losses.binary_breakdown(1, prob=0.7).loss, abs=1e-4)
    assert "Mean BCE (ours)" in texts(page)
    # and fixing the table brings the multi-class section back
    edit(page, "loss_logits")
    assert not page.error and ce(page) > 0


def test_deleting_the_target_row_falls_back_to_a_valid_class(page: AppTest) -> None:
    page.radio(key="loss_preset").set_value("confident_wrong").run()
    assert target_box(page).value == 2  # bird
    edit(page, "loss_logits", deleted_rows=[2, 3])  # bird and fish go
    assert not page.exception and not page.error
    assert target_box(page).options == ["cat", "dog"]
    assert target_box(page).value in (0, 1)
    assert ce(page) > 0


def test_bad_multilabel_cell_is_reported_in_its_tab_only(page: AppTest) -> None:
    edit(page, "loss_ml_table", edited_rows={2: {"logit": None}})
    assert not page.exception
    assert [e.value for e in page.error] == [
        "Can't compute the loss: row 3 has no logit (empty or not a number): type a number there or delete the row."
    ]
    assert ce(page) > 0  # multi-class still computed


def test_binary_tab_from_a_logit_and_label_zero(page: AppTest) -> None:
    page.radio(key="loss_bce_mode").set_value("logit").run()
    page.slider(key="loss_bce_logit").set_value(2.0).run()
    page.radio(key="loss_bce_label").set_value(0).run()
    assert not page.exception
    expected = losses.binary_breakdown(0, logit=2.0)
    assert metric(page, "BCE (ours)") == pytest.approx(expected.loss, abs=1e-4)
    assert metric(page, "PyTorch, from x") == pytest.approx(expected.torch_logits_loss, abs=1e-4)
    assert f"{expected.loss:.4f}" in texts(page)  # the formula filled in with the numbers
    bce = charts(page)[8]
    assert bce["data"][2]["name"].startswith("your prediction: p = 0.881")


def test_two_head_tab_sums_two_cross_entropies_and_edits_recompute(page: AppTest) -> None:
    import math

    head1, head2 = metric(page, "Head 1 loss"), metric(page, "Head 2 loss")
    total = metric(page, "Loss = sum")
    assert total == pytest.approx(head1 + head2, abs=2e-4)
    assert metric(page, "PyTorch's sum") == pytest.approx(total, abs=1e-4)
    edit(page, "loss_mt_head2", edited_rows={1: {"logit": 5.0}})
    assert not page.exception
    # head 2's target ('comedy') got more likely: its loss fell to log(1 + e^(0.3 - 5)); head 1's stayed
    assert metric(page, "Head 2 loss") == pytest.approx(math.log1p(math.exp(0.3 - 5.0)), abs=1e-3)
    assert metric(page, "Head 1 loss") == pytest.approx(head1, abs=1e-4)
    edit(page, "loss_mt_head1", deleted_rows=[0, 1, 2, 3])
    assert any("Head 1" in e.value and "only 1 class" in e.value for e in page.error)
    assert not page.exception


def test_a_certain_right_answer_shows_a_zero_loss_without_a_minus_sign(page: AppTest) -> None:
    """Issue 14: a loss of -0.0 (p = 1 in float32) read "-0.0000"."""
    page.radio(key="loss_preset").set_value("huge").run()
    shown = texts(page) + "".join(str(t.value) for t in page.table)
    assert "-0.0000" not in shown
    for spec in charts(page)[:5]:
        assert not any(str(label) in ("-0", "-0.0", "-0.000") for label in spec["data"][0].get("text", []))


def test_a_very_wrong_binary_prediction_stays_on_the_axis(page: AppTest) -> None:
    page.radio(key="loss_bce_mode").set_value("logit").run()
    page.slider(key="loss_bce_logit").set_value(-8.0).run()
    bce = charts(page)[8]
    loss = bce["data"][2]["y"][0]
    assert loss > 7.5
    assert bce["layout"]["yaxis"]["range"][1] > loss
