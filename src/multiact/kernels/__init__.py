"""Fused kernels: one kernel per function instead of a chain of framework ops.

Every kernel is printed from the function's generic body (``_trace.py`` traces
the body into an expression graph), so it computes the formula the generic
body computes, and its backward is the derivative of the same graph.  One
place per technology:

* ``triton.py``: PyTorch tensors on CUDA (element-wise forward and backward,
  row kernels for the softmax family, logsumexp, logmeanexp, standardize);
  on CPU tensors under ``TRITON_INTERPRET=1``, Triton's interpreter runs the
  same kernels (how CI tests their logic without a GPU);
* ``cuda_c.py``: CuPy ``ElementwiseKernel`` (CUDA C++ printed from the same
  graphs); on CPU the same C++ compiles with the host compiler for tests;
* ``inductor.py``: PyTorch tensors on CPU: the generic bodies (and the printed
  derivative graphs) compiled by Inductor into vectorised C++ loops.

No call waits for a compile it did not ask for (``_tier.py``): in the default
mode a kernel is compiled off the caller's thread once its calls have spent as
long on the framework path as the compile costs, and is used from then on.

The switch ``MULTIACT_KERNELS`` (read at first use; :func:`set_mode` for tests):

* unset or ``auto``: kernels where they are the fast path, compiled in the
  background (``_tier.py``): CUDA tensors (Triton) and CPU tensors of at least
  ``MIN_NUMEL`` elements (Inductor), or of a function's own smaller floor where
  the backend registered one (:func:`tier_from`); CuPy arrays' kernels compile
  at their first call, as each of CuPy's own operations does (decision 182);
* ``fused``: kernels wherever their logic can run, compiled on first use on
  the caller's thread (asked for): CPU tensors of any size, through Triton's
  interpreter when ``TRITON_INTERPRET=1`` is set (how CI tests the GPU
  kernels' logic), else through Inductor;
* ``framework``: never; the framework-op paths only.

:func:`warm` compiles the local device's kernels now (``multiact compile``).

A backend asks :func:`torch_forward`, :func:`torch_train`, :func:`torch_rows`,
:func:`torch_rows_train`, :func:`torch_gated`, :func:`torch_gated_train` or
:func:`torch_fuse`, handing over its own framework
path (``eager``); what comes back is the kernel's result or ``eager``'s.
:func:`coverage` lists which kernels exist, and the reason for each that does not.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
import time
from collections import namedtuple

from .._locks import ForkSafeLock
from .._table import BY_NAME
from ._coverage import coverage as _coverage
from ._ops import Unsupported
from ._tier import FAILED, READY, RETIRED, TIER, Miss

__all__ = ["mode", "set_mode", "bind_torch", "own", "Own", "Miss", "torch_forward",
           "torch_train", "torch_rows", "torch_rows_train", "torch_gated", "torch_gated_train",
           "torch_fuse", "spent_backward", "warm", "wait", "status",
           "coverage", "MIN_NUMEL", "tier_from", "least", "floor_where",
           "LOWEST_FLOOR", "CONSTANTS"]

#: the parameter types a kernel takes as constants of its text and its key: Python
#: numbers, bools and None (relu's max_value: with None missing here, relu's calls
#: took the body's ops on torch and CuPy until a GPU run showed it); an array
#: parameter is data, and takes the generic body
CONSTANTS = (float, int, bool, type(None))

_MODES = ("auto", "fused", "framework")
_STATE = {"mode": None, "triton": None, "inductor": None, "torch_ns": None,
          "torch_inference": None, "torch_C": None, "triton_import": None,
          "torch_strided": None, "torch_hooks": lambda: None}
#: CPU tensors below this many elements keep the framework paths in ``auto``
#: mode: a compiled kernel's call costs ~20 us of guards, as much as the work
#: (unless the function's backend registered a smaller floor: :func:`tier_from`)
MIN_NUMEL = 1 << 18
#: no floor is below this: a kernel's ~20 us call is more than most framework paths
#: of fewer elements (and smaller calls skip the floor's lookup; logsumexp's
#: framework path, ten ops, costs 26-36 us there, its kernel's call 26-32)
LOWEST_FLOOR = 1 << 12
#: A function whose framework path costs far more per element than its kernel (a
#: composite of many passes) has its kernels serve smaller CPU tensors too: its
#: backend registers the floor (:func:`tier_from`), measured where the kernel's call,
#: guards included, beats the framework path (forward and with backward).
_FLOOR: dict = {}
_FLOOR_WHERE: dict = {}
#: a kernel is kept or retired by its calls of at least MIN_NUMEL elements alone (a
#: slot whose calls are all smaller, above its function's floor, is kept)
TIER.compared_from = MIN_NUMEL
_FLOATS = ("float32", "float64", "float16", "bfloat16")


def autocast_on(device_type):
    """Whether PyTorch's autocast is on for ``device_type`` ("cpu", "cuda")."""
    import torch

    try:
        return torch.is_autocast_enabled(device_type)
    except RuntimeError:
        # a device type that autocast does not know (meta: "unknown device type for
        # autocast"): autocast cannot be on there.  (An exception, not a test of the
        # type before the call: nothing on the calls that need no answer.)
        return False
    except TypeError:  # torch < 2.4 takes no device type
        if device_type == "cpu":
            return torch.is_autocast_cpu_enabled()
        return torch.is_autocast_enabled()


def bind_torch(ns):
    """The torch backend hands its namespace over (the generic bodies that the CPU
    kernels compile run on it, with Inductor's primitives: ``inductor.py``)."""
    import torch

    _STATE["torch_ns"] = ns
    _STATE["torch_inference"] = torch.is_inference_mode_enabled
    _STATE["torch_C"] = torch._C
    _STATE["torch_strided"] = torch.strided
    _STATE["torch_hooks"] = _saved_tensors_hooks(torch)


