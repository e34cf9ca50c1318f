"""The feedback amplitudes on the synthetic gas (emulators.data.feedback): the mean CAMELS-like group responds as the
CAMELS IllustrisTNG groups do, computed on the model's own profiles (not from the formulas that set them)."""

import math

import numpy as np
import pytest

from emulators.data.feedback import AGN1_LATE_RESPONSE, CAMELS_RESPONSES, _observables, feedback_gas_model
from emulators.data.gas_profiles import GasModel
from xcosmo.params import PARAM_NAMES


def _theta(**changes):
    values = dict.fromkeys(PARAM_NAMES, 1.0) | {"omega_m": 0.3, "sigma_8": 0.8} | changes
    return np.array([values[n] for n in PARAM_NAMES])


@pytest.mark.parametrize("z", [0.0, 0.54])
def test_the_fiducial_amplitudes_leave_the_model_unchanged(z):
    base = GasModel()
    assert feedback_gas_model(_theta(), base, z=z) == base


def _response(name, z, factor=1.1):
    up = _observables(feedback_gas_model(_theta(**{name: factor}), z=z))
    down = _observables(feedback_gas_model(_theta(**{name: 1 / factor}), z=z))
    step = 2 * math.log(factor)
    return math.log(up[0] / down[0]) / step, math.log(up[1] / down[1]) / step


@pytest.mark.parametrize("name", list(CAMELS_RESPONSES))
def test_each_amplitude_moves_the_group_as_in_camels(name):
    """d ln f_gas,500 / d ln A and d ln T_mw / d ln A of the group at z = 0.54, measured on its profiles by finite
    differences around the fiducial, within 0.05 of the CAMELS numbers (the box-level check is test_responses)."""
    r_f, r_t = CAMELS_RESPONSES[name]
    measured = _response(name, 0.54)
    assert measured[0] == pytest.approx(r_f, abs=0.05) and measured[1] == pytest.approx(r_t, abs=0.05)


def test_the_kinetic_agn_mode_acts_more_at_late_times():
    """A_AGN1's gas-fraction response is CAMELS' -0.03 at z = 0.54 and beyond, the late-time value at z = 0, halfway
    between at z = 0.27; the other amplitudes do not depend on z."""
    assert _response("a_agn1", 0.8)[0] == pytest.approx(-0.03, abs=0.02)
    assert _response("a_agn1", 0.0)[0] == pytest.approx(AGN1_LATE_RESPONSE, abs=0.03)
    assert _response("a_agn1", 0.27)[0] == pytest.approx((AGN1_LATE_RESPONSE - 0.03) / 2, abs=0.03)
    assert _response("a_sn1", 0.0)[0] == pytest.approx(_response("a_sn1", 0.54)[0], abs=1e-9)


def test_the_gas_fraction_peaks_near_a_sn2_of_0_9():
    grid = np.geomspace(0.5, 2.0, 31)
    f = [_observables(feedback_gas_model(_theta(a_sn2=a), z=0.54))[0] for a in grid]
    assert grid[int(np.argmax(f))] == pytest.approx(0.9, rel=0.06)


def test_feedback_moves_the_ejection_radius_and_the_heating_only():
    model = feedback_gas_model(_theta(a_sn1=2.0, a_agn2=0.7), z=0.3)
    base = GasModel()
    assert model.theta_ej != base.theta_ej and model.heating != base.heating
    assert model == GasModel(theta_ej=model.theta_ej, heating=model.heating)
