"""Distributed arrays: PyTorch DTensor on a 2-process gloo mesh (every function,
every placement, including sharding along the reduced axis), JAX arrays sharded
over 8 (host) devices (the output keeps the input's sharding, eager and under
``jax.jit``), dask arrays with unknown chunk sizes (after boolean indexing)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import multiact
from multiact._table import TABLE

DTENSOR = textwrap.dedent("""
    import os, sys, json
    import torch, torch.distributed as dist
    import torch.multiprocessing as mp
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Replicate, Shard, distribute_tensor
    import multiact
    from multiact._table import TABLE

    def run(rank, world, port):
        os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", port
        dist.init_process_group("gloo", rank=rank, world_size=world)
        mesh = init_device_mesh("cpu", (world,))
        x = torch.linspace(-3, 3, 48, dtype=torch.float64).reshape(4, 12)
        x[0, 3] = 40.0                       # a large entry: the split sums matter
        problems = []
        for info in TABLE:
            if info.name == "one_hot":
                continue
            f = getattr(multiact, info.name)
            p = dict(info.cases[0].params)
            xin = x.abs() + 0.1 if info.nonneg_input else x
            want = f(xin, **p)
            xr = xin.clone().requires_grad_(True)
            f(xr, **p).sin().sum().backward()    # sin: softmax's plain sum has gradient 0
            for pl in ([Shard(0)], [Shard(1)], [Replicate()]):
                dx = distribute_tensor(xin, mesh, pl).requires_grad_(True)
                try:
                    y = f(dx, **p)
                    full = y.full_tensor()
                    if not torch.allclose(full, want, rtol=1e-12, atol=1e-14):
                        problems.append(f"{info.name} {pl}: values")
                    if info.elementwise and y.placements != dx.placements:
                        problems.append(f"{info.name} {pl}: placements {y.placements}")
                    y.sin().sum().backward()
                    if not torch.allclose(dx.grad.full_tensor(), xr.grad, rtol=1e-12,
                                          atol=1e-14):
                        problems.append(f"{info.name} {pl}: gradient")
                except Exception as e:
                    problems.append(f"{info.name} {pl}: {type(e).__name__}: {e}"[:300])
        # Every rank reports (a file each), waits for the other, and leaves without
        # the interpreter's teardown: gloo's teardown aborted a rank twice on the
        # loaded CI machine ("terminate called without an active exception",
        # SIGABRT) with no multiact kernel or thread alive; what this test checks
        # is complete once both reports are written.
        with open(f"{sys.argv[2]}.{rank}", "w") as fh:
            fh.write(json.dumps(problems))
        dist.barrier()
        sys.stdout.flush()
        os._exit(0)

    if __name__ == "__main__":
        mp.spawn(run, args=(2, sys.argv[1]), nprocs=2)
