"""The documented differences from PyTorch, JAX and Keras, read from their one
place: the table of docs/decisions.md ("Deliberate differences ...").

Each row has an id (first column, in backticks) and the names it is seen in
(second column, each in backticks: an OpInfo op of ``op_db`` such as
``nn.functional.silu`` or ``softmax:with_dtype`` (name:variant), with ``@cpu`` or
``@cuda`` where only that device shows it, or ``keras``; a row with none is met by
no OpInfo or Keras comparison: ``nan-grad-hardswish``, which the NaN-gradient test
of tests/test_grad.py asserts and applies at the NaN only).
The tests that compare multiact with another library (conformance/test_opinfo.py,
tests/test_keras.py, the NaN-gradient test of tests/test_grad.py) explain every
difference they meet by one of these ids, fail on a difference no row explains,
and fail when a row's difference no longer occurs where the row says it is seen.
Plain text parsing, no framework imported.
"""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "decisions.md"
HEADING = "## Deliberate differences from PyTorch, JAX and Keras"

__all__ = ["Difference", "load", "DOC", "HEADING"]


@dataclass(frozen=True)
class Difference:
    id: str
    seen_in: tuple        # the names of the second column
    text: str             # the row as written (for messages)


def load(path=DOC) -> dict:
    """``{id: Difference}`` from the table under ``HEADING`` in ``path``."""
    text = pathlib.Path(path).read_text()
    if HEADING not in text:
        raise LookupError(f"{path}: no section {HEADING!r}")
    section = text.split(HEADING, 1)[1]
    section = re.split(r"\n## ", section, maxsplit=1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.fullmatch(r"`[a-z0-9-]+`", cells[0]):
            continue
        ident = cells[0].strip("`")
        if ident in rows:
            raise ValueError(f"{path}: difference {ident!r} is listed twice")
        rows[ident] = Difference(ident, tuple(re.findall(r"`([^`]+)`", cells[1])), line.strip())
    if not rows:
        raise LookupError(f"{path}: the section {HEADING!r} has no table rows")
    return rows
