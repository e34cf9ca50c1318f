"""The feedback amplitudes on the synthetic gas (emulators.data.feedback): the mean CAMELS-like group responds as the
CAMELS IllustrisTNG groups do, computed on the model's own profiles (not from the formulas that set them)."""

import math

import numpy as np
import pytest

from emulators.data.feedback import CAMELS_RESPONSES, _observables, feedback_gas_model
from emulators.data.gas_profiles import GasModel
from xcosmo.params import PARAM_NAMES


def _theta(**changes):
    values = dict.fromkeys(PARAM_NAMES, 1.0) | {"omega_m": 0.3, "sigma_8": 0.8} | changes
    return np.array([values[n] for n in PARAM_NAMES])


def test_the_fiducial_amplitudes_leave_the_model_unchanged():
    base = GasModel()
    model = feedback_gas_model(_theta(), base)
    assert model.m_c == pytest.approx(base.m_c, rel=1e-12) and model.heating == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("name", list(CAMELS_RESPONSES))
def test_each_amplitude_moves_the_group_as_in_camels(name):
    """d ln f_gas,500 / d ln A and d ln T_mw / d ln A of the group, measured on its profiles by finite differences
    around the fiducial, within 0.05 of the CAMELS numbers (issue 15 asks 0.15 of box-level measurements)."""
    up = _observables(feedback_gas_model(_theta(**{name: 1.1})))
    down = _observables(feedback_gas_model(_theta(**{name: 1 / 1.1})))
    step = 2 * math.log(1.1)
    r_f, r_t = CAMELS_RESPONSES[name]
    assert math.log(up[0] / down[0]) / step == pytest.approx(r_f, abs=0.05)
    assert math.log(up[1] / down[1]) / step == pytest.approx(r_t, abs=0.05)


def test_the_gas_fraction_peaks_near_a_sn2_of_0_9():
    grid = np.geomspace(0.5, 2.0, 31)
    f = [_observables(feedback_gas_model(_theta(a_sn2=a)))[0] for a in grid]
    assert grid[int(np.argmax(f))] == pytest.approx(0.9, rel=0.06)
