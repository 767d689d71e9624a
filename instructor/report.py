"""`python -m instructor report`: a class report from the gradebook and the graded notebooks.

It writes reports/initialization/ (or --out DIR):

    scores.csv    one row per student: student, zeros, random, he, total, late_penalty,
                  final (total minus the late penalty) and status (graded, rejected, failed)
    report.html   one self-contained page: every student's scores, the class average per
                  exercise, a histogram of the totals, and the mistakes the tests named, ranked
                  by how many students made them, with a note for the instructor on each; then
                  the late submissions (lateness and penalty), the submissions flagged for
                  review, the rejected or failed ones and the files not collected from the LMS
                  download, each with its reason; the folders of the exchange made in another
                  student's name, with the login that made each (forgeries.jsonl, written by
                  the collect routes and the grade-on-submit service); and the latest changes
                  of the grading history

The averages are taken over the graded students only: rejected and failed submissions are
left out of them, and the page says how many and why. The status, flags and reasons come from
reports/initialization/grading.json (written by `python -m instructor grade`), the history from
history.jsonl next to it, the files not collected from collection.json (written by zip_collect's
Canvas collector); the lateness and the penalties from the gradebook.

The scores come from nbgrader's gradebook; the mistakes from the outputs of the test cells of
the autograded notebooks (autograded/<student>/initialization/), where the tests print each
recognised mistake as ` - Mistake: <title>. <explanation> Hint: <hint>`. It ends with the score
table and the path of the report.
"""

import argparse
import base64
import csv
import datetime
import html
import io
import json
import re
import statistics
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: figures are drawn to PNG only

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402

from .course import ASSIGNMENT, EXERCISES, NOTEBOOK, ROOT, exercises, load_config  # noqa: E402
from .scores import db_url, max_scores, read_scores, table  # noqa: E402

# ` - Mistake: transposed weights. W1 has shape (3, 2), expected (2, 3). Hint: ...`
MISTAKE = re.compile(r"^\s*- Mistake: (?P<title>.+?)\.(?: (?P<rest>.*))?$", re.MULTILINE)

# What each mistake the tests name usually tells about a student's understanding, and what to
# go over in class, by its name in public_tests.MISTAKES (the one list of the mistakes and their
# titles). A mistake not listed here is explained by the tests' own message.
NOTES = {
    "not implemented": "The stub `raise NotImplementedError()` is still there: the exercise was "
    "not attempted, or the student's code went into another cell.",
    "nothing returned": "The function ends without `return parameters`, often after the return "
    "line was indented into the loop and then deleted.",
    "not a dictionary": "The function returns something other than the dictionary of "
    "parameters: the contract of the function (keys W1, b1, ...) needs going over.",
    "last layer skipped": "The loop stops one layer early, e.g. `range(1, L)` with "
    "L = len(layers_dims) - 1: an off-by-one between counting layers with or without the input.",
    "extra layer": "The loop runs one layer too far: the same off-by-one the other way round.",
    "not numpy arrays": "Parameters built as Python lists or scalars: the shapes and the "
    "vectorised maths of the network need numpy arrays.",
    "transposed weights": "W[l] built as (n[l-1], n[l]) instead of (n[l], n[l-1]): the student "
    "pictures z = W a the other way round. Worth one slide on why W has one row per unit.",
    "biases of shape (n,)": "Biases built as flat vectors, np.zeros(n), instead of columns: "
    "broadcasting rules are not yet second nature.",
    "fixed layer index": "A digit 1 typed where the letter l is meant (layers_dims[1]): every "
    "layer gets the first layer's shape. A reading slip more than a misunderstanding.",
    "random biases": "Biases drawn at random. Harmless for learning, but it shows the student "
    "has not seen that only the weights need randomness to break symmetry.",
    "seed re-set inside the loop": "np.random.seed(3) called in every pass of the loop: every "
    "layer starts from the same numbers. What a seed does deserves a word.",
    "wrong scale for large random": "The random weights are not multiplied by 10: often the "
    "'small random' habit applied where the exercise asks for deliberately large weights.",
    "Xavier scaling instead of He": "sqrt(1 / n[l-1]) instead of sqrt(2 / n[l-1]): Xavier "
    "initialization. The factor 2 compensates for the ReLU zeroing half of its inputs.",
    "fan-out instead of fan-in": "The scale uses the size of the layer itself instead of the "
    "previous one: what 'fan-in' means needs going over.",
    "missing square root": "2 / n[l-1] instead of sqrt(2 / n[l-1]): the variance was used "
    "where the standard deviation is needed.",
    "Xavier scaling with fan-out": "sqrt(1 / n[l]): both the factor 2 and the fan-in are wrong.",
    "large random scale in He": "The factor 10 of the previous exercise was copied into He.",
    "unscaled weights": "np.random.randn(...) with no scale at all: the point of He "
    "initialization (a scale chosen from the layer size) was missed.",
    "uniform rand instead of randn": "np.random.rand (uniform on [0, 1), never negative) used "
    "instead of np.random.randn (standard normal): an easy slip with a large effect.",
    "values not from the seed-3 draw": "Right shapes, wrong numbers: the seed was changed or "
    "the numbers were drawn in another order (for example b before W).",
    "wrong scale for He": "The weights are the right draw with a scale that matches no known "
    "mistake: look at the student's code.",
}


