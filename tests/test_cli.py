"""The ``multiact`` command as a newcomer meets it: progress on stderr, bad input
answered in one line with exit status 2, missing extras named, --version, a
footer for what did not run, and ``multiact info``."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

import multiact

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run(*args, code=None, env=None):
    cmd = [sys.executable, "-m", "multiact", *args] if code is None else [sys.executable, "-c",
                                                                         code, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          env=None if env is None else {**os.environ, **env})


def test_version():
    out = _run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"multiact {multiact.__version__}"


def _unknown(typo):
    """The message for an unknown name: the three closest names (difflib's ratio,
    as the CLI promises), so a new function that comes closer is picked up."""
    import difflib

    close = difflib.get_close_matches(typo, sorted(multiact.names()), n=3, cutoff=0.5)
    assert close[:2] == ["glu", "gelu"] or close[:2] == ["gelu", "glu"], close
    return (f"multiact: error: unknown activation {typo!r}; did you mean "
            f"{', '.join(map(repr, close))}? (multiact list shows them all)")


@pytest.mark.parametrize("args, message", [
    (["check", "--function", "gleu"], _unknown("gleu")),
    (["check", "--function", "nope"], "multiact: error: unknown activation 'nope' (multiact "
                                      "list shows them all)"),
    (["compile", "--function", "nope"], "multiact: error: unknown activation 'nope' (multiact "
                                        "list shows them all)"),
    (["check", "--dtype", "float8"], "multiact: error: unknown dtype 'float8' (known: float64, "
                                     "float32, float16, bfloat16)"),
    (["check", "--backend", "tensorflow"], "multiact: error: unknown backend 'tensorflow' "
                                           "(known: numpy, torch, jax, cupy, array_api_strict, "
                                           "dask)"),
    (["check", "--device", "tpu"], "multiact: error: unknown device 'tpu' (known: cpu, cuda)"),
    # an argument the subcommand does not take: its own --help is the one to read
    (["check", "--nope"], "multiact check: error: unrecognized arguments: --nope (see "
                          "multiact check --help)"),
    (["info", "gelu", "extra"], "multiact info: error: unrecognized arguments: extra (see "
                                "multiact info --help)"),
    (["--nope", "list"], "multiact: error: unrecognized arguments: --nope (see multiact "
                         "--help)"),  # (before the subcommand: the top level's)
    # an empty --device read as "any device" ("no backend found: install one")
    (["check", "--device", "", "-q"], "multiact: error: argument --device: expected a device "
                                      "(cpu, cuda), got an empty value"),
    (["info", "relu", "--device", ""], "multiact: error: argument --device: expected a device "
                                       "(cpu, cuda), got an empty value"),
    # an empty --json PATH wrote nothing, with exit status 0
    (["check", "--function", "relu", "--backend", "numpy", "-q", "--json", ""],
     "multiact: error: --json '': expected a file path (or --json alone for stdout), got an "
     "empty value"),
    (["info", "gleu"], _unknown("gleu")),
    # (decision 143: info took these with exit 0, "no backend installed")
    (["info", "gelu", "--backend", "nosuch"], "multiact: error: unknown backend 'nosuch' "
                                              "(known: numpy, torch, jax, cupy, "
                                              "array_api_strict, dask)"),
    (["info", "gelu", "--device", "tpu"], "multiact: error: unknown device 'tpu' (known: cpu, "
                                          "cuda)"),
    (["check", "--function", "relu", "--json", "/nonexistent/dir/x.json"],
     "multiact: error: --json '/nonexistent/dir/x.json': cannot write there (no such folder, or "
     "not writable)"),
    (["check", "--backend", "numpy", "--function", "relu", "--dtype", "bfloat16", "-q"],
     "multiact: error: no selected backend has dtype bfloat16 (they have: float16, float32, "
     "float64)"),
])
def test_bad_input_is_one_line_and_exit_2(args, message):
    out = _run(*args)
    assert out.returncode == 2
    assert out.stderr.strip() == message, out.stderr
    assert "Traceback" not in out.stderr


def _one_line_exit_2(out, message):
    assert out.returncode == 2, out.stdout[-2000:] + out.stderr[-2000:]
    assert out.stderr.strip() == message, out.stderr[-2000:]


def test_json_path_that_is_a_folder_is_refused_before_the_run(tmp_path):
    # it passed the up-front check, and failed after the whole run (IsADirectoryError)
    out = _run("check", "--function", "relu", "--backend", "numpy", "-q", "--json",
               str(tmp_path))
    _one_line_exit_2(out, f"multiact: error: --json {str(tmp_path)!r}: is a folder (expected "
                          f"a file path)")
    assert out.stdout == ""


BAD_KERNELS = ("multiact: error: MULTIACT_KERNELS must be one of auto, fused, framework (or "
               "unset), got 'bogus'")


@pytest.mark.parametrize("args", [
    ["check", "--function", "relu", "--backend", "numpy", "--dtype", "float32", "-q"],
    ["info", "relu", "--backend", "numpy"],
    ["compile", "--function", "relu", "--dtype", "float32", "-q"],
], ids=["check", "info", "compile"])
def test_a_bad_kernels_setting_is_refused_up_front(args):
    # check reported the library's ValueError as accuracy FAILs (exit 1) on torch, info
    # printed a traceback, compile ignored it: the library's own message, exit 2
    _one_line_exit_2(_run(*args, env={"MULTIACT_KERNELS": "bogus"}), BAD_KERNELS)


def _hidden(modules, args):
    """``main(args)`` in a process where ``modules`` are not installed."""
    code = textwrap.dedent(f"""
        import sys
        for m in {modules!r}:
            sys.modules[m] = None           # as if it were not installed
        from multiact._check.cli import main
        sys.exit(main({args!r}))
    """)
    return _run(code=code)


NO_TORCH = ("multiact: error: backend 'torch' on device 'any' was asked for but is not "
            "available: not installed")


@pytest.mark.parametrize("modules, args, message", [
    (["torch"], ["compile", "--function", "relu", "--dtype", "float32", "-q"],
     "multiact: error: multiact compile without --target warms PyTorch's kernel caches and "
     "needs torch: pip install 'multiact[torch]' (or pass --target to compile ahead of time)"),
    # (the intended message was unreachable: the selection's checks import NumPy first)
    (["numpy"], ["check", "--backend", "array_api_strict", "--function", "relu", "-q"],
     "multiact: error: multiact check needs numpy: pip install 'multiact[check]'"),
    (["numpy"], ["info", "relu"], "multiact: error: multiact info needs numpy: pip install "
                                  "'multiact[numpy]'"),
    # info said "no backend installed" with exit 0 where check refused the backend
    (["torch"], ["info", "relu", "--backend", "torch"], NO_TORCH),
    (["torch"], ["check", "--function", "relu", "--backend", "torch", "-q"], NO_TORCH),
], ids=["compile-no-torch", "check-no-numpy", "info-no-numpy", "info-no-torch",
        "check-no-torch"])
def test_a_missing_framework_is_one_line_not_a_traceback(modules, args, message):
    _one_line_exit_2(_hidden(modules, args), message)


def test_a_backend_without_a_device_says_why():
    # CuPy installed, no GPU: the refusal said "(devices: not installed)"; now the
    # words of the "not run" footer.  (CuPy's presence and the GPU's absence are made
    # here, so that the test runs on any machine.)
    code = textwrap.dedent("""
        import sys
        import multiact._check.targets as t
        available, devices = t.available, t.devices
        t.available = lambda b: b == "cupy" or available(b)
        t.devices = lambda b: [] if b == "cupy" else devices(b)
        from multiact._check.cli import main
        sys.exit(main(sys.argv[1:]))
    """)
    message = ("multiact: error: backend 'cupy' on device 'any' was asked for but is not "
               "available: no device (CuPy needs a CUDA GPU)")
    _one_line_exit_2(_run("check", "--backend", "cupy", "-q", code=code), message)
    _one_line_exit_2(_run("info", "relu", "--backend", "cupy", code=code), message)


def test_compile_refuses_a_cache_that_is_not_a_folder(tmp_path):
    # every kernel row failed with NotADirectoryError, and MULTIACT_CACHE was never named
    afile = tmp_path / "afile"
    afile.write_text("x")
    for cache in (afile, afile / "sub"):
        out = _run("compile", "--target", "cuda:90", "--function", "relu", "--dtype",
                   "float32", "-q", env={"MULTIACT_CACHE": str(cache)})
        _one_line_exit_2(out, f"multiact: error: MULTIACT_CACHE {str(cache)!r}: {afile} is not "
                              f"a folder (expected a writable folder for the compiled kernels)")
        assert out.stdout == ""


def test_compile_takes_a_relative_cache_that_does_not_exist_yet(tmp_path, monkeypatch):
    # MULTIACT_CACHE=relcache, where relcache is to be made: refused as "'' is not a
    # folder" by the first form of the check above (made by the compile before it)
    from multiact._check import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MULTIACT_CACHE", "relcache")
    assert cli._cache_error(os.path.join("relcache", "aot")) is None
    (tmp_path / "afile").write_text("x")
    assert "is not a folder" in cli._cache_error(os.path.join("afile", "aot"))


def test_info_notes_match_the_rows_shown():
    # the CuPy note (no CUDA C++ kernel in bfloat16) was printed under --backend numpy
    out = _run("info", "gelu", "--backend", "numpy")
    assert out.returncode == 0, out.stderr[-2000:]
    assert "CuPy" not in out.stdout and "Inductor" not in out.stdout, out.stdout


def test_info_notes_in_fused_mode():
    # MULTIACT_KERNELS=fused: kernels at every size, compiled on the caller's thread
    # (decision 34); the note spoke of small tensors and a background compile
    pytest.importorskip("torch")
    out = _run("info", "gelu", "--backend", "torch", "--device", "cpu",
               env={"MULTIACT_KERNELS": "fused"})
    assert out.returncode == 0, out.stderr[-2000:]
    notes = [line for line in out.stdout.splitlines() if line.startswith("note: torch on CPU")]
    assert notes == ["note: torch on CPU: MULTIACT_KERNELS=fused: calls of every size take a "
                     "fused kernel where the row has one, compiled at its first call on the "
                     "caller's thread"], out.stdout
    assert "background" not in out.stdout and "small tensors" not in out.stdout


def test_check_progress_matrix_footer_and_json(tmp_path):
    path = tmp_path / "m.json"
    # a backend or function named twice runs once (gelu and PyTorch's name for it)
    out = _run("check", "--backend", "numpy", "--function", "gelu", "--function", "softmax",
               "--backend", "numpy", "--function", "Gelu", "--json", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "multiact check: numpy:cpu float64 (3 functions)..." in out.stderr  # progress
    lines = out.stdout.splitlines()
    row = next(line for line in lines if line.startswith("gelu "))
    b = multiact._table.BY_NAME["gelu"].bounds  # worst/bound dtype
    assert any(f"/{b[d]:g} {s}" in row for d, s in (("float64", "f64"), ("float32", "f32"),
                                                     ("float16", "f16")))
    assert lines[-1].startswith("6 passed, 0 failed") or "passed, 0 failed" in lines[-1]
    data = json.loads(path.read_text())
    assert data["schema"] == "multiact-conformance/1"
    assert data["multiact"] == multiact.__version__ and "numpy" in data["versions"]
    assert {c["function"] for c in data["cells"]} == {"gelu", "gelu(approximate=False)",
                                                       "softmax"}
    assert len(data["cells"]) == len({json.dumps(c, sort_keys=True) for c in data["cells"]})
    assert "(1 backend/device pairs)" in lines[-1]
    out = _run("check", "--function", "relu", "-q")
    assert "not run: cupy (not installed)" in out.stdout or "not run: cupy" in out.stdout
    assert out.stderr == ""  # -q: no progress


def test_missing_check_extra_is_named():
    code = textwrap.dedent("""
        import sys
        sys.modules["mpmath"] = None      # as if the [check] extra were not installed
        from multiact._check.cli import main
        sys.exit(main(["check", "--backend", "numpy"]))
    """)
    out = _run(code=code)
    assert out.returncode == 2
    assert out.stderr.strip() == ("multiact: error: multiact check needs mpmath: pip install "
                                  "'multiact[check]'")


def test_info_leaves_jax_as_it_was_and_refuses_unknown_backends():
    # decision 151: multiact.info turned JAX's x64 mode on for the whole program (its
    # float64 rows need it), and took a misspelled backend, or a bare string read
    # letter by letter, as "no backend installed"
    code = textwrap.dedent("""
        import jax, jax.numpy as jnp, multiact
        assert jnp.ones(3).dtype == jnp.float32
        report = multiact.info("relu")
        assert any(r["backend"] == "jax" and r["dtype"] == "float64" for r in report)
        assert jnp.ones(3).dtype == jnp.float32, jnp.ones(3).dtype
        for bad, kind in ((["nosuch"], ValueError), ("numpy", TypeError)):
            try:
                multiact.info("relu", backends=bad)
            except kind as e:
                assert "multiact.info: argument 'backends'" in str(e) and (
                    kind is TypeError or "unknown backend 'nosuch'" in str(e)), e
            else:
                raise AssertionError(bad)
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


