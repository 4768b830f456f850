"""Astrometry on the real quadrant: residuals against a Gaia-like catalogue, WCS repair.

The reference catalogue is built for the test from the frame's own stars: their windowed
centroids put on the sky with the header WCS, scattered by 50 mas per axis (Gaia plus
centroid errors), with G magnitudes from their S/N. The header WCS is then right by
construction, so the measured rms must be the injected 50 mas; a frame whose WCS is
shifted by 1" and rotated by 0.01 deg (or stripped of its TPV distortion) must be
brought back to the original solution.
"""

import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import angular_separation

from ztfimg import ScienceImage, astrometry
from ztfimg.errors import InvalidParameterError

SCATTER_MAS = 50.0


@pytest.fixture(scope="module")
def frame(real_quadrant_paths):
    return ScienceImage(*real_quadrant_paths)


@pytest.fixture(scope="module")
def gaia_like(frame):
    stars = astrometry._stars(frame, 20.0, None)
    ra, dec = frame.pixels_to_coords(stars["x"].to_numpy(), stars["y"].to_numpy())
    rng = np.random.default_rng(1)
    s = SCATTER_MAS / 3.6e6
    return pd.DataFrame({
        "ra": ra + rng.normal(0, s, len(ra)) / np.cos(np.radians(dec)),
        "dec": dec + rng.normal(0, s, len(ra)),
        "Gmag": 16.0 - 2.5 * np.log10(stars["snr"].to_numpy() / 100.0)})


def _grid_separation_mas(w1, w2):
    gx, gy = np.meshgrid(np.linspace(0, 3071, 12), np.linspace(0, 3079, 12))
    a1, d1 = w1.all_pix2world(gx.ravel(), gy.ravel(), 0)
    a2, d2 = w2.all_pix2world(gx.ravel(), gy.ravel(), 0)
    return np.degrees(angular_separation(*np.radians([a1, d1, a2, d2]))) * 3.6e6


def _perturbed(frame, shift_arcsec=1.0, rotation_deg=0.01, strip_tpv=False):
    h = frame.header.copy()
    if strip_tpv:
        for k in [k for k in h.keys() if k.startswith(("PV1_", "PV2_"))]:
            del h[k]
        h["CTYPE1"], h["CTYPE2"] = "RA---TAN", "DEC--TAN"
    h["CRVAL1"] += shift_arcsec / 3600.0 / np.cos(np.radians(h["CRVAL2"]))
    th = np.radians(rotation_deg)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    cd = np.array([[h["CD1_1"], h["CD1_2"]], [h["CD2_1"], h["CD2_2"]]]) @ rot
    h["CD1_1"], h["CD1_2"], h["CD2_1"], h["CD2_2"] = cd.ravel()
    return ScienceImage.from_arrays(frame.data, h, frame.mask)


def test_residuals_of_the_header_wcs(frame, gaia_like):
    res = astrometry.measure_astrometry(frame, gaia_like)
    assert res.status == "measured"
    assert res.n_matches > 0.9 * len(gaia_like)
    # the injected scatter comes back (the clipping at 4 sigma trims it by < 1%)
    np.testing.assert_allclose(res.rms, [SCATTER_MAS, SCATTER_MAS], rtol=0.04)
    assert np.all(np.abs(res.offset) < 3.0)
    # IPAC's own figure from the header: 1.769e-5 and 1.907e-5 deg
    np.testing.assert_allclose(res.header_rms, [63.68, 68.65], atol=0.01)
    assert res.wcs is None
    with pytest.raises(InvalidParameterError, match="refine_wcs"):
        res.header_cards()


def test_a_shifted_and_rotated_wcs_is_repaired(frame, gaia_like):
    bad = _perturbed(frame)
    assert _grid_separation_mas(frame._wcs(), bad._wcs()).max() > 1000
    res = astrometry.refine_wcs(bad, gaia_like)
    assert res.status == "improved" and res.method == "linear"
    assert _grid_separation_mas(frame._wcs(), res.wcs).max() < 20.0
    np.testing.assert_allclose(res.rms_fit, [SCATTER_MAS, SCATTER_MAS], rtol=0.05)
    assert res.cv_rms["linear"] < 0.1 * res.cv_rms["header"]
    # the frame itself is untouched; the new cards rebuild a frame with the repaired WCS
    assert _grid_separation_mas(frame._wcs(), bad._wcs()).max() > 1000
    fixed = bad.header.copy()
    fixed.update(res.header_cards())
    again = ScienceImage.from_arrays(frame.data, fixed, frame.mask)
    assert _grid_separation_mas(frame._wcs(), again._wcs()).max() < 20.0


def test_a_correct_wcs_is_kept(frame, gaia_like):
    res = astrometry.refine_wcs(frame, gaia_like)
    assert res.status == "not-improved" and res.method is None
    assert _grid_separation_mas(frame._wcs(), res.wcs).max() == 0.0


def test_missing_distortion_is_fitted_with_sip_only_when_asked(frame, gaia_like):
    bad = _perturbed(frame, 0.0, 0.0, strip_tpv=True)
    before = _grid_separation_mas(frame._wcs(), bad._wcs()).max()
    assert before > 200
    lin = astrometry.refine_wcs(bad, gaia_like, radius=3.0, search_radius=10.0)
    sip = astrometry.refine_wcs(bad, gaia_like, radius=3.0, search_radius=10.0,
                                distortion=True)
    assert sip.status == "improved" and sip.method == "sip"
    assert sip.cv_rms["sip"] < 0.5 * sip.cv_rms["header"]
    assert sip.cv_rms["sip"] < lin.cv_rms["linear"]
    np.testing.assert_allclose(sip.rms_fit, [SCATTER_MAS, SCATTER_MAS], rtol=0.05)
    assert _grid_separation_mas(frame._wcs(), sip.wcs).max() < 0.2 * before


def test_too_few_matches_keep_the_header_wcs(frame, gaia_like):
    few = gaia_like.iloc[:8]
    res = astrometry.refine_wcs(_perturbed(frame), few)
    assert res.status == "too-few-matches"
    assert "20 needed" in res.message
    bad = _perturbed(frame)
    assert _grid_separation_mas(bad._wcs(), res.wcs).max() == 0.0
    none = astrometry.measure_astrometry(frame, gaia_like.iloc[:0])
    assert none.status == "too-few-matches" and none.n_matches == 0


def test_plot_returns_axes(frame, gaia_like):
    import matplotlib
    matplotlib.use("Agg")
    res = astrometry.refine_wcs(_perturbed(frame), gaia_like)
    ax = res.plot(fit=True)
    assert "fitted WCS" in ax.get_title(loc="left")
    assert len(ax.collections) == 1


def test_per_frame_table_through_the_collection(real_quadrant_paths, frame, gaia_like):
    from ztfimg import ImageCollection
    col = ImageCollection.from_files([real_quadrant_paths[0]])
    table = col.astrometry(gaia_like, refine=True, progress=False)
    direct = astrometry.refine_wcs(frame, gaia_like)
    assert table["error"].isna().all() and table["status"].iloc[0] == direct.status
    np.testing.assert_allclose(table[["rms_ra", "rms_dec"]].to_numpy()[0], direct.rms)
    np.testing.assert_allclose(table[["header_rms1", "header_rms2"]].to_numpy()[0],
                               [63.68, 68.65], atol=0.01)
    assert table["cv_best"].iloc[0] == pytest.approx(direct.cv_rms["linear"])
