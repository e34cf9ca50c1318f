"""CAMELS readers (emulators.data.camels): parameter tables (the real files in shared/data), and snapshots written by
the tests in Arepo's HDF5 layout: gas n_e and T on the grid, dark matter on its Lagrangian grid, refusals."""

import astropy.constants as const
import astropy.units as u
import h5py
import jax
import numpy as np
import pytest

from emulators.data.camels import X_H, cic_deposit, read_dark_matter, read_gas_grids, read_parameter_table
from xcosmo import Params
from xcosmo.cosmology import Cosmology
from xcosmo.nbody import Box, PMSettings, evolve, evolve_from


# --- parameter tables ---------------------------------------------------------------------------------------------


def test_lh_table_is_read_in_xcosmo_order(shared_data):
    table = read_parameter_table(shared_data / "camels" / "CosmoAstroSeed_IllustrisTNG_L25n256_LH.txt")
    assert len(table.names) == 1000 and table.theta.shape == (1000, 6) and table.names[0] == "LH_0"
    # file row "LH_0 0.30900 0.97900 3.11234 1.12194 0.66850 0.53182 0" (A_SN1, A_AGN1, A_SN2, A_AGN2)
    np.testing.assert_array_equal(table.row("LH_0"), [0.309, 0.979, 3.11234, 0.66850, 1.12194, 0.53182])
    assert table.seeds[1] == 1
    cv = read_parameter_table(shared_data / "camels" / "CosmoAstroSeed_IllustrisTNG_L25n256_CV.txt")
    np.testing.assert_allclose(cv.theta, np.tile([0.3, 0.8, 1.0, 1.0, 1.0, 1.0], (27, 1)))


def test_rows_outside_the_prior_are_refused_unless_asked(shared_data):
    path = shared_data / "camels" / "CosmoAstroSeed_IllustrisTNG_L25n256_EX.txt"
    with pytest.raises(ValueError, match=r"EX.txt.*row EX_1 has a_agn1 = 100, which is not allowed: allowed range \[0.25, 4\]"):
        read_parameter_table(path)
    assert read_parameter_table(path, in_prior=False).row("EX_2")[2] == 100.0  # A_SN1 of EX_2


def test_malformed_tables_are_refused(tmp_path):
    bad = tmp_path / "params.txt"
    bad.write_text("#Name Omega_m sigma_8 A_SN1 A_AGN1 A_SN2 A_AGN2 seed\nLH_0 0.3 0.8 1 1 1\n")
    with pytest.raises(ValueError, match="params.txt.*line 2 has 6 columns, expected 8"):
        read_parameter_table(bad)
    bad.write_text("LH_0 0.3 0.8 one 1 1 1 0\n")
    with pytest.raises(ValueError, match="line 1 holds a value that is not a number"):
        read_parameter_table(bad)
    with pytest.raises(FileNotFoundError, match="nowhere.txt"):
        read_parameter_table(tmp_path / "nowhere.txt")


# --- snapshots: writing them in Arepo's layout --------------------------------------------------------------------

BOX_KPC_H = 3120.0  # 8 voxels of 0.39 Mpc/h
H = 0.6711


def _write_snapshot(path, gas=None, dm=None, redshift=0.2, header_extra=None, box=BOX_KPC_H):
    with h5py.File(path, "w") as f:
        header = f.create_group("Header")
        for key, value in {"BoxSize": box, "Redshift": redshift, "HubbleParam": H, "Omega0": 0.3,
                           "UnitLength_in_cm": 3.085678e21, "UnitMass_in_g": 1.989e43,
                           "UnitVelocity_in_cm_per_s": 1e5, **(header_extra or {})}.items():  # fmt: skip
            header.attrs[key] = value
        for group, fields in (("PartType0", gas), ("PartType1", dm)):
            if fields is not None:
                g = f.create_group(group)
                for name, values in fields.items():
                    g[name] = values
    return path


