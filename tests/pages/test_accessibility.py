"""Can anyone read the students' feedback and the class report? axe-core in Chromium.

axe-core (https://github.com/dequelabs/axe-core), pinned in tests/axe/package-lock.json and
installed by `make axe-deps`, runs its WCAG 2.1 A and AA rules in Debian's Chromium on:
- the feedback pages of three students of the graded demo class (tests/conftest.py,
  graded_demo): full marks (demo-correct), partial marks (demo-xavier), nothing answered
  (demo-untouched), written by `nbgrader generate_feedback` with the course's configuration in
  a copy of that class; each page is checked as it opens, the notebook folded, then with every
  <details> open, as a student who reads on sees it;
- the class report, `python -m instructor report`.
A canary page, a paragraph with a pale link, is checked the same way and must be refused: the
check can fail. The pages are also measured: opened, a feedback page is about three screens
long, the whole notebook being folded under the exercises.

One Chromium, one page load each: the pages are loaded, checked, measured and screenshotted
(artifacts/browser/accessibility-*.png) by one module fixture. axe-core is injected through
the browser's debugging protocol (Playwright's evaluate), so the pages are checked as they are,
any Content-Security-Policy of theirs in force. Without axe-core or Chromium the tests are
skipped, except in CI (CI=true), where they fail.
"""

import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from conftest import ROOT, run_in
from harness import ASSIGNMENT, NOTEBOOK, course_env
from lab_harness import (
    ARTIFACTS,
    VIEWPORT,
    browser,  # noqa: F401 (a fixture)
    in_the_browser,
)

