"""Any other Array API namespace (array-api-strict, ...): the generic bodies, as they are."""


def extra(name, ns):
    return None


def overrides(ns, generic):
    return {}