def _gas(n=4):
    """n particles: two hot ones at one voxel centre, one cold one elsewhere, one star-forming (to be dropped)."""
    return {
        "Coordinates": np.array([[390.0 * 2, 390.0 * 3, 390.0 * 4]] * 2 + [[390.0 * 5, 390.0, 0.0], [390.0 * 2, 390.0 * 3, 390.0 * 4]])[:n],
        "Masses": np.array([1e-3, 3e-3, 2e-3, 5e-3])[:n],  # 1e10 Msun/h
        "Density": np.full(n, 1e-6),
        "InternalEnergy": np.array([1e6, 3e6, 1e4, 1e8])[:n],  # (km/s)^2
        "ElectronAbundance": np.array([1.16, 1.17, 1.0, 1.1])[:n],
        "StarFormationRate": np.array([0.0, 0.0, 0.0, 2.5])[:n],
    }


def test_gas_grids_give_electron_densities_and_electron_weighted_temperatures(tmp_path):
    gas = _gas()
    grids = read_gas_grids(_write_snapshot(tmp_path / "snap.hdf5", gas=gas), voxel_mpc_h=0.39)
    assert grids.n_e.shape == (8, 8, 8) and grids.voxel_mpc_h == pytest.approx(0.39)
    # the same quantities with astropy's constants and units (independent of the reader's own)
    mass = gas["Masses"] * 1e10 * u.Msun / H
    electrons = (X_H * gas["ElectronAbundance"] * mass / const.m_p).decompose().value
    mu = 4.0 / (1.0 + 3.0 * X_H + 4.0 * X_H * gas["ElectronAbundance"])
    kt = ((2.0 / 3.0) * gas["InternalEnergy"] * (u.km / u.s) ** 2 * mu * const.m_p).to_value(u.keV)
    voxel = ((0.39 * u.Mpc / H) ** 3).to_value(u.cm**3)
    np.testing.assert_allclose(grids.n_e[2, 3, 4], (electrons[0] + electrons[1]) / voxel, rtol=1e-6)
    np.testing.assert_allclose(grids.kt[2, 3, 4], np.average(kt[:2], weights=electrons[:2]), rtol=1e-6)
    np.testing.assert_allclose(grids.n_e[5, 1, 0], electrons[2] / voxel, rtol=1e-6)
    assert grids.n_e.sum() * voxel == pytest.approx(electrons[:3].sum(), rel=1e-9)  # the star-forming one is gone
    assert 1.0 < grids.kt[2, 3, 4] < 20.0 and grids.kt[0, 0, 0] == 0.0  # cluster-like u of 1e6-3e6 (km/s)^2


def test_cic_deposit_conserves_weight_and_wraps():
    rng = np.random.default_rng(0)
    pos = rng.uniform(0, 6, (500, 3))
    grid = cic_deposit(pos, np.ones(500), 6)
    assert grid.sum() == pytest.approx(500.0)
    edge = cic_deposit(np.array([[5.5, 0.0, 0.0]]), np.array([2.0]), 6)
    assert edge[5, 0, 0] == pytest.approx(1.0) and edge[0, 0, 0] == pytest.approx(1.0)  # half across the boundary


@pytest.mark.parametrize(
    "change, match",
    [
        (dict(header_extra={"UnitLength_in_cm": 3.085678e24}), "UnitLength_in_cm = 3.08568e\\+24, which is not allowed"),
        (dict(box=3000.0), "BoxSize = 3 Mpc/h is not allowed: it is not a whole number of 0.39 Mpc/h voxels"),
        (dict(drop="ElectronAbundance"), r"PartType0 lacks field\(s\) \['ElectronAbundance'\]"),
        (dict(negative="InternalEnergy"), "PartType0/InternalEnergy holds negative or non-finite values"),
        (dict(truncate="Masses"), r"PartType0 field\(s\) \['Masses'\] do not have one entry per particle"),
    ],
)
def test_bad_snapshots_are_refused_naming_the_file_and_field(tmp_path, change, match):
    gas = _gas()
    if "drop" in change:
        del gas[change["drop"]]
    if "negative" in change:
        gas[change["negative"]][1] = -1.0
    if "truncate" in change:
        gas[change["truncate"]] = gas[change["truncate"]][:2]
    path = _write_snapshot(tmp_path / "snap.hdf5", gas=gas, header_extra=change.get("header_extra"),
                           box=change.get("box", BOX_KPC_H))  # fmt: skip
    with pytest.raises(ValueError, match=f"snap.hdf5.*{match}"):
        read_gas_grids(path)