def _saved_tensors_hooks(torch):
    """``() -> the innermost saved-tensors hooks, or None``.  Under such hooks
    (``torch.utils.checkpoint`` without reentry, ``save_on_cpu``, offloading) the
    default mode's calls take the framework path: a kernel swapped in or retired
    between a checkpointed forward and its recomputation changes what autograd
    saves (standardize: 7 tensors, its kernel 1), and checkpoint raised
    ``CheckpointError`` on the backward (decision 171).  ``fused`` compiles on the
    first call and keeps its kernel.  ~0.05 us.  A torch without the binding (it
    came with 2.8) tells of no hooks: the default mode's routes there are those of
    before decision 171."""
    top = getattr(torch._C._autograd, "_top_saved_tensors_default_hooks", None)
    if top is None:
        return lambda: None
    try:
        top(False)
    except TypeError:  # (a binding that takes no argument)
        return top
    return lambda: top(False)


#: A backend's own formulas for a function's CPU kernels (:func:`own`): ``fwd(x)``
#: compiled instead of the generic body, or, with ``native``, called as it is
#: (ATen's own kernels, faster than a compiled loop: nothing to compile);
#: ``bwd(x, g)`` compiled instead of the traced derivative.  None: the table's.
#: A row (a reduction with a row kernel) registers ``native`` alone: its unmasked
#: CPU calls take the backend's eager path (ATen's own), with no row kernel.
#: A gated row (glu, swiglu, geglu) takes ``fwd(x3)`` and ``bwd(x3, g)`` over the
#: input viewed as ``(outer, 2, m)`` (``inductor.gated_builder``); a ``native``
#: forward serves its training pair only: its inference is the backend's.
Own = namedtuple("Own", "fwd bwd native", defaults=(None, None, False))
_OWN: dict = {}

#: The CPU's sums of a row (ATen's softmax and log_softmax, Inductor's loops) add
#: each vector lane's terms in float32 one after another.  A term below half an
#: ulp of its lane's running sum is lost, and one just above it counts double: on
#: a peaked row (one large logit, the rest near exp(-16.6) of it: a confident
#: classifier) every term in the maximum's lane is off so, all the same way, and
#: the sum is off by up to n / lanes ulp (16 lanes here, AVX-512: softmax 60 ulp
#: at 1024 entries, 247 at 4096, against the bound of 64; 8 on AVX2, twice that;
#: 4 on 128-bit vectors).  Random rows lose less (randn * 5: 80 ulp at 16384).  A
#: row longer than this (at most 32 terms a lane on 4 lanes) is summed in float64
#: by the row kernels (kernels of their own: ``_rows_slot``; a float64 row, whose
#: peaked case is exp(-36.7), takes the eager path) and is never ATen's own
#: (``_eager_rows``; the backend's eager paths correct torch's sum there).
#: Inductor's cascade of 4096-entry chunks does not help: each chunk is a lane's.
LONG_ROW = 128
#: Inductor's cascade of float32 sums (torch/_inductor/codegen/cpp.py's chunk_size):
#: a row kernel compiled on a row at most this long guards on it, and one compiled on
#: a longer row on that (``_rows_slot``: a kernel for each side)
CASCADE_CHUNK = 4096
#: float16 and bfloat16 rows are computed in float32 and rounded once, to an ulp
#: 2^13 (float16) or 2^16 (bfloat16) times float32's: a float32 sum off by
#: n / lanes ulp moves the rounded result by at most 1/8 ulp up to these lengths
#: even on 4 lanes (float16: 1024 float32 ulp; bfloat16: 8192), within the half
#: dtypes' bound of 1 ulp; their longer rows are LONG_ROW's case.  Reason: speed
#: (bfloat16 softmax with backward on 256 x 2048, corrected as a float32 row: 2.5x
#: F.softmax; a bfloat16 language model's logits have 32000 entries a row and up).
HALF_LONG_ROWS = {"float16": 32 * LONG_ROW, "bfloat16": 256 * LONG_ROW}


def long_row(dtype: str) -> int:
    """The longest row of ``dtype`` (a name: ``"float32"``) whose CPU sums stay
    within the bound: LONG_ROW, longer for the half dtypes (HALF_LONG_ROWS)."""
    return HALF_LONG_ROWS.get(dtype, LONG_ROW)


#: The rows whose sums add exp(x - max) (``exp_sums`` in the table), terms that span
#: many orders by construction, and standardize's squares of deviations, which one
#: entry far out spans so (``square_sums``: 7.26 units of a float32 row of 5000
#: with one entry of 1e15; decision 163), are LONG_ROW's case (the rows'
#: ``wide_sums``).  standardize's other sums keep float32: all in float64 cost 2.32x
#: F.layer_norm at 1e7, its squares alone 1.21-1.31x, from 1.11-1.19x.


def own(name, formulas):
    """Register ``formulas(params, dtype) -> Own | None`` for ``name``'s CPU
    kernels (``dtype`` a name: ``"float32"``).  Every compile of them takes these,
    whoever asks (a call on the tier, the fused mode, :func:`warm`)."""
    _OWN[name] = formulas


def _own(name, params, dtype):
    f = _OWN.get(name)
    return (f(params, dtype) if f else None) or Own()


def tier_from(name, floor, where=""):
    """Register ``floor(params, dtype, kind) -> int | None`` for ``name`` (a function,
    or a :func:`torch_fuse` key): the fewest elements of a CPU tensor that its kernels
    of ``kind`` serve in the ``auto`` mode (``dtype`` a name: ``"float32"``; ``kind``
    ``"forward"``, ``"train"`` or, for a :func:`torch_fuse` key, ``"fuse"``); None:
    ``MIN_NUMEL``.  A floor lies between ``LOWEST_FLOOR`` and ``MIN_NUMEL``.
    Below it, and below ``MIN_NUMEL`` for every other function, calls take the
    framework path and bill no kernel.  ``where``: the floor in words, for
    ``multiact info``."""
    _FLOOR[name] = floor
    _FLOOR_WHERE[name] = where


def floor_where(name):
    """:func:`tier_from`'s ``where`` for ``name`` ("": MIN_NUMEL throughout)."""
    return _FLOOR_WHERE.get(name, "")


def least(name, params, x, kind="forward"):
    """The fewest elements of ``x`` that ``name``'s CPU kernels of ``kind`` serve
    (:func:`tier_from`)."""
    f = _FLOOR.get(name)
    if f is None:
        return MIN_NUMEL
    return min(max(f(params, _dtype(x), kind) or MIN_NUMEL, LOWEST_FLOOR), MIN_NUMEL)


