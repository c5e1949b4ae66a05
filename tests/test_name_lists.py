"""The table is the single source of the function names (docs/decisions.md 23, 59).

No list, tuple, set or dict literal in ``src/``, ``tests/``, ``conformance/``,
``benchmarks/``, ``tools/`` or the root's own files (``conftest.py``) names four
or more of multiact's functions (or aliases); outside ``src/`` a list that is
about those functions may, with a comment block right above its statement that
has a ``# why: ...`` line, and at most ``MAX_LISTS`` such lists in the whole
repository.  Everything else derives
from ``multiact._table`` (``TABLE``, ``BY_NAME``, the rows' fields), so a new
row is picked up with no edit.

An entry of a literal names a function when it is (or, for a tuple entry or a
call, has as a direct element or argument) a string that is a function's name
or alias, or ``multiact.<name>``; both the key and the value of a dict entry
count; a name named twice counts once.  So a parametrize list of
``("gelu", {...})`` pairs counts, and so does a map of other libraries' names
to translators built from multiact's names (``_unary("relu")``); a lambda's
body is not looked into.
"""

from __future__ import annotations

import ast
import pathlib

from multiact._table import ALIASES, TABLE

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCANNED = ("src", "tests", "conformance", "benchmarks", "tools")
MAX_LISTS = 8
NAMES = frozenset({i.name for i in TABLE} | set(ALIASES))


def _named(node):
    """The function name ``node`` states by itself, or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in NAMES:
        return node.value
    if isinstance(node, ast.Attribute) and node.attr in NAMES and \
            isinstance(node.value, ast.Name) and node.value.id == "multiact":
        return node.attr
    return None


def _entry(node):
    """The function name an entry of a literal states (itself, or a direct element
    of a tuple, or a direct argument of a call), or None."""
    if node is None:
        return None
    hit = _named(node)
    if hit is not None:
        return hit
    if isinstance(node, ast.Tuple):
        inner = node.elts
    elif isinstance(node, ast.Call):
        inner = list(node.args) + [k.value for k in node.keywords]
    else:
        return None
    for e in inner:
        hit = _named(e)
        if hit is not None:
            return hit
    return None


def _assigns(node, name):
    targets = node.targets if isinstance(node, ast.Assign) else \
        [node.target] if isinstance(node, ast.AnnAssign) else []
    return any(isinstance(t, ast.Name) and t.id == name for t in targets)


def _exempt(rel, node, parents):
    """The table itself and what is generated or per-row data, not lists of
    functions: ``_table.py``'s ``TABLE``, the rows' ``defaults=`` tuples there
    (one row's text for four libraries) and ``_api.py``'s ``__all__`` (written by
    tools/generate.py)."""
    parent = parents.get(node)
    if rel == "src/multiact/_table.py" and _assigns(parent, "TABLE"):
        return True
    if rel == "src/multiact/_api.py" and _assigns(parent, "__all__"):
        return True
    if rel == "src/multiact/_table.py" and isinstance(parent, ast.keyword) and \
            parent.arg == "defaults":
        return True
    return False


def name_lists():
    """``[(path, line, names, why)]`` for every literal that names four or more
    functions; ``why`` is the ``# why:`` comment above it, or None."""
    paths = sorted(ROOT.glob("*.py")) + [p for root in SCANNED
                                         for p in sorted((ROOT / root).rglob("*.py"))]
    found = []
    for path in paths:
        rel = path.relative_to(ROOT).as_posix()
        found += [(rel, *hit) for hit in _lists_in(path.read_text(), rel)]
    return found


def _lists_in(text, rel):
    """``[(line, names, why)]`` of the source ``text`` of the file ``rel``."""
    lines = text.splitlines()
    tree = ast.parse(text)
    parents = {c: n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            entries = [_entry(e) for e in node.elts]
        elif isinstance(node, ast.Dict):
            entries = [_entry(k) for k in node.keys] + [_entry(v) for v in node.values]
        else:
            continue
        hits = sorted({e for e in entries if e is not None})
        if len(hits) < 4 or _exempt(rel, node, parents):
            continue
        stmt = _statement(node, parents)
        first = min([stmt.lineno] + [d.lineno for d in getattr(stmt, "decorator_list", ())])
        found.append((node.lineno, hits, _why(lines, first)))
    return sorted(found)


def _statement(node, parents):
    """The statement ``node`` is part of (its comment is above the statement, or
    above its decorators)."""
    while not isinstance(node, ast.stmt):
        node = parents[node]
    return node


def _why(lines, lineno):
    """The reason of the comment block right above line ``lineno`` (1-based): its
    text from a ``# why:`` line on, or None."""
    i, block = lineno - 2, []
    while i >= 0 and lines[i].strip().startswith("#"):
        block.insert(0, lines[i].strip().lstrip("#").strip())
        i -= 1
    for k, text in enumerate(block):
        if text.startswith("why:"):
            return " ".join([text[len("why:"):].strip(), *block[k + 1:]])
    return None


def test_the_scan_sees_every_spelling_of_a_name():
    # a string, a tuple's element, a call's argument, multiact.<name>; not a lambda's body
    a, b, c, d, e = (info.name for info in TABLE[:5])
    src = f"L = [{a!r}, ({b!r}, 1), f({c!r}), multiact.{d}, lambda: multiact.{e}(1)]"
    node = next(n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.List))
    assert [_entry(el) for el in node.elts] == [a, b, c, d, None]


def test_the_scan_finds_a_list_and_its_reason():
    a, b, c, d = (info.name for info in TABLE[:4])
    src = (f"X = [{a!r}, {b!r}, {c!r}, {a!r}]\n"                 # three names: not a list
           f"Y = ({a!r}, {b!r}, {c!r}, {d!r})\n"                 # four, no reason
           f"# why: these four\n# (more text)\n@dec\n"
           f"@pytest.mark.parametrize('n', [{a!r}, {b!r}, {c!r}, {d!r}])\ndef t(n): pass\n"
           f"# a comment, then\n# why: the reason\nZ = {{{a!r}: 1, 'k': {b!r}, "
           f"{c!r}: f({d!r})}}\n")
    assert _lists_in(src, "tests/x.py") == [
        (2, sorted([a, b, c, d]), None),
        (6, sorted([a, b, c, d]), "these four (more text)"),
        (10, sorted([a, b, c, d]), "the reason")]


def test_no_list_of_function_names_without_its_reason():
    found = name_lists()
    bare = [f"{p}:{line} {hits[:5]}" for p, line, hits, why in found if not why]
    assert not bare, ("lists of function names with no '# why:' comment above them; derive "
                      "them from multiact._table (TABLE, BY_NAME, the rows' fields) instead:\n"
                      + "\n".join(bare))
    assert len(found) <= MAX_LISTS, "\n".join(f"{p}:{line} ({why})" for p, line, _, why in found)


def test_no_list_of_function_names_in_the_library():
    # src/ derives every list from the table, with or without a reason (issue 17)
    found = [f"{p}:{line} {hits[:5]}" for p, line, hits, _ in name_lists() if p.startswith("src/")]
    assert not found, "\n".join(found)
