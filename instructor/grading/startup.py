"""Start-up work the grader's processes skip: parsers built for a check they never run.

Every process of the grader imports nbformat, which imports jsonschema. jsonschema checks the
"iri" and "iri-reference" string formats with `rfc3987_syntax` when it is installed (it is,
through jupyter_server's dependencies), and that module builds about 35 Earley parsers when
it is imported: 0.9 s on this kind of machine. That is 0.9 s in every command and in every
Dask worker that starts, for a check that no notebook, gradebook or nbgrader schema uses.

`defer_iri_parsers` puts a stand-in module in its place before anything imports it. The
stand-in has the one function jsonschema takes from it; the first call imports the real
module and hands over, so a check of an IRI, should one ever run, gives the same answer.
The command line (`python -m instructor`) calls it first; the local Dask cluster's workers
run it as their preload (`dask_setup`).
"""

import importlib
import importlib.util
import sys
import types
from typing import Any

MODULE = "rfc3987_syntax"


def defer_iri_parsers() -> None:
    """Put the stand-in in place, unless the real module is loaded already or absent."""
    if MODULE in sys.modules or importlib.util.find_spec(MODULE) is None:
        return
    stand_in = types.ModuleType(
        MODULE, "builds its parsers when first used (instructor.grading.startup)"
    )
    stand_in.is_valid_syntax = _is_valid_syntax  # type: ignore[attr-defined]
    sys.modules[MODULE] = stand_in


def _is_valid_syntax(term: str, value: str) -> bool:
    module = sys.modules.get(MODULE)
    if module is None or getattr(module, "is_valid_syntax", None) is _is_valid_syntax:
        sys.modules.pop(MODULE, None)
        module = importlib.import_module(MODULE)
    answer: bool = module.is_valid_syntax(term, value)
    return answer


def dask_setup(worker: Any) -> None:
    """Dask's preload hook: a worker of the local cluster defers the parsers as it starts."""
    defer_iri_parsers()