def _floored(name, x):
    """Whether ``name``'s call on ``x`` needs its floor looked up (:func:`least`)."""
    return name in _FLOOR and LOWEST_FLOOR <= x.numel() < MIN_NUMEL


def _route_of(name, params, x, kind="forward"):
    """:func:`_route` of ``x`` for ``name``'s kernels of ``kind``, from the function's
    floor where its backend registered one (:func:`tier_from`)."""
    return _route(x, least(name, params, x, kind)) if _floored(name, x) else _route(x)


def _native_cpu(name, x, params):
    """Whether ``name``'s call on ``x`` is ATen's own on CPU (``native`` in its
    :func:`own` registration, which holds CPU formulas only: CUDA takes Triton)."""
    return not x.is_cuda and _own(name, params, _dtype(x)).native


def _parse(value):
    v = (value or "auto").strip().lower()
    if v not in _MODES:
        raise ValueError(f"multiact: MULTIACT_KERNELS must be one of {', '.join(_MODES)} "
                         f"(or unset), got {value!r}")
    return v


def mode() -> str:
    """The switch: 'auto', 'fused' or 'framework'."""
    m = _STATE["mode"]
    if m is None:
        m = _STATE["mode"] = _parse(os.environ.get("MULTIACT_KERNELS"))
    return m


def set_mode(value):
    """Set the switch for this process (``None``: back to ``MULTIACT_KERNELS``);
    returns the previous mode."""
    prev = mode()
    _STATE["mode"] = _parse(value) if value is not None else None
    return prev


# triton.py and inductor.py import torch: imported on first use, so that importing
# multiact (and this package) imports no framework

def _triton():
    t = _STATE["triton"]
    if t is None:
        from . import triton as t

        t = _STATE["triton"] = t if t.available() else False
    return t


def _triton_soon():
    """The default mode's :func:`_triton`: the module once Triton is imported, False
    until then, with the import started on a thread of its own by the first call
    that asks.  Reason: first-call latency.  ``import triton`` and this package's
    Triton module took 230 ms on the first call of a CUDA tensor that has a kernel
    (sigmoid's first call: 227.7 ms against native's 0.2, measured on an H200); that
    call, and those until the import ends, take the framework path, which needs
    neither.  (Not a daemon: a program's exit waits for the import to end, rather
    than ending the interpreter inside it.)"""
    t = _STATE["triton"]
    if t is not None:
        return t
    if _STATE["triton_import"] is None:
        with _IMPORT_LOCK:
            if _STATE["triton_import"] is None:
                th = threading.Thread(target=_import_triton, name="multiact-import-triton")
                _STATE["triton_import"] = th
                try:
                    th.start()
                except RuntimeError:  # no new thread (shutting down, or none left)
                    _STATE["triton_import"] = None
    return False


def _import_triton():
    try:
        _triton()  # (Triton not installed: False, for good)
    except Exception:  # noqa: BLE001 - another failure (an import racing another
        # thread's, say): tried once more by a later call, then no Triton kernels
        _STATE["import_failures"] = _STATE.get("import_failures", 0) + 1
        if _STATE["import_failures"] >= 2:
            _STATE["triton"] = False
        else:
            _STATE["triton"] = None
            _STATE["triton_import"] = None


def _reset_import_in_child():
    # a forked child has no import thread: an import not finished asks again there
    # (its lock is new there: _locks)
    if _STATE["triton"] is None:
        _STATE["triton_import"] = None


_IMPORT_LOCK = ForkSafeLock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_import_in_child)


def _inductor():
    i = _STATE["inductor"]
    if i is None:
        from . import inductor as i

        i = _STATE["inductor"] = i if i.available() else False
    return i


def _interpreted():
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def _route(x, floor=None):
    """How kernels apply to the eager tensor ``x``: ``None`` (the framework path),
    ``"triton"`` (launched on the caller's thread: CUDA, or the interpreter in
    ``fused`` mode), ``"sync"`` (Inductor, compiled on the caller's thread: the
    ``fused`` mode asks for it) or ``"tier"`` (a background-compiled kernel:
    Inductor on CPU, Triton on CUDA).  ``floor``: the fewest elements that the CPU
    tier serves for this call's function (:func:`least`; None: ``MIN_NUMEL``)."""
    m = _STATE["mode"]
    if m == "auto":  # the common case first: a call of a small CPU tensor returns None
        if x.is_cuda:
            return "tier" if not _deterministic() and _STATE["torch_hooks"]() is None \
                and _triton_soon() and _dense(x) else None
        if x.numel() >= (floor or MIN_NUMEL) and x.is_cpu and _inductor():
            return None if _UNBILLED.__dict__ or _guarded_state() or not _dense(x) \
                or _deterministic() or _STATE["torch_hooks"]() is not None else "tier"
        return None
    if m is None:
        m = mode()
        if m == "auto":
            return _route(x, floor)
    if m == "framework" or not _dense(x):
        return None
    if x.is_cuda:
        if not _triton():
            return None
        return "triton" if m == "fused" else "tier"
    if m == "fused" and x.is_cpu:  # (a meta tensor, say, has no values to run on)
        if _interpreted():
            return "triton" if _triton() else None
        return "sync" if _inductor() and not _guarded_state() else None
    return None


def _dense(x):
    """Whether ``x`` is a dense strided tensor, the only kind a kernel takes.  Any
    other (sparse, mkldnn, nested) takes its framework path, which computes it or
    refuses it: a kernel's failure on one had retired the slot that serves dense
    tensors of its function and dtype for the rest of the process (decision 166)."""
    return x.layout is _STATE["torch_strided"] and not x.is_nested


def _deterministic():
    """Whether ``torch.use_deterministic_algorithms`` is on (``warn_only`` too).  Then
    the default mode's tier stands aside: it swaps a kernel in when a background
    compile ends and keeps it by timing, so the call that a kernel serves first
    depends on the clock, and a kernel's last bits can differ from the framework
    path's (within the bound: a row kernel's sums, a backward's formula).  Two runs
    of one program then differed, which that switch exists to rule out, as
    ``cudnn.benchmark`` does (decision 168).  ``fused`` mode compiles on the first
    call and keeps its kernel: it repeats.  ~0.02 us."""
    c = _STATE["torch_C"]
    return c is not None and c._get_deterministic_algorithms()


