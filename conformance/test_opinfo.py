"""PyTorch's own test inputs: every OpInfo of ``op_db`` (the installed torch's
``torch.testing._internal.common_methods_invocations``, never a copy) that maps
to a multiact function runs its ``sample_inputs`` and ``reference_inputs`` in
every dtype the op supports on the target's device; PyTorch's arguments are
translated to multiact's (``dim`` -> ``axis``, ``keepdim`` -> ``keepdims``, a
``mask`` -> ``where``, ...), and values (every dtype) and float64 gradients
(``torch.autograd.grad``, with respect to every tensor the sample marks) are
compared with PyTorch's at ``torch.testing.assert_close``'s default tolerances.

Every sample matches, or differs in a way that the table of docs/decisions.md
("Deliberate differences from PyTorch, JAX and Keras") lists: each difference
has an id there, and a recognizer here that checks the difference is the
documented one (where multiact's value comes from, not only where it differs).
A difference that no recognizer explains fails, and so does a documented one
that no longer occurs for an op its row names.
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field

import pytest

import multiact
from conformance import differences

torch = pytest.importorskip("torch")
pytestmark = [pytest.mark.backends("torch"),
              # PyTorch's own warnings while it makes and runs its samples (complex32
              # tensors; an op casting a complex sample to real), not multiact's
              pytest.mark.filterwarnings("ignore:ComplexHalf support is experimental"),
              pytest.mark.filterwarnings("ignore:Casting complex values to real")]

DIFFERENCES = differences.load()

# torch.testing.assert_close's defaults (rtol, atol); integers and bool: exact
TOLERANCES = {torch.float16: (1e-3, 1e-5), torch.bfloat16: (1.6e-2, 1e-5),
              torch.float32: (1.3e-6, 1e-5), torch.float64: (1e-7, 1e-7),
              torch.complex64: (1.3e-6, 1e-5), torch.complex128: (1e-7, 1e-7)}
HALF = (torch.float16, torch.bfloat16)


def _op_db():
    try:
        from torch.testing._internal.common_methods_invocations import op_db
    except ImportError as e:  # the internal test package needs expecttest
        pytest.skip(f"torch's op_db is not importable here: {e}")
    return {(o.name, o.variant_test_name): o for o in op_db}


# -- translations: PyTorch's call -> multiact's ---------------------------------------------

class Refused(Exception):
    """multiact refuses this call, as the difference ``id`` documents (checked)."""

    def __init__(self, ident):
        super().__init__(ident)
        self.id = ident


@dataclass
class Call:
    """The translated call and the documented differences the translation relies on."""

    fn: object
    relies: tuple = ()


# the differences a translation checks and relies on (the recognizers below check the rest)
IN_TRANSLATION = ("argument-names", "dtype-argument", "hardtanh-bounds", "softplus-threshold",
                  "negative-parameter", "one-hot-dtype", "one-hot-num-classes")


def _refusal(ident, exc, pattern, call):
    """Check that ``call`` raises ``exc`` matching ``pattern`` (what row ``ident``
    says multiact does), and return the id: multiact's refusal is the difference."""
    assert ident in IN_TRANSLATION, ident
    try:
        call()
    except exc as e:
        if re.search(pattern, str(e)):
            return ident
        raise AssertionError(f"{ident}: multiact raised {type(e).__name__}: {e}, which does "
                             f"not match {pattern!r}") from e
    raise AssertionError(f"{ident}: multiact accepted a call that docs/decisions.md says it "
                         f"refuses (expected {exc.__name__} matching {pattern!r})")


def _bind(sample, names):
    """PyTorch's positional and keyword arguments of ``sample`` by name."""
    args = dict(zip(names, sample.args))
    args.update(sample.kwargs)
    return args


def _renamed(fn, x, **kw):
    """``argument-names``: PyTorch's ``dim=``/``keepdim=`` are refused with a hint
    (checked), multiact's ``axis=``/``keepdims=`` take them."""
    relies = []
    if "axis" in kw:
        relies.append(_refusal("argument-names", TypeError, r"unexpected argument 'dim': "
                               r"multiact uses axis=", lambda: fn(x, dim=kw["axis"])))
    if "keepdims" in kw:
        relies.append(_refusal("argument-names", TypeError, r"unexpected argument 'keepdim'",
                               lambda: fn(x, keepdim=kw["keepdims"])))
    return relies


def _unary(name):
    def translate(s):
        return Call(lambda: getattr(multiact, name)(s.input))
    return translate


