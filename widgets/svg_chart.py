"""A plotly figure of :mod:`widgets.charts` drawn by the kernel as HTML and SVG, for the
live apps.

Drawn in the browser by plotly.js, the first chart of a page cost about 1.3 s of its
first render (the 4.6 MB library started, then the plot laid out) on top of everything
else; this HTML needs no script at all: an ``ipywidgets.HTML`` shows it as soon as the
page's widgets are there (``benchmarks/bench_first_render.py``). Rendered reports keep
plotly (:func:`widgets.charts.figure_html`): the reviewer's copy zooms and hovers.

What is drawn is what the figure holds: its bar, line and pie traces with their names,
colours and order, grouped or stacked bars, horizontal lines (a target) and the title;
hovering a mark shows the trace's ``hovertemplate`` filled in (a ``<title>``). Sizes
are in pixels vertically and in percent horizontally, so a chart fills the width it is
given (a full row, half a row) without scaling its text. The plot's ``<svg>`` carries
``data-x``, the categories of the first trace as JSON.
"""

from __future__ import annotations

import html
import itertools
import json
import math
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import plotly.graph_objects as go

FONT_PX = 12
#: vertical space of the value axis labels (left) and of the category labels (below)
AXIS_PX = 68
CATEGORY_PX = 22
#: the width a chart may get (half a row): category labels that would not fit side by side are slanted
NARROW_PX = 460
BAR_GAP = 0.2  # share of a category's slot left empty (plotly's bargap)
MUTED = "#5f6b7a"
GRID = "#e5e9ef"
ZERO = "#9aa5b1"
_FIELD = re.compile(r"%\{([\w.]+)(?::([^}]*))?\}")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _pct(value: float) -> str:
    return f"{value:.3f}%"


def _px(value: float) -> str:
    return f"{value:.1f}"


def el(name: str, attrs: dict[str, Any], content: str | None = None) -> str:
    """An element: ``<name a="v" ...>content</name>``, or ``<name ... />`` without content;
    attribute values are escaped (``None`` leaves the attribute out), the content is not."""
    attributes = "".join(f' {k}="{esc(v)}"' for k, v in attrs.items() if v is not None)
    return f"<{name}{attributes}/>" if content is None else f"<{name}{attributes}>{content}</{name}>"


def _mark(name: str, attrs: dict[str, Any], tip: str) -> str:
    """A mark of the data (a bar, a point, a slice) that shows ``tip`` on hover."""
    return el(name, {"class": "itu-mark", **attrs}, f"<title>{esc(tip)}</title>")


def _text(x: str, y: float, text: str, anchor: str = "middle", **attrs: Any) -> str:
    return el("text", {"x": x, "y": _px(y), "text-anchor": anchor, **attrs}, esc(text))


# -- numbers ---------------------------------------------------------------------------------------


def si(value: float) -> str:
    """``value`` the way d3's ``~s`` writes an axis tick: 0, 500k, 2.5M, 1G."""
    if value == 0:
        return "0"
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g}{suffix}"
    return f"{value:.3g}"


def ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) covering ``low``..``high``."""
    low, high = min(low, 0.0), max(high, 0.0)
    if high == low:
        high = low + 1
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def _format(value: Any, spec: str | None) -> str:
    if spec and isinstance(value, int | float):
        try:
            return format(value, spec)
        except ValueError:
            pass
    return str(value)


def hover(template: str | None, fields: dict[str, Any]) -> str:
    """A trace's ``hovertemplate`` filled in, as plain text for a ``<title>``."""
    if not template:
        parts = [str(fields.get(k)) for k in ("x", "y", "label", "value") if fields.get(k) is not None]
        return " ".join(parts)
    text = template.replace("<extra></extra>", "")
    text = _FIELD.sub(lambda m: _format(fields.get(m.group(1), ""), m.group(2)), text)
    return re.sub(r"<br\s*/?>", "\n", text)


# -- reading the figure ----------------------------------------------------------------------------


def _colors(trace: Any, count: int, fallback: str) -> list[str]:
    color = trace.marker.color if trace.marker is not None else None
    if isinstance(color, str):
        return [color] * count
    if isinstance(color, Sequence) and color:
        return [str(c) for c in color]
    return [fallback] * count


