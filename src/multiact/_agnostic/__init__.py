"""Generic definitions: every function written once, against the namespace ``xp``.

* ``elementwise`` and ``reductions``: the bodies, one per function, each with
  the public function's docstring; ``multiact._table`` has one row per body.
* ``_formulas``: constants and building blocks (written once, shared by the
  bodies and by every backend that runs a formula its own way).
* ``_special``: functions the Array API standard lacks (the normal CDF).
* ``_dtypes``: the dtype rules of the contract.

``PRIMITIVES`` are the functions the standard lacks; a backend module may
supply a native version of each in its own ``PRIMITIVES`` dict.
"""

from . import _dtypes, _formulas, _special

PRIMITIVES = {"ndtr": _special.ndtr, "shift": _formulas.shift,
              "quotient": _formulas.quotient, "isdtype": _dtypes.isdtype,
              "to_float": _dtypes.to_float,
              "divide_rn": _formulas.divide_rn, "dekker_split": _formulas.dekker_split,
              "two_product": _formulas.two_product, "sum_squares": _formulas.sum_squares,
              "carried": _formulas.carried, "stop_gradient": _formulas.stop_gradient,
              "scalar_operand": _formulas.scalar_operand}