def _with_param(name, torch_names, mine, defaults):
    """An element-wise function with scalar parameters (``torch_names`` in
    PyTorch's order, ``mine`` multiact's names for them)."""
    def translate(s):
        a = _bind(s, torch_names)
        kw = {m: a.get(t, defaults.get(t)) for t, m in zip(torch_names, mine) if m}
        f = getattr(multiact, name)
        for k, v in kw.items():
            if isinstance(v, (int, float)) and v < 0 and k in ("lambd", "epsilon"):
                raise Refused(_refusal("negative-parameter", ValueError,
                                       rf"^multiact\.{name}: argument '{k}' must be a finite "
                                       r"real number >= 0", lambda: f(s.input, **kw)))
        return Call(lambda: f(s.input, **kw))
    return translate


def _hardtanh(s):
    a = _bind(s, ["min_val", "max_val", "inplace"])
    lo, hi = a.get("min_val", -1.0), a.get("max_val", 1.0)
    if (lo, hi) != (-1.0, 1.0):
        raise Refused(_refusal("hardtanh-bounds", TypeError, r"multiact\.hard_tanh clips to "
                               r"\[-1, 1\]", lambda: multiact.hard_tanh(s.input, min_val=lo,
                                                                        max_val=hi)))
    return Call(lambda: multiact.hard_tanh(s.input))


def _softplus(s):
    a = _bind(s, ["beta", "threshold"])
    beta = a.get("beta", 1.0)
    relies = ()
    if "threshold" in a:
        relies = (_refusal("softplus-threshold", TypeError, r"needs no threshold",
                           lambda: multiact.softplus(s.input, beta, threshold=a["threshold"])),)
    return Call(lambda: multiact.softplus(s.input, beta), relies)


def _gelu(s):
    # PyTorch's default is the exact form; multiact's is the tanh form (gelu's row)
    approximate = _bind(s, ["approximate"]).get("approximate", "none")
    return Call(lambda: multiact.gelu(s.input, approximate=approximate))


def _softmax_like(name, masked=False):
    def translate(s):
        a = _bind(s, ["dim", "dtype"] if not masked else ["dim"])
        f = getattr(multiact, name)
        x, relies = s.input, []
        if a.get("dtype") is not None:
            relies.append(_refusal("dtype-argument", TypeError, r"unexpected argument 'dtype': "
                                   r"multiact keeps x's dtype", lambda: f(x, dtype=a["dtype"])))
            x = x.to(a["dtype"])  # PyTorch casts the input to dtype first
        dim = a.get("dim")
        relies += _renamed(f, x, axis=dim)
        kw = {"axis": dim}
        if masked and a.get("mask") is not None:
            kw["where"] = a["mask"]
        return Call(lambda: f(x, **kw), tuple(relies))
    return translate


def _logsumexp(masked=False):
    def translate(s):
        a = _bind(s, ["dim", "keepdim"])
        kw = {"axis": a.get("dim"), "keepdims": bool(a.get("keepdim", False))}
        if masked and a.get("mask") is not None:
            kw["where"] = a["mask"]
        relies = _renamed(multiact.logsumexp, s.input, **kw)
        return Call(lambda: multiact.logsumexp(s.input, **kw), tuple(relies))
    return translate


def _glu(s):
    dim = _bind(s, ["dim"]).get("dim", -1)
    return Call(lambda: multiact.glu(s.input, axis=dim),
                tuple(_renamed(multiact.glu, s.input, axis=dim)))


def _threshold(s):
    a = _bind(s, ["threshold", "value", "inplace"])
    return Call(lambda: multiact.threshold(s.input, a["threshold"], a["value"]))


def _prelu(s):
    w = _bind(s, ["weight"])["weight"]
    return Call(lambda: multiact.prelu(s.input, w))


def _one_hot(s):
    x = s.input
    n = _bind(s, ["num_classes"]).get("num_classes", -1)
    default = multiact.one_hot(x, max(n, 1)).dtype
    assert default == torch.get_default_dtype(), f"one-hot-dtype: one_hot gave {default}"
    relies = ["one-hot-dtype"]  # PyTorch's is int64: passed explicitly
    if n == -1:  # PyTorch infers it from the data (a device sync)
        relies.append(_refusal("one-hot-num-classes", ValueError, r"'num_classes' must be a "
                               r"positive int", lambda: multiact.one_hot(x, n)))
        n = int(x.max()) + 1 if x.numel() else 0
    return Call(lambda: multiact.one_hot(x, n, dtype=torch.int64), tuple(relies))