def _categories(traces: Iterable[Any], axis: str) -> list[str]:
    seen: dict[str, None] = {}
    for trace in traces:
        for value in getattr(trace, axis) or ():
            seen.setdefault(str(value), None)
    return list(seen)


def _legend(items: Iterable[tuple[str, str, str]]) -> str:
    """``(name, colour, kind)`` items, ``kind`` "bar" (a square), "line" or "dot" (a dotted line)."""
    out = []
    for name, color, kind in items:
        mark = "itu-svgc-key" if kind == "bar" else "itu-svgc-key-line"
        look = f"border-top:3px dotted {color};height:0" if kind == "dot" else f"background:{color}"
        out.append(f'<span class="itu-svgc-item"><i class="{mark}" style="{esc(look)}"></i>{esc(name)}</span>')
    return f'<div class="itu-svgc-legend">{"".join(out)}</div>' if out else ""


def _title(fig: go.Figure) -> str:
    return str(fig.layout.title.text or "")


def subtitle(fig: go.Figure) -> str:
    """What the chart shows (version and period, years to the as-of date), under its title."""
    return str(fig.layout.title.subtitle.text or "")


def key_html(fig: go.Figure) -> str:
    """The names of the codes along the chart's axis (``layout.meta["key"]``), as a note
    under it: ``Units: BR-SSD — Space Services Department · ...``; "" without a key."""
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    key = meta.get("key") or []
    if not key:
        return ""
    names = " · ".join(f"<b>{esc(code)}</b> {esc(name)}" for code, name in key)
    title = meta.get("key_title") or "Codes"
    return f'<div class="itu-note itu-chart-key">{esc(title)}: {names}</div>'


# -- the three kinds of chart ----------------------------------------------------------------------


def render(fig: go.Figure, chart: str = "") -> str:
    """``fig`` as HTML with inline SVG (``chart`` names it in ``data-chart``)."""
    traces = list(fig.data)
    title = _title(fig)
    head = f'<div class="itu-svgc" data-chart="{esc(chart)}">'
    head += f'<div class="itu-svgc-title">{esc(title)}</div>' if title else ""
    said = subtitle(fig)
    head += f'<div class="itu-note itu-svgc-sub">{esc(said)}</div>' if said else ""
    if not traces:
        message = fig.layout.annotations[0].text if fig.layout.annotations else "No data for this selection"
        height = int(fig.layout.height or 240) - 60
        return head + f'<div class="itu-svgc-empty" style="height:{height}px">{esc(message)}</div></div>'
    if all(t.type == "pie" for t in traces):
        return head + _pies(fig, traces) + "</div>"
    if any(t.type == "bar" and t.orientation == "h" for t in traces):
        return head + _horizontal(fig, traces) + key_html(fig) + "</div>"
    return head + _vertical(fig, traces) + key_html(fig) + "</div>"


def _value_axis(fig: go.Figure, axis: str) -> str:
    """The tick prefix of the value axis ``axis`` ("x" or "y"): "CHF " for money."""
    return str(getattr(fig.layout, f"{axis}axis").tickprefix or "")


def _stacks(
    traces: Sequence[Any], categories: Sequence[str], value: str, key: str, stacked: bool
) -> list[list[tuple[float, float]]]:
    """For each trace and category: the (start, end) of its bar along the value axis."""
    up = dict.fromkeys(categories, 0.0)
    down = dict.fromkeys(categories, 0.0)
    spans = []
    for trace in traces:
        row = []
        values = dict(zip((str(k) for k in getattr(trace, key)), getattr(trace, value), strict=True))
        for category in categories:
            v = float(values.get(category) or 0.0)
            if not stacked:
                row.append((0.0, v))
            elif v >= 0:
                row.append((up[category], up[category] + v))
                up[category] += v
            else:
                row.append((down[category], down[category] + v))
                down[category] += v
        spans.append(row)
    return spans


def _fields(trace: Any, category: str, v: float, i: int, *, horizontal: bool) -> dict[str, Any]:
    """What a trace's hovertemplate may name, for point ``i``."""
    fields: dict[str, Any] = {"fullData.name": trace.name or "", "x": v if horizontal else category}
    fields["y"] = category if horizontal else v
    custom = trace.customdata
    if custom is not None and i < len(custom):
        fields["customdata"] = custom[i]
    return fields


