"""Small line charts drawn on the server as inline SVG: no script, no chart library.

A chart is one :class:`~promptctl.api.ui.panels.Series`: canary and stable over the same
time axis, scaled together so that they compare at a glance. Only numbers and escaped text
reach the markup, and colours are presentation attributes, so the strict CSP holds.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from promptctl.api.ui.panels import Point, Series

WIDTH, HEIGHT, PAD = 240, 72, 4


def line_chart(series: Series) -> Markup:
    """``series`` as an ``<svg>`` with a title and a text alternative for screen readers."""
    points = series.canary + series.stable
    label = escape(f"{series.metric}: canary {_last(series.canary, series.unit)}, "
                   f"stable {_last(series.stable, series.unit)}")
    if not points:
        return Markup('<p class="empty">no data</p>')
    times = [p.at.timestamp() for p in points]
    values = [p.value for p in points]
    t0, t1 = min(times), max(times) or 1.0
    v0, v1 = min(0.0, min(values)), max(values)
    span_t, span_v = (t1 - t0) or 1.0, (v1 - v0) or 1.0

    def path(line: tuple[Point, ...]) -> str:
        coords = [(PAD + (p.at.timestamp() - t0) / span_t * (WIDTH - 2 * PAD),
                   HEIGHT - PAD - (p.value - v0) / span_v * (HEIGHT - 2 * PAD)) for p in line]
        return " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)

    return Markup(
        f'<svg class="chart" role="img" aria-label="{label}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}"><title>{label}</title>'
        f'<polyline points="{path(series.stable)}" fill="none" stroke="#64748b" '
        f'stroke-width="1.5"/><polyline points="{path(series.canary)}" fill="none" '
        f'stroke="#c2410c" stroke-width="2"/></svg>')


def _last(line: tuple[Point, ...], unit: str) -> str:
    return f"{line[-1].value:g}{unit}" if line else "—"
