"""A poll's history as a small line chart: the geometry here, the SVG markup in the template.

Each answer's line differs from the others in its dash pattern and its marker shape as well as
its colour, so the chart reads in greyscale, without CSS and for colour-blind readers; the
colours come from the site's own custom properties (static/css/poll.css), light or dark.
Where lines meet, their markers stand side by side along them instead of on top of each
other, and equal shares at the end are written one above the other around their value.
"""

import itertools
from dataclasses import dataclass
from functools import lru_cache

from django.utils.dateformat import format as format_date

# The drawing's own units (the viewBox); the SVG scales to the width it is given.
WIDTH = 300
HEIGHT = 180
PLOT_LEFT = 40
PLOT_RIGHT = WIDTH - 44  # room for the share written at the end of each line
PLOT_TOP = 10
PLOT_BOTTOM = HEIGHT - 26  # room for the dates
PERCENT_TICKS = (0, 25, 50, 75, 100)
# Text is at most 13 units high (poll.css makes it smaller on wide screens); end labels
# closer than a line of it are pushed apart.
FONT_SIZE = 13
LABEL_GAP = 14
# About this many markers along each line, besides the one at its end.
MARKERS_PER_LINE = 6
MARKER_SIZE = 11  # the widest marker with its outline, and a little room

DASHES = ("", "7 3", "2 3", "9 3 2 3", "4 4", "1 5")
MARKERS = ("circle", "square", "triangle", "diamond", "triangle-down", "plus")
SERIES_STYLES = 6  # .poll-chart__series--1 … --6 in poll.css


def marker_path(shape, x, y):
    """An SVG path for a marker of `shape` centred on (x, y)."""
    if shape == "circle":
        return f"M{x - 4:.1f},{y:.1f}a4,4 0 1,0 8,0a4,4 0 1,0 -8,0Z"
    if shape == "square":
        return f"M{x - 3.5:.1f},{y - 3.5:.1f}h7v7h-7Z"
    if shape == "triangle":
        return f"M{x:.1f},{y - 5:.1f}l4.5,8h-9Z"
    if shape == "triangle-down":
        return f"M{x:.1f},{y + 5:.1f}l4.5,-8h-9Z"
    if shape == "diamond":
        return f"M{x:.1f},{y - 5:.1f}l5,5l-5,5l-5,-5Z"
    return f"M{x - 1.5:.1f},{y - 5:.1f}h3v3.5h3.5v3h-3.5v3.5h-3v-3.5h-3.5v-3h3.5Z"


@dataclass(frozen=True)
class Tick:
    position: float
    text: str
    anchor: str = "middle"


@dataclass(frozen=True)
class Series:
    choice_id: int
    label: str
    style: int  # 1-based: the CSS class that gives its colour
    dash: str
    marker: str
    points: str  # the polyline's "x,y x,y …"
    markers: tuple[str, ...]  # marker paths along the line
    key_marker: str  # the marker drawn in the legend's key
    label_y: float
    start_percent: int
    end_percent: int


# A drawing is made once by `_drawing` for as long as it keeps it, so it is compared and
# hashed as itself: a cache of what is rendered from it looks it up without comparing every
# line and tick (a drawing made again renders again, never stale).
@dataclass(frozen=True, eq=False)
class HistoryChart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    gridlines: tuple[Tick, ...]
    dates: tuple[Tick, ...]
    series: tuple[Series, ...]
    first_date: object  # the first day with votes
    last_date: object
    step_days: int
    font_size: int = FONT_SIZE

    @property
    def view_box(self):
        return f"0 0 {self.width} {self.height}"

    @property
    def summary(self):
        """The chart in words: where each answer started and where it is now."""
        if self.first_date == self.last_date:
            changes = [f"“{line.label}” had {line.end_percent}%" for line in self.series]
            return f"On {format_date(self.last_date, 'j F Y')}: {'; '.join(changes)}."
        changes = [
            f"“{line.label}” stayed at {line.end_percent}%"
            if line.start_percent == line.end_percent
            else f"“{line.label}” went from {line.start_percent}% to {line.end_percent}%"
            for line in self.series
        ]
        first, last = format_date(self.first_date, "j F Y"), format_date(self.last_date, "j F Y")
        return f"From {first} to {last}: {'; '.join(changes)}."

    @property
    def period(self):
        if self.step_days == 1:
            return "at the end of each day"
        if self.step_days == 7:
            return "at the end of each week"
        return f"every {self.step_days} days"


def _x_scale(dates):
    first, last = dates[0], dates[-1]
    span = (last - first).days
    width = PLOT_RIGHT - PLOT_LEFT
    if span == 0:
        return lambda day: float(PLOT_RIGHT)
    return lambda day: round(PLOT_LEFT + width * (day - first).days / span, 1)


def _y(percent):
    return round(PLOT_BOTTOM - (PLOT_BOTTOM - PLOT_TOP) * percent / 100, 1)


def _spread(positions, *, order, gap=LABEL_GAP, low=PLOT_TOP + 8, high=PLOT_BOTTOM + 4):
    """Label baselines near `positions`, at least `gap` apart and within [low, high].

    Labels that would overlap are stacked in `order` (top to bottom) as one group centred on
    their positions' mean, so a tie sits around its value rather than below it.
    """
    groups = []  # (members top to bottom, the first one's baseline)
    for index in order:
        members, first = [index], positions[index]
        while True:
            first = min(max(first, low), high - gap * (len(members) - 1))
            if not groups or groups[-1][1] + gap * len(groups[-1][0]) <= first:
                break
            members = groups.pop()[0] + members
            mean = sum(positions[member] for member in members) / len(members)
            first = mean - gap * (len(members) - 1) / 2
        groups.append((members, first))
    placed = list(positions)
    for members, first in groups:
        for step, index in enumerate(members):
            placed[index] = round(first + gap * step, 1)
    return placed


