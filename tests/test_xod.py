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


def test_xod_files_carry_their_survey(tmp_path):
    from xcosmo.xod import load_xod, save_xod

    survey, binning = Survey(area_deg2=1.0, cr_min=0.03, z_min=0.1, z_max=0.5), Binning()
    save_xod(tmp_path / "x.h5", np.ones(binning.shape), binning, survey, {"seed": 3})
    stored = load_xod(tmp_path / "x.h5")
    assert stored.survey == survey and stored.binning == binning and stored.metadata["seed"] == 3
    with pytest.raises(ValueError, match="cr_min = 0.01 is not allowed: the flux cut must not be below the binning's lowest"):
        save_xod(tmp_path / "y.h5", np.ones(binning.shape), binning, Survey(cr_min=0.01))
    with pytest.raises(TypeError, match="survey"):
        save_xod(tmp_path / "y.h5", np.ones(binning.shape), binning, {"area_deg2": 1.0})


def test_xod_files_without_their_survey_are_refused(tmp_path):
    import h5py

    from xcosmo.xod import load_xod

    with h5py.File(tmp_path / "old.h5", "w") as f:
        f["counts"] = np.ones(Binning().shape)
        for name, edges in zip(("z_edges", "cr_edges", "hr_edges"), Binning().edges):
            f[name] = edges
    with pytest.raises(ValueError, match=r"lacks the survey attribute\(s\) \['area_deg2', 'cr_min', 'z_min', 'z_max'\]"):
        load_xod(tmp_path / "old.h5")


@pytest.mark.parametrize(
    "survey, binning, match",
    [
        (Survey(area_deg2=1.0), Binning(), "data area_deg2 = 1.0 is not allowed: the model's survey has area_deg2 = 200"),
        (Survey(cr_min=0.05), Binning(), "data cr_min = 0.05 is not allowed: the model's survey has cr_min = 0.02"),
        (Survey(z_min=0.1, z_max=0.9), Binning.regular(z_range=(0.1, 0.9)), "data z_max = 0.9 is not allowed"),
        (Survey(), Binning.regular(z_range=(0.2, 0.5)), "data z_edges = .* the model's binning has z_edges"),
        (Survey(), Binning.regular(cr_range=(0.02, 50.0)), "data cr_edges = .* the model's binning has cr_edges"),
    ],
)
def test_a_data_file_of_another_survey_is_refused_by_the_likelihood(tmp_path, survey, binning, match):
    """The XOD of a 1 deg^2 simulation, or one binned on other edges of the same shape, is never sampled as the
    default 200 deg^2 survey: the message names both values."""
    from inference.likelihood import check_data, default_forward
    from xcosmo.xod import load_xod, save_xod

    save_xod(tmp_path / "x.h5", np.ones(binning.shape), binning, survey)
    with pytest.raises(ValueError, match=match):
        check_data(load_xod(tmp_path / "x.h5"), default_forward())
