"""The public API is typed: a user's ``mypy --strict`` passes, the array type
is kept (``reveal_type(multiact.gelu(tensor))`` is ``Tensor``), and another
library's argument names are caught before the program runs."""

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("mypy")

USER = textwrap.dedent('''
    import numpy as np
    import numpy.typing as npt
    import torch
    import multiact


    def layer(x: torch.Tensor) -> torch.Tensor:
        return multiact.gelu(x) + multiact.softmax(x, axis=-1)


    def np_layer(a: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return multiact.silu(a)


    # decision 151: a mask or a parameter array of another dtype, and a NumPy scalar
    # parameter (valid with every backend), were type errors or lost the array type
    def masked(a: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        return multiact.softmax(a, where=a > 0)


    def scalar_param(x: torch.Tensor) -> torch.Tensor:
        return multiact.leaky_relu(x, np.float32(0.2)) + multiact.prelu(x, np.float64(0.1))


    def weighted(a: npt.NDArray[np.float32], w: npt.NDArray[np.float64]) -> object:
        return multiact.logsumexp(a, b=w)


    def configured(x: torch.Tensor) -> torch.Tensor:
        act = multiact.Activation("gelu", approximate=False)
        act = multiact.Activation.from_config(act.to_config())
        return act(x) + multiact.get("gelu_new")(x) + multiact.get({"name": "silu"})(x)


    # decision 181: NumPy scalars for the parameters typed float and int (relu's
    # slope, an axis, a count, epsilon) were type errors, and are taken at run time
    def numpy_scalars(x: torch.Tensor, labels: npt.NDArray[np.int64]) -> object:
        y = multiact.relu(x, negative_slope=np.float32(0.1), max_value=np.float64(6))
        y = y + multiact.softmax(x, axis=np.int64(-1)) + multiact.standardize(
            x, axis=(np.int64(0), -1), epsilon=np.float64(1e-3))
        return y, multiact.one_hot(labels, np.int64(3))


    report = multiact.info("relu", backends=["numpy"])
    known: list[str] = multiact.names()


    val, sign = multiact.logsumexp(torch.ones(3), return_sign=True)
    reveal_type(multiact.gelu(torch.ones(2)))
    reveal_type(multiact.relu(np.ones(2, dtype=np.float32)))
    reveal_type(multiact.relu([1.0, 2.0]))
    reveal_type(val)
    reveal_type(multiact.gelu(torch.ones(2), approximate="tanh"))
    reveal_type(multiact.elu(torch.ones(2), alpha=torch.ones(2)))
    reveal_type(multiact.swish(torch.ones(2)))
    reveal_type(multiact.leaky_relu(torch.ones(2), np.float32(0.2)))
''')

BAD = textwrap.dedent('''
    import torch
    import multiact

    multiact.softmax(torch.ones(3), dim=0)
    multiact.gelu(torch.ones(3), approximate="fast")
    multiact.softmax(torch.ones(3), axis=1.5)
''')


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory):
    """``mypy --strict`` of USER (user.py) and BAD (bad.py), run once for both: a
    cold mypy run reads torch's and NumPy's stubs, 20-30 s on the CI machine."""
    pytest.importorskip("torch")
    d = tmp_path_factory.mktemp("mypy")
    (d / "user.py").write_text(USER)
    (d / "bad.py").write_text(BAD)
    out = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--cache-dir",
                          str(d / ".mypy_cache"), str(d / "user.py"), str(d / "bad.py")],
                         capture_output=True, text=True, timeout=600)
    text = out.stdout + out.stderr
    assert out.returncode in (0, 1), text  # (1: errors found; 2: mypy itself failed)
    lines = text.splitlines()
    # (an error anywhere but bad.py, multiact's own stubs included, is user.py's)
    return {"bad.py": [line for line in lines if "bad.py:" in line],
            "user.py": [line for line in lines if "bad.py:" not in line]}


def test_user_code_passes_mypy_strict_and_keeps_array_types(mypy_output):
    lines = mypy_output["user.py"]
    assert not [line for line in lines if ": error:" in line], "\n".join(lines)
    revealed = [line.split('Revealed type is "')[1].rstrip('"') for line in lines
                if "Revealed type is" in line]
    assert revealed[0] == "torch._tensor.Tensor"
    assert revealed[1].startswith("numpy.ndarray[") and "32Bit" in revealed[1]
    assert revealed[2].startswith("numpy.ndarray[")
    assert revealed[3:] == ["torch._tensor.Tensor"] * 5


def test_wrong_arguments_are_type_errors(mypy_output):
    text = "\n".join(mypy_output["bad.py"])
    assert 'No overload variant of "softmax" matches argument types' in text, text
    assert 'No overload variant of "gelu" matches' in text, text
    assert 'No overload variant of "softmax" matches argument types "Tensor", "float"' in text, \
        text