def _guarded_state():
    """Whether this thread's PyTorch state is one that the CPU kernels' Dynamo guards
    reject and a compile does not reproduce: a torch function mode (``with
    torch.device(...)``, ``torch.set_default_device``), a dispatch mode (a
    ``FlopCounterMode``: it must see the ops, too), torch functions disabled, or a
    compiler stance other than the default (``torch.compiler.set_stance``, whose
    ``force_eager`` ran the kernel's stub eagerly in the compile: "Miss").  Such a
    call takes the framework path, neither billed nor counted as a miss: it compiled
    kernels that never served, each slot twice, then retired them for good
    (decision 159).  ~0.1 us."""
    c = _STATE["torch_C"]
    if c is None:  # (no PyTorch tensor has been seen)
        return False
    if c._len_torch_function_stack() or c._len_torch_dispatch_stack() or \
            not c._is_torch_function_enabled():
        return True
    # (imported by a compile, or set_stance; maybe still being imported, on another
    # thread: an attribute it lacks yet is the default)
    frames = sys.modules.get("torch._dynamo.eval_frame")
    return getattr(getattr(frames, "_stance", None), "stance", "default") != "default"


_UNBILLED = threading.local()  # set (on this thread): the CPU tier's calls are not billed


@contextlib.contextmanager
def unbilled():
    """The framework path for the CPU tier's calls made inside, billing no kernel:
    for a composite (a gated row before its own kernel is ready) whose parts are
    other functions' special cases; the composite's slot bills their time.
    Nests (the outermost ends it)."""
    outer = "on" in _UNBILLED.__dict__
    _UNBILLED.on = True
    try:
        yield
    finally:
        if not outer:
            del _UNBILLED.on


def _row(name):
    return BY_NAME[name]


def _dtype(t):
    return _dtype_name(t.dtype)


def _dtype_name(dtype):
    """``torch.float32`` -> ``"float32"``."""
    return str(dtype)[6:]


def _pkey(params):
    """A kernel's key of its Python-number parameters: their type and value, and a
    float's sign: -0.0 and 0.0 are equal and hash alike, and whichever slope was
    compiled first served both (leaky_relu's -0.0 gives +0 at -2, 0.0 gives -0;
    decision 150)."""
    return tuple((type(p).__name__, p, math.copysign(1.0, p) if type(p) is float else 0)
                 for p in params)


#: A function's Python-number parameter values whose compiled variant (a JAX
#: executable, a CuPy kernel, a CUDA tier's Triton kernel) is built at their first
#: call; a later value is built when it comes back, up to MOST_VALUES values of the
#: function, beyond which new values are never built (decision 156 for JAX, 187 for
#: CuPy and the CUDA tier).  Reason: a parameter annealed in eager code (a new slope
#: every step) compiled at every call, and the compiled variants grew without bound.
FIRST_VALUES = 8
MOST_VALUES = 256


class FirstValues:
    """The rule above for one function: :meth:`admit` says whether the variant of
    a call's parameter values may be built now."""

    __slots__ = ("_rank",)

    def __init__(self):
        self._rank = {}  # values -> the order of their first call (at most MOST_VALUES)

    def admit(self, values) -> bool:
        """Whether the variant of ``values`` (a hashable key of the call's parameter
        values, :func:`_pkey`) may be built at this call: at its first call for the
        function's first FIRST_VALUES values, from its second call on for the next,
        never for a value after MOST_VALUES (not remembered)."""
        if values in self._rank:
            return True
        n = len(self._rank)
        if n >= MOST_VALUES:
            return False
        self._rank[values] = n + 1
        return n < FIRST_VALUES


_VALUES: dict = {}


def first_values(kind, name) -> FirstValues:
    """The :class:`FirstValues` of function ``name`` for ``kind`` (``"cupy"``,
    ``"triton"``)."""
    v = _VALUES.get((kind, name))
    if v is None:
        v = _VALUES.setdefault((kind, name), FirstValues())
    return v


# -- the tier's bookkeeping around one call ----------------------------------------------

def _kernel_or_eager(slot, run_kernel, eager, elems, sample, sync):
    """Run the slot's kernel if it is ready, else ``eager()`` (timed for the tier).
    ``sync``: compile now if the slot has no kernel yet (``fused`` mode)."""
    if sync and slot.state is not READY and slot.state is not FAILED:
        TIER.compile_now(slot, sample)
    k = slot.kernel
    if k is not None:
        t0 = time.perf_counter()
        try:
            y = run_kernel(k)
        except Miss:
            TIER.missed(slot, sample)
        except Exception as e:  # noqa: BLE001 - a launch that fails costs its kernel only
            if _passes_through(e):
                raise
            TIER.failed(slot, e)
        else:
            slot.hits += 1
            if not sync and not slot.eager_only:
                TIER.timed(slot, time.perf_counter() - t0, elems)
            return y
    t0 = time.perf_counter()
    y = eager()
    TIER.spent(slot, time.perf_counter() - t0, elems, sample)
    return y


def _passes_through(e):
    """Whether ``e``, raised while a kernel ran, is PyTorch's and not the kernel's:
    non-reentrant checkpointing stops a recomputation by raising its
    ``_StopRecomputationError`` from the hook that saves the last tensor it needs,
    and the kernel Function's forward saves one.  Taken for the kernel's failure,
    it retired the kernel for the process and ran the framework path inside the
    recomputation: "Unexpected state: target_frame.early_stop is set" (decision 171)."""
    return type(e).__module__ == "torch.utils.checkpoint"


def _inference(tech, *tensors):
    """The inference state of a CPU kernel's call, part of its key: ``None`` for
    plain tensors outside ``torch.inference_mode``, else ``(mode on, which of the
    tensors are inference tensors)``.  Reason: Dynamo's guards check both (a kernel
    compiled outside the mode rejects every call in it, and one compiled for an
    inference tensor rejects a plain one), so an inference program's calls missed
    every kernel, and each eighth miss compiled it again, as it was, on the compile
    thread (decision 153)."""
    if tech != "inductor":
        return None
    mode = _STATE["torch_inference"]()
    if len(tensors) == 1:  # (most calls: one tensor, no generator)
        inference = tensors[0].is_inference()
        return (mode, (inference,)) if mode or inference else None
    flags = tuple(t.is_inference() for t in tensors)
    return (mode, flags) if mode or any(flags) else None