def _hlines(fig: go.Figure) -> list[tuple[float, str, str]]:
    """Horizontal lines across the plot (``add_hline``): (y, colour, label)."""
    lines = []
    labels = [a for a in fig.layout.annotations if a.yref == "y"]
    for shape in fig.layout.shapes:
        across = str(shape.xref).endswith("domain")
        if shape.type == "line" and across and shape.y0 is not None and shape.y0 == shape.y1:
            label = next((a.text for a in labels if a.y == shape.y0), "")
            lines.append((float(shape.y0), str(shape.line.color or ZERO), str(label or "")))
    return lines


def _line_color(trace: Any) -> str:
    """The colour of a line trace's line, else of its markers."""
    marker = trace.marker.color if trace.marker is not None else None
    return str(trace.line.color or (marker if isinstance(marker, str) else None) or "#b3261e")


def _legend_of(fig: go.Figure, traces: Sequence[Any]) -> str:
    if fig.layout.showlegend is False or len(traces) < 2:
        return ""
    items = []
    for trace in traces:
        if trace.type == "scatter":
            kind = "bar" if "lines" not in (trace.mode or "lines") else "dot" if trace.line.dash == "dot" else "line"
            items.append((trace.name or "", _line_color(trace), kind))
        else:
            items.append((trace.name or "", _colors(trace, 1, "#1d4f91")[0], "bar"))
    return _legend(items)


def _grid(columns: str, *svgs: str) -> str:
    """The axis labels and the plot side by side: ``columns`` is the left column's width."""
    return el("div", {"class": "itu-svgc-grid", "style": f"grid-template-columns:{columns} 1fr"}, "".join(svgs))


def _plot(height: float, categories: Sequence[str], label: str, content: list[str], width: str = "100%") -> str:
    attrs = {"class": "itu-svgc-plot", "width": width, "height": _px(height), "data-x": json.dumps(categories),
             "role": "img", "aria-label": label}  # fmt: skip
    return el("svg", attrs, "".join(content))


def _axis(width: float, height: float, content: list[str]) -> str:
    return el("svg", {"class": "itu-svgc-axis", "width": width, "height": _px(height), "aria-hidden": "true"},
              "".join(content))  # fmt: skip


def _across(y: float, color: str, dash: str | None = None) -> str:
    """A horizontal line across the plot at ``y`` pixels."""
    return el("line", {"x1": 0, "x2": "100%", "y1": _px(y), "y2": _px(y), "stroke": color, "stroke-dasharray": dash})


