"""Issue 19, fastbook chapter 8 on the Lesson: factors with names, the model from scratch with nn.Parameter
beside nn.Embedding, fastai's embedding-size rule, titles on the PCA map, and a new user with the
feedback-loop numbers, each live on the demo set."""

from __future__ import annotations

import inspect

from streamlit.testing.v1 import AppTest

from tests.app.conftest import LESSON_PAGE, charts, go_to, metric, number_of, texts

PAGE = LESSON_PAGE


def frame_with(at: AppTest, column: str):
    return next(df.value for df in at.dataframe if column in df.value.columns)


def test_named_factors_come_before_the_random_ones_and_move_with_the_users_taste(lesson: AppTest) -> None:
    number = number_of("Latent factors with names")
    assert number < number_of("Latent factors by hand")
    go_to(lesson, number)
    assert metric(lesson, "user1 · Last Skywalker") == "+2.142"  # fastbook's (user1 * last_skywalker).sum()
    assert metric(lesson, "user1 · Casablanca") == "-1.611"
    table = frame_with(lesson, "factor")
    assert list(table["factor"]) == ["science-fiction", "action", "old"]
    assert list(table["Casablanca"]) == [-0.99, -0.3, 0.8]
    (figure,) = [c for c in charts(lesson) if "factor by factor" in str(c["layout"]["title"]["text"])]
    assert len(figure["data"]) == 2
    assert "Nobody gives a model these names" in texts(lesson)
    lesson.slider(key="lesson_named_old").set_value(1.0).run()
    assert metric(lesson, "user1 · Casablanca") == "-0.331"  # -0.891 - 0.24 + 0.8
    assert metric(lesson, "user1 · Last Skywalker") == "+0.702"  # 0.882 + 0.72 - 0.9


def test_scratch_step_lists_the_same_parameters_and_both_models_learn_the_same_way(lesson: AppTest) -> None:
    go_to(lesson, number_of("From scratch"))
    table = frame_with(lesson, "nn.Parameter (from scratch)")
    assert list(table["nn.Parameter (from scratch)"]) == [
        "user_factors",
        "user_bias",
        "item_factors",
        "item_bias",
    ]
    assert list(table["shape"]) == [
        "(2000, 20)",
        "(2000,)",
        "(400, 20)",
        "(400,)",
    ]  # the demo set: 2,000 x 400
    assert list(table["shape "]) == ["(2000, 20)", "(2000, 1)", "(400, 20)", "(400, 1)"]
    assert "registers **0 parameters**" in texts(lesson)
    lesson.button(key="lesson_scratch_train").click().run(timeout=180)
    assert not lesson.exception, lesson.exception
    scratch = float(metric(lesson, "Valid MSE, nn.Parameter"))
    assert scratch == float(metric(lesson, "Valid MSE, nn.Embedding")) and 0.5 < scratch < 1.5
    assert float(metric(lesson, "Largest weight difference")) < 1e-5
    (figure,) = [c for c in charts(lesson) if "one curve" in str(c["layout"]["title"]["text"])]
    assert len(figure["data"]) == 4
    lesson.run()  # a rerun keeps the result on screen (from the cache, not a second training)
    assert "Largest weight difference" in texts(lesson)


def test_neural_net_step_shows_fastais_embedding_size_rule(lesson: AppTest) -> None:
    go_to(lesson, number_of("The neural net"))
    sizes = frame_with(lesson, "width")
    widths = dict(zip(sizes["rows n"], sizes["width"], strict=True))
    assert widths == {2000: 113, 400: 46, 943: 74, 1682: 102}  # min(600, round(1.6 n^0.56))
    assert "944 users → 74, 1,665 titles → 102" in texts(lesson)
    assert any("1.6" in str(c["layout"]["title"]["text"]) for c in charts(lesson))


def test_interpret_step_writes_titles_on_the_most_rated_films(lesson: AppTest) -> None:
    go_to(lesson, number_of("Interpreting the model"))
    lesson.button(key="lesson_interpret_train").click().run()
    assert not lesson.exception, lesson.exception

    def labels() -> list[str]:
        (figure,) = [c for c in charts(lesson) if any(t.get("name") == "highlighted" for t in c["data"])]
        trace = next(t for t in figure["data"] if t.get("name") == "highlighted")
        return [t for t in trace["text"] if t]

    assert len(labels()) == 12
    lesson.slider(key="lesson_map_labels").set_value(5).run()
    assert len(labels()) == 5 and all(t.startswith("The ") for t in labels())  # demo titles


def test_bootstrap_step_folds_a_new_user_in_and_measures_popularity_bias(lesson: AppTest) -> None:
    go_to(lesson, number_of("A new user"))
    lesson.button(key="lesson_boot_train").click().run()
    assert not lesson.exception, lesson.exception
    table = frame_with(lesson, "top 10%")
    assert list(table.columns) == ["title", "predicted", "ratings", "top 10%"] and len(table) == 10
    before = list(table["title"])
    (figure,) = [c for c in charts(lesson) if "top-10 slots" in str(c["layout"]["title"]["text"])]
    bars = figure["data"][0]
    assert list(bars["y"]) == ["of the items", "of the ratings", "model's top 10s", "popularity's top 10s"]
    shown = texts(lesson)
    assert "The 40 most-rated items are 10% of the catalogue" in shown  # the demo set's 400 items
    assert "feedback loop" in shown and "The lecture's warning" in shown
    assert " vs " in metric(lesson, "NDCG@10: model vs popularity")
    assert "popularity ranks the held-out favourites better" in shown  # the demo set: 0.22 against 0.16
    radios = [r for r in lesson.radio if r.key and r.key.startswith("lesson_boot_")]
    assert len(radios) == 6
    for radio in radios[:4]:  # the answers the other way round: loved <-> not
        radio.set_value(1 if radio.value == 5 else 5)
    lesson.run()
    assert not lesson.exception, lesson.exception
    assert list(frame_with(lesson, "top 10%")["title"]) != before


def test_show_the_code_of_the_new_steps_is_the_source_that_ran(lesson: AppTest) -> None:
    from collab.analysis.recommend import fold_in
    from collab.lesson.from_scratch import create_params, named_dot

    for title, function in (
        ("Latent factors with names", named_dot),
        ("From scratch", create_params),
        ("A new user", fold_in),
    ):
        go_to(lesson, number_of(title))
        assert any(code.value == inspect.getsource(function).rstrip("\n") for code in lesson.code), title
