"""Other libraries' counterparts of multiact's functions: facts about PyTorch, JAX,
NumPy/SciPy and CuPy, which the function table (``multiact._table``: facts about
multiact) does not hold.  Read by the comparisons with PyTorch
(``tests/test_grad.py``'s NaN gradients, ``conformance/test_torch.py``'s in-place
edits and patched ``torch.nn.functional``) and by the benchmarks
(``benchmarks/``), which iterate over the table and take a function's
counterpart where this module has one.

Each spelling is source text, evaluated where that library is imported (so this
module imports none): an expression of the library's names (``torch``, ``F``
for ``torch.nn.functional``; ``jax``, ``jnp``, ``nn`` for ``jax.nn``; ``np``;
``sp`` for ``scipy.special``) that gives a callable ``f(x, **params)`` taking
multiact's parameter names.  An entry keyed by a function's name serves every
case of its row whose parameters the callable takes; one keyed by a case's
label (``FuncInfo.label``: ``"gelu(approximate=False)"``) serves that case
alone.  ``"numpy"`` is a plain NumPy composite, as a user would write it; with
``cupy=True`` the ``"numpy"`` and ``"scipy"`` spellings are evaluated with CuPy
(``np``) and ``cupyx.scipy.special`` (``sp``).

Not here: ``one_hot`` (PyTorch's and JAX's return other dtypes, a documented
difference) and what has no counterpart (``log1mexp``, ``sparsemax``,
``logmeanexp`` in PyTorch, ...).
"""

from __future__ import annotations

import importlib
import inspect
import re

_GELU_TANH = "0.5 * x * (1 + np.tanh(0.7978845608028654 * (x + 0.044715 * x ** 3)))"
_SOFTMAX_NP = ("lambda x, axis=-1: (lambda e: e / e.sum(axis, keepdims=True))"
               "(np.exp(x - x.max(axis, keepdims=True)))")

# why: other libraries' spellings of multiact's functions (facts about those libraries)
SPELLINGS = {
    "relu": {"torch": "F.relu", "jax": "nn.relu", "numpy": "lambda x: np.maximum(x, 0)"},
    "relu6": {"torch": "F.relu6", "jax": "nn.relu6",
              "numpy": "lambda x: np.minimum(np.maximum(x, 0), 6)"},
    "hard_tanh": {"torch": "F.hardtanh", "jax": "nn.hard_tanh",
                  "numpy": "lambda x: np.clip(x, -1, 1)"},
    "leaky_relu": {"torch": "F.leaky_relu", "jax": "nn.leaky_relu",
                   "numpy": "lambda x, negative_slope=0.01: np.where(x >= 0, x, "
                            "negative_slope * x)"},
    "sigmoid": {"torch": "torch.sigmoid", "jax": "nn.sigmoid",
                "numpy": "lambda x: 1 / (1 + np.exp(-x))", "scipy": "sp.expit"},
    "silu": {"torch": "F.silu", "jax": "nn.silu", "numpy": "lambda x: x / (1 + np.exp(-x))",
             "scipy": "lambda x: x * sp.expit(x)"},
    "softplus": {"torch": "lambda x, beta=1.0: F.softplus(x, beta)", "jax": "nn.softplus",
                 "numpy": "lambda x, beta=1.0: np.logaddexp(beta * x, 0) / beta"},
    "log_sigmoid": {"torch": "F.logsigmoid", "jax": "nn.log_sigmoid",
                    "numpy": "lambda x: -np.logaddexp(-x, 0)", "scipy": "sp.log_expit"},
    "elu": {"torch": "F.elu", "jax": "nn.elu",
            "numpy": "lambda x, alpha=1.0: np.where(x > 0, x, alpha * np.expm1(x))"},
    "celu": {"torch": "F.celu", "jax": "nn.celu"},
    "selu": {"torch": "F.selu", "jax": "nn.selu",
             "numpy": "lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 "
                      "* np.expm1(x))"},
    "gelu": {"torch": "lambda x, approximate=True: F.gelu(x, approximate='tanh' if approximate "
                      "else 'none')",
             "jax": "nn.gelu", "numpy": f"lambda x: {_GELU_TANH}"},
    "gelu(approximate=False)": {"scipy": "lambda x: 0.5 * x * sp.erfc(-x / 1.4142135623730951)"},
    "hard_sigmoid": {"torch": "F.hardsigmoid", "jax": "nn.hard_sigmoid",
                     "numpy": "lambda x: np.minimum(np.maximum(x + 3, 0), 6) / 6"},
    "hard_silu": {"torch": "F.hardswish", "jax": "nn.hard_silu",
                  "numpy": "lambda x: x * np.minimum(np.maximum(x + 3, 0), 6) / 6"},
    "soft_sign": {"torch": "F.softsign", "jax": "nn.soft_sign",
                  "numpy": "lambda x: x / (np.abs(x) + 1)"},
    "tanh": {"torch": "torch.tanh", "jax": "jnp.tanh", "numpy": "np.tanh"},
    "identity": {"torch": "torch.nn.Identity()", "jax": "nn.identity"},
    "mish": {"torch": "F.mish", "jax": "nn.mish"},
    "squareplus": {"jax": "nn.squareplus"},
    "sparse_plus": {"jax": "nn.sparse_plus"},
    "sparse_sigmoid": {"jax": "nn.sparse_sigmoid"},
    "hard_shrink": {"torch": "lambda x, lambd=0.5: F.hardshrink(x, lambd)"},
    "soft_shrink": {"torch": "lambda x, lambd=0.5: F.softshrink(x, lambd)"},
    "tanh_shrink": {"torch": "F.tanhshrink"},
    "threshold": {"torch": "F.threshold"},
    "prelu": {"torch": "lambda x, weight: F.prelu(x, torch.as_tensor(weight, dtype=x.dtype, "
                       "device=x.device).reshape(-1))"},
    "softmax": {"torch": "lambda x, axis=-1: F.softmax(x, axis)", "jax": "nn.softmax",
                "numpy": _SOFTMAX_NP, "scipy": "lambda x, axis=-1: sp.softmax(x, axis=axis)"},
    "log_softmax": {"torch": "lambda x, axis=-1: F.log_softmax(x, axis)", "jax": "nn.log_softmax",
                    "numpy": "lambda x, axis=-1: (lambda s: s - np.log(np.exp(s).sum(axis, "
                             "keepdims=True)))(x - x.max(axis, keepdims=True))",
                    "scipy": "lambda x, axis=-1: sp.log_softmax(x, axis=axis)"},
    "softmin": {"torch": "lambda x, axis=-1: F.softmin(x, axis)"},
    "logsumexp": {"torch": "lambda a, axis: torch.logsumexp(a, axis)",
                  "jax": "nn.logsumexp",
                  "numpy": "lambda a, axis=None: (lambda m: np.squeeze(m, axis) + np.log("
                           "np.exp(a - m).sum(axis)))(a.max(axis, keepdims=True))",
                  "scipy": "lambda a, axis=None: sp.logsumexp(a, axis=axis)"},
    "standardize": {"torch": "lambda x, epsilon=1e-5: F.layer_norm(x, x.shape[-1:], "
                             "eps=epsilon)",
                    "jax": "nn.standardize"},
    "glu": {"torch": "lambda x, axis=-1: F.glu(x, axis)", "jax": "nn.glu"},
    # the gated MLPs' own spellings (LLaMA's silu(w1 x) * w3 x, Liger's reference)
    "swiglu": {"torch": "lambda x, axis=-1: (lambda a, b: F.silu(a) * b)(*x.chunk(2, axis))",
               "jax": "lambda x, axis=-1: (lambda a, b: nn.silu(a) * b)(*jnp.split(x, 2, "
                      "axis))"},
    "geglu": {"torch": "lambda x, axis=-1, approximate=True: (lambda a, b: F.gelu(a, "
                       "approximate='tanh' if approximate else 'none') * b)(*x.chunk(2, axis))",
              "jax": "lambda x, axis=-1, approximate=True: (lambda a, b: nn.gelu(a, "
                     "approximate) * b)(*jnp.split(x, 2, axis))"},
    "quick_gelu": {"torch": "lambda x: x * torch.sigmoid(1.702 * x)",
                   "jax": "lambda x: x * nn.sigmoid(1.702 * x)"},
    "relu2": {"torch": "lambda x: torch.square(F.relu(x))",
              "jax": "lambda x: jnp.square(nn.relu(x))"},
    "exponential": {"torch": "torch.exp", "jax": "jnp.exp", "numpy": "np.exp"},
}