def _vertical(fig: go.Figure, traces: Sequence[Any]) -> str:
    """Bars (grouped or stacked) and lines over categories along the bottom."""
    bars = [t for t in traces if t.type == "bar"]
    lines = [t for t in traces if t.type == "scatter"]
    categories = _categories(traces, "x")
    stacked = fig.layout.barmode == "stack"
    spans = _stacks(bars, categories, "y", "x", stacked)
    hlines = _hlines(fig)
    values = [v for row in spans for span in row for v in span]
    values += [float(v) for t in lines for v in t.y if v is not None] + [y for y, _c, _l in hlines]
    grid = ticks(min(values, default=0.0), max(values, default=1.0))
    prefix = _value_axis(fig, "y")
    longest = max((len(c) for c in categories), default=1)
    slant = (fig.layout.xaxis.tickangle or 0) != 0 or longest * 7 > NARROW_PX / len(categories)
    labels_px = longest * 5 + 16 if slant else CATEGORY_PX
    top, plot = 8, int(fig.layout.height or 380) - 118
    low, high = grid[0], grid[-1]
    slot = 100 / len(categories)
    total = top + plot + labels_px

    def y_px(v: float) -> float:
        return top + (high - v) / (high - low) * plot

    axis = [_text(str(AXIS_PX - 6), y_px(tick) + 4, prefix + si(tick), "end") for tick in grid]
    if fig.layout.yaxis.title.text:
        middle = top + plot / 2
        axis.append(_text("12", middle, fig.layout.yaxis.title.text, transform=f"rotate(-90 12 {_px(middle)})"))
    out = [_across(y_px(t), ZERO if t == 0 else GRID) for t in grid]
    group = 1 if stacked or not bars else len(bars)
    width = slot * (1 - BAR_GAP) / group
    for b, (trace, row) in enumerate(zip(bars, spans, strict=True)):
        colors = _colors(trace, len(categories), "#1d4f91")
        index = {str(k): i for i, k in enumerate(trace.x)}
        for c, (category, (start, end)) in enumerate(zip(categories, row, strict=True)):
            if category not in index or start == end:
                continue
            i = index[category]
            x = c * slot + slot * BAR_GAP / 2 + (0 if stacked else b * width)
            y0, y1 = sorted((y_px(start), y_px(end)))
            tip = hover(trace.hovertemplate, _fields(trace, category, end - start, i, horizontal=False))
            box = {"x": _pct(x), "y": _px(y0), "width": _pct(width), "height": _px(max(y1 - y0, 0.5))}
            out.append(_mark("rect", {**box, "fill": colors[i % len(colors)]}, tip))
    for trace in lines:
        color = _line_color(trace)
        dash = {"dot": "2 4", "solid": None, None: None}.get(trace.line.dash, "6 4")
        points = [(categories.index(str(x)), float(y)) for x, y in zip(trace.x, trace.y, strict=True) if y is not None]
        if "lines" in (trace.mode or "lines"):
            for (c0, v0), (c1, v1) in itertools.pairwise(points):
                out.append(el("line", {"x1": _pct((c0 + 0.5) * slot), "y1": _px(y_px(v0)),
                                       "x2": _pct((c1 + 0.5) * slot), "y2": _px(y_px(v1)), "stroke": color,
                                       "stroke-width": trace.line.width or 2, "stroke-dasharray": dash}))  # fmt: skip
        symbol = str(trace.marker.symbol or "") if trace.marker is not None else ""
        look = {"fill": "#ffffff", "stroke": color, "stroke-width": 2} if symbol.endswith("-open") else {"fill": color}
        for i, (c, v) in enumerate(points):
            tip = hover(trace.hovertemplate, _fields(trace, categories[c], v, i, horizontal=False))
            out.append(_mark("circle", {"cx": _pct((c + 0.5) * slot), "cy": _px(y_px(v)), "r": 4, **look}, tip))
    for y, color, label in hlines:
        out.append(_across(y_px(y), color, dash="6 4"))
        if label:
            out.append(_text("4", y_px(y) - 4, label, "start", **{"class": "itu-svgc-note"}))
    base = top + plot + 14
    for c, category in enumerate(categories):
        center = _pct((c + 0.5) * slot)
        if slant:
            out.append(_text(center, base - 4, category, "end", **{"class": "itu-svgc-slant"}))
        else:
            out.append(_text(center, base, category))
    x_title = fig.layout.xaxis.title.text
    caption = el("div", {"class": "itu-svgc-caption"}, esc(x_title)) if x_title else ""
    chart = _grid(f"{AXIS_PX}px", _axis(AXIS_PX, total, axis), _plot(total, categories, _title(fig), out))
    return _legend_of(fig, traces) + chart + caption