def test_missing_and_unreadable_snapshots(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.hdf5"):
        read_gas_grids(tmp_path / "nowhere.hdf5")
    junk = tmp_path / "junk.hdf5"
    junk.write_text("not HDF5")
    with pytest.raises(ValueError, match="junk.hdf5.*is not a readable HDF5 file"):
        read_dark_matter(junk)


# --- dark matter: the PM input re-simulated from a snapshot --------------------------------------------------------


def test_dark_matter_round_trips_through_a_snapshot_and_continues(tmp_path):
    """A PM run stopped at z = 6, written as a Gadget/Arepo snapshot (positions in ckpc/h, velocities in Gadget's
    sqrt(a) dx/dt km/s, IDs shuffled), reads back as the same displacements and momenta; continued to z = 0.5 with
    evolve_from it gives the density field of the uninterrupted run to a few per cent."""
    cosmo, box = Cosmology.from_params(Params.fiducial()), Box((16, 16, 16), 2.0)
    settings = PMSettings(z_start=19.0, n_steps=12)
    key = jax.random.key(4)
    a6 = 1.0 / 7.0
    dx6, p6 = (np.asarray(v, np.float64) for v in evolve(cosmo, key, box, a6, PMSettings(z_start=19.0, n_steps=4)))
    n, voxel = 16, 2.0
    grid = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    pos_kpc = np.mod(grid + dx6.reshape(-1, 3), n) * voxel * 1e3
    vel = p6.reshape(-1, 3) * 100.0 * voxel / a6**1.5
    perm = np.random.default_rng(1).permutation(n**3)
    dm = {"Coordinates": pos_kpc[perm], "Velocities": vel[perm], "ParticleIDs": (np.arange(n**3) + 1)[perm]}
    path = _write_snapshot(tmp_path / "snap_000.hdf5", dm=dm, redshift=6.0, box=n * voxel * 1e3)
    read = read_dark_matter(path)
    assert read.voxel_mpc_h == pytest.approx(2.0) and read.header.redshift == 6.0
    np.testing.assert_allclose(read.dx, dx6, atol=2e-5)
    np.testing.assert_allclose(read.p, p6, rtol=1e-5, atol=1e-7)

    from xcosmo.nbody import density

    continued, _ = evolve_from(cosmo, box, read.dx, read.p, a6, 1 / 1.5, n_steps=8)
    direct, _ = evolve(cosmo, key, box, 1 / 1.5, settings)
    d1, d2 = np.asarray(density(continued)) - 1, np.asarray(density(direct)) - 1
    assert np.corrcoef(d1.ravel(), d2.ravel())[0, 1] > 0.97
    assert np.std(d1) == pytest.approx(np.std(d2), rel=0.05)


def test_dark_matter_that_is_not_a_lagrangian_grid_is_refused(tmp_path):
    dm = {"Coordinates": np.zeros((10, 3)), "Velocities": np.zeros((10, 3)), "ParticleIDs": np.arange(10)}
    with pytest.raises(ValueError, match="PartType1 holds 10 particles, which is not allowed: expected a cube"):
        read_dark_matter(_write_snapshot(tmp_path / "s.hdf5", dm=dm))
    dm = {"Coordinates": np.zeros((8, 3)), "Velocities": np.zeros((8, 3)), "ParticleIDs": np.array([1, 1, 2, 3, 4, 5, 6, 7])}
    with pytest.raises(ValueError, match="ParticleIDs are not a permutation"):
        read_dark_matter(_write_snapshot(tmp_path / "t.hdf5", dm=dm))


# --- stacked gas profiles (the real files in shared/data) ----------------------------------------------------------


def test_stacked_profiles_of_the_fiducial_run(shared_data):
    from emulators.data.profiles import find_profiles, read_redshift_table

    folder = shared_data / "camels" / "profiles"
    z_of = read_redshift_table(shared_data / "camels" / "redshift_table.txt")
    assert z_of[24] == 0.54 and z_of[29] == 0.21 and z_of[33] == 0.0
    fiducial = find_profiles(folder, "1P_27", 24)
    assert [p.log_mass_range for p in fiducial] == [(11.0, 11.5), (11.5, 12.0), (12.0, 12.3), (12.3, 13.1)]
    group = fiducial[-1]
    assert group.n_haloes == 34 and group.n_profiles == 457 and group.r_mpc.size == 16
    assert 12.3 <= np.log10(group.mean_mass) <= 13.1  # the header's mean halo mass lies in the bin
    assert np.all(np.diff(group["rho", "mean"][:8]) < 0)  # gas density falls outwards in the halo
    assert 1e5 < np.median(group["temp", "mean"]) < 1e7  # K: group temperatures
    # the A_AGN1 sweep at z = 0 (1P_33 ... 1P_43), highest mass bin only
    sweep = [find_profiles(folder, f"1P_{i}", 33) for i in range(33, 44)]
    assert all(len(s) == 1 and s[0].log_mass_range == (12.3, 13.1) for s in sweep)
    assert len(find_profiles(folder / "LH_TNG", snapshot=24)) == 14


def test_bad_profile_files_are_refused(tmp_path):
    from emulators.data.profiles import read_profile

    bad = tmp_path / "IllustrisTNG_1P_27_024_uw_12-12.3.txt"
    bad.write_text("#  nprofs 3, mean mh 1e12, median mh 1e12\n#  Nhalos 3\n1 2 3\n")
    with pytest.raises(ValueError, match="3 columns and 1 rows, expected 21 columns"):
        read_profile(bad)
    other = tmp_path / "profile.txt"
    other.write_text("1 2\n")
    with pytest.raises(ValueError, match="the name is not IllustrisTNG_"):
        read_profile(other)


# --- calibration targets -------------------------------------------------------------------------------------------


def test_the_inferred_units_of_the_stacks_give_the_cosmic_baryon_density_far_out(shared_data):
    """At 7 Mpc from the groups every fiducial stack reaches Omega_b rho_crit,0 h^2 (1+z)^3 (physical Msun/kpc^3, no h):
    the unit inference of emulators.data.calibration, checked at z = 0.54, 0.21 and 0 to 25%."""
    from emulators.data.calibration import CAMELS_H, CAMELS_OMEGA_B
    from emulators.data.profiles import find_profiles, read_redshift_table
    from xcosmo.constants import RHO_CRIT_0

    z_of = read_redshift_table(shared_data / "camels" / "redshift_table.txt")
    for snap in (24, 29, 33):
        stack = find_profiles(shared_data / "camels" / "profiles", "1P_27", snap)[-1]
        mean_baryons = CAMELS_OMEGA_B * RHO_CRIT_0 * CAMELS_H**2 * (1 + z_of[snap]) ** 3 / 1e9
        at_7_mpc = int(np.argmin(np.abs(stack.r_mpc - 7.0)))  # (the last radius, 12 Mpc, reaches the box's edge)
        assert stack["rho", "mean"][at_7_mpc] == pytest.approx(mean_baryons, rel=0.25)


def test_coarsening_the_lagrangian_grid_keeps_positions_and_velocities():
    from emulators.data.camels import DarkMatter, SnapshotHeader

    rng = np.random.default_rng(0)
    fine = DarkMatter(rng.normal(0, 0.3, (8, 8, 8, 3)).astype(np.float32), rng.normal(0, 1, (8, 8, 8, 3)).astype(np.float32),
                      SnapshotHeader(8.0, 6.0, 0.67, 0.3))  # fmt: skip
    coarse = fine.coarsen(2)
    assert coarse.dx.shape == (4, 4, 4, 3) and coarse.voxel_mpc_h == 2 * fine.voxel_mpc_h
    # particle (1, 2, 3) of the coarse grid is (2, 4, 6) of the fine one: the same position in Mpc/h
    fine_pos = (np.array([2, 4, 6]) + fine.dx[2, 4, 6]) * fine.voxel_mpc_h
    coarse_pos = (np.array([1, 2, 3]) + coarse.dx[1, 2, 3]) * coarse.voxel_mpc_h
    np.testing.assert_allclose(coarse_pos, fine_pos, rtol=1e-6)
    np.testing.assert_allclose(coarse.p[1, 2, 3] * coarse.voxel_mpc_h, fine.p[2, 4, 6] * fine.voxel_mpc_h, rtol=1e-6)
    with pytest.raises(ValueError, match="stride = 3 is not allowed: it must divide the 8 particles per side"):
        fine.coarsen(3)


def _initial_snapshot(path, n, voxel_mpc_h):
    """A z = 6 snapshot of n^3 dark-matter particles evolved by the PM from a grid of ``voxel_mpc_h`` spacing, in
    Arepo's units (ckpc/h, Gadget velocities); returns the box side in ckpc/h."""
    cosmo, box = Cosmology.from_params(Params.fiducial()), Box((n, n, n), voxel_mpc_h)
    a6 = 1.0 / 7.0
    dx6, p6 = (np.asarray(v, np.float64) for v in evolve(cosmo, jax.random.key(1), box, a6, PMSettings(z_start=19.0, n_steps=4)))
    grid = np.stack(np.meshgrid(*[np.arange(n)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    kpc = 1e3 * voxel_mpc_h
    dm = {"Coordinates": np.mod(grid + dx6.reshape(-1, 3), n) * kpc, "Velocities": p6.reshape(-1, 3) * 100 * voxel_mpc_h / a6**1.5,
          "ParticleIDs": np.arange(n**3) + 1}  # fmt: skip
    _write_snapshot(path, dm=dm, redshift=6.0, box=n * kpc)
    return n * kpc


def test_camels_samples_from_a_simulation_folder(tmp_path):
    """A CAMELS-like folder (z = 6 dark matter of 32^3 particles in 6.24 Mpc/h, gas snapshots at z = 0.54 and 0.21):
    the PM input on the 16^3 working grid at each redshift, the gas targets of each snapshot."""
    from emulators.data.camels_source import camels_samples

    box_kpc = _initial_snapshot(tmp_path / "snap_000.hdf5", 32, 0.195)
    rng = np.random.default_rng(2)
    for number, z in ((24, 0.54), (29, 0.21)):
        gas = _gas()
        gas["Coordinates"] = rng.uniform(0, box_kpc, (4, 3))
        _write_snapshot(tmp_path / f"snap_{number:03d}.hdf5", gas=gas, redshift=z, box=box_kpc)
    samples = camels_samples(tmp_path, Params.fiducial(), {0: 6.0, 24: 0.54, 29: 0.21}, snapshots=(29, 24))
    assert [s.z for s in samples] == [0.21, 0.54]
    for s in samples:
        assert s.dx.shape == (16, 16, 16, 3) and s.n_e.shape == (16, 16, 16) and s.voxel_mpc_h == pytest.approx(0.39)
    # structure grows between z = 0.54 and 0.21: the displacements' spread increases
    assert np.std(samples[0].dx) > np.std(samples[1].dx)
    with pytest.raises(FileNotFoundError, match="snap_033.hdf5"):
        camels_samples(tmp_path, Params.fiducial(), {0: 6.0, 33: 0.0}, snapshots=(33,))


def _camels_folder(tmp_path):
    """A CAMELS-like layout: the LH parameter table and LH_0/ with its z = 6 dark matter (16^3 particles in 6.24
    Mpc/h), gas snapshots at z = 0.54 and 0.21 (training redshifts) and at z = 3 (not one)."""
    sim = tmp_path / "sims" / "LH_0"
    sim.mkdir(parents=True)
    box_kpc = _initial_snapshot(sim / "snap_000.hdf5", 16, 0.39)
    for number, z in ((10, 3.0), (24, 0.54), (29, 0.21)):
        _write_snapshot(sim / f"snap_{number:03d}.hdf5", gas=_gas(), redshift=z, box=box_kpc)
    table = tmp_path / "CosmoAstroSeed_IllustrisTNG_L25n256_LH.txt"
    table.write_text("#Name Omega_m sigma_8 A_SN1 A_AGN1 A_SN2 A_AGN2 seed\nLH_0 0.3 0.8 1 1 1 1 0\nLH_1 0.3 0.8 2 1 1 1 1\n")
    return tmp_path / "sims", table


def test_make_training_set_from_camels_simulations(tmp_path):
    """`xcosmo make-training-set PATH --source camels`: one box per simulation folder, its training snapshots only
    (chosen by their Header redshift), held out as LH_0 is, resumable (a second run does nothing)."""
    from typer.testing import CliRunner

    from emulators.data.store import read_box
    from xcosmo.cli import app

    sims, table = _camels_folder(tmp_path)
    args = ["make-training-set", str(sims), "--source", "camels", "--lh-params", str(table), "--out", str(tmp_path / "s"), "-q"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    attrs, samples = read_box(tmp_path / "s" / "box_0000.h5")
    assert attrs["simulation"] == "LH_0" and attrs["source"] == "camels" and bool(attrs["held_out"])
    assert [s.z for s in samples] == [0.21, 0.54] and samples[0].n_e.shape == (16, 16, 16)
    assert np.allclose(samples[0].theta, Params.fiducial().to_array())
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and len(list((tmp_path / "s").glob("box_*.h5"))) == 1


def test_a_camels_folder_without_its_initial_snapshot_is_refused(tmp_path):
    from emulators.data.camels_source import camels_plan

    sims, table = _camels_folder(tmp_path)
    (sims / "LH_0" / "snap_000.hdf5").unlink()
    with pytest.raises(FileNotFoundError, match="LH_0' has no z = 6 snapshot snap_000.hdf5"):
        camels_plan(sims, table)
    with pytest.raises(ValueError, match="holds no simulation folder named as a row"):
        camels_plan(tmp_path, table)


# --- CAMELS Multifield Dataset grids -------------------------------------------------------------------------------


_RHO_CRIT_H2 = (3 * (100 * u.km / u.s / u.Mpc) ** 2 / (8 * np.pi * const.G)).to_value(u.Msun / u.Mpc**3)
"""Critical density today in h^2 Msun / Mpc^3, from astropy."""


def _write_cmd(folder, rho_scale=1.0, n_sims=2, grid=128):
    """CMD-format files of two LH simulations at z = 0: Mgas and T cubes (float32, as CMD ships them), and the
    set's parameter file (six columns, CAMELS order)."""
    from emulators.data.cmd import CMD_OMEGA_B, cmd_path

    rng = np.random.default_rng(3)
    mean_gas = 0.9 * CMD_OMEGA_B * _RHO_CRIT_H2 * rho_scale
    rho = (mean_gas * rng.lognormal(0.0, 1.0, (n_sims, grid, grid, grid)) / np.exp(0.5)).astype(np.float32)
    temp = (1e5 * rng.lognormal(0.0, 1.0, (n_sims, grid, grid, grid))).astype(np.float32)
    np.save(cmd_path(folder, "Mgas", "IllustrisTNG", "LH", grid, 0.0), rho)
    np.save(cmd_path(folder, "T", "IllustrisTNG", "LH", grid, 0.0), temp)
    (folder / "params_LH_IllustrisTNG.txt").write_text("0.30 0.80 1.0 2.0 0.9 1.1\n0.25 0.70 0.5 1.0 1.5 0.8\n")
    return rho.astype(np.float64), temp.astype(np.float64)


def test_cmd_grids_give_the_gas_targets_on_the_working_grid(tmp_path):
    """Mgas and T of simulation 1 (128^3 in 25 Mpc/h) averaged in 2^3 blocks to the 64^3 grid of 0.39 Mpc/h: n_e =
    rho_gas / (mu_e m_p) in comoving cm^-3 (h applied), kT the gas-mass-weighted block mean; the parameter file's
    rows named LH_0, LH_1, in xcosmo's order."""
    from emulators.data.cmd import CMD_H, read_cmd_gas

    rho, temp = _write_cmd(tmp_path)
    table = read_parameter_table(tmp_path / "params_LH_IllustrisTNG.txt")
    assert table.names == ("LH_0", "LH_1")
    np.testing.assert_allclose(table.row("LH_0"), [0.30, 0.80, 1.0, 0.9, 2.0, 1.1])  # A_AGN1 and A_SN2 swapped
    gas = read_cmd_gas(tmp_path, 1, table.row("LH_1"), grid=128)
    assert gas.n_e.shape == (64, 64, 64) and gas.voxel_mpc_h == pytest.approx(0.390625)
    block = rho[1, 2:4, 6:8, 10:12]
    mu_e_mp = 2 / 1.76 * const.m_p
    expected_ne = (block.mean() * CMD_H**2 * u.Msun / u.Mpc**3 / mu_e_mp).to_value(u.cm**-3)
    assert gas.n_e[1, 3, 5] == pytest.approx(expected_ne, rel=1e-5)
    expected_t = (block * temp[1, 2:4, 6:8, 10:12]).sum() / block.sum()
    assert gas.kt[1, 3, 5] == pytest.approx((expected_t * u.K * const.k_B).to_value(u.keV), rel=1e-5)
    # the box's mean electron density is the cosmic one (0.9 of the baryons in gas, all ionised), ~2e-7 cm^-3
    cosmic = (0.9 * 0.049 * _RHO_CRIT_H2 * CMD_H**2 * u.Msun / u.Mpc**3 / mu_e_mp).to_value(u.cm**-3)
    assert gas.n_e.mean() == pytest.approx(cosmic, rel=0.02)


def test_cmd_files_in_other_units_or_shapes_are_refused(tmp_path):
    from emulators.data.cmd import read_cmd_field, read_cmd_gas

    _write_cmd(tmp_path, rho_scale=1e-9)  # Msun/kpc^3 instead of Msun/Mpc^3
    with pytest.raises(ValueError, match=r"Grids_Mgas_IllustrisTNG_LH_128_z=0.00.npy', field Mgas: mean .* not allowed"):
        read_cmd_gas(tmp_path, 0, [0.3, 0.8, 1, 1, 1, 1], grid=128)
    with pytest.raises(FileNotFoundError, match="Grids_Mgas_IllustrisTNG_LH_256_z=0.00.npy"):
        read_cmd_field(tmp_path, "Mgas", 0, grid=256)
    with pytest.raises(ValueError, match="field = 'ne' is not allowed"):
        read_cmd_field(tmp_path, "ne", 0, grid=128)
    with pytest.raises(ValueError, match="index = 2 is not allowed"):
        read_cmd_field(tmp_path, "T", 2, grid=128)
    np.save(tmp_path / "Grids_T_IllustrisTNG_LH_128_z=0.00.npy", np.ones((2, 64, 64, 64), np.float32))
    with pytest.raises(ValueError, match=r"shape \(2, 64, 64, 64\), which is not allowed"):
        read_cmd_field(tmp_path, "T", 0, grid=128)