def _point_along(coordinates, x):
    """The point of the line through `coordinates` (left to right) at `x`; a line of one
    point stays at its height."""
    for (x1, y1), (x2, y2) in itertools.pairwise(coordinates):
        if x1 <= x <= x2:
            share = (x - x1) / (x2 - x1) if x2 != x1 else 0
            return round(x, 1), round(y1 + (y2 - y1) * share, 1)
    return round(x, 1), coordinates[0][1] if x < coordinates[0][0] else coordinates[-1][1]


def _marker_centres(lines, positions):
    """Where each line's markers go: at its points `positions[line]`, except that markers of
    several lines that would cover one another at a point stand side by side along their own
    lines, centred on it and within the plot."""
    centres = [[] for _ in lines]
    for position in sorted(set().union(*positions)):
        drawn = sorted(
            (line for line in range(len(lines)) if position in positions[line]),
            key=lambda line: (lines[line][position][1], line),
        )
        groups = []
        for line in drawn:
            y = lines[line][position][1]
            if groups and y - lines[groups[-1][-1]][position][1] < MARKER_SIZE:
                groups[-1].append(line)
            else:
                groups.append([line])
        for group in groups:
            x = lines[group[0]][position][0]
            first = x - MARKER_SIZE * (len(group) - 1) / 2
            first = max(PLOT_LEFT, min(first, PLOT_RIGHT - MARKER_SIZE * (len(group) - 1)))
            for step, line in enumerate(sorted(group)):
                if len(group) == 1:
                    centres[line].append(lines[line][position])
                else:
                    centres[line].append(_point_along(lines[line], first + MARKER_SIZE * step))
    return centres


def _date_ticks(dates, x):
    if len(dates) == 1:
        return (Tick(x(dates[0]), format_date(dates[0], "j M"), "end"),)
    spans_years = dates[0].year != dates[-1].year
    pattern = "M Y" if spans_years else "j M"
    ticks = [Tick(x(dates[0]), format_date(dates[0], pattern), "start")]
    if len(dates) >= 5 and not spans_years:
        middle = dates[len(dates) // 2]
        ticks.append(Tick(x(middle), format_date(middle, pattern)))
    ticks.append(Tick(x(dates[-1]), format_date(dates[-1], pattern), "end"))
    return tuple(ticks)


def history_chart(history, *, labels):
    """A `PollHistory` with votes as a chart: one line per answer, from the first day with
    votes (a share of no votes is not drawn) to the last."""
    return _drawing(history.choice_ids, history.voted_shares, history.step_days, labels)


# The same shares are drawn for every reader who sees them, and a vote in a large poll
# seldom moves a share by a whole point: a worker works out each drawing once.
@lru_cache(maxsize=64)
def _drawing(choice_ids, voted_shares, step_days, labels):
    """The chart's geometry from (date, percents) of each day with votes."""
    dates = [day for day, _ in voted_shares]
    x = _x_scale(dates)
    count = len(choice_ids)
    stride = max(1, round(len(voted_shares) / MARKERS_PER_LINE))
    shares = [percents for _, percents in voted_shares]
    end_ys = [_y(share) for share in shares[-1]]
    # Tied labels stack as their lines arrive: the one that was higher last time they differed
    # on top.
    newest_first = shares[::-1]
    label_ys = _spread(
        [y + FONT_SIZE * 0.35 for y in end_ys],  # baselines, centred
        order=sorted(
            range(count), key=lambda index: ([-share[index] for share in newest_first], index)
        ),
    )
    lines = [
        [(x(day), _y(percents[index])) for day, percents in voted_shares] for index in range(count)
    ]
    # Markers of different answers fall on different days, so lines that run together still
    # show each shape; each line has one at its end.
    positions = [
        {
            position
            for position in range(len(voted_shares) - 1)
            if position % stride == (index * stride) // max(count, 1) % stride
        }
        | {len(voted_shares) - 1}
        for index in range(count)
    ]
    centres = _marker_centres(lines, positions)
    series = []
    for index, (choice_id, label) in enumerate(zip(choice_ids, labels, strict=True)):
        marker = MARKERS[(index + index // len(MARKERS)) % len(MARKERS)]
        series.append(
            Series(
                choice_id=choice_id,
                label=label,
                style=index % SERIES_STYLES + 1,
                dash=DASHES[index % len(DASHES)],
                marker=marker,
                points=" ".join(f"{px:.1f},{py:.1f}" for px, py in lines[index]),
                markers=tuple(marker_path(marker, *centre) for centre in centres[index]),
                key_marker=marker_path(marker, 14, 6),
                label_y=label_ys[index],
                start_percent=shares[0][index],
                end_percent=shares[-1][index],
            )
        )
    return HistoryChart(
        width=WIDTH,
        height=HEIGHT,
        plot_left=PLOT_LEFT,
        plot_right=PLOT_RIGHT,
        plot_top=PLOT_TOP,
        plot_bottom=PLOT_BOTTOM,
        gridlines=tuple(Tick(_y(percent), f"{percent}%") for percent in PERCENT_TICKS),
        dates=_date_ticks(dates, x),
        series=tuple(series),
        first_date=dates[0],
        last_date=dates[-1],
        step_days=step_days,
    )
