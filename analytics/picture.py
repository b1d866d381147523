"""Pictures of the answers people would rather see than read: the retention table as a heat map, the
lifecycle as stacked bars (dormant below the axis). Plain SVG text, no plotting dependency: a
browser, an image viewer or a Markdown page shows it."""

from __future__ import annotations

from html import escape

_CELL_W, _CELL_H, _LABEL_W, _SIZE_W, _TOP = 58, 26, 190, 60, 54
_LIFECYCLE_COLOURS = {"new": "#2e7d32", "returning": "#1565c0", "resurrecting": "#f9a825", "dormant": "#c62828"}


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-family="Helvetica, Arial, sans-serif" font-size="12">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n'
            f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>\n'
            + "\n".join(body) + "\n</svg>\n")


def retention_svg(data: dict, title: str | None = None) -> str:
    """Rows are cohorts (oldest first), columns are periods since the cohort; a cell's shade is the
    share of the cohort retained, and it is labelled with that percentage."""
    cohorts = data["cohorts"]
    intervals = max((len(c["values"]) for c in cohorts), default=0)
    prefix = (data.get("period") or "p")[0]
    body = [f'<text x="{_LABEL_W - 6}" y="{_TOP - 8}" text-anchor="end" fill="#555">cohort</text>',
            f'<text x="{_LABEL_W + _SIZE_W - 8}" y="{_TOP - 8}" text-anchor="end" fill="#555">size</text>']
    for k in range(intervals):
        x = _LABEL_W + _SIZE_W + k * _CELL_W + _CELL_W / 2
        body.append(f'<text x="{x:.0f}" y="{_TOP - 8}" text-anchor="middle" fill="#555">{prefix}{k}</text>')
    for row, cohort in enumerate(cohorts):
        y = _TOP + row * _CELL_H
        label = cohort["cohort"][:16].replace("T00:00", "")
        if cohort.get("breakdown") is not None:
            label += f" · {cohort['breakdown']}"
        body.append(f'<text x="{_LABEL_W - 6}" y="{y + 17}" text-anchor="end">{escape(label)}</text>')
        size = cohort["size"]
        body.append(f'<text x="{_LABEL_W + _SIZE_W - 8}" y="{y + 17}" text-anchor="end">{size}</text>')
        for k, value in enumerate(cohort["values"]):
            share = value / size if size else 0.0
            x = _LABEL_W + _SIZE_W + k * _CELL_W
            body.append(f'<rect x="{x}" y="{y}" width="{_CELL_W - 2}" height="{_CELL_H - 2}" '
                        f'fill="#1565c0" fill-opacity="{0.06 + 0.94 * share:.3f}"><title>{value} of {size}</title></rect>')
            colour = "white" if share > 0.55 else "#222"
            text = f"{100 * share:.1f}%" if size else "–"
            body.append(f'<text x="{x + (_CELL_W - 2) / 2:.0f}" y="{y + 17}" text-anchor="middle" fill="{colour}">{text}</text>')
    width = _LABEL_W + _SIZE_W + intervals * _CELL_W + 10
    height = _TOP + len(cohorts) * _CELL_H + 12
    return _svg(width, height, body, title or f"Retention by {data.get('period', 'period')} ({data.get('tz', 'UTC')})")


def lifecycle_svg(data: dict, title: str | None = None) -> str:
    """One stacked bar per period: new, returning and resurrecting above the axis, dormant below."""
    periods = data["periods"]
    up = [data["new"][i] + data["returning"][i] + data["resurrecting"][i] for i in range(len(periods))]
    down = [-d for d in data["dormant"]]
    top, bottom = max(up, default=0) or 1, max(down, default=0)
    plot_h, bar_w, left = 260, max(8, min(40, 760 // max(len(periods), 1))), 60
    scale = plot_h / (top + bottom or 1)
    axis_y = _TOP + top * scale
    body = [f'<line x1="{left}" x2="{left + len(periods) * bar_w}" y1="{axis_y:.1f}" y2="{axis_y:.1f}" stroke="#444"/>',
            f'<text x="{left - 6}" y="{_TOP + 4}" text-anchor="end" fill="#555">{top}</text>',
            f'<text x="{left - 6}" y="{axis_y + 4:.1f}" text-anchor="end" fill="#555">0</text>']
    for i, period in enumerate(periods):
        x = left + i * bar_w
        y = axis_y
        for name in ("new", "returning", "resurrecting"):
            h = data[name][i] * scale
            y -= h
            body.append(f'<rect x="{x}" y="{y:.1f}" width="{bar_w - 2}" height="{h:.1f}" fill="{_LIFECYCLE_COLOURS[name]}">'
                        f'<title>{escape(period)} {name}: {data[name][i]}</title></rect>')
        h = -data["dormant"][i] * scale
        body.append(f'<rect x="{x}" y="{axis_y:.1f}" width="{bar_w - 2}" height="{h:.1f}" fill="{_LIFECYCLE_COLOURS["dormant"]}">'
                    f'<title>{escape(period)} dormant: {data["dormant"][i]}</title></rect>')
        if i % max(1, len(periods) // 8) == 0:
            body.append(f'<text x="{x}" y="{_TOP + plot_h + 18}" fill="#555">{escape(period[:10])}</text>')
    legend_x = left
    for name, colour in _LIFECYCLE_COLOURS.items():
        body.append(f'<rect x="{legend_x}" y="{_TOP + plot_h + 30}" width="12" height="12" fill="{colour}"/>'
                    f'<text x="{legend_x + 16}" y="{_TOP + plot_h + 40}">{name}</text>')
        legend_x += 110
    width = max(left + len(periods) * bar_w + 20, legend_x + 20)
    return _svg(width, _TOP + plot_h + 54, body, title or "Lifecycle")
