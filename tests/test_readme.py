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


MAIN = ('python3 -m venv .venv && . .venv/bin/activate && pip install torch==2.13.0 && '
        'pip install -e ".[all]" && multiact check')


def _section(title):
    return README.split(f"\n## {title}", 1)[1].split("\n## ", 1)[0]


def test_two_fresh_machine_commands_and_ci_runs_them():
    commands = re.findall(r"```bash\n(.*?)\n```", README, flags=re.S)
    assert len(commands) == 2, commands
    main, tests = commands
    assert main == MAIN                       # as CI has always run it
    # both passes on two workers (CI within its time on 2 cores, decision 97), not -q,
    # and the fused kernels' pass in the same command
    assert tests.count("python -m pytest -n 2") == 2
    assert "pytest -q" not in tests and "MULTIACT_KERNELS=fused TRITON_INTERPRET=1" in tests
    assert all(c in _section("For contributors: a fresh machine") for c in commands)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "README.md" in ci and "bash" in ci  # .ci/run runs the README's blocks


def test_install_comes_first_and_names_every_extra():
    import tomllib

    assert re.findall(r"^## (.*)$", README, flags=re.M)[0] == "Install"
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    install = _section("Install")
    for extra in extras:
        assert f"| `{extra}` |" in install, extra
    assert 'pip install ".[' in install and "pip wheel ." in install
    assert 'pip install --find-links dist "multiact[torch]"' in install


def test_opening_says_what_is_measured_and_differences_link_the_table():
    opening = README.split("\n## ", 1)[0]
    assert "not yet measured" in opening and "bash conformance/gpu.sh" in opening
    differs = _section("Where multiact deliberately differs from jax.nn / torch.nn.functional")
    assert "docs/decisions.md#deliberate-differences-from-pytorch-jax-and-keras" in differs
    decisions = (ROOT / "docs" / "decisions.md").read_text()
    assert "\n## Deliberate differences from PyTorch, JAX and Keras\n" in decisions
