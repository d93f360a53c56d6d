"""The outcome charts are inline SVG drawn on the server: numbers and escaped text only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from promptctl.api.ui.charts import line_chart
from promptctl.api.ui.pages import templates, word_segments
from promptctl.api.ui.panels import OutcomePanel, Point, Series

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def series(metric: str = "error rate") -> Series:
    return Series(metric, "%", canary=tuple(Point(T0 + timedelta(minutes=i), v)
                                            for i, v in enumerate((1.0, 2.5, 4.0))),
                  stable=tuple(Point(T0 + timedelta(minutes=i), 1.0) for i in range(3)))


def test_a_chart_draws_canary_and_stable_with_a_text_alternative() -> None:
    svg = str(line_chart(series()))
    assert svg.startswith('<svg class="chart" role="img"')
    assert svg.count("<polyline") == 2
    assert 'aria-label="error rate: canary 4%, stable 1%"' in svg
    assert "<script" not in svg and "style=" not in svg


def test_a_chart_escapes_its_label_and_says_when_it_has_no_data() -> None:
    svg = str(line_chart(series('<script>alert(1)</script>')))
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "no data" in str(line_chart(Series("p95 latency", "ms", (), ())))


def test_the_prompt_page_template_draws_a_filled_outcome_panel() -> None:
    panel = OutcomePanel("production", "1.0.0", "1.1.0", (series(), series("cost per call")))
    html = templates.from_string(
        "{% for s in p.series %}{{ line_chart(s) }}{% endfor %}").render(p=panel)
    assert html.count("<svg") == 2


def test_word_marks_become_ins_and_del_pieces() -> None:
    assert word_segments("+say {+hello+} now") == [("", "+say "), ("ins", "hello"),
                                                   ("", " now")]
    assert word_segments("-[-bye-]") == [("", "-"), ("del", "bye")]
