"""conformance/device_run.sh, the GPU machine's prepared run, tried on CPU as far as it
goes (``DEVICE_RUN_DEVICE=cpu``): its steps, their time limits, and what it leaves in
``$OUT`` for the device tool to bring back (at most 8 files, plain names)."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "conformance" / "device_run.sh"


def _run(out, **env):
    path = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    env = dict(os.environ, OUT=str(out), PATH=path, DEVICE_RUN_DEVICE="cpu",
               JAX_PLATFORMS="cpu", **env)
    return subprocess.run(["bash", str(SCRIPT)], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=env)


def test_the_scripts_parse():
    for name in ("device_run.sh", "gpu.sh", "device_wheels.sh"):
        r = subprocess.run(["bash", "-n", str(ROOT / "conformance" / name)],
                           capture_output=True, text=True)
        assert r.returncode == 0, (name, r.stderr)


def test_device_run_reports_each_step_in_files_the_device_tool_brings_back(tmp_path):
    out = tmp_path / "out"
    r = _run(out, DEVICE_RUN_STEPS="info bench first")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    files = sorted(p.name for p in out.iterdir())
    assert files == ["first-call.md", "log.txt", "performance-gpu.md", "steps.md"]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", f) for f in files)
    steps = (out / "steps.md").read_text()
    assert re.search(r"\| info \| 0 \| \d+ \| 15 \|", steps), steps
    assert re.search(r"\| bench \| 0 \| \d+ \| 60 \|", steps), steps
    assert re.search(r"\| first \| 0 \| \d+ \| 45 \|", steps), steps
    assert "aot" not in steps  # (DEVICE_RUN_STEPS: the others are not run)
    log = (out / "log.txt").read_text()
    assert re.search(r"^torch 2\.\d+", log, flags=re.M), log[-2000:]  # the versions
    table = (out / "performance-gpu.md").read_text()
    # (the unit is the time's: a busy machine once took 52 ms over 65536 elements)
    assert re.search(r"^\| torch \| float32 \| gelu \| [\d.]+ (?:ns|us|ms|s) \|", table,
                     flags=re.M), table
    assert "MULTIACT_KERNELS=framework" in table  # the mode it measured, said
    first = (out / "first-call.md").read_text()
    assert re.search(r"\*\*\d+ of \d+ first calls within", first), first[:2000]


def test_a_step_out_of_its_time_is_recorded_and_the_run_goes_on(tmp_path):
    out = tmp_path / "out"
    # 15 s x 0.01: 1 s, less than info's imports of torch, JAX and Triton take
    r = _run(out, DEVICE_RUN_STEPS="info bench", DEVICE_RUN_SCALE="0.01")
    assert r.returncode == 1
    steps = (out / "steps.md").read_text()
    assert re.search(r"\| info \| 124 \| \d+ \| 1 \|", steps), steps
    assert "| bench |" in steps  # the next step still ran


def test_an_unknown_step_stops_the_run_before_anything_runs(tmp_path):
    out = tmp_path / "out"
    r = _run(out, DEVICE_RUN_STEPS="info benchmark")
    assert r.returncode == 2
    assert "unknown step benchmark" in r.stderr + r.stdout
    assert not (out / "steps.md").exists()
