"""Server-side SVG charts for the staff dashboard: no JavaScript, no CDN, nothing in static/.

Each function returns a safe SVG string (every label is escaped) sized by its viewBox, so it
scales to the width of its container (360 px phones to wide screens). Geometry uses floats;
the numbers printed on a chart are the exact figures passed in, formatted as given."""

import math
from decimal import Decimal

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c")
FONT = 'font-family="system-ui, sans-serif"'


def _nice_max(value: float) -> float:
    """The smallest 1/2/5 x 10^n at or above value (a readable top of the y axis)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _peak(series: list[tuple[str, list]]) -> float:
    """Top of the y axis; counts get at least 4 so that the quarter ticks are whole numbers."""
    values = [v for _, vs in series for v in vs]
    peak = _nice_max(max((float(v) for v in values), default=0))
    if all(isinstance(v, int) for v in values):
        peak = max(4.0, math.ceil(peak / 4) * 4)
    return peak


def _fmt(value) -> str:
    if isinstance(value, Decimal):
        text = f"{value:.2f}"
    elif isinstance(value, float):
        text = f"{value:.2f}".rstrip("0").rstrip(".")
    else:
        text = str(value)
    return text


def _legend(names: list[str], left: int) -> list[str]:
    parts, x = [], left
    for n, name in enumerate(names):
        parts.append(f'<rect x="{x}" y="8" width="12" height="12" rx="2" fill="{PALETTE[n % len(PALETTE)]}"/>')
        parts.append(f'<text x="{x + 16}" y="18" font-size="13" fill="#1a202c" {FONT}>{escape(name)}</text>')
        x += 16 + 7 * len(name) + 14
    return parts


def _label_width(labels: list[str]) -> float:
    return 7 * max((len(label) for label in labels), default=1) + 8


def _every(count: int, room: float, label_width: float = 40) -> int:
    """Label every n-th tick so that labels do not overlap."""
    return max(1, math.ceil(count * label_width / max(room, 1)))


def _svg(width: int, height: int, title: str, body: list[str]) -> SafeString:
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart" preserveAspectRatio="xMidYMid meet">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def line_chart(*, title: str, x_labels: list[str], series: list[tuple[str, list]], width: int = 420, height: int = 240) -> SafeString:
    """One polyline per series over shared x labels (e.g. days), with a legend and y ticks."""
    left, right, top, bottom = 40, 22, 30, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _peak(series)
    count = max(len(x_labels), 1)

    def x(i: int) -> float:
        return left + (plot_w * i / (count - 1) if count > 1 else plot_w / 2)

    def y(v) -> float:
        return top + plot_h - plot_h * float(v) / peak

    body = []
    for tick in range(5):
        value = peak * tick / 4
        ty = y(value)
        body.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" stroke="#e2e8f0"/>')
        body.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="12" fill="#718096" {FONT}>{_fmt(value)}</text>')
    step = _every(count, plot_w, _label_width(x_labels))
    for i, label in enumerate(x_labels):
        if (count - 1 - i) % step == 0:  # always label the last (today), then every step-th
            body.append(
                f'<text x="{x(i):.1f}" y="{height - 12}" text-anchor="middle" font-size="12" fill="#718096" {FONT}>{escape(label)}</text>'
            )
    for n, (name, values) in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        body.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        for i, v in enumerate(values):
            body.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}">'
                f"<title>{escape(x_labels[i])}: {escape(_fmt(v))} {escape(name)}</title></circle>"
            )
    body.extend(_legend([name for name, _ in series], left))
    return _svg(width, height, title, body)


def bar_chart(*, title: str, labels: list[str], series: list[tuple[str, list]], width: int = 420, height: int = 240) -> SafeString:
    """Vertical bars per label; several series are drawn side by side (grouped)."""
    left, right, top, bottom = 40, 22, 30, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _peak(series)
    groups = max(len(labels), 1)
    group_w = plot_w / groups
    bar_w = group_w * 0.75 / max(len(series), 1)

    body = []
    for tick in range(5):
        value = peak * tick / 4
        ty = top + plot_h - plot_h * value / peak
        body.append(f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" stroke="#e2e8f0"/>')
        body.append(f'<text x="{left - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="12" fill="#718096" {FONT}>{_fmt(value)}</text>')
    step = _every(groups, plot_w, _label_width(labels))
    for g, label in enumerate(labels):
        gx = left + g * group_w + group_w * 0.125
        if (groups - 1 - g) % step == 0:
            body.append(
                f'<text x="{left + g * group_w + group_w / 2:.1f}" y="{height - 12}" text-anchor="middle" '
                f'font-size="12" fill="#718096" {FONT}>{escape(label)}</text>'
            )
        for n, (name, values) in enumerate(series):
            value = values[g]
            h = plot_h * float(value) / peak
            body.append(
                f'<rect x="{gx + n * bar_w:.1f}" y="{top + plot_h - h:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" '
                f'fill="{PALETTE[n % len(PALETTE)]}"><title>{escape(label)}: {escape(_fmt(value))} {escape(name)}</title></rect>'
            )
    body.extend(_legend([name for name, _ in series], left))
    return _svg(width, height, title, body)
