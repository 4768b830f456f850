"""Source extraction: completeness on a simulated frame, real quadrant facts, bad input."""

import numpy as np
import pandas as pd
import pytest
import sep
from astropy.io import fits
from scipy.spatial import cKDTree

from ztfimg import overlap, simulate
from ztfimg.background import estimate_background
from ztfimg.errors import InvalidParameterError, ShapeMismatchError
from ztfimg.sources import extract_sources

SOURCE_BITS = np.int16((1 << 1) | (1 << 11))


@pytest.fixture(scope="module")
def sim():
    frame = simulate.simulate_quadrant(shape=(1024, 1024), seed=5)
    bkg = estimate_background(frame.data, frame.mask != 0)
    return frame, bkg


@pytest.fixture(scope="module")
def real(real_quadrant_paths):
    sci, msk = real_quadrant_paths
    data = fits.getdata(sci).astype(np.float32)
    mask = fits.getdata(msk).astype(np.int16)
    bkg = estimate_background(data, mask != 0)
    return data, mask, bkg, float(fits.getheader(sci)["GAIN"])


def _peak_snr(frame):
    """Noise-free peak pixel of each in-frame star over the pixel noise (sigma)."""
    t = frame.truth[frame.truth["inside"]]
    ny, nx = frame.data.shape
    xi = np.clip(np.round(t["x"].to_numpy()).astype(int), 0, nx - 1)
    yi = np.clip(np.round(t["y"].to_numpy()).astype(int), 0, ny - 1)
    sigma = np.sqrt(frame.sky / frame.gain + (frame.readnoise / frame.gain) ** 2)
    return t, (frame.model - frame.sky)[yi, xi] / sigma[yi, xi]


def test_completeness_and_purity_on_simulation(sim):
    frame, bkg = sim
    detmask = (frame.mask & ~SOURCE_BITS) != 0
    data0 = frame.data.copy()
    # sep's threshold applies to the 3x3-filtered image in units of the raw pixel rms, so
    # SExtractor's usual DETECT_THRESH=1.5 is what finds the stars peaking at 5 sigma.
    src = extract_sources(frame.data, thresh=1.5, background=bkg, mask=detmask,
                          gain=frame.gain, bitmask=frame.mask)
    np.testing.assert_array_equal(frame.data, data0)
    truth, psnr = _peak_snr(frame)
    dist, _ = cKDTree(np.c_[src["x"], src["y"]]).query(np.c_[truth["x"], truth["y"]])
    found = dist < 1.5
    bright = psnr > 5
    assert bright.sum() > 400
    assert found[bright].mean() >= 0.95           # measured 0.985
    # spurious: no injected star within 2 px
    d2, _ = cKDTree(np.c_[frame.truth["x"], frame.truth["y"]]).query(np.c_[src["x"], src["y"]])
    assert (d2 > 2).sum() <= 0.02 * len(src)      # measured 0
    # thresh=5 (the default) keeps the stars peaking above ~10 sigma
    src5 = extract_sources(frame.data, background=bkg, mask=detmask)
    assert found[psnr > 20].mean() > 0.95
    d5, _ = cKDTree(np.c_[src5["x"], src5["y"]]).query(np.c_[truth["x"], truth["y"]])
    assert (d5[psnr > 20] < 1.5).mean() >= 0.95


def test_columns_and_fluxerr(sim):
    frame, bkg = sim
    sub = bkg.subtract(frame.data)
    detmask = (frame.mask & ~SOURCE_BITS) != 0
    src = extract_sources(sub, err=bkg.globalrms, mask=detmask, gain=frame.gain,
                          bitmask=frame.mask)
    for col in ("x", "y", "a", "b", "theta", "flux", "fluxerr", "npix", "peak", "maskbits",
                "sep_flag", "segid", "xmin", "ymax"):
        assert col in src.columns
    expected = np.sqrt(src["npix"] * bkg.globalrms ** 2 + src["flux"].clip(lower=0) / frame.gain)
    np.testing.assert_allclose(src["fluxerr"], expected, rtol=1e-10)
    assert (src["segid"] == np.arange(1, len(src) + 1)).all()
    assert src.attrs["thresh"] == 5.0
    # isophotal flux error is a sensible fraction of the flux for bright sources
    assert (src["fluxerr"] / src["flux"])[src["flux"] > 1e4].max() < 0.05


def test_default_err_is_global_rms(sim):
    frame, bkg = sim
    sub = bkg.subtract(frame.data)
    a = extract_sources(sub, mask=frame.mask & ~SOURCE_BITS)       # int mask, err measured
    b = extract_sources(sub, err=bkg.globalrms, mask=(frame.mask & ~SOURCE_BITS) != 0)
    assert abs(len(a) - len(b)) <= 3


def test_real_quadrant_detections_on_ipac_sources(real):
    data, mask, bkg, gain = real
    data0, mask0 = data.copy(), mask.copy()
    detmask = (mask & ~SOURCE_BITS) != 0
    src, seg = extract_sources(data, thresh=5.0, background=bkg, mask=detmask, gain=gain,
                               bitmask=mask, segmentation=True)
    np.testing.assert_array_equal(data, data0)
    np.testing.assert_array_equal(mask, mask0)
    assert 7700 < len(src) < 8050                 # sep on this frame: ~7870
    assert seg.shape == data.shape and seg.max() == len(src)
    xi = np.floor(src["x"].to_numpy() + 0.5).astype(int)
    yi = np.floor(src["y"].to_numpy() + 0.5).astype(int)
    on_ipac = (mask[yi, xi] & SOURCE_BITS) != 0
    # measured: 100.0% of the 5-sigma detections sit on a pixel IPAC flags as a source,
    # while only 3.5% of all pixels carry bit 1
    assert on_ipac.mean() >= 0.99
    assert ((mask & SOURCE_BITS) != 0).mean() < 0.05
    # the mask-bit OR sees the sources and the saturated stars
    assert (src["maskbits"] & (1 << 1) != 0).mean() >= 0.99
    sat = (src["maskbits"] & (1 << 8)) != 0
    assert 150 < sat.sum() < 350                  # measured 233
    assert src.loc[sat, "peak"].median() > 20000


