"""Server-rendered SVG bar charts (no JavaScript); every chart is shown with its numbers in a table."""

from __future__ import annotations

from dataclasses import dataclass

from portal.progress.services import EQUITY_GROUPS, MEASURES, SchoolProgress

LABEL_WIDTH = 170
BAR_SPACE = 360
ROW_HEIGHT = 34
BAR_HEIGHT = 22


@dataclass(frozen=True)
class Bar:
    """One row of a horizontal bar chart, in SVG units; gap_* is the dashed shortfall against all others."""

    label: str
    value_text: str
    y: int
    width: float
    gap_x: float
    gap_width: float


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart's geometry and text."""

    title: str
    width: int
    height: int
    label_width: int
    bar_height: int
    bars: list[Bar]


def group_bars(progress: SchoolProgress, measure: str) -> Chart:
    """Share meeting one measure for each equity group and overall, with each group's gap to all others dashed."""
    rows = [("overall", "All students", progress.overall[measure])]
    rows += [(g, label, progress.by_group[g][measure]) for g, label in EQUITY_GROUPS.items()]
    others = progress.by_group["others"][measure].percent
    bars = []
    for index, (group, label, share) in enumerate(rows):
        percent = share.percent or 0.0
        width = BAR_SPACE * percent / 100
        gap = 0.0
        if group not in ("overall", "others") and others is not None and share.percent is not None and percent < others:
            gap = BAR_SPACE * (others - percent) / 100
        text = f"{share.percent:g}% ({share.met} of {share.total})" if share.percent is not None else "no students"
        bars.append(Bar(label=label, value_text=text, y=index * ROW_HEIGHT, width=round(width, 1),
                        gap_x=round(LABEL_WIDTH + width, 1), gap_width=round(gap, 1)))
    return Chart(title=f"{MEASURES[measure]}: share of students by group", width=LABEL_WIDTH + BAR_SPACE + 150,
                 height=len(rows) * ROW_HEIGHT, label_width=LABEL_WIDTH, bar_height=BAR_HEIGHT, bars=bars)