""")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def _on_cpu(target):
    return target.device == "cpu"


@pytest.mark.backends("torch")
@pytest.mark.cells_where(predicate=_on_cpu)  # a CPU gloo mesh
def test_dtensor_every_function_every_placement(target, tmp_path):
    script = tmp_path / "dtensor.py"
    script.write_text(DTENSOR)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    report = tmp_path / "problems"
    out = subprocess.run([sys.executable, str(script), _free_port(), str(report)],
                         capture_output=True, text=True, timeout=900, env=env)
    assert out.returncode == 0, out.stderr[-4000:]
    import json

    for rank in (0, 1):
        problems = json.loads((tmp_path / f"problems.{rank}").read_text())
        assert problems == [], (rank, problems)


def _unknown_chunks(target):
    import dask.array as da

    data = np.random.default_rng(3).standard_normal((10, 8)) * 3
    keep = data[:, 0] > -1.0
    keep[8:] = False                              # an empty chunk, as indexing often leaves
    x = da.from_array(data, chunks=(4, 3))
    xu = x[da.from_array(keep, chunks=4)]       # rows: unknown chunk sizes
    assert any(np.isnan(c) for c in xu.chunks[0])
    return xu, data[keep]


def _row_on_unknown_chunks(target, info):
    """``(f, params, xu, ref)``: the row's function and first case's parameters, the
    dask input with unknown chunk sizes and its NumPy values (positive for a row
    that takes positive input)."""
    xu, ref = _unknown_chunks(target)
    if info.nonneg_input:
        xu, ref = abs(xu) + 0.1, np.abs(ref) + 0.1
    return getattr(multiact, info.name), dict(info.cases[0].params), xu, ref


@pytest.mark.backends("dask")
@pytest.mark.parametrize("info", [i for i in TABLE if i.name != "one_hot"], ids=lambda i: i.name)
def test_dask_unknown_chunk_sizes(target, info):
    f, p, xu, ref = _row_on_unknown_chunks(target, info)
    for kw in ({},) + (({"axis": 0},) if any(q.name == "axis" for q in info.params) else ()):
        # splitting or sorting the axis of unknown size: a clear error, never NaN
        # (sparsemax along the known axis, in three chunks there: decision 232)
        if (info.halves or info.name == "sparsemax") and kw:
            with pytest.raises(ValueError, match=rf"multiact\.{info.name}: argument 'x' has "
                               r"an unknown size along axis 0"):
                f(xu, **kw)
            continue
        got = np.asarray(f(xu, **{**p, **kw}).compute())
        want = f(ref, **{**p, **kw})
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.backends("dask")
@pytest.mark.parametrize("info", [i for i in TABLE if any(q.name == "where" for q in i.params)
                                  and i.name != "sparsemax"], ids=lambda i: i.name)
def test_dask_unknown_chunk_sizes_with_where(target, info):
    # a mask of x's unknown shape (computed from x) and one that broadcasts along a
    # known axis: NumPy's values (the masked count broadcast its mask with
    # broadcast_to, which dask refuses for unknown sizes)
    import dask.array as da

    f, p, xu, ref = _row_on_unknown_chunks(target, info)
    cols = np.array([True, False, True, True, False, True, True, True])
    axis = {"axis": -1} if info.name in ("logsumexp", "logmeanexp") else {}
    for mask, want_mask in ((xu > 0.5, ref > 0.5), (da.from_array(cols, chunks=3), cols)):
        with np.errstate(invalid="ignore", divide="ignore"):  # (a row with nothing kept)
            got = np.asarray(f(xu, where=mask, **{**p, **axis}).compute())
            want = f(ref, where=want_mask, **{**p, **axis})
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


@pytest.mark.backends("dask")
@pytest.mark.parametrize("info", [i for i in TABLE if not i.elementwise and i.name != "one_hot"],
                         ids=lambda i: i.name)
def test_dask_reduction_graphs_pickle(target, info):
    # decision 194: sparsemax's lazy result refused the standard library's pickle
    # (array_api_compat's dask sort maps a NumPy wrapper pickle cannot find by name);
    # each reduction, along a split axis and a whole one, pickles and computes
    # NumPy's values after the round trip (the element-wise rows' graphs: above)
    import pickle

    import dask.array as da

    xn = np.random.default_rng(194).normal(size=(9, 10))
    if info.nonneg_input:
        xn = np.abs(xn) + 0.1
    f, p = getattr(multiact, info.name), dict(info.cases[0].params)
    for kw in ({},) + (({"axis": 0},) if any(q.name == "axis" for q in info.params) else ()):
        if info.halves and kw:  # (an odd size along axis 0: the body's error)
            continue
        y = f(da.from_array(xn, chunks=(4, 3)), **{**p, **kw})
        got = pickle.loads(pickle.dumps(y)).compute()
        np.testing.assert_allclose(got, f(xn, **{**p, **kw}), rtol=1e-12, atol=1e-14)


@pytest.mark.backends("dask")
@pytest.mark.parametrize("info", [i for i in TABLE if i.name != "one_hot"], ids=lambda i: i.name)
def test_dask_known_empty_chunks(target, info):
    # decision 184: x.compute_chunk_sizes() (what the unknown-size errors advise) leaves
    # chunks of a known size 0, on which dask's max raised "zero-size array to
    # reduction operation maximum" at compute (the softmax family, logsumexp,
    # logmeanexp, sparsemax); unknown sizes took the -inf identity already
    f, p, xu, ref = _row_on_unknown_chunks(target, info)
    xk = xu.compute_chunk_sizes()
    assert 0 in xk.chunks[0], xk.chunks
    for kw in ({},) + (({"axis": 0},) if any(q.name == "axis" for q in info.params) else ()):
        if info.halves and kw:  # (an odd size along axis 0: the body's error)
            continue
        got = np.asarray(f(xk, **{**p, **kw}).compute())
        np.testing.assert_allclose(got, f(ref, **{**p, **kw}), rtol=1e-12, atol=1e-14)


@pytest.mark.backends("dask")
def test_dask_logsumexp_weights_of_unknown_size(target):
    # decision 184: a and b of unknown sizes each (NaN is not NaN): broadcast_arrays
    # raised dask's "cannot broadcast shape (nan,) to shape (nan,)" at the call
    xu, ref = _unknown_chunks(target)
    for axis, b, bref in ((None, xu * 0 + 2, ref * 0 + 2), (1, xu[:, :1] - 1, ref[:, :1] - 1),
                          (0, -abs(xu), -np.abs(ref))):
        got = [np.asarray(t.compute()) for t in multiact.logsumexp(xu, axis=axis, b=b,
                                                                   return_sign=True)]
        want = multiact.logsumexp(ref, axis=axis, b=bref, return_sign=True)
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


@pytest.mark.backends("dask")
def test_dask_parameters_of_unknown_size_that_do_not_broadcast_raise(target):
    # decision 184: a weight or a mask of unknown size that is not x's broadcast block by
    # block (a block of 1 entry stretched over one of 2): logsumexp's b and softmax's
    # where gave values where NumPy raises; now the contract's ValueError, at compute
    import dask.array as da

    an = np.arange(24.0).reshape(6, 4) / 10
    ka, kb = np.array([1, 1, 1, 0, 1, 0], bool), np.array([1, 0, 1, 0, 1, 0], bool)
    a = da.from_array(an, chunks=(2, 4))[da.from_array(ka, chunks=2)]      # 4 rows
    b = da.from_array(np.ones((6, 4)), chunks=(2, 4))[da.from_array(kb, chunks=2)]  # 3
    for call, fname, pname, first in (
            (lambda: multiact.logsumexp(a, axis=0, b=b), "logsumexp", "b", "a"),
            (lambda: multiact.softmax(a, axis=0, where=b > 0), "softmax", "where", "x")):
        y = call()  # (lazy: the sizes are not known before compute)
        with pytest.raises(ValueError, match=rf"^multiact\.{fname}: argument '{pname}' does "
                           rf"not line up with {first}: along axis 0 a block of 1 entry "
                           r"meets one of 2 \(sizes unknown until compute, after boolean "
                           r"indexing: call compute_chunk_sizes\(\) on both"):
            y.compute()
    # the same rows (derived from a) and a size-1 axis known as such still broadcast,
    # on either side (logsumexp's b broadcasts with a: the review's catch)
    for b2, bn in ((a * 0 + 2, an[ka] * 0 + 2), (a[:, :1] - 1, an[ka][:, :1] - 1)):
        np.testing.assert_allclose(multiact.logsumexp(a, axis=0, b=b2).compute(),
                                   multiact.logsumexp(an[ka], axis=0, b=bn), rtol=1e-12)
    cols = np.array([1, 0, 1, 1, 0, 1], bool)
    a1 = da.from_array(np.arange(4.0).reshape(4, 1), chunks=(2, 1))
    bu = da.from_array(np.arange(24.0).reshape(4, 6) + 1, chunks=(2, 3))[
        :, da.from_array(cols, chunks=3)]
    np.testing.assert_allclose(multiact.logsumexp(a1, axis=0, b=bu).compute(),
                               multiact.logsumexp(a1.compute(), axis=0, b=bu.compute()),
                               rtol=1e-12)
    # prelu's weight lines up with axis 1 (not the trailing axis): not checked that way
    xn = np.linspace(-3, 3, 60).reshape(2, 3, 10)
    xu = da.from_array(xn, chunks=(2, 3, 5))[:, :, da.from_array(np.arange(10) % 3 > 0,
                                                                 chunks=5)]
    w = np.array([0.1, 0.2, 0.3])
    np.testing.assert_allclose(multiact.prelu(xu, da.from_array(w)).compute(),
                               multiact.prelu(xu.compute(), w), rtol=1e-12)


@pytest.mark.backends("dask")
def test_dask_prelu_weight_and_size_one_axes_of_unknown_size(target):
    # decision 204: prelu's weight of unknown size (or a weight of several entries
    # against channels of unknown number) was stretched block by block over x's
    # channels: values where NumPy raises.  Now the contract's ValueError at the call
    import dask.array as da

    xn = -np.arange(1.0, 7.0).reshape(1, 6)
    kx = da.from_array(np.array([1, 1, 0, 1, 1, 0], bool), chunks=3)
    x = da.from_array(xn, chunks=(1, 3))[:, kx]                  # 4 channels, unknown
    wn = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    w = da.from_array(wn, chunks=3)[da.from_array(np.array([1, 0, 0, 1, 0, 0], bool),
                                                  chunks=3)]     # 2 entries, unknown
    for xx, ww, has, chan in ((x, w, "an unknown number of entries",
                               "an unknown number of channels"),
                              (x, da.from_array(wn[:4], chunks=2), "4 entries",
                               "an unknown number of channels"),
                              (da.from_array(xn[:, :1], chunks=1), w,
                               "an unknown number of entries", "1 channel"),
                              (x[0], da.from_array(wn[:4], chunks=2), "4 entries",
                               "an unknown number of channels")):
        with pytest.raises(ValueError, match=rf"^multiact\.prelu: argument 'weight' has "
                           rf"{has}, and x has {chan} \(sizes unknown until compute, after "
                           r"boolean indexing\): call compute_chunk_sizes\(\) on both"):
            multiact.prelu(xx, ww)
    # one entry lines up with any channels, known or not
    np.testing.assert_array_equal(multiact.prelu(x, da.from_array(wn[:1])).compute(),
                                  multiact.prelu(x.compute(), wn[:1]))
    # an axis of x known as 1 meeting a mask or a parameter of unknown size: NumPy's
    # ValueError at compute (it was stretched over x: the result had 3 rows, not 1);
    # the same sizes that turn out 1 give NumPy's values
    x1 = da.from_array(np.array([[-2.0, -1.0, 1.0, 2.0]]), chunks=(1, 2))
    keep3 = da.from_array(np.array([1, 0, 1, 1, 0], bool), chunks=5)
    keep1 = da.from_array(np.array([0, 0, 1, 0, 0], bool), chunks=5)
    five = da.from_array(np.arange(20.0).reshape(5, 4) + 1, chunks=(5, 2))
    calls = ((multiact.softmax, "where", lambda k: five[k] > 0),
             (multiact.elu, "alpha", lambda k: five[k] / 10),
             (multiact.leaky_relu, "negative_slope", lambda k: five[k] / 100))
    for f, pname, make in calls:
        with pytest.raises(ValueError, match=rf"^multiact\.{f.__name__}: argument "
                           rf"'{pname}' does not line up with x: along axis 0 a block of "
                           r"3 entries meets one of 1"):
            f(x1, **{pname: make(keep3)}).compute()
        got = f(x1, **{pname: make(keep1)}).compute()
        want = f(x1.compute(), **{pname: make(keep1).compute()})
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    # in several blocks along that axis no block's size tells the whole (three blocks
    # of 1 passed the check, blocks of 1, 0 and 0 failed it): refused at the call
    five3 = da.from_array(np.arange(20.0).reshape(5, 4) + 1, chunks=(2, 2))
    for keep in (keep3, keep1):
        mask = five3[da.from_array(keep.compute(), chunks=2)] > 0
        with pytest.raises(ValueError, match=r"^multiact\.softmax: argument 'where' has an "
                           r"unknown size along axis 0, in 3 blocks, where x has 1 \(after "
                           r"boolean indexing\): call compute_chunk_sizes\(\) on it"):
            multiact.softmax(x1, where=mask)
        known = da.from_array(mask.compute(), chunks=1)  # (sizes known: NumPy's answer)
        if known.shape[0] == 1:
            np.testing.assert_array_equal(multiact.softmax(x1, where=known).compute(),
                                          multiact.softmax(x1.compute(), where=known.compute()))
        else:
            with pytest.raises(ValueError, match=r"does not broadcast to x's shape"):
                multiact.softmax(x1, where=known)


@pytest.mark.backends("dask")
def test_dask_standardize_past_the_largest_square_is_quiet(target):
    # decisions 166, 185: a slice whose sum of squares passes float32's largest number
    # gives 0 (the contract's exception), silently on NumPy; dask warned "overflow
    # encountered in multiply" at compute, where the call's errstate does not reach
    import warnings

    import dask.array as da

    a = np.array([[1e30, -1e30, 5e29, 0.0], [1.0, 2.0, 3.0, 4.0]], np.float32)
    for chunks in (2, -1):
        for axis in (-1, None):
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                got = multiact.standardize(da.from_array(a, chunks=chunks), axis=axis).compute()
                want = multiact.standardize(a, axis=axis)
            np.testing.assert_array_equal(got, want)


@pytest.mark.backends("dask")
@pytest.mark.parametrize("info", [i for i in TABLE if i.halves], ids=lambda i: i.name)
def test_dask_gated_rows_are_a_few_tasks_per_block_and_numpys_values(target, info):
    # decision 205: a gated function with Python parameters is NumPy's function of each
    # block of the halves side by side; the generic body put one task per operation
    # per block into the graph (exact geglu 118 tasks a block, 7x gelu(a) * b by hand)
    import dask.array as da

    data = np.random.default_rng(205).standard_normal((12, 10, 6)) * 2
    f = getattr(multiact, info.name)
    cases = [dict(c.params) for c in info.cases]
    for dtype in ("float64", "float32", "float16"):
        xn = data.astype(dtype)
        # chunks along the split axis that line up with its halves and that do not
        for chunks in ((5, 3, 6), (12, 10, 6), (7, 4, 2)):
            x = da.from_array(xn, chunks=chunks)
            for p in cases:
                for axis in (-1, 0, 1):
                    y = f(x, **{**p, "axis": axis})
                    # (the halves' slices, b's rechunk and the task of each block)
                    assert len(y.__dask_graph__()) <= 8 * x.npartitions + 8, (p, axis)
                    got, want = y.compute(), f(xn, **{**p, "axis": axis})
                    assert y.dtype == got.dtype == want.dtype
                    np.testing.assert_array_equal(got, want, err_msg=f"{p} {dtype} {axis}")
    # an odd size along the axis: the body's error, at the call
    with pytest.raises(ValueError, match=rf"multiact\.{info.name}: argument 'x' must have "
                       r"an even size along axis 0, got 5"):
        f(da.from_array(np.ones((5, 4)), chunks=2), axis=0)


@pytest.mark.backends("dask")
@pytest.mark.parametrize("info", [i for i in TABLE if i.elementwise], ids=lambda i: i.name)
def test_dask_elementwise_is_one_task_per_block_and_numpys_values(target, info):
    # decision 184: an element-wise function with Python-number parameters is NumPy's
    # function block by block; the generic body put one task per operation per block
    # into the graph (exact GELU 92,800 tasks for 400 blocks, 50x NumPy's time)
    import dask.array as da

    data = np.random.default_rng(5).standard_normal((30, 20)) * 2  # (exp within float16)
    if info.nonneg_input:
        data = np.abs(data) + 0.1
    f = getattr(multiact, info.name)
    for dtype in ("float64", "float32", "float16", "int32"):
        xn = data.astype(dtype)
        x = da.from_array(xn, chunks=(7, 8))
        for case in info.cases:
            p = dict(case.params)
            y = f(x, **p)
            assert len(y.__dask_graph__()) - len(x.__dask_graph__()) == x.npartitions, \
                (info.name, p, dtype)
            got, want = y.compute(), f(xn, **p)
            assert y.dtype == got.dtype == want.dtype, (info.name, y.dtype, got.dtype)
            np.testing.assert_array_equal(got, want, err_msg=f"{info.name} {p} {dtype}")
    # the graph pickles (its task was a bound method of the NumPy backend, cloudpickled
    # whole when dask tokenized it: 14.5 ms a call), and a 0-d array is not computed
    # at the call (its _meta holds its value: an overflow warned there)
    import pickle
    import warnings

    pickle.loads(pickle.dumps(y.__dask_graph__()))
    z = da.from_array(np.array(800.0 if not info.nonneg_input else 0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f(z, **dict(info.cases[0].params))
    # an array parameter is data: the generic body, on dask's operations
    from multiact._params import RealOrArray, Weight

    alpha = [q for q in info.params if isinstance(q.kind, (RealOrArray, Weight))]
    if alpha:
        xn = data.astype("float32")
        x = da.from_array(xn, chunks=(7, 8))
        w = da.from_array(np.full(20, 0.25, "float32"), chunks=8)
        p = dict(info.cases[0].params)
        y = f(x, **{**p, alpha[0].name: w})
        wn = np.full(20, 0.25, "float32")
        np.testing.assert_allclose(y.compute(), f(xn, **{**p, alpha[0].name: wn}), rtol=1e-6,
                                   atol=0)


SHARDED = textwrap.dedent("""
    import jax, jax.numpy as jnp, numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import multiact
    from multiact._table import TABLE
    devs = jax.devices()
    assert len(devs) == 8, devs
    mesh = Mesh(np.array(devs).reshape(4, 2), ("data", "model"))
    sh = NamedSharding(mesh, P("data", "model"))
    x0 = jax.device_put(jnp.arange(64.0).reshape(8, 8) / 10 - 3, sh)
    seen = 0
    for info in TABLE:
        # outputs of x's shape: element-wise rows (eager and under jit) and the row
        # kernels' "same" rows (under jit)
        if not (info.elementwise or info.row_kernel == "same"):
            continue
        f, p = getattr(multiact, info.name), dict(info.cases[0].params)
        x = jax.device_put(jnp.abs(x0) + 0.1, sh) if info.nonneg_input else x0
        g = jax.jit(lambda t: f(t, **p))
        for y in ((f(x, **p), g(x)) if info.elementwise else (g(x),)):
            assert y.sharding.is_equivalent_to(x.sharding, 2), (info.name, y.sharding)
            np.testing.assert_allclose(np.asarray(y), np.asarray(f(np.asarray(x), **p)),
                                       rtol=1e-5, atol=1e-6)
        seen += 1
    assert seen >= 4, seen
    # an array parameter committed to other devices than x: the contract's error,
    # naming the function and both arguments (decision 226); the same devices, or an
    # uncommitted parameter, compute
    x = jax.device_put(jnp.linspace(-3.0, 3.0, 8), devs[2])
    for name, first, pname, v in (("softmax", "x", "where", x > 0), ("celu", "x", "alpha", 0.5),
                                  ("logsumexp", "a", "b", 0.5), ("prelu", "x", "weight", 0.25)):
        f = getattr(multiact, name)
        here = jax.device_put(jnp.asarray(v), devs[2])
        want = np.asarray(f(np.asarray(x), **{pname: np.asarray(v)}))
        for ok in (here, jnp.asarray(v)):
            np.testing.assert_allclose(np.asarray(f(x, **{pname: ok})), want, rtol=1e-6)
        try:
            f(x, **{pname: jax.device_put(jnp.asarray(v), devs[0])})
        except ValueError as e:
            assert str(e).startswith(f"multiact.{name}: argument {pname!r} is on devices [0] "
                                     f"but {first!r} is on [2]"), e
        else:
            raise AssertionError(name)
    print("ok")
