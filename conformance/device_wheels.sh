#!/usr/bin/env bash
# The Python packages the GPU machine lacks, as wheels in .whl/ (git-ignored), for
# conformance/device_run.sh to install there (run this where PyPI is reachable, in the
# repository's root, then carry .whl with the run).  The GPU machine's image has torch,
# CuPy, JAX, Triton, transformers, pytest, pytest-xdist, hypothesis, mpmath and SciPy,
# but not array-api-compat (multiact's one requirement) nor expecttest (torch's OpInfo
# database, conformance/test_opinfo.py, imports it).  Both are pure Python.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
  -d .whl "array-api-compat==1.16.0" "expecttest==0.3.0"
ls .whl