def _layer_norm(s):
    a = _bind(s, ["normalized_shape", "weight", "bias", "eps"])
    x, k, eps = s.input, len(a["normalized_shape"]), a.get("eps", 1e-5)
    axes = tuple(range(x.ndim - k, x.ndim))
    if eps < 0:
        raise Refused(_refusal("negative-parameter", ValueError, r"^multiact\.standardize: "
                               r"argument 'epsilon' must be a finite real number >= 0",
                               lambda: multiact.standardize(x, axis=axes, epsilon=eps)))

    def call():  # layer_norm = standardize, then PyTorch's affine part
        y = multiact.standardize(x, axis=axes, epsilon=eps)
        if a.get("weight") is not None:
            y = y * a["weight"]
        if a.get("bias") is not None:
            y = y + a["bias"]
        return y
    return Call(call)


# why: PyTorch's OpInfo entries (op_db's name and variant) that are multiact's functions,
# each with how its sample's arguments translate (facts about PyTorch's test suite)
TRANSLATE = {
    ("nn.functional.relu", ""): _unary("relu"),
    ("nn.functional.relu6", ""): _unary("relu6"),
    ("nn.functional.hardtanh", ""): _hardtanh,
    ("nn.functional.leaky_relu", ""): _with_param("leaky_relu", ["negative_slope", "inplace"],
                                                  ["negative_slope", None],
                                                  {"negative_slope": 0.01}),
    ("nn.functional.elu", ""): _with_param("elu", ["alpha", "inplace"], ["alpha", None],
                                           {"alpha": 1.0}),
    ("nn.functional.celu", ""): _with_param("celu", ["alpha", "inplace"], ["alpha", None],
                                            {"alpha": 1.0}),
    ("nn.functional.selu", ""): _unary("selu"),
    ("nn.functional.gelu", ""): _gelu,
    ("nn.functional.silu", ""): _unary("silu"),
    ("nn.functional.silu", "complex"): _unary("silu"),
    ("nn.functional.mish", ""): _unary("mish"),
    ("nn.functional.softplus", ""): _softplus,
    ("nn.functional.logsigmoid", ""): _unary("log_sigmoid"),
    ("nn.functional.hardsigmoid", ""): _unary("hard_sigmoid"),
    ("nn.functional.hardswish", ""): _unary("hard_silu"),
    ("nn.functional.softsign", ""): _unary("soft_sign"),
    ("tanh", ""): _unary("tanh"),
    ("sigmoid", ""): _unary("sigmoid"),
    ("nn.functional.tanhshrink", ""): _unary("tanh_shrink"),
    ("nn.functional.hardshrink", ""): _with_param("hard_shrink", ["lambd"], ["lambd"],
                                                  {"lambd": 0.5}),
    ("nn.functional.softshrink", ""): _with_param("soft_shrink", ["lambd"], ["lambd"],
                                                  {"lambd": 0.5}),
    ("nn.functional.threshold", ""): _threshold,
    ("nn.functional.prelu", ""): _prelu,
    ("nn.functional.glu", ""): _glu,
    ("softmax", ""): _softmax_like("softmax"),
    ("softmax", "with_dtype"): _softmax_like("softmax"),
    ("log_softmax", ""): _softmax_like("log_softmax"),
    ("log_softmax", "with_dtype"): _softmax_like("log_softmax"),
    ("nn.functional.softmin", ""): _softmax_like("softmin"),
    ("nn.functional.softmin", "with_dtype"): _softmax_like("softmin"),
    ("torch.ops.aten._safe_softmax.default", ""): _softmax_like("softmax"),
    ("masked.softmax", ""): _softmax_like("softmax", masked=True),
    ("masked.log_softmax", ""): _softmax_like("log_softmax", masked=True),
    ("masked.softmin", ""): _softmax_like("softmin", masked=True),
    ("logsumexp", ""): _logsumexp(),
    ("masked.logsumexp", ""): _logsumexp(masked=True),
    ("nn.functional.one_hot", ""): _one_hot,
    ("nn.functional.layer_norm", ""): _layer_norm,
}


def _label(key):
    return key[0] + (f":{key[1]}" if key[1] else "")


# -- recognizers: is this difference the documented one? ----------------------------------

