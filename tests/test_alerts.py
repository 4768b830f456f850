"""ZTF alert packets (ztfimg.alerts) on 40 real packets of 2018-07-13.

Establishes where the candidate falls in a cutout (Gaussian fits to the difference
cutouts) and checks that aperture photometry at that position reproduces IPAC's
``magap - magapbig`` (14 vs 18 pixel diameters).
"""

import glob
import io
import os
import warnings

import fastavro
import numpy as np
import pytest
from astropy.io import fits
from scipy.optimize import least_squares
from scipy.stats import theilslopes

from ztfimg import alerts
from ztfimg.aperture import aperture_photometry
from ztfimg.errors import FileFormatError, InvalidParameterError, MissingFileError

ALERT_DIR = os.path.join(os.path.dirname(__file__), "data", "alerts")
FILES = sorted(glob.glob(os.path.join(ALERT_DIR, "*.avro")))


@pytest.fixture(scope="module")
def packets():
    assert len(FILES) == 40, f"expected the 40 real packets in {ALERT_DIR}"
    return [alerts.read_alert(f) for f in FILES]


def gaussian_centre(data, c=31, half=7):
    """Centre of a Gaussian + constant fitted to the central (2 half + 1)^2 pixels."""
    sub = data[c - half:c + half + 1, c - half:c + half + 1].astype(float)
    yy, xx = np.mgrid[c - half:c + half + 1, c - half:c + half + 1]

    def resid(p):
        x0, y0, a, s, b = p
        return (a * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * s * s)) + b - sub).ravel()
    return least_squares(resid, [c, c, np.nanmax(sub), 1.2, 0.0]).x[:2]


def magdiff_error(c):
    """1-sigma error of magap - magapbig from IPAC's sigmas (the 18 px flux contains the 14 px)."""
    f7, f9 = 10 ** (-0.4 * c["magap"]), 10 ** (-0.4 * c["magapbig"])
    v7 = (c["sigmagap"] * f7 / 1.0857) ** 2
    v9 = (c["sigmagapbig"] * f9 / 1.0857) ** 2
    return 1.0857 * np.sqrt(max(v9 - v7, 0.0) / f9 ** 2 + v7 * (1 / f9 - 1 / f7) ** 2)


# ------------------------------------------------------------------ reading
def test_packets_read_into_stamps_with_the_candidate(packets):
    for a in packets:
        for kind in ("science", "template", "difference"):
            st = getattr(a, kind)
            assert st.data.shape == (63, 63) and st.data.dtype == np.float32
            assert st.data.dtype.isnative and st.mask.shape == (63, 63)
        c = a.candidate
        assert {"xpos", "ypos", "magap", "magapbig", "isdiffpos", "jd"} <= set(c.index)
        assert c["isdiffpos"] == "t" and a.isdiffpos and a.candid == c["candid"]
        assert a.magzp is None                         # schema 1.8 has no magzpsci
        assert isinstance(a.objectId, str) and a.objectId.startswith("ZTF")
    assert sum(len(a.prv_candidates) for a in packets) > 0
    assert "prv_candidates" not in repr(packets[0]) and "ZTF" in repr(packets[0])


def test_only_the_simple_card_warning_is_silenced():
    with open(FILES[0], "rb") as fh:
        rec = next(fastavro.reader(fh))
    blob = rec["cutoutDifference"]["stampData"]
    with warnings.catch_warnings(record=True) as raw:
        warnings.simplefilter("always")
        import gzip
        fits.open(io.BytesIO(gzip.decompress(blob)))[0].data
    assert any(issubclass(w.category, fits.verify.VerifyWarning) for w in raw)  # astropy warns
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        data, header = alerts.read_cutout(blob)
        alerts.read_alert(FILES[0])
    assert not ours
    assert header["NAXIS1"] == 63 and np.isfinite(data).all()
    # other warnings still come through after reading
    with pytest.warns(UserWarning, match="still here"):
        alerts.read_cutout(blob)
        warnings.warn("still here", UserWarning)


# ------------------------------------------------------------------ the pixel convention
def test_candidate_sits_at_the_central_pixel_plus_the_fraction(packets):
    frac, fit = [], []
    for a in packets:
        c = a.candidate
        frac.append((c["xpos"] - np.round(c["xpos"]), c["ypos"] - np.round(c["ypos"])))
        fit.append(gaussian_centre(a.difference.data))
    frac, fit = np.array(frac), np.array(fit)

    def median_miss(cx, cy, with_fraction):
        px = cx + (frac[:, 0] if with_fraction else 0.0)
        py = cy + (frac[:, 1] if with_fraction else 0.0)
        return np.median(np.hypot(fit[:, 0] - px, fit[:, 1] - py))

    best = median_miss(31, 31, True)
    assert best < 0.15
    assert median_miss(31, 31, False) > 2.5 * best          # the fraction carries over
    for shift in (-1, 1):                                     # the central pixel, not a neighbour
        assert median_miss(31 + shift, 31 + shift, True) > 1.0
        assert median_miss(31 + shift, 31, True) > 0.7
    for axis in (0, 1):
        slope = theilslopes(fit[:, axis] - 31, frac[:, axis])[0]
        assert 0.85 < slope < 1.15
    # and the stamps carry exactly that position and origin
    for a in packets:
        c, st = a.candidate, a.difference
        assert st.x == pytest.approx(31 + c["xpos"] - np.round(c["xpos"]), abs=1e-9)
        assert st.y == pytest.approx(31 + c["ypos"] - np.round(c["ypos"]), abs=1e-9)
        assert st.origin == (np.round(c["xpos"]) - 32, np.round(c["ypos"]) - 32)
        fx, fy = st.to_frame(st.x, st.y)
        assert (float(fx), float(fy)) == pytest.approx(a.frame_position, abs=1e-9)
        assert a.frame_position == pytest.approx((c["xpos"] - 1, c["ypos"] - 1), abs=1e-9)


