"""The overview's charts as SVG drawn on the server (pygal), served as images: they work
without JavaScript and under the pages' strict CSP. pygal's config script is removed from
the drawing (an SVG shown through <img> runs no script anyway), and each chart answers with
its own CSP that allows its inline styles and nothing else."""

from __future__ import annotations

import math
from datetime import date
from xml.etree import ElementTree

import pygal
from pygal.style import Style


# The product's palette (static/loginguard/app.css), with contrast against white.
def style(*colors: str) -> Style:
    return Style(**{**BASE, "colors": colors})


BASE: dict[str, object] = dict(
    background="#ffffff", plot_background="#ffffff", foreground="#1f2937",
    foreground_strong="#111827", foreground_subtle="#d1d5db",
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    label_font_size=13, major_label_font_size=13, legend_font_size=14, title_font_size=16,
    value_font_size=13, tooltip_font_size=12)
# Sign-ins: trusted device (blue), a code (amber), passkey or app (green). Trouble: failed
# passwords (red), lock-outs (amber), untrusted-device sign-ins (violet).
SIGN_IN_COLORS = ("#1d4ed8", "#b45309", "#047857")
TROUBLE_COLORS = ("#b91c1c", "#b45309", "#6d28d9")
ADOPTION_COLORS = {"passkey": "#047857", "app": "#1d4ed8", "none": "#b45309"}
CSP = "default-src 'none'; style-src 'unsafe-inline'"
SVG = "{http://www.w3.org/2000/svg}"


def _svg(chart: pygal.graph.graph.Graph) -> bytes:
    tree = chart.render_tree()
    for parent in tree.iter():
        for child in list(parent):
            if child.tag in (f"{SVG}script", "script"):
                parent.remove(child)
    return ElementTree.tostring(tree, encoding="utf-8")


# Two drawings of each chart: WIDE for a desktop, NARROW for a phone (the page's <picture>
# picks one by the screen's width), each shown at about its own size so the text keeps its
# size instead of shrinking with the image.
WIDE, NARROW = (720, 360), (360, 340)


def _common(title: str, size: tuple[int, int]) -> dict[str, object]:
    narrow = size == NARROW
    return {"js": [], "title": title, "width": size[0], "height": size[1],
            "explicit_size": True, "truncate_label": -1,
            "legend_at_bottom_columns": 1 if narrow else 3,
            "legend_at_bottom": True, "show_y_guides": True,
            "disable_xml_declaration": True, "margin": 12,
            "no_data_text": "Nothing yet", "truncate_legend": -1}


def whole_numbers(top: int) -> list[int]:
    """About five y-axis ticks, whole numbers only (counts have no fractions)."""
    step = max(1, math.ceil(top / 5))
    return list(range(0, top + step + 1, step)) if top else [0, 1]


def by_day(title: str, series: dict[str, list[int]], labels: dict[str, str],
           days: list[date], colors: tuple[str, ...], size: tuple[int, int] = WIDE) -> bytes:
    """Stacked bars, one per day; the x axis names about six days whatever the period, so
    the labels stay readable on a phone."""
    top = max((sum(values) for values in zip(*series.values(), strict=True)), default=0)
    chart = pygal.StackedBar(**_common(title, size), style=style(*colors), x_label_rotation=0,
                             show_minor_x_labels=False, y_labels=whole_numbers(top))
    chart.x_labels = [f"{day:%-d %b}" for day in days]
    step = max(1, len(days) // (3 if size == NARROW else 6))
    chart.x_labels_major = chart.x_labels[::step]
    for key, label in labels.items():
        chart.add(label, series[str(key)])
    return _svg(chart)


def shares(title: str, parts: dict[str, int], labels: dict[str, str],
           size: tuple[int, int] = WIDE) -> bytes:
    """A horizontal bar per part (how many users have what), each labelled and with its
    number printed: easier to read than a pie."""
    chart = pygal.HorizontalBar(**_common(title, size), style=style("#1d4ed8"),
                                show_legend=False,
                                print_values=True, y_labels=whole_numbers(max(parts.values())))
    chart.x_labels = list(labels.values())
    chart.add("Active users", [{"value": parts[key], "color": ADOPTION_COLORS[key]}
                               for key in labels])
    return _svg(chart)
