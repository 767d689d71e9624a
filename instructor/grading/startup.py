"""Work the grader's processes skip: a schema checked again at every use.

(The other start-up cost every process paid, jsonschema's IRI parsers, built whenever nbformat
is imported, is gone from the environment itself: requirements-omitted.txt.)

`check_schemas_once`: `jsonschema.validate` checks the schema itself against its metaschema
before it validates the instance, at every call. nbgrader's CheckCellMetadata calls it for
every cell of a notebook with the same schema, so sanitizing a submission checked that schema
about fifty times: 18 ms of the 21 ms the step takes. After `check_schemas_once`, each
validator class checks a schema once per process, by its content (its JSON text): a schema
that passed is not checked again, one that failed is checked, and refused, every time, and a
schema changed since it passed is checked again. The instances are validated as before.

`prepare_process` does it. The command line (`python -m instructor`) calls it first; the
local cluster's fork server calls it before it loads the engine (fork_server.py), and a
worker started without it runs it as its Dask preload (`dask_setup`). The grading of a
submission calls `check_schemas_once` too (worker.py), for the routes that start elsewhere
(nbgrader autograde, the Formgrader's button).
"""

import importlib
import json
from collections.abc import Callable
from typing import Any


def check_schemas_once() -> None:
    """Each of jsonschema's validator classes checks a given schema once in this process (see
    the module's docstring); calling it again changes nothing."""
    validators = importlib.import_module("jsonschema.validators")
    for name in dir(validators):
        cls: Any = getattr(validators, name)
        if not (name.startswith("Draft") and name.endswith("Validator")):
            continue
        if not getattr(cls.check_schema, "once", False):
            cls.check_schema = staticmethod(_once(cls.check_schema))


def _once(check: Callable[..., None]) -> Callable[..., None]:
    passed: set[str] = set()  # the JSON text of every schema that passed

    def check_schema(schema: Any, *args: Any, **kwargs: Any) -> None:
        try:
            key = json.dumps(schema, sort_keys=True)
        except (TypeError, ValueError):  # not JSON: checked each time, as before
            key = None
        if key is not None and key in passed and not args and not kwargs:
            return
        check(schema, *args, **kwargs)  # raises SchemaError for a schema that fails
        if key is not None and not args and not kwargs:
            passed.add(key)

    check_schema.once = True  # type: ignore[attr-defined]
    return check_schema


def prepare_process() -> None:
    """What every process of the grader does first."""
    check_schemas_once()


def dask_setup(worker: Any) -> None:
    """Dask's preload hook: a worker started without the fork server (a restarted one)
    prepares itself as it starts."""
    prepare_process()
