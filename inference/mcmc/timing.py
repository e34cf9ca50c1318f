"""The compile clock: how much of a run's wall time JAX spent tracing, lowering and compiling.

JAX reports each of those phases as a monitoring event with its time span; :class:`CompileClock` collects the
spans while it is active and adds up their union (nested traces overlap). :func:`inference.mcmc.run_nuts` records
it as ``compile_time_s`` and the rest of the wall time as ``wall_time_s``.
"""

from __future__ import annotations

import threading

import jax

__all__ = ["COMPILE_EVENTS", "CompileClock"]

COMPILE_EVENTS = frozenset(
    {
        "/jax/core/compile/jaxpr_trace_duration",
        "/jax/core/compile/jaxpr_to_mlir_module_duration",
        "/jax/core/compile/backend_compile_duration",
    }
)
"""JAX monitoring events that count as compilation."""


class CompileClock:
    """Context manager collecting the time spans of :data:`COMPILE_EVENTS`; :attr:`seconds` is their union.

    The listener is process-wide: compilations started by other threads in the meantime are counted too.
    """

    def __init__(self) -> None:
        self._spans: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def _listener(self, event: str, start: float, end: float, **kwargs) -> None:
        if event in COMPILE_EVENTS:
            with self._lock:
                self._spans.append((start, end))

    def __enter__(self) -> CompileClock:
        jax.monitoring.register_event_time_span_listener(self._listener)
        return self

    def __exit__(self, *exc) -> None:
        jax.monitoring.unregister_event_time_span_listener(self._listener)

    @property
    def seconds(self) -> float:
        """Total length of the union of the collected spans [s]."""
        total, cur_start, cur_end = 0.0, None, None
        for start, end in sorted(self._spans):
            if cur_end is None or start > cur_end:
                if cur_end is not None:
                    total += cur_end - cur_start
                cur_start, cur_end = start, end
            else:
                cur_end = max(cur_end, end)
        return total + (cur_end - cur_start if cur_end is not None else 0.0)
