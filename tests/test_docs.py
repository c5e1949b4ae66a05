"""What tools/generate.py derives from the function table is up to date, and
every public function documents its maths, its parameters and an example."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("generate", ROOT / "tools" / "generate.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_generated_files_are_up_to_date():
    stale = [rel for rel, text in _generator().render().items()
             if not (ROOT / rel).exists() or (ROOT / rel).read_text() != text]
    assert not stale, f"run `python tools/generate.py`; stale: {stale}"


def test_every_public_function_has_math_parameters_and_example():
    import multiact
    from multiact._table import TABLE

    for info in TABLE:
        doc = getattr(multiact, info.name).__doc__ or ""
        assert doc == info.body.__doc__ or doc.strip() == info.doc.strip(), info.name
        assert ".. math::" in doc, info.name
        assert "Example" in doc and ">>> " in doc, info.name
        assert "Args:" in doc, info.name
        for p in info.params:
            assert f"  {p.name}:" in doc, (info.name, p.name)
    assert multiact.Activation.__doc__ and ">>> " in multiact.Activation.__doc__


def test_api_pages_are_markdown():
    # the generated pages render on GitHub: no Sphinx roles or directives left, doctest
    # examples inside ```python fences, math in $$ blocks, Returns as one paragraph
    import re

    pages = _generator().render_docs()
    assert len(pages) > 30
    for rel, text in pages.items():
        assert not re.search(r":[a-z]+:`", text), (rel, re.findall(r".*:[a-z]+:`.*", text))
        assert not re.search(r"^\s*\.\. [a-z]+::", text, flags=re.M), rel
        fenced = False
        for line in text.splitlines():
            if line.startswith("```"):
                fenced = not fenced
            elif line.lstrip().startswith(">>>"):
                assert fenced, (rel, line)
        assert not fenced, rel
        assert text.count("$$") % 2 == 0, rel
        if "**Returns**" in text:
            body = text.split("**Returns**", 1)[1].strip().split("\n\n", 1)[0]
            assert not body.startswith("- ") and "\n" not in body, (rel, body)


def test_docs_speak_of_the_project_only():
    # what a user reads says what multiact does and what they can run, not how it was written
    import re

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    words = re.compile(r"\bthe brief\b|\bsessions?\b|\bwas lent\b|\bthe [A-Za-z]+ issue\b",
                       flags=re.I)
    found = [(p.relative_to(ROOT).as_posix(), m.group(0)) for p in pages
             for m in words.finditer(p.read_text())]
    assert not found, found