def test_cutout_position_function():
    assert alerts.cutout_position(100.0, 200.0) == (31.0, 31.0, 68, 168)
    x, y, x0, y0 = alerts.cutout_position(100.4, 200.6)
    assert (x, y) == pytest.approx((31.4, 30.6)) and (x0, y0) == (68, 169)
    with pytest.raises(InvalidParameterError):
        alerts.cutout_position(np.nan, 3.0)


# ------------------------------------------------------------------ magap - magapbig
def _residuals(packets, radii=(7.0, 9.0), shift=0.0, bkgann=(15.0, 25.0)):
    res, err = [], []
    for a in packets:
        st, c = a.difference, a.candidate
        ph = aperture_photometry(st.data, st.x + shift, st.y + shift, list(radii), mask=st.mask,
                                 bkgann=bkgann, sky_estimator="median")
        ours = -2.5 * np.log10(ph["sum_0"].iloc[0] / ph["sum_1"].iloc[0])
        res.append(ours - (c["magap"] - c["magapbig"]))
        err.append(magdiff_error(c))
    res, err = np.array(res), np.array(err)
    pull = res / err
    return (np.median(res), np.mean(np.abs(pull) < 3),
            1.4826 * np.median(np.abs(pull - np.median(pull))))


def _agrees(stats):
    median, within3, pull_mad = stats
    return abs(median) < 0.005 and within3 >= 0.85 and pull_mad < 1.4


def test_aperture_photometry_reproduces_magap_minus_magapbig(packets):
    stats = _residuals(packets)
    assert _agrees(stats), stats
    # through the Alert method too
    a = packets[0]
    ph = a.aperture_photometry()
    ours = -2.5 * np.log10(ph["sum_0"].iloc[0] / ph["sum_1"].iloc[0])
    assert ours - (a.candidate["magap"] - a.candidate["magapbig"]) == pytest.approx(
        _single(a), abs=1e-12)


def _single(a):
    st, c = a.difference, a.candidate
    ph = aperture_photometry(st.data, st.x, st.y, [7.0, 9.0], mask=st.mask, bkgann=(15, 25),
                             sky_estimator="median")
    return -2.5 * np.log10(ph["sum_0"].iloc[0] / ph["sum_1"].iloc[0]) - (
        c["magap"] - c["magapbig"])


@pytest.mark.parametrize("radii,shift,bkgann", [((14.0, 18.0), 0.0, (20.0, 30.0)),  # diameters
                                                ((5.0, 7.0), 0.0, (15.0, 25.0)),
                                                ((7.0, 9.0), 1.0, (15.0, 25.0)),    # 1 px off
                                                ((7.0, 9.0), 0.0, None)])           # no sky
def test_the_comparison_fails_with_the_wrong_apertures_centre_or_sky(packets, radii, shift,
                                                                      bkgann):
    assert not _agrees(_residuals(packets, radii, shift, bkgann))


# ------------------------------------------------------------------ display and bad input
def test_show_draws_three_panels(packets):
    import matplotlib.pyplot as plt
    axes = packets[3].show()
    assert len(axes) == 3
    assert [ax.get_title() for ax in axes] == ["science", "template", "difference"]
    plt.close("all")


def _packet_bytes(**changes):
    with open(FILES[0], "rb") as fh:
        reader = fastavro.reader(fh)
        schema, rec = reader.writer_schema, next(reader)
    rec.update(changes)
    buf = io.BytesIO()
    fastavro.writer(buf, schema, [rec, rec])
    return buf.getvalue()


def test_packets_from_bytes_and_file_objects_and_missing_cutouts():
    blob = _packet_bytes(cutoutDifference=None)
    two = alerts.read_alerts(blob)
    assert len(two) == 2 and two[0].difference is None and two[0].science is not None
    with pytest.raises(InvalidParameterError):
        two[0].get_cutout("difference")
    with pytest.raises(InvalidParameterError):
        two[0].get_cutout("residual")
    axes = two[0].show()
    assert not axes[2].axison
    import matplotlib.pyplot as plt
    plt.close("all")
    with open(FILES[1], "rb") as fh:
        assert alerts.read_alert(fh).candid == alerts.read_alert(FILES[1]).candid


def test_plain_fits_cutouts_are_read_too():
    hdu = fits.PrimaryHDU(np.arange(63 * 63, dtype=">f4").reshape(63, 63))
    buf = io.BytesIO()
    hdu.writeto(buf)
    data, _ = alerts.read_cutout(buf.getvalue())
    assert data[1, 0] == 63 and data.dtype.isnative


def test_bad_packets_raise_ztfimg_errors(tmp_path):
    with pytest.raises(MissingFileError):
        alerts.read_alert(tmp_path / "nope.avro")
    bad = tmp_path / "bad.avro"
    bad.write_text("not an avro file")
    with pytest.raises(FileFormatError):
        alerts.read_alert(bad)
    with pytest.raises(FileFormatError):
        alerts.read_cutout(b"\x1f\x8bnot gzip")
    with pytest.raises(FileFormatError):
        alerts.read_cutout(None)
    with pytest.raises(FileFormatError):
        alerts.Alert({"objectId": "x"})
    with pytest.raises(InvalidParameterError):
        alerts.read_alerts(12)


def test_newer_schema_values_and_negative_subtractions():
    with open(FILES[2], "rb") as fh:
        rec = next(fastavro.reader(fh))
    rec["candidate"] = dict(rec["candidate"], magzpsci=26.21, isdiffpos="f")
    a = alerts.Alert(rec)
    assert a.magzp == pytest.approx(26.21) and not a.isdiffpos