def _horizontal(fig: go.Figure, traces: Sequence[Any]) -> str:
    """Horizontal bars (grouped or stacked), categories down the left from the top."""
    categories = _categories(traces, "y")
    stacked = fig.layout.barmode == "stack"
    spans = _stacks(traces, categories, "x", "y", stacked)
    values = [v for row in spans for span in row for v in span]
    grid = ticks(min(values, default=0.0), max(values, default=1.0))
    prefix = _value_axis(fig, "x")
    low, high = grid[0], grid[-1]
    row_px = 22
    height = row_px * len(categories)
    labels_px = min(max((len(c) for c in categories), default=1) * 7 + 10, 220)

    def x_pct(v: float) -> float:
        return (v - low) / (high - low) * 96 + 2

    axis = [_text(str(labels_px - 6), r * row_px + row_px / 2 + 4, c, "end") for r, c in enumerate(categories)]
    out = []
    for tick in grid:
        x = _pct(x_pct(tick))
        out.append(el("line", {"x1": x, "x2": x, "y1": 0, "y2": height, "stroke": ZERO if tick == 0 else GRID}))
        out.append(_text(x, height + 15, prefix + si(tick)))
    group = 1 if stacked else len(traces)
    bar_px = row_px * (1 - BAR_GAP) / group
    for b, (trace, row) in enumerate(zip(traces, spans, strict=True)):
        colors = _colors(trace, len(categories), "#1d4f91")
        index = {str(k): i for i, k in enumerate(trace.y)}
        for r, (category, (start, end)) in enumerate(zip(categories, row, strict=True)):
            if category not in index or start == end:
                continue
            i = index[category]
            y = r * row_px + row_px * BAR_GAP / 2 + (0 if stacked else b * bar_px)
            x0, x1 = sorted((x_pct(start), x_pct(end)))
            tip = hover(trace.hovertemplate, _fields(trace, category, end - start, i, horizontal=True))
            out.append(_mark("rect", {"x": _pct(x0), "y": _px(y), "width": _pct(max(x1 - x0, 0.05)),
                                      "height": _px(bar_px), "fill": colors[i % len(colors)]}, tip))  # fmt: skip
    total = height + CATEGORY_PX
    chart = _grid(f"{labels_px}px", _axis(labels_px, total, axis), _plot(total, categories, _title(fig), out))
    x_title = fig.layout.xaxis.title.text
    caption = el("div", {"class": "itu-svgc-caption"}, esc(x_title)) if x_title else ""
    return _legend_of(fig, traces) + chart + caption


def _arc(start: float, end: float, hole: float) -> str:
    """The path of a donut slice from angle ``start`` to ``end`` (radians, clockwise from 12 o'clock)."""
    if end - start >= 2 * math.pi - 1e-9:
        end = start + 2 * math.pi - 1e-6
    large = 1 if end - start > math.pi else 0

    def point(angle: float, radius: float) -> str:
        return f"{radius * math.sin(angle):.4f} {-radius * math.cos(angle):.4f}"

    return (f"M {point(start, 1)} A 1 1 0 {large} 1 {point(end, 1)} "
            f"L {point(end, hole)} A {hole} {hole} 0 {large} 0 {point(start, hole)} Z")  # fmt: skip


def _pies(fig: go.Figure, traces: Sequence[Any]) -> str:
    """Donuts side by side, each with its subplot title and its legend."""
    titles = [str(a.text) for a in fig.layout.annotations]
    out = []
    for n, trace in enumerate(traces):
        labels = [str(label) for label in trace.labels]
        values = [float(v) for v in trace.values]
        total = sum(values) or 1.0
        colors = [str(c) for c in trace.marker.colors or ()] or ["#1d4f91"]
        hole = float(trace.hole or 0)
        title = titles[n] if len(titles) == len(traces) else ""
        slices, angle = [], 0.0
        for i, (label, value) in enumerate(zip(labels, values, strict=True)):
            if value <= 0:
                continue
            end = angle + value / total * 2 * math.pi
            fields = {"label": label, "value": f"{value:g}", "percent": f"{value / total:.1%}"}
            tip = hover(trace.hovertemplate, fields)
            slices.append(_mark("path", {"d": _arc(angle, end, hole), "fill": colors[i % len(colors)],
                                         "stroke": "#fff", "stroke-width": "0.01"}, tip))  # fmt: skip
            angle = end
        pie = el("svg", {"class": "itu-svgc-plot", "width": 180, "height": 180, "viewBox": "-1.05 -1.05 2.1 2.1",
                         "data-x": json.dumps(labels), "role": "img", "aria-label": title or _title(fig)},
                 "".join(slices))  # fmt: skip
        legend = _legend((f"{label} ({value / total:.0%})", colors[i % len(colors)], "bar")
                         for i, (label, value) in enumerate(zip(labels, values, strict=True)))  # fmt: skip
        subtitle = el("div", {"class": "itu-svgc-subtitle"}, esc(title)) if title else ""
        out.append(el("div", {"class": "itu-svgc-pie"}, subtitle + pie + legend))
    return el("div", {"class": "itu-svgc-pies"}, "".join(out))
