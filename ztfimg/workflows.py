"""Workflows that combine a frame with other objects (level 3).

These used to be methods of the frame object; they live here so that the frame stays thin
and the logic is in one readable place.  The frame keeps one-line facades
(``ScienceImage.load_source_background``, ``get_catalog``, ``set_catalog``,
``fit_zeropoint``), so the usual calls work unchanged.

* :func:`source_masked_background`: a sky estimate with the detected sources masked;
* :func:`fetch_catalog` and :func:`project_catalog`: PS1/Gaia stars on the frame, with the
  frame's band, the calibration colour and an isolation flag;
* :func:`fit_frame_zeropoint`: the zero point and colour term of a frame against a catalogue.

None of these changes the frame they are given: results are returned, and the facades store
them as the user's choice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import bitmask as _bitmask
from . import photometry as _phot
from .errors import CatalogError, HeaderKeywordError, InvalidParameterError
from .validation import as_number

__all__ = ["source_masked_background", "fetch_catalog", "project_catalog",
           "fit_frame_zeropoint"]


def source_masked_background(image, *, thresh=3.0, ellipse_scale=3.0, **kwargs):
    """Background of a frame estimated with the pixels of detected sources masked.

    Steps: the frame's default background (every mask bit masked, the stars' bits 1 and 11
    included), detection at ``thresh`` sigma on the subtracted pixels, and a new background
    with the sources' ellipses (scaled by ``ellipse_scale``) masked too. Faint wings that
    IPAC did not flag no longer lift the sky. On a reference image the first pass uses the
    GLOBMED sky and the second a sep mesh.

    Parameters
    ----------
    image : ztfimg.image.ZTFImage
        The frame (not modified).
    thresh : float, default 3
        Detection threshold (sigma) of the sources to mask.
    ellipse_scale : float, default 3
        Scale of the masked ellipses, in units of sep's ``a``, ``b``.
    **kwargs
        ``box_size``, ``filter_size`` of :meth:`~ztfimg.image.ZTFImage.get_background`.

    Returns
    -------
    ztfimg.background.Background
    """
    from . import sources as _src
    thresh = as_number(thresh, "thresh", "sigma", positive=True)
    ellipse_scale = as_number(ellipse_scale, "ellipse_scale", "a, b units", positive=True)
    first = image.get_background(**kwargs)
    clean = first.subtract(image._pixels())
    src = _src.extract_sources(clean, thresh=thresh, err=first.globalrms,
                               mask=image._mask_owner(_bitmask.DETECTION_BITS))
    del clean
    return image.get_background(sources=src, ellipse_scale=ellipse_scale, **kwargs)


def fetch_catalog(image, name="ps1", *, margin=0.0, cache_dir=None, offline=None):
    """The reference catalogue around a frame (from the on-disk cache, else VizieR).

    Parameters
    ----------
    image : ztfimg.image.ZTFImage
    name : str, default 'ps1'
        A catalogue name or alias (:func:`ztfimg.refcat.resolve_catalog`).
    margin : float, default 0
        Extra pixels around the frame for the cone.
    cache_dir : str, optional
    offline : bool, optional

    Returns
    -------
    (pandas.DataFrame, str)
        The normalised catalogue (Gaia positions propagated to the frame's epoch) and the
        catalogue's key (``'ps1'`` or ``'gaia'``).
    """
    from . import refcat
    key = refcat.resolve_catalog(name)
    ra, dec = image.get_center("radec")
    radius = image.get_footprint_radius(margin=max(margin, 0) + 2)
    epoch = None
    if key == "gaia":
        try:
            epoch = image.obstime
        except HeaderKeywordError:
            epoch = None
    df = refcat.get_catalog(key, ra, dec, radius, epoch=epoch, cache_dir=cache_dir,
                            offline=offline)
    return df, key


def _catalog_kind(label, kind):
    if kind is not None:
        from . import refcat
        return refcat.resolve_catalog(kind)
    from . import refcat
    try:
        return refcat.resolve_catalog(str(label))
    except CatalogError:
        return None


def project_catalog(image, catalog, *, label="catalog", kind=None, margin=0.0, magrange=None,
                    isolation=8.0, inside_only=False):
    """A catalogue projected on a frame, with the frame's band and an isolation flag.

    Parameters
    ----------
    image : ztfimg.image.ZTFImage
    catalog : pandas.DataFrame or astropy.table.Table
        Needs ``ra`` and ``dec`` (degrees). Never modified.
    label : str, default 'catalog'
        Name used in messages (and to guess ``kind``).
    kind : {'ps1', 'gaia'}, optional
        Adds ``mag``/``magerr`` in the frame's band (PS1 g, r or i from the filter table;
        Gaia G) and for PS1 ``colour``/``colour_err`` in the calibration colour (PCOLOR).
        Default from ``label`` when it names a catalogue.
    margin : float, default 0
        Pixels around the frame counted as inside.
    magrange : (float, float), optional
        Keep rows with ``mag`` in this range.
    isolation : float, default 8
        Radius (arcsec) for the ``isolated`` column (no other catalogue star closer);
        0 or None: no column.
    inside_only : bool, default False
        Drop the rows outside the frame (+ margin).

    Returns
    -------
    pandas.DataFrame
        A new table: the input columns plus ``x``, ``y`` (0-based pixels), ``inside`` and
        the columns above.
    """
    from collections.abc import Mapping

    from .catalog import CatalogCollection
    if hasattr(catalog, "to_pandas"):
        df = catalog.to_pandas()
    elif isinstance(catalog, (pd.DataFrame, Mapping)):
        try:
            df = pd.DataFrame(catalog)
        except ValueError as exc:
            raise CatalogError(f"catalogue {label!r} cannot be read as a table: {exc}; give "
                               "columns of equal length") from None
    else:
        raise CatalogError(f"catalogue {label!r} must be a pandas DataFrame, an astropy Table "
                           f"or a mapping of columns (with ra, dec in degrees); got "
                           f"{type(catalog).__name__}")
    missing = [c for c in ("ra", "dec") if c not in df]
    if missing:
        raise CatalogError(f"catalogue {label!r} lacks column(s) {missing}; it needs ra and "
                           "dec in degrees")
    out = df.copy()
    x, y = image.coords_to_pixels(out["ra"].to_numpy(float), out["dec"].to_numpy(float))
    out["x"], out["y"] = x, y
    out["inside"] = image.is_inside(x, y, margin=-float(margin))
    kind = _catalog_kind(label, kind)
    if kind == "ps1":
        band = image.filter.ps1_band
        if f"{band}mag" in out:
            out["mag"] = out[f"{band}mag"]
            out["magerr"] = out.get(f"e_{band}mag", np.nan)
        c1, c2 = image.pcolor.split("-")
        if f"{c1}mag" in out and f"{c2}mag" in out:
            out["colour"] = out[f"{c1}mag"] - out[f"{c2}mag"]
            out["colour_err"] = np.hypot(out.get(f"e_{c1}mag", 0.0), out.get(f"e_{c2}mag", 0.0))
    elif kind == "gaia" and "Gmag" in out:
        out["mag"] = out["Gmag"]
        out["magerr"] = out.get("e_Gmag", np.nan)
    if inside_only:
        out = out[out["inside"].to_numpy()].reset_index(drop=True)
    if magrange is not None:
        if "mag" not in out:
            raise CatalogError(f"magrange given but catalogue {label!r} has no 'mag' column")
        lo, hi = magrange
        out = out[out["mag"].between(lo, hi).to_numpy()].reset_index(drop=True)
    if isolation:
        out["isolated"] = CatalogCollection({"cat": out}).get_isolated("cat", isolation).to_numpy()
    return out


def fit_frame_zeropoint(image, catalog="ps1", *, radius=1.0, magrange=(15.0, 19.5),
                        isolation=8.0, method="aperture", aperture_diameter=10.0,
                        use_colour=True, sigma_clip=3.0, offline=None, cache_dir=None):
    """Fit a frame's zero point and colour coefficient against a reference catalogue.

    Calibrators: catalogue stars in ``magrange`` that are isolated (no other catalogue star
    within ``isolation`` arcsec) and measured with no flagged pixel. Instrumental
    magnitudes are ``-2.5 log10(total counts)``: aperture photometry of diameter
    ``aperture_diameter`` (an IPAC FIXAPERS diameter) corrected to total with the header
    APCOR (``method='aperture'``), forced PSF photometry with the frame's DAOPhot PSF
    (``method='psf'``), or sep's isophotal fluxes of the extracted sources matched within
    ``radius`` (``method='sources'``). Then ``m_ref - m_inst = ZP + c * colour`` is fitted
    with sigma clipping (:func:`ztfimg.zeropoint.fit_zeropoint`).

    Parameters
    ----------
    image : ztfimg.image.ZTFImage
        The frame. Its catalogue is fetched into ``image.catalogs`` when not held yet
        (the one state change, the same as :meth:`~ztfimg.image.ZTFImage.get_catalog`).
    catalog : str, default 'ps1'
        Label of a catalogue in ``image.catalogs``, or a name for ``get_catalog``.
    radius : float, default 1.0
        Matching radius (arcsec) of extracted sources for ``method='sources'``.
    magrange : (float, float), default (15, 19.5)
        Magnitude range of calibrators (avoid saturation and faint noise).
    isolation : float, default 8
        Isolation radius, arcsec.
    method : {'aperture', 'psf', 'sources'}, default 'aperture'
        'sources' misses the wings (measured ~0.03 mag faint): a quick look only. It uses
        the frame's extracted sources, or extracts them (without storing) when there are
        none.
    aperture_diameter : float, default 10
        Aperture diameter in pixels for ``method='aperture'``.
    use_colour : bool, default True
        Fit the colour term (needs a ``colour`` column).
    sigma_clip : float, default 3
    offline, cache_dir :
        Passed to ``get_catalog`` when the catalogue is not loaded yet.

    Returns
    -------
    ztfimg.zeropoint.ZeroPointResult
    """
    from . import catalog as _cat
    from . import zeropoint as _zp
    if method not in ("aperture", "psf", "sources"):
        raise InvalidParameterError(f"method must be 'aperture', 'psf' or 'sources', got {method!r}")
    if not isinstance(catalog, str):
        raise InvalidParameterError(f"catalog must be a label of image.catalogs or a catalogue "
                                    f"name ('ps1', 'gaia'); got {type(catalog).__name__}")
    label = _cat.LABEL_ALIASES.get(catalog, catalog)
    if label not in image.catalogs:
        image.get_catalog(label, offline=offline, cache_dir=cache_dir, isolation=isolation)
    cat = image.catalogs.get(label)
    if "mag" not in cat:
        raise CatalogError(f"catalogue {label!r} has no 'mag' column in the frame's band")
    keep = cat["inside"].to_numpy(bool) & cat["mag"].between(*magrange).to_numpy()
    if "isolated" in cat:
        keep &= cat["isolated"].to_numpy(bool)
    cal = cat[keep]
    if method == "aperture":
        # on the background-subtracted pixels: a local annulus median is biased high
        # by neighbours' wings (measured: -0.5 sigma on the zero point on average)
        phot = image.aperture_photometry(cal["x"], cal["y"], aperture_diameter / 2.0, apcor=True)
        counts, err = phot["sum_apcor"].to_numpy(), phot["sumerr_apcor"].to_numpy()
        good = phot["aper_flag"].to_numpy() == 0
    elif method == "psf":
        phot = image.get_psf_photometry(cal["x"], cal["y"])
        counts, err = phot["flux"].to_numpy(), phot["fluxerr"].to_numpy()
        good = phot["psf_flag"].to_numpy() == 0
    else:
        src = image.sources if image.sources is not None else image._extract_quietly()
        pairs = _cat.match(cal["ra"].to_numpy(float), cal["dec"].to_numpy(float),
                           src["ra"].to_numpy(float), src["dec"].to_numpy(float), radius)
        i1, i2 = _pair_indices(pairs)
        cal = cal.iloc[i1]
        counts = src["flux"].to_numpy()[i2]
        err = src["fluxerr"].to_numpy()[i2]
        good = ((src["sep_flag"].to_numpy()[i2] == 0)
                & ((src["maskbits"].to_numpy()[i2] & int(_bitmask.DETECTION_BITS)) == 0))
    inst, inst_err = _phot.counts_to_mag(counts, err, magzp=0.0)  # NaN where counts <= 0
    good &= np.isfinite(inst)
    colour = cal["colour"].to_numpy(float) if (use_colour and "colour" in cal) else None
    ref_err = cal["magerr"].to_numpy(float) if "magerr" in cal else None
    sel = good & np.isfinite(cal["mag"].to_numpy(float))
    if colour is not None:
        sel &= np.isfinite(colour)
    return _zp.fit_zeropoint(inst[sel], cal["mag"].to_numpy(float)[sel],
                             None if colour is None else colour[sel],
                             inst_err=inst_err[sel],
                             ref_err=None if ref_err is None else np.nan_to_num(ref_err[sel]),
                             sigma_clip=sigma_clip, x=cal["x"].to_numpy()[sel],
                             y=cal["y"].to_numpy()[sel])


def _pair_indices(pairs):
    """Row positions ``(i1, i2)`` of the pairs returned by :func:`ztfimg.catalog.match`."""
    if isinstance(pairs, tuple):
        return np.asarray(pairs[0], dtype=np.int64), np.asarray(pairs[1], dtype=np.int64)
    cols = list(pairs.columns)
    return pairs[cols[0]].to_numpy(np.int64), pairs[cols[1]].to_numpy(np.int64)
