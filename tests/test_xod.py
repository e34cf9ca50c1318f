import numpy as np
import pytest

from xcosmo.xod import Binning, Survey


def _catalogue(rng, n=5000):
    return 10 ** rng.uniform(-2.5, 1.8, n), 10 ** rng.uniform(-1.0, 0.3, n), rng.uniform(0.0, 0.7, n)


def test_histogram_matches_numpy_histogramdd_inside_edges():
    b = Binning()
    rng = np.random.default_rng(1)
    cr, hr, z = _catalogue(rng)
    counts = b.histogram(cr, hr, z, overflow="drop")
    ref, _ = np.histogramdd(np.stack([z, cr, hr], 1), bins=b.edges)
    np.testing.assert_array_equal(counts, ref.astype(int))
    assert counts.shape == (8, 12, 12)


def test_overflow_policies():
    b = Binning()
    cr = np.array([0.01, 0.05, 50.0, 0.05, 0.05, 0.05])
    hr = np.array([0.5, 0.5, 0.5, 0.05, 5.0, 0.5])
    z = np.array([0.3, 0.3, 0.3, 0.3, 0.3, 0.7])
    # below the flux cut and outside the z range: always dropped
    clip = b.histogram(cr, hr, z)
    assert clip.sum() == 4
    assert clip[:, -1, :].sum() == 1 and clip[:, :, 0].sum() == 1 and clip[:, :, -1].sum() == 1
    assert b.histogram(cr, hr, z, overflow="drop").sum() == 1
    with pytest.raises(ValueError, match="3 clusters fall outside"):
        b.histogram(cr, hr, z, overflow="error")
    with pytest.raises(ValueError, match="overflow = 'wrap'"):
        b.histogram(cr, hr, z, overflow="wrap")


def test_regular_and_checks():
    b = Binning.regular(4, 6, 5)
    assert b.shape == (4, 6, 5)
    b.check_xod(np.zeros((4, 6, 5)))
    with pytest.raises(ValueError, match=r"shape \(8, 12, 12\), which is not allowed: expected \(4, 6, 5\)"):
        b.check_xod(np.zeros((8, 12, 12)))
    with pytest.raises(ValueError, match="allowed: must be finite and >= 0 counts"):
        b.check_xod(-np.ones((4, 6, 5)))
    with pytest.raises(ValueError, match="strictly increasing"):
        Binning(z_edges=(0.1, 0.3, 0.2))
    with pytest.raises(ValueError, match="positive"):
        Binning(cr_edges=(0.0, 1.0))
    with pytest.raises(ValueError, match="n_z = 0"):
        Binning.regular(n_z=0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(area_deg2=0.0), "area_deg2 = 0.0"),
        (dict(z_min=0.5, z_max=0.1), "z_max = 0.1"),
        (dict(cr_min=-1.0), "cr_min = -1.0"),
        (dict(z_min=float("nan")), "z_min = nan"),
    ],
)
def test_bad_survey(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Survey(**kwargs)


def test_wrong_types_are_type_errors():
    with pytest.raises(TypeError, match="area_deg2 = '200' is not allowed: expected a number, got str"):
        Survey(area_deg2="200")
    with pytest.raises(TypeError, match="n_cr = 2.5 is not allowed: expected an integer"):
        Binning.regular(n_cr=2.5)


def test_survey_defaults():
    s = Survey()
    assert (s.area_deg2, s.cr_min, s.z_min, s.z_max) == (200.0, 0.02, 0.1, 0.5)
    assert s.area_sr == pytest.approx(200 / 3282.806, rel=1e-5)