@dataclass
class Mismatch:
    """What differs, for the recognizers: ``kind`` is "value", "grad", "meta" (dtype or
    shape) or "raises" (multiact raised ``error``)."""

    key: tuple
    op: object
    sample: object
    kind: str
    want: object = None          # PyTorch's value or gradient
    got: object = None           # multiact's
    bad: object = None           # bool tensor: where they differ
    leaf: object = None          # the tensor a gradient is taken with respect to
    cotangent: object = None
    error: Exception | None = None

    @property
    def x(self):
        return self.sample.input

    def torch_on(self, cast):
        """PyTorch's op on the sample with every float/int tensor cast by ``cast``."""
        def conv(v):
            return cast(v) if isinstance(v, torch.Tensor) and v.dtype != torch.bool else v
        s = self.sample
        return self.op(conv(s.input), *[conv(a) for a in s.args],
                       **{k: conv(v) for k, v in s.kwargs.items()})


RECOGNIZERS: dict = {}


def recognizer(ident):
    def deco(fn):
        RECOGNIZERS[ident] = fn
        return fn
    return deco


def _same_shape_as_input(m):
    return isinstance(m.x, torch.Tensor) and m.want.shape == m.x.shape


@recognizer("infinite-input")
def _infinite_input(m):
    """At +-inf PyTorch's formula forms inf * 0 or inf / inf (NaN); multiact gives
    the limit: PyTorch's own value (or gradient) at the largest finite input."""
    if m.kind not in ("value", "grad") or not _same_shape_as_input(m):
        return None
    x = m.x.detach()
    if not x.dtype.is_floating_point:
        return None
    big = torch.full_like(x, torch.finfo(x.dtype).max)
    at = torch.where(x == float("inf"), big, torch.where(x == -float("inf"), -big, 0.0))
    at = at.requires_grad_(m.kind == "grad")
    lim = m.op(at, *m.sample.args, **m.sample.kwargs)
    if m.kind == "grad":
        (lim,) = torch.autograd.grad(lim, at, m.cotangent)
    return x.isinf() & m.want.isnan() & _close(m.got, lim.detach())


@recognizer("softplus-threshold")
def _softplus_threshold(m):
    """PyTorch returns x where beta * x > threshold; multiact computes softplus there."""
    if m.kind not in ("value", "grad") or m.key[0] != "nn.functional.softplus":
        return None
    a = _bind(m.sample, ["beta", "threshold"])
    above = (m.x.detach() * a.get("beta", 1.0)) > a.get("threshold", 20.0)
    if m.kind == "value":  # log1p(exp(-beta x)) / beta > 0 is added
        return above & (m.got >= m.want)
    return above


@recognizer("half-precision")
def _half_precision(m):
    """float16/bfloat16 computed in float32 and rounded once: multiact's value is at
    least as close as PyTorch's to PyTorch's own op in float64."""
    if m.kind != "value" or m.want.dtype not in HALF:
        return None
    ref = m.torch_on(lambda t: t.double() if t.is_floating_point() else t).to(m.want.dtype)
    ref = ref.double()
    mine, theirs = (m.got.double() - ref).abs(), (m.want.double() - ref).abs()
    return (mine <= theirs) | (m.got.double() == ref)


@recognizer("empty-slice")
def _empty_slice(m):
    """A fully masked slice: PyTorch's masked softmax family gives NaN; multiact 0
    (log_softmax: -inf), with zero gradient."""
    if not m.key[0].startswith("masked.") or m.kind not in ("value", "grad"):
        return None
    mask = m.sample.kwargs.get("mask")
    dim = _bind(m.sample, ["dim"]).get("dim")
    if mask is None:
        return None
    full = torch.broadcast_to(mask, m.x.shape)
    if m.x.ndim == 0:  # its own slice (CUDA's random masks drew a False one: an H200)
        empty = ~full
    else:
        dims = range(m.x.ndim) if dim is None else ([dim] if isinstance(dim, int) else dim)
        empty = ~full.any(dim=tuple(d % m.x.ndim for d in dims), keepdim=True)
        empty = torch.broadcast_to(empty, m.x.shape)
    if m.kind == "grad":
        return empty & m.want.isnan() & (m.got == 0)
    if m.want.shape != m.x.shape:
        return None
    fill = -float("inf") if "log_softmax" in m.key[0] else 0.0
    return empty & m.want.isnan() & (m.got == fill)


