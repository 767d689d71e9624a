"""The report's two charts, each a small function returning a PNG as a data: URL: drawn on a
Figure of its own with the Agg canvas, so that no pyplot backend is chosen for the process."""

import base64
import io
import statistics
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator


def png(figure: "Figure") -> str:
    """A matplotlib figure as a data: URL (base64 PNG)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=144, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure() -> tuple["Figure", "Axes"]:
    """A figure of the report's size, drawn to PNG without a display: a Figure of its own
    with the Agg canvas, not pyplot's, so that no backend is chosen for the process and
    nothing is kept once the PNG is made."""
    # imported here: matplotlib loads in a second, for the report's charts alone, never when
    # the report's other modules are imported (tests/grading/test_course_data.py checks it)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.2, 3.0))
    FigureCanvasAgg(figure)
    return figure, figure.subplots()


def _style(ax: "Axes") -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color("#9aa5b1")
    ax.spines["bottom"].set_color("#9aa5b1")
    ax.tick_params(colors="#52606d", labelsize=9)
    ax.yaxis.grid(True, color="#e4e7eb", linewidth=0.8)
    ax.set_axisbelow(True)


def histogram(values: Sequence[float], maximum: float) -> str:
    """Histogram of the students' totals, one bar per tenth of the maximum."""
    figure, ax = _figure()
    edges = [maximum * i / 10 for i in range(11)]
    ax.hist(values, bins=edges, color="#2f6690", edgecolor="white", linewidth=1.2)
    mean = statistics.fmean(values)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.12)  # room for the label of the average
    ax.axvline(mean, color="#d9822b", linewidth=1.6, linestyle="--")
    ax.text(mean, ax.get_ylim()[1], f" average {mean:.1f}", color="#b4641c", fontsize=8.5,
            va="top", ha="left" if mean < 0.75 * maximum else "right")  # fmt: skip
    ax.set_xlim(0, maximum)
    ax.set_xticks(edges[::2])
    cast("MaxNLocator", ax.yaxis.get_major_locator()).set_params(integer=True)
    ax.set_xlabel(f"total points (out of {maximum:g})", color="#52606d", fontsize=9)
    ax.set_ylabel("students", color="#52606d", fontsize=9)
    _style(ax)
    return png(figure)


def average_bars(means: Mapping[str, float | None], maxima: Mapping[str, float]) -> str:
    """Class average per exercise as horizontal bars over the maximum."""
    names = list(maxima)[::-1]
    figure, ax = _figure()
    ax.barh(names, [maxima[n] for n in names], color="#e4e7eb", height=0.55)
    ax.barh(names, [means.get(n) or 0 for n in names], color="#3a7ca5", height=0.55)
    for i, name in enumerate(names):
        mean = means.get(name)
        ax.text((mean or 0) + 0.15, i, "-" if mean is None else f"{mean:.1f}",
                va="center", fontsize=9, color="#1f2933")  # fmt: skip
    ax.set_xlim(0, max(maxima.values()) * 1.08)
    ax.set_xlabel("average points", color="#52606d", fontsize=9)
    _style(ax)
    ax.yaxis.grid(False)
    ax.xaxis.grid(True, color="#e4e7eb", linewidth=0.8)
    return png(figure)
