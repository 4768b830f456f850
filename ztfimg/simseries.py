"""A simulated series of ZTF frames of one field, with its truth (level 3).

:func:`simulate_series` writes ``n_frames`` science quadrants of one field, as a season of
a ZTF field looks: the pointing drifts by a few pixels from night to night, the seeing, the
sky and the zero point change, and one variable star shines among constant ones.  Each
frame is a :func:`ztfimg.simulate.simulate_quadrant` pair written with its real ZTF names
(distinct observation dates, so distinct ``filefracday``), the ``*_mskimg.fits`` beside it,
and a header whose ``MAGZP``, ``CLRCOEFF`` and ``SEEING`` are the injected truth.

The stars come from one Pan-STARRS1-like sky (:func:`ztfimg.simulate.ps1_like_catalog`);
the catalogue a PS1 query would return (magnitudes scattered by their errors, the variable
at its mean magnitude) is in :attr:`SimulatedSeries.catalog`, ready for
:func:`ztfimg.refcat.ingest`, so every frame can be calibrated offline.

Small frames (e.g. 512x512) keep tests fast; the default full 3080x3072 quadrant is for
benchmarks (about 2.5 s a frame to simulate and write).

Examples
--------
>>> from ztfimg import simseries                                     # doctest: +SKIP
>>> series = simseries.simulate_series("frames/", n_frames=6,           # doctest: +SKIP
...                                    shape=(512, 512), seed=1)
>>> series.frames[["filename", "magzp", "seeing", "sky"]]               # doctest: +SKIP
>>> series.lightcurve[["obsjd", "mag"]]   # the variable's injected light curve  # doctest: +SKIP
>>> series.ingest(cache_dir="catalogs/")  # PS1 for these frames, offline        # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import filenames as _filenames
from . import simulate as _sim
from .errors import InvalidParameterError
from .filters import get_filter
from .validation import as_number, as_shape

__all__ = ["SimulatedSeries", "simulate_series"]

#: Stars per square degree of the simulated PS1-like sky (r < 21.5), ~ a mid-latitude field.
STAR_DENSITY = 16000.0


@dataclass
class SimulatedSeries:
    """A written series of simulated frames and its truth.

    Attributes
    ----------
    directory : str
        Where the frames are.
    files : list of str
        Paths of the ``*_sciimg.fits`` files, in time order (one per frame of the plan,
        written or not: see ``indices`` of :func:`simulate_series`).
    maskfiles : list of str
        Paths of the ``*_mskimg.fits`` beside them.
    frames : pandas.DataFrame
        One row per frame: ``file``, ``filename``, ``maskfile``, ``written`` (bool),
        ``obsjd``, ``obsmjd`` (days), ``filefracday``, ``magzp`` (injected zero point, mag,
        = header MAGZP), ``clrcoeff`` (= header CLRCOEFF), ``seeing`` (FWHM, pixels),
        ``sky`` (mean sky, DN), ``dx``, ``dy`` (shift of the stars on the detector from
        the undrifted pointing, pixels), ``ra``, ``dec`` (the frame's CRVAL, degrees),
        ``fieldid``, ``variable_mag`` (the variable's PS1-band magnitude) and
        ``variable_flux`` (its total counts, DN).
    stars : pandas.DataFrame
        The true sky, one row per star: ``objid``, ``ra``, ``dec``, PS1 ``gmag`` ...
        ``ymag`` (mean magnitudes for the variable), ``mag`` (in the frames' PS1 band),
        ``colour`` (the calibration colour) and ``variable`` (bool, one True row).
    lightcurve : pandas.DataFrame
        The variable star, one row per frame: ``file``, ``obsjd``, ``obsmjd``, ``mag``
        (PS1 band), ``flux`` (DN in that frame), ``x``, ``y`` (0-based pixels there).
    catalog : pandas.DataFrame
        What a PS1 query returns around the field: the stars with magnitudes scattered by
        their errors (normalised ztfimg PS1 columns).
    region : tuple of float
        ``(ra, dec, radius)`` in degrees of the cone ``catalog`` covers completely.
    variable : dict
        The variable's parameters: ``objid``, ``ra``, ``dec``, ``mean_mag``,
        ``amplitude`` (semi-amplitude, mag), ``period`` (days), ``t0`` (JD of maximum
        light).

    Examples
    --------
    >>> s = simulate_series(tmpdir, n_frames=4, shape=(256, 256))       # doctest: +SKIP
    >>> s.frames[["filename", "magzp", "seeing"]], s.lightcurve[["obsjd", "mag"]]  # doctest: +SKIP
    """

    directory: str
    files: list
    maskfiles: list
    frames: pd.DataFrame
    stars: pd.DataFrame
    lightcurve: pd.DataFrame
    catalog: pd.DataFrame
    region: tuple
    variable: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.files)

    def __repr__(self):
        return (f"<SimulatedSeries {len(self.files)} frames of field "
                f"{int(self.frames['fieldid'].iloc[0]) if len(self.frames) else '?'} in "
                f"{self.directory!r}, {len(self.stars)} stars, 1 variable>")

    def ingest(self, cache_dir=None):
        """Put :attr:`catalog` into the PS1 tile cache, so the frames calibrate offline.

        Parameters
        ----------
        cache_dir : str or path-like, optional
            Catalogue cache root (default ``$ZTFIMG_CACHE/catalogs``).

        Returns
        -------
        list of pathlib.Path
            The tile files written (see :func:`ztfimg.refcat.ingest`).

        Raises
        ------
        CacheError
            The cache directory cannot be written.

        Examples
        --------
        >>> series.ingest(cache_dir=tmpdir)                            # doctest: +SKIP
        """
        from . import refcat
        return refcat.ingest(self.catalog, "ps1", region=self.region, cache_dir=cache_dir)


def _range(value, name, unit, positive=True):
    """(lo, hi) from a number (constant) or a pair, checked."""
    if isinstance(value, (tuple, list)) and len(value) == 2:
        lo = as_number(value[0], name, unit, positive=positive)
        hi = as_number(value[1], name, unit, positive=positive)
        if hi < lo:
            raise InvalidParameterError(f"{name} must be (low, high) with low <= high; got "
                                        f"{value!r}")
        return lo, hi
    v = as_number(value, name, unit, positive=positive)
    return v, v


def _count(value, name, lo=1):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
            or int(value) < lo:
        raise InvalidParameterError(f"{name} must be an integer >= {lo}; got {value!r}")
    return int(value)


def _plan(n, rng, start_jd, cadence, drift, seeing, sky, magzp, clrcoeff):
    """Per-frame parameters, all drawn from ``rng`` (deterministic for a seed)."""
    nightly = rng.uniform(0.0, 0.25, n)              # start of exposure within the night
    obsjd = start_jd + cadence * np.arange(n) + nightly
    dx, dy = rng.normal(0.0, drift, n), rng.normal(0.0, drift, n)
    return pd.DataFrame({
        "obsjd": obsjd, "obsmjd": obsjd - 2400000.5,
        "magzp": rng.uniform(*magzp, n), "clrcoeff": rng.uniform(*clrcoeff, n),
        "seeing": rng.uniform(*seeing, n), "sky": rng.uniform(*sky, n),
        "dx": dx, "dy": dy})


def simulate_series(directory, n_frames=8, *, shape=(512, 512), seed=0, ra=55.0608,
                    dec=33.35, fieldid=655, ccdid=13, qid=3, filtername="zr",
                    start_jd=2459116.65, cadence=1.0, drift=6.0, seeing=(1.6, 3.0),
                    sky=(110.0, 300.0), magzp=(26.05, 26.45), clrcoeff=(0.04, 0.12),
                    variable_mag=16.5, amplitude=0.4, period=2.7, defects=True,
                    indices=None, overwrite=True):
    """Simulate and write a series of frames of one field, and return its truth.

    Parameters
    ----------
    directory : str or path-like
        Where the ``*_sciimg.fits`` / ``*_mskimg.fits`` pairs are written (created).
    n_frames : int, default 8
        Number of frames (one per night).
    shape : tuple of int, default (512, 512)
        (rows, columns) of each frame; ``(3080, 3072)`` is a real quadrant.
    seed : int, default 0
        Seed of everything: the sky, the per-frame conditions and the noise.
    ra, dec : float, default (55.0608, 33.35)
        Field centre (CRVAL of the undrifted pointing), degrees.
    fieldid, ccdid, qid : int, default (655, 13, 3)
        Field, CCD and quadrant written in the names and headers.
    filtername : {'zg', 'zr', 'zi'}, default 'zr'
        Filter of every frame.
    start_jd : float, default 2459116.65
        Julian date of the first night; exposures start 0-0.25 d later each night.
    cadence : float, default 1.0
        Days between nights.
    drift : float, default 6.0
        Standard deviation of the pointing shift of a frame from the field centre, pixels
        (independent in x and y).
    seeing : float or (float, float), default (1.6, 3.0)
        FWHM range, pixels (uniform per frame; a number for a constant).
    sky : float or (float, float), default (110, 300)
        Mean sky range, DN.
    magzp : float or (float, float), default (26.05, 26.45)
        Zero-point range, mag (written to MAGZP: the truth).
    clrcoeff : float or (float, float), default (0.04, 0.12)
        Colour-coefficient range (written to CLRCOEFF).
    variable_mag : float, default 16.5
        Mean PS1-band magnitude of the variable star, placed 3 pixels off the field centre.
    amplitude : float, default 0.4
        Semi-amplitude of its sinusoidal light curve, mag (0 for a constant star).
    period : float, default 2.7
        Its period, days.
    defects : bool, default True
        Detector defects and their mask bits (see :func:`ztfimg.simulate.simulate_quadrant`).
    indices : sequence of int, optional
        Write only these frames of the plan (the truth still describes all ``n_frames``):
        lets several processes write one series in parts.
    overwrite : bool, default True
        Overwrite existing files.

    Returns
    -------
    SimulatedSeries
        Files, per-frame truth, per-star truth, the variable's light curve and the PS1-like
        catalogue of the field.

    Raises
    ------
    InvalidParameterError
        A count, range or filter is not valid.

    Examples
    --------
    >>> s = simulate_series(tmpdir, n_frames=4, shape=(256, 256), seed=2)   # doctest: +SKIP
    >>> s.frames["magzp"].round(3).tolist()                                  # doctest: +SKIP
    """
    n = _count(n_frames, "n_frames")
    seed = _count(seed, "seed", 0)
    ny, nx = as_shape(shape, minimum=64)
    try:
        rec = get_filter(filtername)
    except InvalidParameterError:
        raise InvalidParameterError(f"filtername must be 'zg', 'zr' or 'zi'; got "
                                    f"{filtername!r}") from None
    ra = as_number(ra, "ra", "degrees")
    dec = as_number(dec, "dec", "degrees")
    start_jd = as_number(start_jd, "start_jd", "days", positive=True)
    cadence = as_number(cadence, "cadence", "days", positive=True)
    drift = abs(as_number(drift, "drift", "pixels"))
    ranges = {name: _range(value, name, unit) for name, value, unit in (
        ("seeing", seeing, "pixels"), ("sky", sky, "DN"), ("magzp", magzp, "mag"))}
    ranges["clrcoeff"] = _range(clrcoeff, "clrcoeff", "", positive=False)
    variable_mag = as_number(variable_mag, "variable_mag", "mag", positive=True)
    amplitude = abs(as_number(amplitude, "amplitude", "mag"))
    period = as_number(period, "period", "days", positive=True)
    todo = range(n) if indices is None else sorted({_count(i, "indices", 0) for i in indices})
    if any(i >= n for i in todo):
        raise InvalidParameterError(f"indices must be in 0..{n - 1}; got {list(indices)!r}")

    rng = np.random.default_rng(seed)
    plan = _plan(n, rng, start_jd, cadence, drift, ranges["seeing"], ranges["sky"],
                 ranges["magzp"], ranges["clrcoeff"])
    scale = 1.012 / 3600.0
    # the sky: a PS1-like cone covering every drifted frame, with margin
    radius = (0.5 * np.hypot(nx, ny) + 4 * drift + 40) * scale
    nstars = int(STAR_DENSITY * np.pi * radius**2 * 1.3)
    stars = _sim.ps1_like_catalog(ra, dec, radius, nstars, seed=seed)
    # the variable: 3 px off the centre pixel of the undrifted pointing
    from astropy.wcs import WCS
    h0 = _sim.make_header((ny, nx), ra=ra, dec=dec)
    h0["NAXIS1"], h0["NAXIS2"] = nx, ny
    vra, vdec = WCS(h0).all_pix2world((nx - 1) / 2 + 3.3, (ny - 1) / 2 - 2.7, 0)
    gr = 0.6
    var = {"objid": np.int64(stars["objid"].max() + 1), "ra": float(vra), "dec": float(vdec),
           "qual": np.int16(52), "gmag": variable_mag + gr, "rmag": variable_mag,
           "imag": variable_mag - 0.27}
    var["zmag"], var["ymag"] = var["imag"] - 0.2, var["imag"] - 0.3
    for b in "grizy":
        var[f"e_{b}mag"] = 0.002 + 0.01 * 10 ** (0.4 * (var[f"{b}mag"] - 20))
    # shift the variable's bands so that its mean in the frames' band is variable_mag
    band = f"{rec.ps1_band}mag"
    delta = variable_mag - var[band]
    for b in "grizy":
        var[f"{b}mag"] += delta
    stars = pd.concat([stars, pd.DataFrame([var])], ignore_index=True)
    stars["variable"] = False
    stars.loc[len(stars) - 1, "variable"] = True
    c1, c2 = (f"{b}mag" for b in rec.colour_bands)
    stars["mag"] = stars[band]
    stars["colour"] = stars[c1] - stars[c2]
    t0 = start_jd
    vmag = variable_mag - amplitude * np.cos(2 * np.pi * (plan["obsjd"] - t0) / period)
    plan["variable_mag"] = vmag

    # what a PS1 query returns: magnitudes scattered by their errors
    served = stars.drop(columns=["variable", "mag", "colour"]).copy()
    for b in "grizy":
        served[f"{b}mag"] = served[f"{b}mag"] + rng.normal(0, served[f"e_{b}mag"])

    directory = os.fspath(directory)
    cosd = np.cos(np.radians(dec))
    # CD1_1, CD2_2 < 0 (+x towards -RA, +y towards -Dec): moving CRVAL by +dx px in RA and
    # +dy px in Dec moves the stars by (+dx, +dy) on the detector
    plan["ra"] = ra + plan["dx"] * scale / cosd
    plan["dec"] = dec + plan["dy"] * scale
    names = []
    for i in range(n):
        ffd = _filenames.filefracday_from_jd(float(plan["obsjd"].iloc[i]))
        names.append(_filenames.build_science_filename(ffd, fieldid, rec.code, ccdid, qid))
    if len(set(names)) != n:
        raise InvalidParameterError("two frames would have the same file name (same "
                                    "filefracday): increase cadence")
    files = [os.path.join(directory, name) for name in names]
    plan.insert(0, "maskfile", [_filenames.sibling(f, "mskimg") for f in files])
    plan.insert(0, "filename", names)
    plan.insert(0, "file", files)
    plan["filefracday"] = [_filenames.parse(name).filefracday for name in names]
    plan["fieldid"] = int(fieldid)
    plan["written"] = False

    rows = []
    for i in range(n):
        p = plan.iloc[i]
        cat = stars.drop(columns=["mag", "colour"]).copy()
        dm = float(p["variable_mag"]) - variable_mag
        for b in "grizy":
            cat.loc[cat["variable"], f"{b}mag"] += dm
        header = _sim.make_header((ny, nx), ra=float(p["ra"]), dec=float(p["dec"]))
        header["NAXIS1"], header["NAXIS2"] = nx, ny
        vx, vy = WCS(header).all_world2pix(var["ra"], var["dec"], 0)
        colour = float(stars[c1].iloc[-1] - stars[c2].iloc[-1])
        flux = 10 ** (-0.4 * (float(p["variable_mag"]) - float(p["clrcoeff"]) * colour
                              - float(p["magzp"])))
        rows.append({"file": files[i], "obsjd": float(p["obsjd"]), "obsmjd": float(p["obsmjd"]),
                     "mag": float(p["variable_mag"]), "flux": flux, "x": float(vx),
                     "y": float(vy)})
        if i not in todo:
            continue
        frame = _sim.simulate_quadrant(
            shape=(ny, nx), seed=seed * 100003 + i + 1, catalog=cat, ra=float(p["ra"]),
            dec=float(p["dec"]), fieldid=fieldid, ccdid=ccdid, qid=qid, filtername=rec.code,
            obsjd=float(p["obsjd"]), seeing=float(p["seeing"]), sky=float(p["sky"]),
            magzp=float(p["magzp"]), clrcoeff=float(p["clrcoeff"]), defects=defects)
        if frame.filename != names[i]:  # the simulator names frames from the same OBSJD
            raise RuntimeError(f"simulated frame named {frame.filename}, expected {names[i]}")
        frame.write(directory, overwrite=overwrite)
        plan.loc[i, "written"] = True
        del frame
    lightcurve = pd.DataFrame(rows)
    plan["variable_flux"] = lightcurve["flux"].to_numpy()
    return SimulatedSeries(
        directory=directory, files=files, maskfiles=list(plan["maskfile"]), frames=plan,
        stars=stars, lightcurve=lightcurve, catalog=served,
        region=(float(ra), float(dec), float(radius)),
        variable={"objid": int(var["objid"]), "ra": var["ra"], "dec": var["dec"],
                  "mean_mag": variable_mag, "amplitude": amplitude, "period": period,
                  "t0": t0})