@recognizer("integer-input")
def _integer_input(m):
    """Integer and bool input is promoted to the default float dtype before any
    arithmetic: multiact's value is PyTorch's op on the promoted input (PyTorch
    keeps some integer dtypes, and negates or adds 1 in int8/uint8, wrapping around)."""
    x = m.x
    if m.kind not in ("value", "meta") or x.dtype.is_floating_point or x.dtype.is_complex:
        return None
    if not m.got.dtype.is_floating_point:
        return None
    ref = m.torch_on(lambda t: t.to(m.got.dtype) if t is x else t)
    if ref.dtype != m.got.dtype or ref.shape != m.got.shape:
        return None
    ok = torch.isclose(m.got, ref, *TOLERANCES[m.got.dtype], equal_nan=True)
    return ok if m.kind == "value" else bool(ok.all())


@recognizer("complex-input")
def _complex_input(m):
    """Complex input raises TypeError (tanh aside)."""
    if m.kind != "raises" or not m.x.dtype.is_complex:
        return None
    return isinstance(m.error, TypeError) and "must have a real dtype" in str(m.error)


@recognizer("nan-grad-shrink")
def _nan_grad_shrink(m):
    """PyTorch's hardshrink/softshrink backward at NaN is 0 in its vectorised loop and
    the incoming gradient in its scalar tail (it depends on the element's place);
    multiact's is always the incoming gradient (NaN is not inside [-lambd, lambd])."""
    if m.kind != "grad" or m.key[0] not in ("nn.functional.hardshrink",
                                            "nn.functional.softshrink"):
        return None
    return m.x.detach().isnan() & (m.want == 0) & (m.got == m.cotangent)


# -- the comparison ------------------------------------------------------------------------

@dataclass
class Outcome:
    seen: collections.Counter = field(default_factory=collections.Counter)
    problems: list = field(default_factory=list)
    samples: int = 0


def _explain(m, out):
    """Explain the mismatch by documented differences; record what is left over."""
    if m.kind in ("meta", "raises"):
        for ident, rec in RECOGNIZERS.items():
            if rec(m):
                out.seen[ident] += 1
                return
        what = (f"multiact raised {type(m.error).__name__}: {m.error}" if m.kind == "raises"
                else f"dtype/shape {m.got.dtype}{tuple(m.got.shape)} vs PyTorch's "
                     f"{m.want.dtype}{tuple(m.want.shape)}")
        out.problems.append(f"{_label(m.key)} {_where(m)}: {what}")
        return
    left = m.bad.clone()
    for ident, rec in RECOGNIZERS.items():
        hit = rec(m)
        if hit is None:
            continue
        hit = hit & left
        if bool(hit.any()):
            out.seen[ident] += 1
            left &= ~hit
    if bool(left.any()):
        i = tuple(int(v) for v in left.nonzero()[0]) if left.ndim else ()
        xi = m.x[i].item() if _same_shape_as_input(m) and m.x.numel() else "-"
        out.problems.append(
            f"{_label(m.key)} {_where(m)}: {m.kind} differs at {int(left.sum())} of "
            f"{left.numel()} entries, e.g. at {i} (x = {xi}): multiact {m.got[i].item()!r}, "
            f"PyTorch {m.want[i].item()!r}")


def _where(m):
    s = m.sample
    x = s.input
    shapes = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
    args = [tuple(a.shape) if isinstance(a, torch.Tensor) else a for a in s.args]
    kw = {k: (tuple(v.shape) if isinstance(v, torch.Tensor) else v) for k, v in s.kwargs.items()}
    return f"[{x.dtype if isinstance(x, torch.Tensor) else ''} {shapes} args={args} kw={kw}]"


def _close(got, want):
    if want.dtype == torch.complex32 and got.dtype == want.dtype:
        # (tanh on CUDA takes it, and few ops more): exactly, as before, but NaN equal
        # to NaN, in complex64 (`==` alone failed every NaN entry on an H200)
        g, w = got.to(torch.complex64), want.to(torch.complex64)
        return (g == w) | (g.isnan() & w.isnan())
    if want.dtype in TOLERANCES:
        rtol, atol = TOLERANCES[want.dtype]
        return torch.isclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
    return got == want


def _leaves(sample):
    ts = [sample.input, *sample.args, *sample.kwargs.values()]
    return [t for t in ts if isinstance(t, torch.Tensor) and t.requires_grad]


