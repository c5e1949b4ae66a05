"""README.md as a newcomer meets it: every python block runs as written, each on
its own (in a fresh interpreter); there are exactly two fresh-machine commands,
and .ci/run runs those very commands."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_python_block_runs_as_written(code, tmp_path):
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=600, env=env)
    assert out.returncode == 0, out.stderr[-3000:]


def test_two_fresh_machine_commands_and_ci_runs_them():
    commands = re.findall(r"```bash\n(.*?)\n```", README, flags=re.S)
    assert len(commands) == 2, commands
    main, tests = commands
    assert main.endswith("multiact check") and "pip install" in main
    assert "python -m pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert "README.md" in ci and "bash" in ci  # .ci/run runs the README's blocks