def _state_label(state):
    if state is None:
        return ""
    mode, flags = state
    if len(flags) == 1:
        return (" (inference mode)" if flags[0] else " (inference mode, plain tensor)") \
            if mode else " (inference tensor)"
    kinds = ", ".join("inference" if f else "plain" for f in flags)
    return f" ({'inference mode, ' if mode else ''}tensors {kinds})"


def _clone_in(t, inference):
    import torch

    with torch.inference_mode(inference):
        return t.clone()


def _in_state(build, state):
    """``build`` run in ``state`` (:func:`_inference`): in ``torch.inference_mode``
    where the calls run in it, on inference tensors where the calls' are."""
    if state is None:
        return build

    def build_in(slot, sample):
        import torch

        # (made on the compile thread, or on the caller's in the mode: fused, compile_now)
        flags = state[1] + (False,) * (len(sample) - len(state[1]))
        sample = tuple(t if t.is_inference() == f else _clone_in(t, f)
                       for t, f in zip(sample, flags))
        with torch.inference_mode(state[0]):
            return build(slot, sample)

    return build_in


def _elementwise_slot(kind, info, x, params, tech, timed_backward=False):
    dt = _dtype(x)
    state = _inference(tech, x)
    key = (kind, tech, info.name, _pkey(params), dt, state)
    s = TIER.slots.get(key)
    if s is not None:
        return s
    label = f"{info.label(dict(zip([p.name for p in info.params], params)))} {dt} {kind}" \
            f"{_state_label(state)}"
    if tech == "inductor":
        from . import inductor as ki

        build = ki.builder(kind, info, dt, params)
        label += " [Inductor]"
    else:
        t = _triton()
        build = t.builder(kind, info, dt, params)
        label += " [Triton]"
    # a training kernel is two compiles (one where its forward is native); its
    # framework backward runs later, inside autograd: timed where the backend's
    # Function reports it, else taken to cost what the forward cost
    train = kind == "train"
    native = _native_cpu(info.name, x, params)
    slot = TIER.slot(key, label, _in_state(build, state),
                     weight=2.0 if train and not native else 1.0,
                     share=0.5 if train and not timed_backward else 1.0,
                     eager_only=tech == "triton")
    # a training kernel replaces the forward and the backward: timing its forward
    # against the framework forward says nothing of the backward, so it is kept
    slot.keep = train
    return _admitting(slot, info, params)


def _admitting(slot, info, params):
    """``slot``, whose compile a call starts only as :class:`FirstValues` admits its
    parameter values, where a first call would start it (eager_only: CUDA)."""
    if slot.eager_only and slot.admit is None:
        from functools import partial

        slot.admit = partial(first_values("triton", info.name).admit, _pkey(params))
    return slot


def dense(x):
    """Whether ``x``'s elements fill ``x.numel()`` consecutive places of its storage:
    a permutation of a contiguous tensor (channels_last, a transpose), whose 1-d
    view in memory order an element-wise kernel can read as it is."""
    if x.is_contiguous():
        return True
    n = 1
    for st, sz in sorted((st, sz) for st, sz in zip(x.stride(), x.shape) if sz != 1):
        if st != n:
            return False
        n *= sz
    return True


def flat(x, like=None):
    """``x`` as a 1-d tensor for an element-wise kernel, in the memory order of
    ``like`` (default ``x``): a view where ``x`` is contiguous, or dense with
    ``like``'s strides; else a copy in that order (``shaped(y, like)`` puts a
    kernel's output back).  Reason: the contract's layout.  Made contiguous, a
    channels_last input's output came back contiguous once the kernel was ready,
    where torch's element-wise ops and the framework path keep the input's format
    (decision 148)."""
    like = x if like is None else like
    if x.is_contiguous() and like.is_contiguous():
        return x.view(-1)
    if dense(like):
        if x.stride() != like.stride() or not dense(x):
            import torch

            x = _copy_as(x, lambda: torch.empty_like(like, dtype=x.dtype).copy_(x))  # (dense)
        return x.as_strided((x.numel(),), (1,))
    return _copy_as(x, x.contiguous).view(-1)


def _copy_as(t, make):
    """``make()``, a copy of ``t``, an inference tensor where ``t`` is one and plain
    where it is not, whatever ``torch.inference_mode`` says: the CPU kernels are
    keyed by their tensors' kind (:func:`_inference`, Dynamo's guards check it)."""
    inference = t.is_inference()
    if _STATE["torch_inference"]() == inference:
        return make()
    import torch

    with torch.inference_mode(inference):
        return make()


def shaped(y, like):
    """A kernel's fresh 1-d output ``y`` in ``like``'s shape, with its strides where
    ``like`` is dense (:func:`flat`'s order), as a tensor of ``y``'s storage that
    is not a view.  Reason: a view made in no_grad mode refuses an in-place op
    with an operand that requires grad (``y.mul_(w)``), and a Function's output
    that is a view refuses any (tanh_shrink's pair), where torch's ops and the
    framework path allow them."""
    import torch

    if y.dim() != 1 or y.stride() != (1,) or y._base is not None:
        return y.reshape(like.shape)  # (not a kernel's fresh result: a view, as before)
    stride = like.stride() if dense(like) and not like.is_contiguous() else None
    out = torch.empty(0, dtype=y.dtype, device=y.device)
    if stride is None:
        return out.set_(y.untyped_storage(), y.storage_offset(), like.shape)
    return out.set_(y.untyped_storage(), y.storage_offset(), like.shape, stride)


_flat = flat


def _tech_of(route, x):
    return "triton" if x.is_cuda else "inductor"


