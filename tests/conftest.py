"""tests/: the per-library fixture is the root conftest's ``target`` (a conformance
target: the same converter as ``multiact check`` and the conformance suite);
``ad_target`` is the same, limited to the autodiff backends (torch, jax)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def ad_target(target):
    """The conformance target, for the autodiff backends only (the root conftest
    generates no other cells for a test that takes it)."""
    return target


# Triton's interpreter must be on from the start of the process (see the file).
if os.environ.get("TRITON_INTERPRET", "0") in ("", "0"):
    collect_ignore = ["test_kernels_triton.py"]


@pytest.fixture
def used_kernel():
    """``used_kernel(fn, *args)``: whether calling ``fn`` launched a Triton kernel
    (counted at the launch: a profile hook would disturb Triton's interpreter)."""
    from _calls import calls_to

    from multiact.kernels import triton as kt

    def check(fn, *args):
        return bool(calls_to(kt, "_launch", lambda: fn(*args))[1])

    return check
