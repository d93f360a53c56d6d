"""Dataset files: the cases of a suite, in a JSONL or YAML file beside it.

The loader calls :func:`attach_datasets` after parsing: for each suite that names a
``dataset``, the file's bytes are read through the caller's reader (the working tree, or
git objects), each row is validated as a case, and the suite is rebuilt with the rows and
the SHA-256 of the bytes. The dataset therefore changes the suite's content hash, and a
released suite carries its cases in the store.

A YAML dataset is a list of cases, or a promptfoo file with a ``tests:`` list (read as it
is: ``description`` names a case, ``vars`` and ``assert`` are the same).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError as PydanticValidationError

from promptctl.evals.suite import LOADER_FIELDS, EvalSuite
from promptctl.findings import Finding
from promptctl.limits import DEFAULT_LIMITS, Limits
from promptctl.yaml_io import NotText, decode_text, load_yaml

Reader = Callable[[str], bytes | None]
"""Bytes of a file by its repository-relative path; ``None`` when it does not exist.
May raise :class:`DatasetProblem`."""


class DatasetProblem(ValueError):
    """A dataset that cannot become cases; ``where`` names the row or field."""

    def __init__(self, message: str, where: str | None = None) -> None:
        super().__init__(message)
        self.message, self.where = message, where


def dataset_path(suite_path: str, dataset: str) -> str:
    """The dataset's repository-relative path: beside the suite file."""
    return posixpath.join(posixpath.dirname(suite_path), dataset)


def parse_rows(name: str, data: bytes, limits: Limits = DEFAULT_LIMITS) -> list[dict[str, Any]]:
    """The rows of a dataset file; every row must be an object (a mapping)."""
    text = decode_text(data)
    if name.endswith(".jsonl"):
        rows = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line, parse_constant=_no_constant))
            except (ValueError, RecursionError) as exc:
                raise DatasetProblem(f"line {number} is not JSON: {exc}", f"line {number}"
                                     ) from None
            _require_object(rows[-1], f"line {number}")
        return rows
    loaded = load_yaml(text, limits)
    if isinstance(loaded, dict) and isinstance(loaded.get("tests"), list):
        loaded = loaded["tests"]  # a promptfoo file, as it is
    if not isinstance(loaded, list):
        raise DatasetProblem("a YAML dataset holds a list of cases (or a promptfoo file with "
                             "a `tests:` list)")
    for number, row in enumerate(loaded, start=1):
        _require_object(row, f"row {number}")
    return loaded


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


def _require_object(row: Any, where: str) -> None:
    if not isinstance(row, dict):
        raise DatasetProblem(f"{where} is not an object (a case is a mapping with vars and "
                             f"assert), got {type(row).__name__}", where)


def attach(suite: EvalSuite, suite_path: str, read: Reader,
           limits: Limits = DEFAULT_LIMITS) -> tuple[EvalSuite | None, list[Finding]]:
    """``suite`` with its dataset attached, or ``None`` and the findings that prevent it.

    ``read`` returns a file's bytes (``None``: no such file) or raises
    :class:`DatasetProblem` for a file that must not be read (a symlink, too large)."""
    if suite.dataset_cases or suite.dataset_sha256:
        return None, [_error(suite_path, "loader-field",
                             f"{' and '.join(LOADER_FIELDS)} are filled from the dataset file",
                             "dataset_cases", "remove them from the suite")]
    if suite.dataset is None:
        return suite, []
    path = dataset_path(suite_path, suite.dataset)
    try:
        data = read(path)
        if data is None:
            return None, [_error(suite_path, "dataset-missing",
                                 f"dataset file {path} does not exist", "dataset",
                                 "add the file beside the suite or fix the name")]
        rows = parse_rows(path, data, limits)
        return EvalSuite.model_validate(
            suite.content() | {"dataset_cases": [_named(r) for r in rows],
                               "dataset_sha256": hashlib.sha256(data).hexdigest()}), []
    except NotText as exc:
        return None, [_error(suite_path, "dataset-invalid", f"dataset {path}: {exc}",
                             "dataset", "save it as UTF-8 text")]
    except DatasetProblem as exc:
        return None, [_error(suite_path, "dataset-invalid", f"dataset {path}: {exc.message}",
                             "dataset", None)]
    except PydanticValidationError as exc:
        return None, _row_findings(suite_path, path, exc)
    except ValueError as exc:  # YAML refused (over a bound, not JSON data)
        return None, [_error(suite_path, "dataset-invalid",
                             f"dataset {path}: {' '.join(str(exc).split())}", "dataset", None)]


def _named(row: dict[str, Any]) -> dict[str, Any]:
    """A promptfoo test has a ``description`` and no name: the description names it."""
    if "name" not in row and isinstance(row.get("description"), str):
        return {"name": row["description"], **row}
    return row


def _row_findings(suite_path: str, path: str, exc: PydanticValidationError) -> list[Finding]:
    findings = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if loc[:1] == ["dataset_cases"] and len(loc) > 1:
            where = f"{path} row {int(loc[1]) + 1}" + (f" {'.'.join(loc[2:])}" if loc[2:] else "")
        else:
            where = f"{path} {'.'.join(loc)}"
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown field (a case has name, description, vars, assert, threshold, " \
                      "metadata)"
        findings.append(_error(suite_path, "dataset-invalid", f"{where}: {message}", "dataset"))
    return findings


def _error(path: str, code: str, message: str, field_name: str | None = None,
           fix: str | None = None) -> Finding:
    return Finding("error", code, path, message, field_name, fix)