def torch_forward(name, x, params, eager):
    """``name``'s function of the eager tensor ``x``: one fused kernel where one
    applies and is ready, else ``eager(x)`` (also on CPU where the function's
    forward is ATen's own: ``native`` in its :func:`own` registration)."""
    r = _route_of(name, params, x)
    if r is None:
        return eager(x)
    info = _row(name)
    if r == "triton":
        y = _triton().forward(info, x, params)
        return eager(x) if y is None else y
    if _native_cpu(name, x, params):
        return eager(x)
    tech = _tech_of(r, x)
    slot = _elementwise_slot("forward", info, x, params, tech)
    if slot.state is FAILED or slot.state is RETIRED or x.numel() == 0:
        return eager(x)
    dtype, device = x.dtype, x.device

    def run(k):
        return shaped(k(_flat(x)), x)

    def sample():
        import torch

        return (torch.zeros(_sample_numel(tech, x.numel()), dtype=dtype, device=device),)

    return _kernel_or_eager(slot, run, lambda: eager(x), x.numel(), sample, r == "sync")


def spent_backward(name, x, params, seconds):
    """A backend's framework backward of ``name`` (its training path's autograd
    Function) took ``seconds``: the bill of the function's training kernel."""
    if _route_of(name, params, x, "train") != "tier" or x.is_cuda:
        return
    # (the key's inference state: none, as no tensor that records a gradient is one)
    slot = TIER.slots.get(("train", "inductor", name, _pkey(params), _dtype(x), None))
    if slot is not None:
        dtype, n = x.dtype, x.numel()

        def sample():
            import torch

            m = _sample_numel("inductor", n)
            return (torch.zeros(m, dtype=dtype), torch.zeros(m, dtype=dtype))

        TIER.spent(slot, seconds, 0, sample)


def torch_train(name, x, params, eager, wrap, timed_backward=False):
    """The same, recording a gradient: ``wrap(pair, info, x, params)`` (the
    backend's autograd.Function) around a forward and a backward kernel where
    they apply, else ``eager(x)`` (the backend's own autograd path).
    ``timed_backward``: that path's backward reports its time through
    :func:`spent_backward`, else it is taken to cost what the forward cost.  The
    CPU kernels take the backend's own formulas where it registered them
    (:func:`own`)."""
    r = _route_of(name, params, x, "train")
    if r is None:
        return eager(x)
    info = _row(name)
    if r == "triton":
        pair = _triton().pair(info, _dtype(x), params)
        return eager(x) if pair is None else wrap(pair, info, x, params)
    tech = _tech_of(r, x)
    slot = _elementwise_slot("train", info, x, params, tech, timed_backward)
    if slot.state is FAILED or slot.state is RETIRED or x.numel() == 0:
        return eager(x)
    dtype, device = x.dtype, x.device

    def run(pair):
        return wrap(pair, info, x, params)

    def sample():
        import torch

        n = _sample_numel(tech, x.numel())
        # two tensors: Dynamo would guard on the arguments being one tensor
        return (torch.zeros(n, dtype=dtype, device=device),
                torch.zeros(n, dtype=dtype, device=device))

    return _kernel_or_eager(slot, run, lambda: eager(x), x.numel(), sample, r == "sync")


def _rows_slot(kind, info, x, params, masked, tech, where=None):
    dt = _dtype(x)
    one_row = x.numel() == x.shape[-1]
    one_col = x.shape[-1] == 1  # (Dynamo specializes a size of 1: a kernel of its own)
    long = tech == "inductor" and x.shape[-1] > long_row(dt) and info.wide_sums  # (float64 sums)
    # Inductor sums a float32 row longer than CASCADE_CHUNK by a cascade of chunks, and
    # guards the row's length on the side of it the kernel was compiled on: a kernel
    # of its own (standardize's on (4, 1024) missed every call on (2, 5000))
    over = tech == "inductor" and x.shape[-1] > CASCADE_CHUNK
    state = _inference(tech, x) if where is None else _inference(tech, x, where)
    key = (kind, tech, info.name, tuple(map(repr, params)), dt, masked, one_row, one_col, over,
           state, long)
    if tech == "triton":  # Triton compiles one variant per block size
        key += (_triton().block_of(x.shape[-1]),)
    s = TIER.slots.get(key)
    if s is not None:
        return s
    label = f"{info.name} {dt} rows{' masked' if masked else ''}" \
            f"{' (one row)' if one_row else ''}{' (one column)' if one_col else ''}" \
            f"{' (long)' if long else ''}{' (over 4096)' if over else ''} {kind}" \
            f"{_state_label(state)}"
    if tech == "inductor":
        from . import inductor as ki

        build = (ki.rows_vjp_builder if kind == "train" else ki.rows_builder)(info, params,
                                                                             masked, long)
        label += " [Inductor]"
    else:
        build = _triton().rows_builder(info, dt, params, masked)
        label += " [Triton]"
    build = _in_state(build, state)
    if kind != "train":
        return _admitting(TIER.slot(key, label, build, eager_only=tech == "triton"), info,
                          params)
    # a forward and a backward kernel, billed and kept as the element-wise pairs
    slot = TIER.slot(key, label, build, weight=2.0, share=0.5)
    slot.keep = True
    return slot


def _rows_args(x, where):
    ncols = x.shape[-1]
    x2 = (x if x.is_contiguous() else _copy_as(x, x.contiguous)).view(-1, ncols)
    if where is None:
        return (x2,)
    w = where.expand(x.shape)
    return (x2, (w if w.is_contiguous() else _copy_as(w, w.contiguous)).view(-1, ncols))


#: The CUDA tier compiles a Triton kernel by one launch on a sample, on the compile
#: thread: of at most this many elements, not of the call's (a training slot's x, g
#: and output at the call's size were three times the input on the device, at the
#: user's peak, during the forward; decision 187)
TRITON_SAMPLE = 1 << 14


def _triton_numel(n):
    """The elements of a Triton sample for a call of ``n``: at most TRITON_SAMPLE,
    specialized as ``n`` is (Triton specializes an integer argument on being 1, on
    its divisibility by 16 and on needing 64 bits: a sample specialized otherwise
    would leave the call's own variant to compile on the caller's thread)."""
    if n <= TRITON_SAMPLE or n >= 1 << 31:
        return n
    return TRITON_SAMPLE if n % 16 == 0 else TRITON_SAMPLE + 1


