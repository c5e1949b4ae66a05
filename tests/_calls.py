"""One helper for the kernel tests: count the calls to a module's function while
running ``fn`` (a profile hook would disturb Triton's interpreter)."""

from __future__ import annotations


def calls_to(module, attr, fn):
    """``(fn(), calls)``: ``calls`` holds the first argument of every call to
    ``module.attr`` made while ``fn`` ran."""
    calls = []
    orig = getattr(module, attr)

    def counting(*a, **k):
        calls.append(a[0])
        return orig(*a, **k)

    setattr(module, attr, counting)
    try:
        out = fn()
    finally:
        setattr(module, attr, orig)
    return out, calls