def _compare(key, op, translate, sample, out, seed):
    out.samples += 1
    try:
        want = op(sample.input, *sample.args, **sample.kwargs)
    except Exception:  # noqa: BLE001 - PyTorch itself rejects the sample: nothing to compare
        return
    try:
        call = translate(sample)
    except Refused as r:
        out.seen[r.id] += 1
        return
    for ident in call.relies:
        out.seen[ident] += 1
    try:
        got = call.fn()
    except Exception as e:  # noqa: BLE001 - explained by a difference, or a problem
        _explain(Mismatch(key, op, sample, "raises", error=e), out)
        return
    if got.dtype != want.dtype or got.shape != want.shape or got.device != want.device:
        _explain(Mismatch(key, op, sample, "meta", want=want, got=got), out)
        return
    bad = ~_close(got.detach(), want.detach())
    if bool(bad.any()):
        _explain(Mismatch(key, op, sample, "value", want.detach(), got.detach(), bad), out)
    leaves = _leaves(sample)
    if not leaves or want.dtype != torch.float64 or not (want.requires_grad and
                                                         got.requires_grad):
        return
    g = torch.randn(want.shape, dtype=want.dtype, generator=torch.Generator().manual_seed(seed))
    g = g.to(want.device)
    gw = torch.autograd.grad(want, leaves, g, allow_unused=True)
    gg = torch.autograd.grad(got, leaves, g, allow_unused=True)
    for leaf, a, b in zip(leaves, gg, gw):
        a = torch.zeros_like(leaf) if a is None else a
        b = torch.zeros_like(leaf) if b is None else b
        bad = ~_close(a, b)
        if bool(bad.any()):
            cot = g if leaf is sample.input and g.shape == leaf.shape else None
            _explain(Mismatch(key, op, sample, "grad", b, a, bad, leaf, cot), out)


def _dtypes(op, device):
    return sorted(op.supported_dtypes(torch.device(device).type), key=str)


KEYS = sorted(TRANSLATE)


@pytest.mark.parametrize("key", KEYS, ids=[_label(k) for k in KEYS])
def test_opinfo_samples_match_or_differ_as_documented(target, key):
    ops = _op_db()
    if key not in ops:
        pytest.skip(f"{_label(key)} is not in this torch's op_db")
    op, translate, out = ops[key], TRANSLATE[key], Outcome()
    for dtype in _dtypes(op, target.device):
        grads = dtype == torch.float64 and op.supports_autograd
        for kind in ("sample_inputs", "reference_inputs"):
            torch.manual_seed(0)  # make_tensor draws from the global generator
            for i, sample in enumerate(getattr(op, kind)(target.device, dtype,
                                                         requires_grad=grads)):
                _compare(key, op, translate, sample, out, seed=i)
    assert out.samples, f"{_label(key)}: op_db gave no sample"
    assert not out.problems, (f"{_label(key)}: {len(out.problems)} sample(s) differ from "
                              f"PyTorch in a way docs/decisions.md does not list:\n  "
                              + "\n  ".join(out.problems[:12]))
    unknown = sorted(set(out.seen) - set(DIFFERENCES))
    assert not unknown, f"{_label(key)}: differences used here but not in docs/decisions.md: " \
                        f"{unknown}"
    here = {_label(key), f"{_label(key)}@{torch.device(target.device).type}"}
    listed = {d.id for d in DIFFERENCES.values() if here & set(d.seen_in)}
    stale = sorted(listed - set(out.seen))
    assert not stale, (f"{_label(key)}: docs/decisions.md lists {stale} as seen in this op "
                       f"(on {target.device}), but no sample shows it any more: drop the op "
                       f"from those rows (or the rows)")
    unlisted = sorted(set(out.seen) - listed)
    assert not unlisted, (f"{_label(key)}: differences {unlisted} occur here; add "
                          f"`{_label(key)}` (or `{_label(key)}@{target.device}` where only that "
                          f"device shows it) to their rows' 'seen in' column in "
                          f"docs/decisions.md")


def test_every_recognizer_is_documented_and_every_opinfo_row_is_checked():
    used = set(RECOGNIZERS) | set(IN_TRANSLATION)
    missing = sorted(used - set(DIFFERENCES))
    assert not missing, f"checked here but not in docs/decisions.md: {missing}"
    ops = {_label(k) for k in TRANSLATE}
    for d in DIFFERENCES.values():
        names = [n for n in d.seen_in if n.split("@")[0] in ops]
        if names:
            assert d.id in used, f"{d.id}: documented for {names}, but nothing here checks it"