def _sample_numel(tech, n):
    if tech == "inductor":
        from .inductor import sample_numel

        return sample_numel(n)
    return _triton_numel(n)


def _rows_sample(x, where):
    import torch

    ncols = x.shape[-1]
    rows = x.numel() // ncols
    if not x.is_cuda:
        from .inductor import sample_rows

        rows, ncols = sample_rows(rows, ncols)
    else:  # (a Triton row kernel takes the row's length; the rows are its grid)
        rows = 1
    out = (torch.zeros(rows, ncols, dtype=x.dtype, device=x.device),)
    if where is not None:
        out += (torch.ones(rows, ncols, dtype=torch.bool, device=x.device),)
    return out


def _per_row(info):
    return info.row_kernel == "per_row"


def _eager_rows(info, x, params, where, route):
    """Whether this call of a row takes the backend's eager path on a CPU
    compiler's route: ATen's own (``native`` in the row's :func:`own`
    registration; rows of at most ``long_row`` entries), or a float64 row longer than
    LONG_ROW of a row with wide sums (the exp sums, standardize's squares), which no
    CPU kernel sums within the bound (Inductor adds float64 in order per lane too, and
    has nothing wider: 248 ulp of softmax at 4096 entries, exp(-36.7) being float64's
    peaked case; standardize 8.03 units with one entry of 1e30 in 5000; the eager
    paths correct torch's sum, LONG_ROW's reason)."""
    if route == "triton":
        return False
    dt = _dtype(x)
    if x.shape[-1] > long_row(dt):
        return info.wide_sums and dt == "float64"
    return where is None and _native_cpu(info.name, x, params)


def torch_rows(name, x, params, where, eager):
    """A reduction over the last axis by one kernel per row where one applies and
    is ready, else ``eager()`` (from the function's floor where its backend
    registered one: :func:`tier_from`, kind ``"forward"``, or ``"train"`` in
    :func:`torch_rows_train`)."""
    r = _route_of(name, params, x)
    if r is None or x.ndim == 0 or x.numel() == 0:
        return eager()
    info = _row(name)
    if _eager_rows(info, x, params, where, r):
        return eager()
    if r == "triton":
        y = _triton().rows(info, x, params, where)
        return eager() if y is None else y
    tech = _tech_of(r, x)
    slot = _rows_slot("rows", info, x, params, where is not None, tech, where)
    if slot.state is FAILED or slot.state is RETIRED:
        return eager()
    out_shape = x.shape[:-1] if _per_row(info) else x.shape

    def run(k):
        return k(*_rows_args(x, where)).reshape(out_shape)

    return _kernel_or_eager(slot, run, eager, x.numel(), lambda: _rows_sample(x, where),
                            r == "sync")


def torch_rows_train(name, x, params, where, eager, wrap):
    """The same, recording a gradient, where the row names its backward
    (``row_backward``): ``wrap(fwd, info, x, params, where, bwd)`` (the backend's
    autograd.Function) around the row kernel ``fwd``, and for ``"vjp"`` the
    compiled backward ``bwd(x, g, where)`` (CPU only)."""
    info = _row(name)
    if info.row_backward is None:
        return eager()
    r = _route_of(name, params, x, "train")
    if r is None or x.ndim == 0 or x.numel() == 0 or _eager_rows(info, x, params, where, r):
        return eager()
    if info.row_backward == "vjp":  # a compiled backward on CPU only (no Triton one)
        return eager() if r == "triton" or x.is_cuda else _rows_vjp_train(
            info, x, params, where, eager, wrap, r)
    if r == "triton":
        t = _triton()
        return wrap(lambda *a: t.rows(info, *a), info, x, params, where)
    tech = _tech_of(r, x)
    slot = _rows_slot("rows", info, x, params, where is not None, tech)
    if slot.state is FAILED or slot.state is RETIRED:
        return eager()
    out_shape = x.shape[:-1] if _per_row(info) else x.shape

    def forward(k):
        def fwd(xx, prm, wh):
            return k(*_rows_args(xx, wh)).reshape(out_shape)
        return wrap(fwd, info, x, params, where)

    return _kernel_or_eager(slot, forward, eager, x.numel(), lambda: _rows_sample(x, where),
                            r == "sync")


def _rows_vjp_train(info, x, params, where, eager, wrap, r):
    slot = _rows_slot("train", info, x, params, where is not None, _tech_of(r, x))
    if slot.state is FAILED or slot.state is RETIRED:
        return eager()

    def run(pair):
        def fwd(xx, prm, wh):
            return pair.fwd(*_rows_args(xx, wh)).reshape(
                xx.shape[:-1] if _per_row(info) else xx.shape)

        def bwd(xx, g, wh):
            x2, *w2 = _rows_args(xx, wh)
            return pair.bwd(x2, _rows_args(g, None)[0], *w2).reshape(xx.shape)

        return wrap(fwd, info, x, params, where, bwd)

    def sample():
        s = _rows_sample(x, where)
        return (s[0], s[0].clone()) + s[1:]  # distinct tensors: Dynamo guards on aliasing

    return _kernel_or_eager(slot, run, eager, x.numel(), sample, r == "sync")


# -- gated rows (glu, swiglu, geglu): x viewed as (outer, 2, m) --------------------------------

def _gated_slot(kind, info, x3, params, tech):
    dt = _dtype(x3)
    ones = (x3.shape[0] == 1, x3.shape[2] == 1)  # a size 1 is a kernel of its own
    state = _inference(tech, x3)
    key = ("gated-" + kind, tech, info.name, _pkey(params), dt, ones, state)
    s = TIER.slots.get(key)
    if s is not None:
        return s
    label = f"{info.label(dict(zip([p.name for p in info.params[1:]], params[1:])))} {dt} " \
            f"gated {kind}{' (one row)' if ones[0] else ''}{_state_label(state)}"
    if tech == "inductor":
        from . import inductor as ki

        build = ki.gated_builder(kind, info, dt, params)
        label += " [Inductor]"
    else:
        build = _triton().gated_builder(kind, info, dt, params)
        label += " [Triton]"
    train = kind == "train"
    native = tech == "inductor" and _own(info.name, params, dt).native  # (one compile)
    slot = TIER.slot(key, label, _in_state(build, state),
                     weight=2.0 if train and not native else 1.0,
                     share=0.5 if train else 1.0, eager_only=tech == "triton")
    slot.keep = train
    return _admitting(slot, info, params)


