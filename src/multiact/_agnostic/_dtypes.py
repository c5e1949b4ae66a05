"""Dtype rules shared by every generic definition (docs/contract.md, "dtype")."""

from __future__ import annotations

__all__ = ["as_work", "finish", "as_param", "default_float", "device_of", "ml_float",
           "isdtype"]


def default_float(xp, x):
    """The namespace's default real floating dtype on ``x``'s device."""
    return xp.default_float(x)


def device_of(xp, x):
    return xp.device_of(x)


def as_work(xp, x, fname, *, keep_int=False, complex_ok=False, exact=False, argname="x"):
    """Return ``(xw, out_dtype)``: the array to compute with and the dtype to return.

    * float32/float64 are used as they are (``out_dtype is None``);
    * float16/bfloat16 are computed in float32 and cast back, unless the
      function is an exact selection (``exact=True``: relu, clip, ...); 8-bit
      floats always are, and so are NumPy arrays of ml_dtypes' floats;
    * bool, and integers unless ``keep_int``, become the default real floating dtype;
    * complex raises ``TypeError`` (naming ``fname`` and ``argname``) unless ``complex_ok``.
    """
    dt = x.dtype
    if dt in xp.work_floats:
        return x, None
    if xp.isdtype(dt, "real floating"):  # (ml_dtypes' floats too: isdtype below)
        try:  # (the least value as a float: ml_dtypes' 0 of float8_e8m0fnu is NaN;
            # the kernels' tracer knows the bits of its dtypes only)
            info = xp.finfo(dt)
            least = float(getattr(info, "min", -1.0))
        except (TypeError, ValueError, NotImplementedError):  # (PyTorch's packed
            # float4_e2m1fn_x2: "lowest" not implemented)
            raise TypeError(f"multiact.{fname}: argument {argname!r} has unsupported "
                            f"dtype {dt}") from None
        if least > 0:
            # float8_e8m0fnu (PyTorch's, JAX's): a scale format, no zero and no sign;
            # torch's cast made -1 a 1.0 and 0 a 2^-127, XLA's made 0 a NaN
            # (threshold(0.25, 0.5, -1) was 1; decision 228)
            raise TypeError(f"multiact.{fname}: argument {argname!r} has dtype {dt}, "
                            f"which holds neither zero nor negative values; expected a "
                            f"floating dtype with a sign (cast x to float32)")
        bits = info.bits
        # float16, bfloat16; and the 8-bit floats (PyTorch's float8 types, ml_dtypes'
        # in JAX) even for an exact selection: their libraries have few kernels of
        # their own (torch.relu on float8 is NotImplementedError), and a float32 copy
        # is exact both ways for a selection
        if bits < 32 and (not exact or bits < 16):
            return xp.astype(x, xp.float32), dt
        return x, None  # exact selections; NumPy's longdouble
    if xp.isdtype(dt, "bool"):
        return xp.to_float(x, default_float(xp, x)), None
    if xp.isdtype(dt, "integral"):
        if keep_int and xp.iinfo(dt).bits < 4:
            # JAX's int2 and uint2: relu6's 6 wrapped (relu6 of uint2 3 was 2), and
            # XLA's clamp of them is wrong (hard_tanh of int2 [-2, -1, 0, 1] was all -1;
            # jax.nn.hard_tanh's too; decision 228)
            raise TypeError(f"multiact.{fname}: argument {argname!r} has dtype {dt}, too "
                            f"narrow for {fname}, which keeps integer dtypes; expected an "
                            f"integer of 4 bits or more (cast x to int8)")
        return (x, None) if keep_int else (xp.to_float(x, default_float(xp, x)), None)
    if xp.isdtype(dt, "complex floating"):
        if complex_ok:
            return x, None
        raise TypeError(f"multiact.{fname}: argument {argname!r} must have a real dtype, "
                        f"got {dt}")
    raise TypeError(f"multiact.{fname}: argument {argname!r} has unsupported dtype {dt}")


def to_float(xp, x, dtype):
    """The bool or integer array ``x`` in the floating dtype ``dtype`` (the
    namespace's default): ``astype``.  A backend may keep more of ``x`` (JAX: its
    weak type)."""
    return xp.astype(x, dtype)


def isdtype(xp, dtype, kind):
    """The namespace's ``isdtype``, with ml_dtypes' floats real floating.

    Reason: a missing case.  NumPy's ``isdtype`` raises TypeError for ml_dtypes'
    dtypes (a NumPy array of JAX's bfloat16 or float8 values: ``np.asarray`` of a
    JAX array), and dask's answers False, so every check of an input's or a
    parameter's dtype raised NumPy's message, which names no function, or refused
    the array (decision 102).  Their floats are real floating here (computed in
    float32: :func:`as_work`); JAX's own answers stand; their integers (int4, ...)
    are otherwise no kind multiact computes with, nor is any other dtype NumPy's
    ``isdtype`` refuses (``StringDType``), so the caller's check refuses them with
    its own message."""
    try:
        yes = xp._xp.isdtype(dtype, kind)
    except TypeError:  # a dtype of no kind NumPy knows (ml_dtypes', StringDType)
        yes = False
    if yes or not ml_float(dtype):
        return yes
    return "real floating" in (kind if isinstance(kind, tuple) else (kind,))


def ml_float(dt):
    """Whether ``dt`` is one of ml_dtypes' floats (a NumPy array of JAX's bfloat16 or
    float8 values: ``np.asarray`` of a JAX array), computed in float32 as PyTorch's
    and JAX's narrow floats are."""
    import sys

    ml = sys.modules.get("ml_dtypes")  # (loaded wherever such a dtype exists)
    if ml is None or getattr(getattr(dt, "type", None), "__module__", "") != "ml_dtypes":
        return False
    try:
        return ml.finfo(dt).bits < 32
    except (TypeError, ValueError):  # its integers (int4, ...)
        return False


def finish(xp, y, out_dtype):
    """Cast a result computed in float32 back to the half dtype it came from."""
    return y if out_dtype is None else xp.astype(y, out_dtype)


def as_param(xp, p, like):
    """A parameter (``alpha``, ``b``, ...) ready to combine with ``like``.

    Python scalars stay scalars (they never upcast ``like``); arrays are cast to
    ``like``'s dtype, so the output dtype is always decided by ``x`` alone.  A
    Python int with a floating ``like`` is made a float: Inductor folds ``0 * t``
    for an int 0 into 0, so prelu(x, 0) and elu(x, alpha=0) gave 0 for NaN and -0
    in a compiled graph (decision 150).
    """
    if p is None or isinstance(p, float):
        return p
    if isinstance(p, int):
        floats = getattr(xp, "work_floats", None)
        return float(p) if type(p) is int and (floats is None or like.dtype in floats) \
            else p
    return p if p.dtype == like.dtype else xp.astype(p, like.dtype)
