"""ScienceImage.psf and forced PSF photometry through the image, on real cutouts and on a
simulated quadrant drawn from a written DAOPhot PSF file."""

import json
import os

import numpy as np
import pytest

from ztfimg import ScienceImage, simulate
from ztfimg.dao import DAOPhotReader
from ztfimg.errors import MissingFileError

from conftest import DATA

DAOPHOT = os.path.join(DATA, "daophot")


@pytest.fixture(scope="module")
def sim_with_psf(tmp_path_factory):
    psf = DAOPhotReader.synthetic(hwhm=1.1, seed=4, xpsf=255.5, ypsf=255.5)
    frame = simulate.simulate_quadrant(shape=(512, 512), seed=8, psf=psf)
    sci, _ = frame.write(tmp_path_factory.mktemp("simpsf"))
    return frame, sci


def test_psf_file_found_beside_the_image(sim_with_psf):
    frame, sci = sim_with_psf
    z = ScienceImage.from_filename(sci)
    assert os.path.exists(sci.replace("sciimg.fits", "sciimgdao.psf"))
    assert isinstance(z.psf, DAOPhotReader)
    np.testing.assert_allclose(z.psf.tables, frame.psf.tables, atol=1e-6 * np.abs(frame.psf.tables).max())


def test_forced_psf_photometry_recovers_truth(sim_with_psf):
    frame, sci = sim_with_psf
    z = ScienceImage.from_filename(sci)
    t = frame.truth
    t = t[t["inside"] & (t["snr"] > 10) & t["x"].between(15, 496) & t["y"].between(15, 496)]
    phot = z.get_psf_photometry(t["x"].to_numpy(), t["y"].to_numpy())
    assert len(phot) == len(t)
    ok = phot["psf_flag"].to_numpy() == 0
    pull = ((phot["flux"].to_numpy() - t["flux"].to_numpy()) / phot["fluxerr"].to_numpy())[ok]
    # stars blended with a neighbour are legitimately off: judge the bulk robustly
    robust = 1.4826 * np.median(np.abs(pull - np.median(pull)))
    assert ok.sum() > 50
    assert abs(np.median(pull)) < 0.3 and 0.85 < robust < 1.2
    np.testing.assert_allclose(phot["mag"], z.magzp - 2.5 * np.log10(phot["flux"]), rtol=1e-9)
    # sky positions give the same numbers
    phot2 = z.get_psf_photometry(t["ra"].to_numpy(), t["dec"].to_numpy(), coords="sky")
    np.testing.assert_allclose(phot2["flux"], phot["flux"], rtol=1e-4)


def test_real_cutouts_through_the_image():
    manifest = json.load(open(os.path.join(DAOPHOT, "manifest.json")))
    ratios = []
    for image in manifest["images"]:
        meta = image["metadata"]
        psf = DAOPhotReader(os.path.join(DAOPHOT, image["stem"], "psf.psf"))
        for t in image["targets"]:
            if t["kind"] != "star":
                continue
            z = ScienceImage(os.path.join(DAOPHOT, image["stem"], t["file"])).set_psf(psf)
            ox = meta["crpix1"] - z.header["CRPIX1"]
            oy = meta["crpix2"] - z.header["CRPIX2"]
            phot = z.get_psf_photometry([t["ra"]], [t["dec"]], coords="sky", data="data",
                                        rms="global", frame_origin=(ox, oy))
            ratios.append(phot["flux"].iloc[0] / t["flux"])
    ratios = np.array(ratios)
    assert len(ratios) >= 20
    assert abs(np.median(ratios) - 1) < 0.01
    assert 1.4826 * np.median(np.abs(ratios - np.median(ratios))) < 0.015


def test_no_psf_file_is_a_clear_error(tmp_path):
    frame = simulate.simulate_quadrant(shape=(64, 64), seed=0, nstars=3)
    sci, _ = frame.write(tmp_path)
    z = ScienceImage.from_filename(sci)
    with pytest.raises(MissingFileError, match="sciimgdao.psf"):
        z.psf
    with pytest.raises(MissingFileError, match="set_psf"):
        frame.to_image().psf