def test_info_command_and_function():
    out = _run("info", "hardswish", "--backend", "numpy")
    assert out.returncode == 0, out.stderr
    assert "multiact.info('hard_silu')" in out.stdout
    assert "special case" in out.stdout and "multiact/backends/numpy.py:" in out.stdout
    report = multiact.info("softmax", backends=["numpy"])
    f64 = next(r for r in report if r["dtype"] == "float64")
    assert f64["implementation"] == "special case" and "numpy.py" in f64["where"]
    f16 = next(r for r in report if r["dtype"] == "float16")
    assert f16["implementation"].startswith("generic body")
    assert "reductions.py" in f16["where"]


def test_info_on_torch_shows_routes():
    pytest.importorskip("torch")
    report = multiact.info("gelu", backends=["torch"])
    routes = {(r["dtype"], r["route"]) for r in report}
    assert ("float32", "inference") in routes and ("float32", "training") in routes
    assert all(r["where"] != "?" for r in report), report


@pytest.mark.parametrize("hide", [False, True], ids=["scipy", "no-scipy"])
def test_info_describes_only_routes_that_can_run_here(hide):
    # NumPy's exact GELU runs SciPy's ndtr only where SciPy is importable; the report
    # says so there, and nowhere else
    code = textwrap.dedent(f"""
        import sys
        if {hide}:
            sys.modules["scipy"] = None         # as if SciPy were not installed
        import numpy as np, multiact
        print(multiact.info("gelu", backends=["numpy"]))
        y = multiact.gelu(np.linspace(-3, 3, 7, dtype=np.float32), approximate=False)
        print(repr(y[0]))
    """)
    out = _run(code=code)
    assert out.returncode == 0, out.stderr[-2000:]
    assert ("SciPy" in out.stdout) is not hide, out.stdout
    assert ("the generic ndtr" in out.stdout) is hide, out.stdout