AXE = ROOT / "tests" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
# The version pinned in tests/axe/package.json: the one installed must be it.
AXE_VERSION = json.loads((ROOT / "tests" / "axe" / "package.json").read_text())["dependencies"][
    "axe-core"
]
# WCAG 2.0 and 2.1, levels A and AA: axe-core's tags of their rules.
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# The three students, one per kind of page.
STUDENTS = {"full-marks": "demo-correct", "partial": "demo-xavier", "unanswered": "demo-untouched"}
ONLY = "--CourseDirectory.student_id=demo-[cxu][oan][rvt]*"  # the three, none of the others
SHORT_PX = 4000  # a feedback page as it opens, at the tests' 1400 x 900 viewport
CANARY = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>A pale link</title>
<style>body { color: #333333; } a { color: #9aa5b1; text-decoration: none; }</style></head>
<body><main><h1>A pale link</h1>
<p>The summary of your feedback is <a href="#top">on the first screen</a>, with its score.</p>
</main></body>
</html>
"""


def axe_or_skip():
    """axe-core's script, or a skip outside CI / a failure in CI when it is missing."""
    if AXE.is_file():
        return AXE.read_text(encoding="utf-8")
    message = f"{AXE.relative_to(ROOT)} is missing; install it with `make axe-deps`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message + " (required in CI)")
    pytest.skip(message)


def without_feedback(course):
    """For copytree: leave out the course's feedback/ folder only."""
    top = str(course)
    return lambda folder, names: ["feedback"] if str(folder) == top else []


@pytest.fixture(scope="module")
def pages(graded_demo, tmp_path_factory):
    """{name: path} of the pages checked: the three students' feedback, written by nbgrader
    generate_feedback in a copy of the graded demo class, and the class report; the two
    commands run side by side."""
    course = tmp_path_factory.mktemp("accessibility") / "course"
    shutil.copytree(graded_demo, course, symlinks=True, ignore=without_feedback(graded_demo))
    out = course.parent / "report"
    started = time.monotonic()
    feedback = subprocess.Popen(
        [sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT, "--force", ONLY],
        cwd=course, env=course_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    report = run_in(course, sys.executable, "-m", "instructor", "report", "--out", out)
    written = feedback.communicate(timeout=600)[0]
    assert feedback.returncode == 0, written
    assert report.returncode == 0, report.stdout + report.stderr
    print(f"The pages were written in {time.monotonic() - started:.1f} s")
    html = NOTEBOOK.replace(".ipynb", ".html")
    found = {kind: course / "feedback" / s / ASSIGNMENT / html for kind, s in STUDENTS.items()}
    written_pages = sorted(p.parent.parent.name for p in course.glob(f"feedback/*/*/{html}"))
    assert written_pages == sorted(STUDENTS.values()), written
    canary = course.parent / "canary.html"
    canary.write_text(CANARY)
    return {**found, "report": out / "report.html", "canary": canary}


def run_axe(page, script):
    """axe-core's WCAG 2.1 A and AA rules on the page as it is shown: {rule: [the first
    elements that break it, with axe's reason]} of its violations, and the rules that found
    elements to check and passed them."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(script)
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})",
        WCAG_21_AA,
    )
    assert result["testEngine"]["version"] == AXE_VERSION
    violations = {
        rule["id"]: [
            f"{node['target']}: {node['failureSummary'].splitlines()[-1].strip()}"
            for node in rule["nodes"][:5]
        ]
        + [f"... {len(rule['nodes'])} elements in all"]
        for rule in result["violations"]
    }
    return violations, {rule["id"] for rule in result["passes"]}


@pytest.fixture(scope="module")
def checked(browser, pages):  # noqa: F811 (the imported fixture)
    """{name: what was found} for every page, in one Chromium: axe's violations and passed
    rules as the page opens, the page's height, and, for a feedback page, the same with its
    <details> open."""
    script = axe_or_skip()
    context = browser.new_context(viewport=VIEWPORT)
    found = {}
    try:
        for name, path in pages.items():
            started = time.monotonic()
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            page.goto(path.as_uri())
            page.screenshot(path=ARTIFACTS / f"accessibility-{name}.png")
            result = {
                "height": page.evaluate("document.documentElement.scrollHeight"),
                "details": page.locator("details").count(),
                "scripts": page.locator("script").count(),
            }
            result["violations"], result["passes"] = run_axe(page, script)
            if result["details"]:
                page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
                result["opened height"] = page.evaluate("document.documentElement.scrollHeight")
                result["opened violations"], _ = run_axe(page, script)
            result["errors"] = errors
            page.close()
            result["seconds"] = round(time.monotonic() - started, 1)
            found[name] = result
    finally:
        context.close()
    print({name: (r["height"], r.get("opened height"), r["seconds"]) for name, r in found.items()})
    return found


@in_the_browser
@pytest.mark.parametrize("name", [*STUDENTS, "report"])
def test_axe_finds_no_wcag_21_aa_violation(checked, name):
    """Does axe-core find no violation of WCAG 2.1 A and AA on the page, as it opens and, for
    a feedback page, with the whole notebook unfolded; and did its contrast rule find text to
    check (the check ran on the page's content)?"""
    result = checked[name]
    assert result["violations"] == {}
    assert result.get("opened violations", {}) == {}
    assert "color-contrast" in result["passes"]
    assert result["errors"] == []


@in_the_browser
def test_the_canary_with_a_pale_link_is_refused(checked):
    """Is the canary page, a pale link in a paragraph, refused for its contrast: the check can
    fail?"""
    violations = checked["canary"]["violations"]
    assert set(violations) == {"color-contrast"}, violations
    assert violations["color-contrast"][0].startswith("['a']: "), violations


@in_the_browser
@pytest.mark.parametrize("name", STUDENTS)
def test_a_feedback_page_is_short_and_folds_the_notebook(checked, name):
    """Does a feedback page open short (the summary and the exercises: under SHORT_PX at the
    tests' viewport), with the rest of the notebook in one <details>, folded, and no script?"""
    result = checked[name]
    assert result["details"] == 1
    assert result["scripts"] == 0
    assert result["height"] < SHORT_PX, result["height"]
    assert result["opened height"] > 3 * result["height"]