def _mistakes():
    """public_tests.MISTAKES, the course's list of the mistakes its tests can name."""
    sys.path.insert(0, str(ROOT))
    try:
        from public_tests import MISTAKES
    finally:
        sys.path.remove(str(ROOT))
    return MISTAKES


def _notes_by_title(notes, mistakes):
    """The notes keyed by the titles the tests print; every note must name a known mistake."""
    unknown = sorted(set(notes) - set(mistakes))
    if unknown:
        raise ValueError(
            f"report.NOTES names mistakes that public_tests.MISTAKES does not list: {unknown}"
        )
    return {mistakes[name].title: text for name, text in notes.items()}


NOTES_BY_TITLE = _notes_by_title(NOTES, _mistakes())

CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --accent: #2f6690;
        --good: #e3f4ea; --good-ink: #1e6b3a; --part: #fff4dc; --part-ink: #8a5a00;
        --bad: #fde8e8; --bad-ink: #a61b1b; }
* { box-sizing: border-box; }
body { margin: 0; background: #f5f7fa; color: var(--ink);
       font: 15px/1.55 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 32px 28px 48px; }
header h1 { font-size: 28px; margin: 0 0 4px; letter-spacing: -0.01em; }
header p { margin: 0; color: var(--muted); }
h2 { font-size: 19px; margin: 36px 0 6px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h2 + p.lead { margin-top: 0; color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 14px; margin-top: 22px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 14px 16px; }
.card .value { font-size: 26px; font-weight: 650; color: var(--accent); }
.card .label { color: var(--muted); font-size: 13px; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line);
        border-radius: 10px; overflow: hidden; margin-top: 12px; }