def test_maskbits_modes_and_saturated_core():
    rng = np.random.default_rng(3)
    data = rng.normal(0.0, 1.0, (120, 120)).astype(np.float32)
    yy, xx = np.mgrid[0:120, 0:120]
    data += 500 * np.exp(-((xx - 60.2) ** 2 + (yy - 50.7) ** 2) / (2 * 1.5 ** 2))
    data += 80 * np.exp(-((xx - 66.0) ** 2 + (yy - 80.0) ** 2) / (2 * 1.5 ** 2))
    bits = np.zeros(data.shape, np.int16)
    bits[50:52, 60:62] |= 1 << 8                  # saturated core, masked for detection
    bits[75, 60] |= 1 << 4                        # noisy pixel near the faint star's bbox
    det = (bits & ~SOURCE_BITS) != 0
    src = extract_sources(data, err=1.0, mask=det, bitmask=bits)
    assert len(src) == 2
    bright = src.iloc[np.argmax(src["flux"].to_numpy())]
    assert int(bright["maskbits"]) & (1 << 8)     # masked core counted via the bbox
    box = extract_sources(data, err=1.0, mask=det, bitmask=bits, maskbits_from="bbox")
    assert (box["maskbits"].to_numpy() >= src["maskbits"].to_numpy()).all()


def test_rms_map_and_overflow_recovery(sim):
    frame, bkg = sim
    sub = bkg.subtract(frame.data)
    detmask = (frame.mask & ~SOURCE_BITS) != 0
    ref = extract_sources(sub, err=bkg.globalrms, mask=detmask)
    withmap = extract_sources(sub, err=bkg.rms, mask=detmask)
    assert withmap.attrs["err"] == "map"
    assert abs(len(withmap) - len(ref)) <= 0.03 * len(ref)
    # sep's matched filter thresholds in units of the filtered noise: deeper
    matched = extract_sources(sub, err=bkg.rms, mask=detmask, filter_type="matched")
    assert len(matched) > 1.3 * len(ref)
    old = sep.get_extract_pixstack()
    sep.set_extract_pixstack(200)                 # far too small: sep overflows
    try:
        again = extract_sources(sub, err=bkg.globalrms, mask=detmask)
        assert sep.get_extract_pixstack() == 200  # the global limit is restored
    finally:
        sep.set_extract_pixstack(old)
    assert len(again) == len(ref)
    np.testing.assert_allclose(again["flux"], ref["flux"])


def test_bad_input_and_empty():
    data = np.zeros((64, 64), dtype=np.float32)
    empty = extract_sources(data, err=1.0)
    assert isinstance(empty, pd.DataFrame) and len(empty) == 0 and "fluxerr" in empty
    with pytest.raises(InvalidParameterError):
        extract_sources(data, thresh=0, err=1.0)
    with pytest.raises(InvalidParameterError):
        extract_sources(data, err=-1.0)
    with pytest.raises(InvalidParameterError):
        extract_sources(data, err=1.0, gain=0)
    with pytest.raises(InvalidParameterError):
        extract_sources(data, err=1.0, minarea=0)
    with pytest.raises(InvalidParameterError):
        extract_sources(data, err=1.0, maskbits_from="circle")
    with pytest.raises(ShapeMismatchError):
        extract_sources(data, err=1.0, mask=np.zeros((10, 10), bool))
    with pytest.raises(ShapeMismatchError):
        extract_sources(data, err=np.ones((10, 10)))
    with pytest.raises(ShapeMismatchError):
        extract_sources(data, err=1.0, bitmask=np.zeros((10, 10), np.int16))


@pytest.mark.skipif(not overlap.HAVE_KERNEL, reason="the compiled kernel is not built")
@pytest.mark.parametrize("mode", ["segmentation", "bbox"])
def test_compiled_mask_bits_equal_the_numpy_route(real_image, mode):
    import sep

    from ztfimg import bitmask, sources
    data = real_image._compute()
    det = real_image._mask_owner(bitmask.DETECTION_BITS)
    bits = real_image._mask_array()
    objs, seg = sep.extract(data, 5, err=real_image.background.globalrms, mask=det,
                            segmentation_map=True)
    assert len(objs) >= 200 and sources._use_compiled()
    ref = sources._or_mask_bits_numpy(objs, bits, seg, det, mode)
    got = sources._or_mask_bits(objs, bits, seg, det, mode)
    np.testing.assert_array_equal(got, ref)
    # every integer width and signedness of a mask, read as numpy's astype(int64) reads it
    for dt in (np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64):
        bd = (bits.astype(np.int64) & 0x7F).astype(dt)
        if np.dtype(dt).kind == "i":  # a negative value inside the first box
            bd[objs["ymin"][0], objs["xmin"][0]] = -3
        np.testing.assert_array_equal(sources._or_mask_bits(objs, bd, seg, det, mode),
                                      sources._or_mask_bits_numpy(objs, bd, seg, det, mode))
    assert np.count_nonzero(ref & ~int(bitmask.ZTFBit.SEXSOURCES | bitmask.ZTFBit.PSFSOURCES)) > 10
    # a boolean bit map and no detection mask take the same road
    b = bits != 0
    np.testing.assert_array_equal(sources._or_mask_bits(objs, b, seg, None, mode),
                                  sources._or_mask_bits_numpy(objs, b, seg, None, mode))
