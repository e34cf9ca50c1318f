"""Input checks: one message template for every refusal in xcosmo, emulators and inference.

Every check names the field, shows the value and says what is allowed::

    omega_m = 0.7 is not allowed: allowed range [0.1, 0.5]

Wrong types raise ``TypeError`` (a string where a number belongs, a float where an integer does); wrong values
raise ``ValueError``. Both happen before any expensive work.

Values carried by JAX tracers (inside ``jax.jit``, ``jax.grad``, ``jax.vmap``) cannot be inspected when the function
is traced. :func:`in_range` and :func:`finite` then attach the same check to the computation with
:func:`equinox.error_if`: the compiled function raises at run time (an ``EquinoxRuntimeError`` holding the same
message) instead of silently returning NaN. Such checks are kept only if their return value is used, so they return
the value they checked: ``x = in_range("kt_kev", x, 0.1, 20.0, unit="keV")``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection
from typing import Any, NoReturn

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "described",
    "message",
    "fail",
    "is_traced",
    "require",
    "check_type",
    "check_choice",
    "check_integer",
    "check_number",
    "check_bool",
    "as_numeric",
    "in_range",
    "finite",
    "positive",
    "check_shape",
    "check_increasing",
]


class described(str):
    """A value shown as written rather than as its repr: a description of what was given, for values that are too
    large to show (``described("a negative pixel -1.0 at y=3, x=4")``)."""


def message(name: str, value: Any, allowed: str) -> str:
    """The one refusal template: ``"<name> = <value> is not allowed: <allowed>"``."""
    return f"{name} = {_show(value)} is not allowed: {allowed}"


def fail(name: str, value: Any, allowed: str, error: type[Exception] = ValueError) -> NoReturn:
    """Raise ``error`` (default ``ValueError``) with :func:`message`."""
    raise error(message(name, value, allowed))


def require(ok: bool, name: str, value: Any, allowed: str) -> None:
    """``ValueError`` with :func:`message` unless ``ok``: for relations between fields (``z_max > z_min``)."""
    if not ok:
        fail(name, value, allowed)


def is_traced(*values: Any) -> bool:
    """True if any leaf of ``values`` is a JAX tracer (its value is unknown until the computation runs)."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree.leaves(values))


def _show(value: Any) -> str:
    if isinstance(value, described):
        return str(value)
    if isinstance(value, (np.ndarray, jax.Array)) and not is_traced(value):
        arr = np.asarray(value)
        if arr.size > 6:
            return f"array of shape {arr.shape} starting {arr.ravel()[:4].tolist()!r}"
        return repr(arr.tolist())
    text = repr(value)
    return text if len(text) <= 80 else f"<{type(value).__module__}.{type(value).__qualname__} object>"


# --- types ------------------------------------------------------------------------------------------------------


def check_type(name: str, value: Any, types: type | tuple[type, ...], allowed: str) -> Any:
    """``TypeError`` unless ``isinstance(value, types)``; returns ``value``."""
    if not isinstance(value, types):
        fail(name, value, f"expected {allowed}, got {type(value).__name__}", TypeError)
    return value


def check_bool(name: str, value: Any) -> bool:
    """``TypeError`` unless ``value`` is ``True`` or ``False``."""
    return check_type(name, value, (bool, np.bool_), "True or False")


def check_choice(name: str, value: Any, choices: Collection) -> Any:
    """``ValueError`` unless ``value`` is one of ``choices``."""
    if isinstance(value, (list, dict, set)) or value not in choices:
        fail(name, value, f"allowed values are {tuple(choices)}")
    return value