def _gated_sample(x3, train):
    def sample():
        import torch

        outer, _, m = x3.shape
        if not x3.is_cuda:
            from .inductor import sample_rows

            outer, m = sample_rows(outer, m)
        else:
            outer = _gated_outer(outer, m)
        z = torch.zeros(outer, 2, m, dtype=x3.dtype, device=x3.device)
        return (z, torch.zeros(outer, m, dtype=x3.dtype, device=x3.device)) if train else (z,)

    return sample


def _gated_outer(outer, m):
    """The outer size of a Triton gated sample for a call of ``(outer, 2, m)``: its
    kernels take ``n = outer * m`` and ``m``, specialized as the call's are
    (:func:`_triton_numel`), with at most TRITON_SAMPLE elements where it can."""
    n = outer * m
    if n <= TRITON_SAMPLE or n >= 1 << 31 or outer <= 16:
        return outer
    if n % 16 == 0:
        return 16
    return 1 if m > 1 else 17  # (n not divisible by 16: nor is m; n = 1 is a variant)


def torch_gated(name, x3, params, eager):
    """A gated row's function of ``x3`` (the contiguous input viewed as ``(outer, 2,
    m)``; ``params`` with the axis set to 1) by one fused kernel where one applies
    and is ready (a tensor of ``outer * m`` elements, any shape), else ``eager()``
    (from the function's floor where its backend registered one: :func:`tier_from`)."""
    r = _route_of(name, params, x3)
    if r is None or x3.numel() == 0:
        return eager()
    info = _row(name)
    if r == "triton":
        try:
            return _triton().gated_forward(info, x3, params)
        except Unsupported:
            return eager()
    slot = _gated_slot("forward", info, x3, params, _tech_of(r, x3))
    if slot.state is FAILED or slot.state is RETIRED:
        return eager()
    return _kernel_or_eager(slot, lambda k: k(x3), eager, x3.numel(), _gated_sample(x3, False),
                            r == "sync")


def torch_gated_train(name, x3, params, eager, wrap):
    """The same, recording a gradient: ``wrap(pair, info, x3, params)`` (the
    backend's autograd.Function) around the forward and backward kernels."""
    r = _route_of(name, params, x3, "train")
    if r is None or x3.numel() == 0:
        return eager()
    info = _row(name)
    if r == "triton":
        try:
            pair = _triton().gated_pair(info, _dtype(x3), params)
        except Unsupported:
            return eager()
        return wrap(pair, info, x3, params)
    slot = _gated_slot("train", info, x3, params, _tech_of(r, x3))
    if slot.state is FAILED or slot.state is RETIRED:
        return eager()
    return _kernel_or_eager(slot, lambda pair: wrap(pair, info, x3, params), eager,
                            x3.numel(), _gated_sample(x3, True), r == "sync")


def torch_fuse(key, fn, eager, *tensors):
    """``fn(*tensors)`` (ATen ops that a backend writes for itself, returning a
    tensor or a tuple of them) by one compiled kernel where the CPU tier applies
    to ``tensors[0]``, else ``eager()`` (on CUDA the Triton kernels are printed
    from the table's rows, not from ATen functions)."""
    x = tensors[0]
    r = _route_of(key, (), x, "fuse")
    if r not in ("tier", "sync") or x.is_cuda or any(t.shape != x.shape for t in tensors):
        return eager()
    from . import inductor as ki

    state = _inference("inductor", *tensors)
    skey = ("fuse", "inductor", key, tuple(_dtype(t) for t in tensors), state)
    slot = TIER.slots.get(skey) or TIER.slot(
        skey, f"{key} {_dtype(x)}{_state_label(state)} [Inductor]",
        _in_state(ki.fuse_builder(fn, len(tensors)), state))
    if slot.state is FAILED or slot.state is RETIRED:
        return eager()

    def run(k):
        out = k(*[_flat(t, x) for t in tensors])
        return tuple(shaped(o, x) for o in out) if isinstance(out, tuple) else shaped(out, x)

    def sample():
        import torch

        n = _sample_numel("inductor", x.numel())
        return tuple(torch.zeros(n, dtype=t.dtype, device=t.device) for t in tensors)

    return _kernel_or_eager(slot, run, eager, x.numel(), sample, r == "sync")


# -- compile now: multiact compile (local device) -------------------------------------------

def warm(functions=None, dtypes=None, progress=None):
    """Compile the local device's kernels now, on this thread: the CPU tier
    (Inductor) for PyTorch CPU tensors.  Returns one dict per kernel:
    ``{"function", "dtype", "kernel", "target", "ok", "seconds", "error"}``."""
    from . import inductor as ki

    return ki.warm(functions, dtypes or _FLOATS, progress)


def status(name=None):
    """The tier's kernels (of ``name``'s function, or all): state, reason, seconds."""
    out = []
    for s in list(TIER.slots.values()):
        if name is None or (len(s.key) > 2 and s.key[2] == name):
            out.append(s.report())
    return out


def kernel_calls():
    """Calls served by a kernel of the tier so far, in this process (tests)."""
    return sum(s.hits for s in list(TIER.slots.values()))


def wait(timeout=None):
    """Block until every queued compile is done (benchmarks and tests)."""
    return TIER.wait(timeout)


def coverage(functions=None, dtypes=None, printers=None):
    """Which fused kernels exist: one dict per element-wise function case and row
    kernel, printer (``"triton"``, ``"cuda_c"``, ``"inductor"``), kernel
    (``"forward"``, ``"backward"``, ``"rows"``, ``"rows+where"``) and dtype, with
    ``"ok"`` and, where there is no kernel, the ``"reason"`` (``kernels/_coverage.py``).

    Example:
      >>> from multiact import kernels
      >>> [e["reason"] for e in kernels.coverage(["relu"], ["bfloat16"], ["cuda_c"])][0][:40]
      'CuPy kernels are built for float16, floa'
    """
    return _coverage(functions, dtypes, printers)