def test_list_prints_every_name_with_its_aliases():
    from multiact._table import PRESETS, TABLE

    out = _run("list")
    assert out.returncode == 0 and not out.stderr, out.stderr
    table, _, rest = out.stdout.partition("\n\n")
    lines = table.splitlines()
    rows = {line.split()[0]: line.split(None, 1)[1:] for line in lines[1:]}
    # then the names with parameters (decision 145), each as its Activation's repr reads
    presets = dict(line.split() for line in rest.splitlines()[1:])
    assert presets == {n: repr(multiact.get(n))[len("Activation('"):].replace("', ", "(")
                       for n in PRESETS}
    assert presets["gelu_new"] == "gelu(approximate=True)"
    assert sorted(rows) == sorted(info.name for info in TABLE)
    for info in TABLE:
        aliases = rows[info.name][0].split(", ") if rows[info.name] else []
        assert aliases == list(info.aliases), (info.name, aliases)
    named = set(rows) | {a for v in rows.values() for a in (v[0].split(", ") if v else [])}
    assert named | set(presets) == set(multiact.names())
    assert "hard_silu" in out.stdout and "hard_swish, hardswish" in out.stdout


def test_pytest_report_under_xdist_is_refused_not_empty(tmp_path):
    # each pytest-xdist worker collects a part of the matrix: --report with -n is a
    # usage error, never a file with no cells
    out = tmp_path / "m.json"
    r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2",
                        "--backend", "numpy", "--report", str(out),
                        "conformance/test_elementwise.py", "-k", "silu and float32"],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 4, r.stdout + r.stderr
    assert "--report writes the matrix one process collects" in r.stderr
    assert not out.exists()


def test_output_cut_short_by_its_reader_is_not_an_error():
    # `multiact list | head -2`: the reader closes the pipe (decision 143: a
    # BrokenPipeError traceback before)
    p = subprocess.Popen([sys.executable, "-m", "multiact", "list"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    p.stderr.close()
    assert p.wait(timeout=120) == 0 and "Traceback" not in err, err