""")


@pytest.mark.backends("jax")
@pytest.mark.cells_where(predicate=_on_cpu)  # 8 host devices
def test_jax_sharded_arrays_keep_their_sharding(target):
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8",
               JAX_PLATFORMS="cpu")
    out = subprocess.run([sys.executable, "-c", SHARDED], env=env, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")


@pytest.mark.backends("dask")
@pytest.mark.parametrize("info", [i for i in TABLE if i.row_kernel == "same"], ids=lambda i: i.name)
def test_dask_reduction_of_whole_slices_is_one_task_per_block(target, info):
    # decision 188: softmax, log_softmax, softmin and standardize whose blocks each hold
    # whole slices are NumPy's function block by block (log_softmax of 2000 x 2000 in
    # 400 blocks took 1.4-2.0 s, a hand-written composite 0.4); a slice split across
    # chunks keeps the generic body, and a mask keeps it too
    import dask.array as da

    data = np.random.default_rng(7).standard_normal((30, 20)) * 2
    f = getattr(multiact, info.name)
    for dtype in ("float64", "float32", "float16"):
        xn = data.astype(dtype)
        for chunks, axis, whole in (((7, 20), -1, True), ((30, 8), 0, True),
                                    ((7, 8), -1, False), ((7, 20), (0, 1), False)):
            x = da.from_array(xn, chunks=chunks)
            y = f(x, axis=axis)
            tasks = len(y.__dask_graph__()) - len(x.__dask_graph__())
            assert (tasks == x.npartitions) == whole, (info.name, chunks, axis, tasks)
            got, want = y.compute(), f(xn, axis=axis)
            assert y.dtype == got.dtype == want.dtype
            if whole:
                np.testing.assert_array_equal(got, want, err_msg=f"{info.name} {dtype}")
    m = da.from_array(data > 0, chunks=(7, 20))
    y = f(da.from_array(data, chunks=(7, 20)), where=m)
    assert len(y.__dask_graph__()) > 2 * 5 + 5  # (the generic body's layers)


@pytest.mark.backends("dask")
def test_dask_parameter_of_unknown_size_against_a_known_x_is_named(target):
    # decision 232: dask refuses to broadcast an unknown size with a known one, in its
    # own words at the call ("operands could not be broadcast together with shapes
    # (nan, 3) (2, 3)"), naming no function or argument
    import dask.array as da

    a = da.from_array(np.arange(12.0).reshape(4, 3), chunks=(2, 3))
    u = a[a[:, 0] > 1]                                   # rows: unknown sizes
    for call, fname, pname, first in (
            (lambda: multiact.softmax(a, where=u > 0), "softmax", "where", "x"),
            (lambda: multiact.logsumexp(a, axis=0, b=u), "logsumexp", "b", "a"),
            (lambda: multiact.elu(a, alpha=u / 10), "elu", "alpha", "x")):
        with pytest.raises(ValueError, match=rf"^multiact\.{fname}: argument '{pname}' has "
                           rf"an unknown size along axis 0, where {first} has 4 \(after "
                           r"boolean indexing\): call compute_chunk_sizes\(\) on it"):
            call()
    # its sizes computed: NumPy's answer (here its shape check)
    with pytest.raises(ValueError, match=r"does not broadcast to x's shape"):
        multiact.softmax(a, where=u.compute_chunk_sizes() > 0)
