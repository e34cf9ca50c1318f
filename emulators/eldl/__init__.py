"""The extended Lagrangian Deep Learning baryon painter (paper 2.2): :class:`ELDL`, its shipped weights
(:meth:`ELDL.pretrained`), training (:mod:`emulators.eldl.training`) and validation (:mod:`emulators.eldl.report`)."""

from emulators.eldl.eldl import ELDL

__all__ = ["ELDL"]
