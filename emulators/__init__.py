"""Learned models of xcosmo: the extended Lagrangian Deep Learning baryon painter and the scaling-relation emulator.

Depends on :mod:`xcosmo`; :mod:`xcosmo` never imports this package.
"""
