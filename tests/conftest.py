"""tests/: the per-library fixture is the root conftest's ``target`` (the same
converter as ``multiact check`` and the conformance suite); ``xp`` is its name
here, ``adxp`` the same limited to the autodiff backends (torch, jax)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def xp(target):
    return target


@pytest.fixture
def adxp(target):
    return target


# Triton's interpreter must be on from the start of the process (see the file).
if os.environ.get("TRITON_INTERPRET", "0") in ("", "0"):
    collect_ignore = ["test_kernels_triton.py"]