LIBRARIES = ("torch", "jax", "numpy", "scipy")
_ENV: dict = {}


def _env(library, cupy):
    """The names a spelling of ``library`` is evaluated with (imports it)."""
    key = (library, cupy)
    env = _ENV.get(key)
    if env is None:
        imp = importlib.import_module
        if library == "torch":
            env = {"torch": imp("torch"), "F": imp("torch.nn.functional")}
        elif library == "jax":
            env = {"jax": imp("jax"), "jnp": imp("jax.numpy"), "nn": imp("jax.nn")}
        elif library == "numpy":
            env = {"np": imp("cupy" if cupy else "numpy")}
        elif library == "scipy":
            env = {"np": imp("cupy" if cupy else "numpy"),
                   "sp": imp("cupyx.scipy.special" if cupy else "scipy.special")}
        else:
            raise ValueError(f"unknown library {library!r}; known: {', '.join(LIBRARIES)}")
        _ENV[key] = env
    return env


def _takes(fn, params):
    try:
        inspect.signature(fn).bind(None, **params)
    except TypeError:
        return False
    except ValueError:  # a builtin without a signature: it takes x alone
        return not params
    return True


def counterpart(library, info, params=None, *, cupy=False):
    """``library``'s counterpart of ``info``'s function with ``params`` (default:
    the row's first check case) as a callable of the array alone, or None where
    the library has none (or none that takes these parameters).  ``cupy``: the
    ``"numpy"`` or ``"scipy"`` spelling evaluated with CuPy.  Imports the library."""
    params = dict(info.cases[0].params if params is None else params)
    own = SPELLINGS.get(info.label(params), {}).get(library)
    shared = SPELLINGS.get(info.name, {}).get(library)
    env = _env(library, cupy) if own or shared else None
    try:
        if own is not None:
            return eval(own, dict(env))  # noqa: S307 - this module's own text
        if shared is not None:
            fn = eval(shared, dict(env))  # noqa: S307
            if not _takes(fn, params):
                return None
            return fn if not params else (lambda x: fn(x, **params))
    except AttributeError:  # a function this version of the library lacks
        return None
    return None


def torch_names(info):
    """The names of ``torch``/``torch.nn.functional`` functions that the PyTorch
    spelling of ``info``'s function calls and that name ``info``'s own function
    in multiact (its name or an alias): the ones a user may replace with it
    (``F.gelu = multiact.gelu``; swiglu's spelling calls ``F.silu``, which is
    silu's, not swiglu's)."""
    import multiact

    own = {n for n in multiact.names() if multiact.get(n) is getattr(multiact, info.name)}
    found = set()
    for key in {info.name} | {info.label(dict(c.params)) for c in info.cases}:
        text = SPELLINGS.get(key, {}).get("torch", "")
        found.update(a for a in re.findall(r"\b(?:F|torch)\.(\w+)", text) if a in own)
    return sorted(found)