def check_integer(name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """An integer (not a bool, not a float) with ``low <= value`` and ``value < high`` where given; returns it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        fail(name, value, f"expected an integer, got {type(value).__name__}", TypeError)
    if low is not None and value < low or high is not None and value >= high:
        fail(name, value, _interval(low, high, integer=True))
    return int(value)


def check_number(
    name: str, value: Any, low: float = -math.inf, high: float = math.inf, *, open: bool = False, unit: str = ""
) -> float:
    """A finite real number (Python or numpy scalar) in [low, high] (``open``: (low, high)); returns it as float."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        fail(name, value, f"expected a number, got {type(value).__name__}", TypeError)
    value = float(value)
    if not math.isfinite(value) or not _inside(value, low, high, open):
        fail(name, value, _range_text(low, high, open, unit))
    return value


# --- values (concrete or traced) --------------------------------------------------------------------------------


def _inside(x, low, high, open: bool):
    if open:
        return (x > low) & (x < high)
    return (x >= low) & (x <= high)


def _interval(low, high, integer: bool = False) -> str:
    kind = "an integer" if integer else "a number"
    if low is not None and high is not None:
        return f"expected {kind} with {low} <= value < {high}"
    if low is not None:
        return f"expected {kind} >= {low}"
    return f"expected {kind} < {high}"


def _range_text(low: float, high: float, open: bool, unit: str) -> str:
    unit = f" {unit}" if unit else ""
    if math.isinf(low) and math.isinf(high):
        return "must be finite"
    if math.isinf(high):
        return f"must be finite and {'>' if open else '>='} {low:g}{unit}"
    if math.isinf(low):
        return f"must be finite and {'<' if open else '<='} {high:g}{unit}"
    brackets = "()" if open else "[]"
    return f"allowed range {brackets[0]}{low:g}, {high:g}{brackets[1]}{unit}"


def as_numeric(name: str, value: Any):
    """``value`` itself if it is a real number, an array of real numbers or a tracer; ``TypeError`` naming ``name``
    otherwise (strings, ``None``, objects, complex numbers)."""
    return _as_numeric(name, value)


def _as_numeric(name: str, value: Any):
    if is_traced(value):
        return value
    if isinstance(value, (str, bytes)) or value is None:
        fail(name, value, "expected a number or an array of numbers", TypeError)
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        fail(name, value, "expected a number or an array of numbers", TypeError)
    if np.issubdtype(arr.dtype, np.complexfloating):
        fail(name, value, "expected a real number or an array of real numbers", TypeError)
    return value


def in_range(
    name: str,
    value: Any,
    low: float = -math.inf,
    high: float = math.inf,
    *,
    open: bool = False,
    unit: str = "",
    rtol: float = 0.0,
    allowed: str | None = None,
):
    """Check that every element of ``value`` is finite and in [low, high] (``open``: (low, high)); return ``value``.

    ``allowed`` replaces the generated description of the range in the message. ``rtol`` widens the interval by that fraction of |low| and |high| (for queries that float32 rounding puts just
    outside a table's end). Concrete values raise ``ValueError`` now; traced ones get :func:`equinox.error_if`, which
    raises when the compiled computation runs. Use the returned value.
    """
    value = _as_numeric(name, value)
    lo = low - rtol * abs(low) if rtol and math.isfinite(low) else low
    hi = high + rtol * abs(high) if rtol and math.isfinite(high) else high
    allowed = _range_text(low, high, open, unit) if allowed is None else allowed
    if is_traced(value):
        x = jnp.asarray(value)
        bad = ~(jnp.isfinite(x) & _inside(x, lo, hi, open))
        return eqx.error_if(value, jnp.any(bad), f"{name} = <traced value> is not allowed: {allowed}")
    arr = np.asarray(value, dtype=float)
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(arr) & _inside(arr, lo, hi, open))
    if np.any(bad):
        if arr.size <= 6:
            raise ValueError(message(name, arr if arr.ndim else arr.item(), allowed))
        first = _show(arr[bad].ravel()[:4])
        raise ValueError(f"{name} = {first} ({int(bad.sum())} of {arr.size} values) is not allowed: {allowed}")
    return value


def finite(name: str, value: Any):
    """Check that every element of ``value`` is finite (NaN and inf refused); return ``value``."""
    return in_range(name, value)


def positive(name: str, value: Any, *, unit: str = ""):
    """Check that every element of ``value`` is finite and > 0; return ``value``."""
    return in_range(name, value, 0.0, math.inf, open=True, unit=unit)


def check_shape(name: str, value: Any, shape: tuple[int | None, ...], what: str = "") -> Any:
    """``ValueError`` unless ``np.shape(value)`` matches ``shape`` (``None`` matches any length); returns ``value``."""
    actual = tuple(np.shape(value))
    if len(actual) != len(shape) or any(s is not None and s != a for s, a in zip(shape, actual)):
        expected = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{name} has shape {actual}, which is not allowed: expected {expected}{what}")
    return value


def check_increasing(name: str, value: Any, *, min_size: int = 2, unit: str = "") -> np.ndarray:
    """A 1-D array of at least ``min_size`` finite, strictly increasing values (bin edges, grid knots), as numpy."""
    arr = np.asarray(_as_numeric(name, value), dtype=float)
    unit = f" ({unit})" if unit else ""
    if arr.ndim != 1 or arr.size < min_size:
        fail(name, value, f"expected a 1-D array of at least {min_size} values{unit}")
    if not np.all(np.isfinite(arr)) or not np.all(np.diff(arr) > 0):
        fail(name, value, f"expected finite, strictly increasing values{unit}")
    return arr
