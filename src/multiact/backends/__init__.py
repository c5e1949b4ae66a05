"""One module per framework, imported only when one of its arrays is passed.

Each module holds only what differs for its framework, each item with its reason:

* ``extra(name, ns)``: a native primitive the standard lacks (``ndtr`` for exact
  GELU), or ``None`` to use the generic one;
* ``overrides(ns, generic)``: public functions replaced for this framework
  (speed, autodiff, tracing), each of which must agree with ``generic[name]``;
  the conformance suite checks that they do.
"""
