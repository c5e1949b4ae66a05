"""The generated API pages are the docstrings as they are now."""

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_api_pages_are_up_to_date():
    spec = importlib.util.spec_from_file_location("gen_api_docs", ROOT / "tools" / "gen_api_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    stale = [rel for rel, text in mod.render().items()
             if not (ROOT / rel).exists() or (ROOT / rel).read_text() != text]
    assert not stale, f"run `python tools/gen_api_docs.py`; stale: {stale}"


def test_every_public_function_has_math_parameters_and_example():
    import multiact
    from multiact._registry import _CANONICAL

    for name, fn in _CANONICAL.items():
        doc = fn.__doc__ or ""
        assert "Example" in doc and ">>> " in doc, name
        assert "Args:" in doc, name
    assert multiact.Activation.__doc__ and ">>> " in multiact.Activation.__doc__
