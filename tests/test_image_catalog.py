"""Catalogues on the image: PS1 through the real astroquery path (answered offline),
projection, the seed's matched entries, and the zero point on simulated frames."""

import numpy as np
import pandas as pd
import pytest

from ztfimg import simulate
from ztfimg.errors import CatalogError, InvalidParameterError, OfflineError

from test_refcat import FakeVizier  # the offline VizieR transport (astroquery runs for real)

PS1_TABLE = "II/349/ps1"


def _ps1_truth(seed, radius=0.35):
    """A PS1-like sky around the simulated frame (0.35 deg covers a 1024 px frame, 0.45 deg
    a 2048 px one), ~16000 stars per square degree."""
    return simulate.ps1_like_catalog(55.0608, 33.35, radius, int(6000 * (radius / 0.35) ** 2),
                                     seed=seed)


@pytest.fixture
def offline_sky(monkeypatch, tmp_path):
    def make(seed, zp=26.1, clrcoeff=0.12, shape=(1024, 1024)):
        truth = _ps1_truth(seed, radius=0.35 if max(shape) <= 1024 else 0.45)
        frame = simulate.simulate_quadrant(shape=shape, seed=seed, catalog=truth, magzp=zp,
                                           clrcoeff=clrcoeff)
        # what the service returns: magnitudes scattered by their errors
        rng = np.random.default_rng(seed + 1000)
        served = truth.copy()
        for b in "grizy":
            served[f"{b}mag"] = truth[f"{b}mag"] + rng.normal(0, truth[f"e_{b}mag"])
        fake = FakeVizier(truth={PS1_TABLE: served}).install(monkeypatch)
        return frame, truth, fake, tmp_path / f"cache{seed}"
    return make


def test_get_catalog_projects_ps1(offline_sky):
    frame, truth, fake, cache = offline_sky(1)
    z = frame.to_image()
    ps1 = z.get_catalog("ps1cat", cache_dir=cache)
    assert len(fake.requests) >= 1
    inside = frame.truth[frame.truth["inside"]]
    assert set(ps1["objid"]) == set(inside["objid"])
    ps1 = ps1.set_index("objid").loc[inside["objid"]]
    np.testing.assert_allclose(ps1["x"], inside["x"], atol=1e-3)  # 1e-7 deg VizieR rounding
    np.testing.assert_allclose(ps1["y"], inside["y"], atol=1e-3)
    assert ps1["mag"].equals(ps1["rmag"])
    np.testing.assert_allclose(ps1["colour"], ps1["gmag"] - ps1["rmag"])
    assert ps1["isolated"].dtype == bool and 0 < ps1["isolated"].mean() < 1
    assert "ps1" in z.catalogs
    # second request for the same sky: free and offline
    n = len(fake.requests)
    again = z.get_catalog("ps1", cache_dir=cache, offline=True, magrange=(15, 18))
    assert len(fake.requests) == n
    assert again["mag"].between(15, 18).all() and len(again) < len(ps1)


def test_seed_matched_entries(offline_sky):
    frame, truth, fake, cache = offline_sky(2)
    z = frame.to_image()
    z.load_source_background()
    z.extract_sources(thresh=5)
    z.get_catalog("ps1", cache_dir=cache)
    m = z.catalogs.get_matched_entries(["ra", "dec", "x", "y", "mag"], "sources", "ps1cat")
    # the alias 'ps1cat' names the columns by the catalogue's label, 'ps1'
    assert list(m.columns) == ["sources_index", "ps1_index", "sources_ra", "ps1_ra", "sources_dec",
                               "ps1_dec", "sources_x", "ps1_x", "sources_y", "ps1_y",
                               "sources_mag", "ps1_mag", "separation"]
    assert len(m) > 0.8 * len(z.sources)
    assert m["separation"].median() < 0.3  # arcsec
    dx = m.filter(like="_x").iloc[:, 0] - m.filter(like="_x").iloc[:, 1]
    assert np.median(np.abs(dx)) < 0.1


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_zeropoint_recovered(offline_sky, seed):
    zp, cc = 26.1 + 0.05 * seed, 0.12 - 0.02 * seed
    # a 2048 px frame: ~800 calibrators, so 0.005 mag is several sigma
    frame, truth, fake, cache = offline_sky(seed, zp=zp, clrcoeff=cc, shape=(2048, 2048))
    z = frame.to_image()
    z.load_source_background()
    res = z.fit_zeropoint("ps1", cache_dir=cache)
    assert res.nstars > 400
    assert abs(res.zp - zp) < 0.005 and abs(res.clrcoeff - cc) < 0.005
    assert abs(res.zp - zp) < 3 * res.zp_err and abs(res.clrcoeff - cc) < 3 * res.clrcoeff_err
    axes = res.show()
    assert axes is not None


def test_set_catalog_never_mutates_and_checks_columns(offline_sky):
    frame, truth, fake, cache = offline_sky(6)
    z = frame.to_image()
    mine = truth[["ra", "dec", "rmag"]].iloc[:50].copy()
    before = mine.copy()
    out = z.set_catalog(mine, "mystars")
    pd.testing.assert_frame_equal(mine, before)
    assert {"x", "y", "inside", "isolated"} <= set(out.columns)
    with pytest.raises(CatalogError, match="ra"):
        z.set_catalog(pd.DataFrame({"x": [1.0]}), "bad")
    with pytest.raises(CatalogError, match="known"):
        z.get_catalog("sdss", cache_dir=cache)


def test_offline_without_cache_names_the_tiles(offline_sky):
    frame, truth, fake, cache = offline_sky(7)
    with pytest.raises(OfflineError, match="ps1"):
        frame.to_image().get_catalog("ps1", cache_dir=cache, offline=True)
    assert fake.requests == []


def test_zeropoint_with_the_psf_and_from_sources():
    from ztfimg.dao import DAOPhotReader
    ps1 = simulate.ps1_like_catalog(55.0608, 33.35, 0.45, 10000, seed=3)
    psf = DAOPhotReader.synthetic(hwhm=1.0, seed=3, xpsf=1023.5, ypsf=1023.5)
    frame = simulate.simulate_quadrant(shape=(2048, 2048), seed=3, catalog=ps1, psf=psf,
                                       magzp=26.2, clrcoeff=0.08)
    z = frame.to_image().set_psf(psf)
    z.load_source_background()
    z.set_catalog(ps1, "ps1", kind="ps1", inside_only=True)
    res = z.fit_zeropoint("ps1", method="psf")
    assert abs(res.zp - 26.2) < 0.005 and abs(res.zp - 26.2) < 3 * res.zp_err
    assert abs(res.clrcoeff - 0.08) < 0.005 and abs(res.clrcoeff - 0.08) < 3 * res.clrcoeff_err
    ap = z.fit_zeropoint("ps1", method="aperture")
    assert res.rms < ap.rms  # PSF fitting is the more precise
    quick = z.fit_zeropoint("ps1", method="sources")  # isophotal fluxes miss the wings
    assert 0.005 < 26.2 - quick.zp < 0.06 and quick.nstars > 500
    with pytest.raises(InvalidParameterError, match="method"):
        z.fit_zeropoint("ps1", method="magic")