th, td { padding: 8px 12px; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: top; }
th { background: #eef2f6; font-size: 13px; text-transform: uppercase; letter-spacing: 0.04em;
     color: var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
#scores td.num, #scores th.num { width: 13%; }
#scores td.total { font-weight: 650; }
#mistakes td.rank { width: 36px; color: var(--muted); }
#mistakes td.who { width: 190px; }
#mistakes td.exercises { width: 200px; }
#mistakes td.how-many { width: 150px; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em;
       background: #eef2f6; padding: 0 4px; border-radius: 4px; }
tbody tr:nth-child(even) { background: #fafbfc; }
tfoot td { font-weight: 600; background: #eef2f6; }
td.full { background: var(--good); color: var(--good-ink); }
td.part { background: var(--part); color: var(--part-ink); }
td.zero { background: var(--bad); color: var(--bad-ink); }
td.student, td.students { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
                          font-size: 13.5px; }
.figures { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; margin-top: 12px; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 10px;
         padding: 10px; }
figure img { width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 13px; padding: 4px 6px 0; }
.count { display: flex; align-items: center; gap: 8px; white-space: nowrap; }
.who span { display: block; white-space: nowrap; }
.bar { height: 10px; background: var(--accent); border-radius: 5px; }
.tag { display: inline-block; padding: 1px 8px; margin: 1px 2px 1px 0; border-radius: 999px;
       background: #e8eef5; color: var(--accent); font-size: 12.5px; }
.tag.limits-only, .limits-only { color: #9a3412; }
.tag.limits-only { background: #fde8d8; }
.title { font-weight: 600; }
.note { color: var(--ink); }
.empty { color: var(--muted); font-style: italic; }
footer { margin-top: 40px; color: var(--muted); font-size: 12.5px; }
"""


def autograded_notebook(root, student, assignment=ASSIGNMENT):
    """The graded notebook of a student: the one notebook of autograded/<student>/<assignment>/."""
    folder = Path(root) / "autograded" / student / assignment
    found = sorted(folder.glob("*.ipynb")) if folder.is_dir() else []
    return found[0] if len(found) == 1 else folder / NOTEBOOK


def graded_outputs(path, columns=None):
    """{exercise: (printed text, error or None)} of the test cells of one autograded notebook.

    columns -- {exercise name: grade id of its test cell} (default: this course's exercises)
    """
    nb = nbformat.read(path, as_version=4)
    by_grade_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells}
    found = {}
    for exercise, grade_id in (columns or EXERCISES).items():
        cell = by_grade_id.get(grade_id)
        if cell is None or cell.cell_type != "code":
            continue
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        errors = [o for o in cell.outputs if o.output_type == "error"]
        error = f"{errors[0].ename}: {errors[0].evalue}" if errors else None
        found[exercise] = (text, error)
    return found


def read_problems(root, students, assignment=ASSIGNMENT):
    """What the tests reported for each student: ({student: {exercise: [(title, message)]}},
    {student: {exercise: error}}), from the autograded notebooks that exist."""
    mistakes, errors = {}, {}
    columns = exercises(assignment, root) or EXERCISES
    for student in students:
        path = autograded_notebook(root, student, assignment)
        if not path.is_file():
            continue
        for exercise, (text, error) in graded_outputs(path, columns).items():
            text = re.sub(r"\n {3}(?=\S)", " ", text)  # a message wrapped by the tests, joined
            titles = [(m["title"], m["rest"] or "") for m in MISTAKE.finditer(text)]
            if titles:
                mistakes.setdefault(student, {})[exercise] = titles
            if error:
                errors.setdefault(student, {})[exercise] = error
    return mistakes, errors


def rank_mistakes(mistakes, order=None):
    """The mistakes, most frequent first: [{title, count, students, exercises, message}].

    order -- the exercises in notebook order (default: this course's)
    """
    ranked = {}
    for student, by_exercise in mistakes.items():
        for exercise, found in by_exercise.items():
            for title, message in found:
                entry = ranked.setdefault(
                    title, {"title": title, "students": set(), "exercises": set(), "message": ""}
                )
                entry["students"].add(student)
                entry["exercises"].add(exercise)
                entry["message"] = entry["message"] or message
    order = list(order or EXERCISES)
    result = [
        {
            **entry,
            "count": len(entry["students"]),
            "students": sorted(entry["students"]),
            "exercises": sorted(entry["exercises"], key=order.index),
        }
        for entry in ranked.values()
    ]
    return sorted(result, key=lambda e: (-e["count"], e["title"].lower()))


def _names(scores):
    """The exercises of a score table, in its order."""
    return list(next(iter(scores.values()), {})) if scores else list(EXERCISES)


def totals(scores):
    return {student: sum(v or 0 for v in row.values()) for student, row in scores.items()}


def averages(scores):
    """{exercise: class average} over the students graded on that exercise."""
    return {
        name: statistics.fmean(values) if values else None
        for name in _names(scores)
        for values in [[row[name] for row in scores.values() if row[name] is not None]]
    }


def write_csv(path, scores, lateness=None, status=None):
    """scores.csv: per exercise, total, late penalty, final score and status per student."""
    lateness, status = lateness or {}, status or {}
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        names = _names(scores)
        writer.writerow(["student", *names, "total", "late_penalty", "final", "status"])
        for student, row in scores.items():
            cells = ["" if row[n] is None else f"{row[n]:g}" for n in names]
            total = totals({student: row})[student]
            penalty = lateness.get(student, {}).get("penalty", 0.0)
            writer.writerow(
                [
                    student,
                    *cells,
                    f"{total:g}",
                    f"{penalty:g}",
                    f"{max(0.0, total - penalty):g}",
                    status.get(student, {}).get("status", "graded"),
                ]
            )


def read_json(path, default):
    """The JSON content of path, or default when it is missing or unreadable."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return default


def reports_folder(root, assignment=ASSIGNMENT):
    """reports/<assignment>/ of the course in root, as its nbgrader config sets it."""
    from .grading.session import reports_dir

    return reports_dir(load_config(Path(root)), assignment)


def read_status(root, assignment=ASSIGNMENT):
    """{student: last grading entry} of reports/<assignment>/grading.json ({} without it)."""
    path = reports_folder(root, assignment) / "grading.json"
    return read_json(path, {}).get("students", {})


def read_collection(root, assignment=ASSIGNMENT):
    """What zip_collect's Canvas collector recorded ({} without it)."""
    return read_json(reports_folder(root, assignment) / "collection.json", {})


def read_forgeries(root, students=None, assignment=ASSIGNMENT):
    """The folders refused as made in another student's name (exchange/forgeries.py), those
    naming or made by the students given (all without students)."""
    from .exchange import forgeries

    found = forgeries.read(reports_folder(root, assignment))
    if students:
        found = [f for f in found if f.student in students or f.owner in students]
    return found


def read_history(root, assignment=ASSIGNMENT):
    """The grading runs of reports/<assignment>/history.jsonl, oldest first."""
    from .grading.ledger import Ledger

    return Ledger.read_history(reports_folder(root, assignment))


def read_lateness(root, students, assignment=ASSIGNMENT):
    """{student: {timestamp, duedate, seconds, days, penalty}} from the gradebook, for the
    students given (penalty 0 and seconds 0 when on time or without a due date)."""
    from nbgrader.api import Gradebook, MissingEntry

    from .lms.late import days_late

    found = {}
    with Gradebook(db_url(Path(root))) as gb:
        for student in students:
            try:
                submission = gb.find_submission(assignment, student)
            except MissingEntry:
                continue
            seconds = submission.total_seconds_late
            found[student] = {
                "timestamp": submission.timestamp,
                "duedate": submission.duedate,
                "seconds": seconds,
                "days": days_late(seconds),
                "penalty": submission.late_submission_penalty or 0.0,
            }
    return found


def left_out(scores, status):
    """{student: reason} of the scored students that the averages leave out: those whose last
    grading was rejected or failed (their gradebook score is not a grade of their work)."""
    return {
        student: f"{entry['status']}: {entry.get('reason') or 'no reason recorded'}"
        for student, entry in status.items()
        if student in scores and entry.get("status") in ("rejected", "failed")
    }


def png(figure):
    """A matplotlib figure as a data: URL (base64 PNG), then closed."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=144, bbox_inches="tight")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _style(ax):
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color("#9aa5b1")
    ax.spines["bottom"].set_color("#9aa5b1")
    ax.tick_params(colors="#52606d", labelsize=9)
    ax.yaxis.grid(True, color="#e4e7eb", linewidth=0.8)
    ax.set_axisbelow(True)


def histogram(values, maximum):
    """Histogram of the students' totals, one bar per tenth of the maximum."""
    figure, ax = plt.subplots(figsize=(5.2, 3.0))
    edges = [maximum * i / 10 for i in range(11)]
    ax.hist(values, bins=edges, color="#2f6690", edgecolor="white", linewidth=1.2)
    mean = statistics.fmean(values)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.12)  # room for the label of the average
    ax.axvline(mean, color="#d9822b", linewidth=1.6, linestyle="--")
    ax.text(mean, ax.get_ylim()[1], f" average {mean:.1f}", color="#b4641c", fontsize=8.5,
            va="top", ha="left" if mean < 0.75 * maximum else "right")  # fmt: skip
    ax.set_xlim(0, maximum)
    ax.set_xticks(edges[::2])
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel(f"total points (out of {maximum:g})", color="#52606d", fontsize=9)
    ax.set_ylabel("students", color="#52606d", fontsize=9)
    _style(ax)
    return png(figure)


def average_bars(means, maxima):
    """Class average per exercise as horizontal bars over the maximum."""
    names = list(maxima)[::-1]
    figure, ax = plt.subplots(figsize=(5.2, 3.0))
    ax.barh(names, [maxima[n] for n in names], color="#e4e7eb", height=0.55)
    ax.barh(names, [means[n] or 0 for n in names], color="#3a7ca5", height=0.55)
    for i, name in enumerate(names):
        ax.text(
            (means[name] or 0) + 0.15,
            i,
            "-" if means[name] is None else f"{means[name]:.1f}",
            va="center",
            fontsize=9,
            color="#1f2933",
        )
    ax.set_xlim(0, max(maxima.values()) * 1.08)
    ax.set_xlabel("average points", color="#52606d", fontsize=9)
    _style(ax)
    ax.yaxis.grid(False)
    ax.xaxis.grid(True, color="#e4e7eb", linewidth=0.8)
    return png(figure)


def _score_cell(score, maximum, extra=""):
    if score is None:
        return f'<td class="num{extra}">-</td>'
    kind = "full" if score >= maximum else "zero" if score <= 0 else "part"
    return f'<td class="num {kind}{extra}">{score:g}</td>'


def isolation_note(status):
    """How the students' code was isolated, from the ledger; a warning naming the submissions
    graded with resource limits only (README, Security model)."""
    modes = {}
    for student, entry in sorted(status.items()):
        if entry.get("status") == "graded":
            modes.setdefault(entry.get("isolation") or "unknown", []).append(student)
    if not modes:
        return ""
    counts = ", ".join(f"{mode}: {len(names)}" for mode, names in sorted(modes.items()))
    text = f'<p class="lead isolation">Isolation of the students\' code: {html.escape(counts)}.</p>'
    if "limits" in modes:
        names = ", ".join(html.escape(s) for s in modes["limits"])
        text += (
            f'<p class="lead isolation limits-only">Not isolated: {names} '
            "(graded with resource limits only, --isolation limits; their code could read and "
            "change what the grader's user can, the gradebook included).</p>"
        )
    return text


def scores_table(scores, maxima, means, lateness=None, excluded=None, not_isolated=()):
    """Every student's scores, total, late penalty and final score; the averages (over the
    graded students only) and the maxima below."""
    lateness, excluded = lateness or {}, excluded or {}
    names = list(maxima)
    total_max = sum(maxima.values())
    head = "".join(f'<th class="num">{n}</th>' for n in names)
    rows = []
    graded_finals = []
    for student, total in totals(scores).items():
        cells = "".join(_score_cell(scores[student][n], maxima[n]) for n in names)
        penalty = lateness.get(student, {}).get("penalty", 0.0)
        final = max(0.0, total - penalty)
        if student not in excluded:
            graded_finals.append(final)
        tag = (
            f' <span class="tag left-out">{html.escape(excluded[student].split(":")[0])}</span>'
            if student in excluded
            else ""
        )
        if student in not_isolated:
            tag += ' <span class="tag limits-only">limits only</span>'
        rows.append(
            f'<tr><td class="student">{html.escape(student)}</td>{cells}'
            f"{_score_cell(total, total_max, ' total')}"
            f'<td class="num late">{"-" if not penalty else f"&minus;{penalty:g}"}</td>'
            f"{_score_cell(final, total_max, ' final')}"
            f'<td class="status">{tag.strip()}</td></tr>'
        )
    mean_cells = "".join(
        '<td class="num">-</td>' if means[n] is None else f'<td class="num">{means[n]:.2f}</td>'
        for n in names
    )
    graded_totals = [t for s, t in totals(scores).items() if s not in excluded]
    mean_total = f"{statistics.fmean(graded_totals):.2f}" if graded_totals else "-"
    mean_final = f"{statistics.fmean(graded_finals):.2f}" if graded_finals else "-"
    max_cells = "".join(f'<td class="num">{maxima[n]:g}</td>' for n in names)
    return (
        f'<table id="scores"><thead><tr><th>Student</th>{head}<th class="num">Total</th>'
        '<th class="num">Late</th><th class="num">Final</th><th></th></tr>'
        f"</thead><tbody>{''.join(rows)}</tbody><tfoot>"
        f'<tr class="average"><td>Class average</td>{mean_cells}'
        f'<td class="num total">{mean_total}</td><td></td>'
        f'<td class="num final">{mean_final}</td><td></td></tr>'
        f'<tr><td>Out of</td>{max_cells}<td class="num total">{total_max:g}</td><td></td>'
        f'<td class="num final">{total_max:g}</td><td></td></tr>'
        "</tfoot></table>"
    )


def mistakes_table(ranked, class_size):
    if not ranked:
        return '<p class="empty">The tests named no mistake.</p>'
    widest = max(e["count"] for e in ranked)
    rows = []
    for rank, entry in enumerate(ranked, 1):
        note = NOTES_BY_TITLE.get(entry["title"]) or f"The tests say: {entry['message']}"
        exercises = "".join(f'<span class="tag">{e}</span>' for e in entry["exercises"])
        students = "".join(f"<span>{html.escape(s)}</span>" for s in entry["students"])
        width = 70 * entry["count"] / widest
        rows.append(
            f'<tr class="mistake" data-title="{html.escape(entry["title"])}" '
            f'data-count="{entry["count"]}">'
            f'<td class="rank">{rank}</td>'
            f'<td><span class="title">{html.escape(entry["title"])}</span><br>'
            f'<span class="note">{_with_code(note)}</span></td>'
            f'<td class="how-many"><div class="count">'
            f'<div class="bar" style="width:{width:.0f}px"></div>'
            f"{entry['count']} of {class_size}</div></td>"
            f'<td class="exercises">{exercises}</td>'
            f'<td class="students who">{students}</td></tr>'
        )
    return (
        '<table id="mistakes"><thead><tr><th>#</th><th>Mistake</th>'
        "<th>How many</th><th>Exercises</th><th>Students</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _with_code(text):
    """Escaped text, with `code` between backquotes set as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def errors_table(errors):
    if not errors:
        return ""
    rows = "".join(
        f'<tr><td class="student">{html.escape(student)}</td><td>{exercise}</td>'
        f"<td>{html.escape(error)}</td></tr>"
        for student, by_exercise in sorted(errors.items())
        for exercise, error in by_exercise.items()
    )
    return (
        "<h2>Tests that stopped with an error</h2>"
        '<p class="lead">These test cells raised before they could grade the exercise, so it '
        "scored 0; the student's notebook usually broke something the tests need.</p>"
        '<table id="errors"><thead><tr><th>Student</th><th>Exercise</th><th>Error</th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
    )


def _table(table_id, headers, rows):
    """A table of rows of HTML cells; the first cell of each row is a student id."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join(
        f'<tr><td class="student">{row[0]}</td>' + "".join(f"<td>{c}</td>" for c in row[1:]) + "</tr>"
        for row in rows
    )  # fmt: skip
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _when(value):
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M}"


def late_section(lateness, collection):
    """The late submissions: when, how late, how it is known, and the penalty."""
    late = {s: info for s, info in sorted(lateness.items()) if info["seconds"] > 0}
    collected = collection.get("students", {})
    rows = []
    for student, info in late.items():
        marker = collected.get(student, {}).get("late")
        how = (
            "Canvas's LATE marker (the download gives no time: counted as one started day)"
            if marker
            else "submission time"
        )
        hours = info["seconds"] / 3600
        rows.append(
            [
                html.escape(student),
                "time unknown" if marker else _when(info["timestamp"]),
                _when(info["duedate"]),
                f"{info['days']} started day(s) ({hours:.1f} h)" if not marker else "LATE",
                f"&minus;{info['penalty']:g}",
                how,
            ]
        )
    body = (
        _table("late", ["Student", "Submitted (UTC)", "Due (UTC)", "Late by", "Penalty", "Known from"], rows)
        if rows
        else '<p class="empty">No late submission.</p>'
    )  # fmt: skip
    return (
        f"<h2>Late submissions ({len(rows)})</h2>"
        '<p class="lead">Submitted after the due date in the gradebook (extensions included); '
        "the penalty is the course's late policy (nbgrader_config.py), taken off the total."
        f"</p>{body}"
    )


def flagged_section(status):
    """The submissions flagged for review, each with its reasons."""
    rows = [
        [html.escape(student), "<br>".join(html.escape(f) for f in entry["flags"])]
        for student, entry in sorted(status.items())
        if entry.get("flags")
    ]
    body = (
        _table("flagged", ["Student", "Why"], rows)
        if rows
        else '<p class="empty">No submission flagged for review.</p>'
    )
    return (
        f"<h2>Flagged for review ({len(rows)})</h2>"
        '<p class="lead">Graded, but worth a look: the scores recorded are those of the clean '
        "re-check, and the exercises concerned wait for a manual grade in the Formgrader.</p>"
        f"{body}"
    )


def rejected_section(status, collection):
    """Rejected or failed submissions, and the files of the LMS download not collected."""
    rows = [
        [html.escape(student), entry["status"], html.escape(entry.get("reason") or "")]
        for student, entry in sorted(status.items())
        if entry.get("status") in ("rejected", "failed")
    ]
    for item in collection.get("not_on_roster", []):
        rows.append(
            [f"({html.escape(item.get('name', ''))})", "not collected", html.escape(item["reason"])]
        )
    for name in collection.get("unmatched", []):
        rows.append(
            ["-", "not collected", f"{html.escape(name)}: not a Canvas submission file name"]
        )
    for student, record in sorted(collection.get("students", {}).items()):
        for old in record.get("superseded", []):
            later = ", ".join(record.get("files", []))
            rows.append(
                [
                    html.escape(student),
                    "earlier version",
                    f"{html.escape(old)}: not graded, superseded by {html.escape(later)}",
                ]
            )
    body = (
        _table("rejected", ["Student", "Status", "Reason"], rows)
        if rows
        else '<p class="empty">Nothing rejected, failed or left out.</p>'
    )
    return (
        f"<h2>Rejected, failed or not collected ({len(rows)})</h2>"
        '<p class="lead">A rejected submission scores 0 and waits for a manual grade; a failed '
        "one keeps what the gradebook had. Neither counts in the averages.</p>"
        f"{body}"
    )


def forgeries_section(forgeries):
    """Folders of the exchange made in another student's name, and the login that made each."""
    rows = [
        [
            html.escape(f.student),
            f"<b>{html.escape(f.owner)}</b>",
            html.escape(f.submitted[:19].replace("T", " ")),
            html.escape(f.by),
            f"<code>{html.escape(f.folder)}</code>",
        ]
        for f in forgeries
    ]
    body = (
        _table("forgeries", ["Named student", "Made by", "Submitted", "Found by", "Folder"], rows)
        if rows
        else '<p class="empty">No submission was made in another student\'s name.</p>'
    )
    return (
        f"<h2>Submissions in another student's name ({len(rows)})</h2>"
        '<p class="lead">Folders of the exchange\'s inbound whose owner is not the student they '
        "name, made with <code>nbgrader submit --student=&lt;classmate&gt;</code> or by hand. "
        "None was collected or graded: each student named was graded on their own submissions "
        "as if it were not there. Only the login in \u201cMade by\u201d can have made it.</p>"
        f"{body}"
    )


def _score_text(value):
    return "-" if value is None else f"{value:g}"


def history_section(history, limit=30):
    """The latest changes of the grading history (history.jsonl), newest first."""
    if not history:
        return (
            "<h2>Grading history</h2>"
            '<p class="empty">No grading run recorded (history.jsonl is written by every '
            "grading run).</p>"
        )
    latest = history[-1]
    intro = (
        f"{len(history)} grading run(s) recorded; the latest, at {html.escape(latest['at'])}, "
        f"graded {len(latest.get('graded', []))} submission(s) and changed "
        f"{len(latest.get('changes', []))}."
    )
    changes = [(run["at"], c) for run in reversed(history) for c in run.get("changes", [])]
    if not changes:
        return f'<h2>Grading history</h2><p class="lead">{intro} No run changed a score.</p>'
    rows = []
    for at, change in changes[:limit]:
        before, after = change["scores"]
        moved = [
            f"{name} {_score_text((before or {}).get(name))} &rarr; {_score_text((after or {}).get(name))}"
            for name in dict.fromkeys([*(before or {}), *(after or {})])
            if (before or {}).get(name) != (after or {}).get(name)
        ]  # fmt: skip
        status = " &rarr; ".join(html.escape(str(x)) for x in change["status"] if x) or "-"
        rows.append(
            [
                html.escape(change["student"]),
                html.escape(at),
                status,
                f"{_score_text(change['total'][0])} &rarr; {_score_text(change['total'][1])}",
                "<br>".join(moved) or "-",
                html.escape("; ".join(change["why"])),
            ]
        )
    shown = f"the latest {len(rows)} of {len(changes)}" if len(changes) > limit else "every one"
    return (
        f'<h2>Grading history</h2><p class="lead">{intro} The changes, newest first '
        f"({shown}):</p>"
        + _table("history", ["Student", "Run", "Status", "Total", "Exercises", "Why"], rows)
    )


def render(
    scores, maxima, ranked, errors, course="", lateness=None, status=None, collection=None,
    history=None, assignment=ASSIGNMENT, forgeries=None,
):  # fmt: skip
    """The whole report page, as one HTML string with everything embedded."""
    lateness, status = lateness or {}, status or {}
    collection, history = collection or {}, history or []
    excluded = left_out(scores, status)
    not_isolated = {s for s, e in status.items() if e.get("isolation") == "limits"}
    graded = {s: row for s, row in scores.items() if s not in excluded}
    means = averages(graded)
    finals = [
        max(0.0, total - lateness.get(s, {}).get("penalty", 0.0))
        for s, total in totals(graded).items()
    ]
    total_max = sum(maxima.values())
    full_marks = sum(t >= total_max for t in finals)
    cards = [
        (len(graded), "students graded"),
        (f"{statistics.fmean(finals):.1f} / {total_max:g}" if finals else "-", "class average"),
        (f"{statistics.median(finals):g}" if finals else "-", "median total"),
        (full_marks, "full marks"),
    ]
    if excluded:
        reasons = "; ".join(f"{html.escape(s)} ({html.escape(r)})" for s, r in excluded.items())
        left_out_note = (
            f'<p class="lead left-out">Averages over the {len(graded)} graded student(s) only: '
            f"{len(excluded)} left out, {reasons}.</p>"
        )
    else:
        left_out_note = (
            f'<p class="lead left-out">Averages over all {len(graded)} graded student(s).</p>'
        )
    cards_html = "".join(
        f'<div class="card"><div class="value">{v}</div><div class="label">{label}</div></div>'
        for v, label in cards
    )
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(assignment.capitalize())}: class report</title>
<style>{CSS}</style>
</head>
<body>
<main>
<header>
<h1>{html.escape(assignment.capitalize())}: class report</h1>
<p>{html.escape(course)} · assignment <b>{html.escape(assignment)}</b> · generated {when}</p>
</header>
<section class="cards">{cards_html}</section>

<h2>Scores</h2>
<p class="lead">Points per exercise, from the gradebook. Green: full marks, amber: partial,
red: none. Final: the total minus the late penalty.</p>
{left_out_note}
{isolation_note(status)}
{scores_table(scores, maxima, means, lateness, excluded, not_isolated)}

<div class="figures">
<figure><img alt="Histogram of the students' totals" src="{histogram(finals or [0.0], total_max)}">
<figcaption>How the totals are spread over the class.</figcaption></figure>
<figure><img alt="Class average per exercise" src="{average_bars(means, maxima)}">
<figcaption>Class average per exercise (grey: the maximum).</figcaption></figure>
</div>

<h2>Mistakes, most frequent first</h2>
<p class="lead">The mistakes the tests recognised in the graded test cells, counted once per
student, with what each suggests for teaching.</p>
{mistakes_table(ranked, len(scores))}
{errors_table(errors)}
{late_section(lateness, collection)}
{flagged_section(status)}
{rejected_section(status, collection)}
{forgeries_section(forgeries or [])}
{history_section(history)}
<footer>Made by <code>python -m instructor report</code> from nbgrader's gradebook and the
autograded notebooks.</footer>
</main>
</body>
</html>
"""


def build(root=ROOT, out=None, students=None, assignment=ASSIGNMENT):
    """Write scores.csv and report.html for the graded students; return (out dir, scores,
    maxima), or (None, {}, {}) when nobody is graded."""
    root = Path(root)
    scores = read_scores(root, students=set(students or ()), assignment=assignment)
    if not scores:
        return None, {}, {}
    maxima = max_scores(root, assignment=assignment)
    mistakes, errors = read_problems(root, scores, assignment)
    lateness = read_lateness(root, scores, assignment)
    status = {
        s: e for s, e in read_status(root, assignment).items() if not students or s in students
    }
    out = Path(out) if out else reports_folder(root, assignment)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(out / "scores.csv", scores, lateness, status)
    page = render(
        scores,
        maxima,
        rank_mistakes(mistakes, list(maxima)),
        errors,
        course=_course_id(root),
        lateness=lateness,
        status=status,
        collection={} if students else read_collection(root, assignment),
        history=_only(read_history(root, assignment), students),
        assignment=assignment,
        forgeries=read_forgeries(root, students, assignment),
    )
    (out / "report.html").write_text(page, encoding="utf-8")
    return out, scores, maxima


def _only(history, students):
    """The history with only these students' entries (all of it without students)."""
    if not students:
        return history
    return [
        {
            **run,
            "graded": [g for g in run.get("graded", []) if g["student"] in students],
            "changes": [c for c in run.get("changes", []) if c["student"] in students],
        }
        for run in history
    ]


def _course_id(root):
    """The course id of the loaded nbgrader configuration of root ('' when it sets none)."""
    from nbgrader.coursedir import CourseDirectory

    from .course import load_config

    return CourseDirectory(config=load_config(Path(root))).course_id


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m instructor report", description=__doc__.splitlines()[0]
    )
    parser.add_argument(
        "--students", nargs="+", metavar="ID", help="only these students (default: all graded)"
    )
    parser.add_argument(
        "--out", metavar="DIR", help=f"where to write (default: reports/{ASSIGNMENT}/)"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="the demo class's report (its own course folder demo/, reports in demo/reports/)",
    )
    parser.add_argument("--assignment", default=ASSIGNMENT, help=f"default: {ASSIGNMENT}")
    parser.add_argument(
        "--course", metavar="DIR", help="another course folder (with its nbgrader_config.py)"
    )
    args = parser.parse_args(argv)
    root = Path(args.course).resolve() if args.course else ROOT / "demo" if args.demo else ROOT
    out, scores, maxima = build(
        root=root, out=args.out, students=args.students, assignment=args.assignment
    )
    if out is None:
        who = f" for {', '.join(args.students)}" if args.students else ""
        print(f"No graded submissions in the gradebook{who} yet: grade them first.")
        return 1
    print("\n".join(table(scores, maxima)))
    for student, info in sorted(read_lateness(root, scores, args.assignment).items()):
        if info["seconds"] > 0:
            print(f"Late: {student}, {info['days']} started day(s), penalty {info['penalty']:g}")
    excluded = left_out(scores, read_status(root, args.assignment))
    if excluded:
        print(
            f"Left out of the averages ({len(excluded)}): "
            + "; ".join(f"{s} ({r})" for s, r in excluded.items())
        )
    for forgery in read_forgeries(root, args.students, args.assignment):
        print(f"Made in {forgery.student}'s name by {forgery.owner}, refused: {forgery.folder}")
    missing = sorted(set(args.students or ()) - set(scores))
    if missing:
        print(f"Not graded, so not in the report: {', '.join(missing)}")
    print(f"\nClass report: {out / 'report.html'}  (scores: {out / 'scores.csv'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
