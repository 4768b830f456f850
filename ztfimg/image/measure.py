"""Measurements of a frame: sources, apertures, stamps, PSF photometry, display (level 2).

:class:`Measurements` is mixed into :class:`~ztfimg.image.ZTFImage`.  Each method picks the
right pixels and defaults for a ZTF quadrant and calls one level-1 function
(:mod:`ztfimg.sources`, :mod:`ztfimg.aperture`, :mod:`ztfimg.stamps`,
:mod:`ztfimg.psfphot`, :mod:`ztfimg.plotting`); the catalogue workflows are facades over
:mod:`ztfimg.workflows`.

The pixel selector ``data=`` means the same in every method: ``'data'`` the raw pixels,
``'datamasked'`` the raw pixels with the bad ones left out, ``'dataclean'`` the masked,
background-subtracted pixels (the default), or an array of the frame's shape.  Methods
that need sky-free pixels (extraction; a PSF fit with a fixed sky) subtract the current
background from ``'data'``, ``'datamasked'`` and arrays, and use ``'dataclean'`` as it is.
``coords=`` is ``'pixels'`` (0-based x, y) or ``'sky'`` (RA/Dec, Quantity or SkyCoord).
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from .. import bitmask as _bitmask
from .. import filenames as _filenames
from ..errors import InvalidParameterError, MissingFileError, ZTFImgWarning
from ..validation import as_annulus, as_bool, as_radii
from .selectors import normalise_selector

__all__ = ["Measurements", "NoWCSWarning"]

_UNITS = ("counts", "mag", "flux")


def _check_units(unit, flux_unit):
    """``unit`` and ``flux_unit`` in their canonical (lower-case) spelling."""
    from ..photometry import FLUX_UNITS
    u = unit.lower() if isinstance(unit, str) else None
    f = flux_unit.lower() if isinstance(flux_unit, str) else None
    if u not in _UNITS:
        raise InvalidParameterError(f"unit must be 'counts', 'mag' or 'flux'; got {unit!r}")
    if f not in FLUX_UNITS:
        raise InvalidParameterError(f"flux_unit must be one of {FLUX_UNITS} (any case); "
                                    f"got {flux_unit!r}")
    return u, f


class NoWCSWarning(ZTFImgWarning):
    """The frame has no usable WCS: sky positions are NaN."""


class Measurements:
    """Measurement methods of a ZTF frame (mixed into :class:`~ztfimg.image.ZTFImage`)."""

    # ------------------------------------------------------------------ sources
    def extract_sources(self, thresh=5.0, data="dataclean", setmag=True, *, minarea=5,
                        err=None, **kwargs):
        """Detect sources with sep; the result is kept as :attr:`sources`.

        Detection masks every bad bit but never bits 1 and 11 (they mark the stars).
        The noise is the background's global rms (a scalar: sep keeps its fast path);
        pass ``err=image.background.rms`` for a per-pixel map.

        Parameters
        ----------
        thresh : float, default 5
            Threshold in sigma.
        data : str or array, default 'dataclean'
            Which pixels (see the module doc); the current background is subtracted from
            anything but 'dataclean'.
        setmag : bool, default True
            Add ``mag``, ``magerr`` (MAGZP, MAGZPUNC) from ``flux``, ``fluxerr``.
        minarea : int, default 5
            Minimum pixels above threshold.
        err : float or array, optional
            Noise per pixel, DN; default the global background rms.
        **kwargs
            Passed to :func:`ztfimg.sources.extract_sources` (``segmentation=True`` keeps
            the segmentation map as :attr:`segmentation`).

        Returns
        -------
        pandas.DataFrame
            A copy: sep's columns (0-based ``x``, ``y`` ...), ``flux`` and ``fluxerr``
            (DN, with the source Poisson term), ``maskbits``, ``sep_flag``
            (:class:`ztfimg.flags.SourceFlag`), ``ra``, ``dec`` (NaN with a
            :class:`NoWCSWarning` when the header has no WCS) and, with ``setmag``,
            ``mag``, ``magerr`` (NaN with a warning when MAGZP is absent or IPAC's -99).
        """
        df, segmap = self._extract(thresh, data, as_bool(setmag, "setmag"), minarea=minarea,
                                   err=err, **kwargs)
        self._sources = df
        if segmap is not None:
            segmap.flags.writeable = False
            self._segmentation = segmap
        if self._catalogs is not None and self.has_wcs:
            self._catalogs.add("sources", df)
        return df.copy()

    def _extract(self, thresh=5.0, data="dataclean", setmag=True, *, minarea=5, err=None,
                 warn=True, **kwargs):
        """The extraction itself: ``(sources, segmentation or None)``, nothing stored."""
        from .. import sources as _src
        arr = self._named_data(data, compute=True)
        sky_free = isinstance(data, str) and normalise_selector(data) == "dataclean"
        df = _src.extract_sources(arr, thresh=thresh,
                                  err=self.background.globalrms if err is None else err,
                                  mask=self._mask_owner(_bitmask.DETECTION_BITS),
                                  gain=self._optional("GAIN"), minarea=minarea,
                                  bitmask=self._mask_array(),
                                  background=None if sky_free else self.background, **kwargs)
        segmap = None
        if isinstance(df, tuple):
            df, segmap = df
        if self.has_wcs:
            df["ra"], df["dec"] = self.pixels_to_coords(df["x"].to_numpy(), df["y"].to_numpy())
        else:
            df["ra"] = np.nan
            df["dec"] = np.nan
            if warn:
                warnings.warn(f"{self.filename or 'this image'} has no WCS: the sources' ra/dec "
                              "are NaN and they are not added to the catalogues", NoWCSWarning,
                              stacklevel=3)
        if setmag:
            if self._optional("MAGZP") is None:
                df["mag"] = np.nan
                df["magerr"] = np.nan
                if warn:
                    warnings.warn(f"{self.filename or 'this image'} has no usable MAGZP (absent "
                                  "or IPAC's -99): the sources' mag/magerr are NaN",
                                  ZTFImgWarning, stacklevel=3)
            else:
                df["mag"], df["magerr"] = self.counts_to_mag(df["flux"].to_numpy(),
                                                             df["fluxerr"].to_numpy())
        return df, segmap

    @property
    def sources(self):
        """A copy of the last :meth:`extract_sources` result (None before the first call)."""
        return None if self._sources is None else self._sources.copy()

    @property
    def segmentation(self):
        """The last segmentation map (read-only int32), if asked with ``segmentation=True``."""
        return self._segmentation

    # ------------------------------------------------------------------ apertures
    def _rms_value(self, rms):
        """Noise per pixel from 'global' (background's global rms), 'map' or a number."""
        if isinstance(rms, str):
            if rms == "global":
                return self.background.globalrms
            if rms == "map":
                return self.background.rms
            raise InvalidParameterError(f"rms must be 'global', 'map' or a number, got {rms!r}")
        return rms

    def aperture_photometry(self, x, y=None, radius=5.0, *, coords="pixels", bkgann=None,
                            unit="counts", data="dataclean", sky_estimator="mean",
                            apcor=False, rms="global", colour=None, flux_unit="flam", **kwargs):
        """Aperture photometry at many positions, as a DataFrame aligned with the input.

        Parameters
        ----------
        x, y : array_like, Quantity or SkyCoord
            0-based pixel positions (``coords='pixels'``), or RA/Dec (degrees unless
            Quantity) or a ``SkyCoord`` (then ``y`` is omitted) with ``coords='sky'``.
        radius : float, sequence of float or Quantity, default 5
            Aperture radius (radii), pixels (``u.pix``, or angles through PIXSCALE).
        coords : {'pixels', 'sky'}, default 'pixels'
        bkgann : (float, float) or Quantity, optional
            Inner and outer radius of a local sky annulus, pixels.
        unit : {'counts', 'mag', 'flux'}, default 'counts'
            Adds ``mag``/``magerr`` or flux-density columns named by ``flux_unit``
            (``flam``/``flamerr`` ...) per radius. ``sum``/``sumerr`` are DN and mean the
            same whatever ``unit``.
        data : str or array, default 'dataclean'
            Pixels to measure (see the module doc).
        sky_estimator : {'mean', 'median', 'sigclip'}, default 'mean'
        apcor : bool, default False
            Apply the header aperture corrections (the diameter ``2 * radius`` must be one
            of FIXAPERS): adds ``apcor``, ``apcorerr`` (mag), ``sum_apcor``,
            ``sumerr_apcor`` (DN, total, APCORUNC included), and the mag/flux columns
            come from the corrected sums.
        rms : 'global', 'map' or float, default 'global'
            Sky noise per pixel for the errors: the background's global rms, its rms map
            (follows a varying sky; twice the cost), or a number (DN).
        colour : array_like, optional
            PS1 colour for the colour term of magnitudes/fluxes.
        flux_unit : {'flam', 'fnu', 'jy', 'mjy', 'ujy'}, default 'flam'
            Unit of the flux-density columns with ``unit='flux'``.
        **kwargs
            Passed to :func:`ztfimg.aperture.aperture_photometry`.

        Returns
        -------
        pandas.DataFrame
            ``x``, ``y`` (and ``ra``, ``dec`` for sky positions), ``sum``, ``sumerr``,
            ``aper_flag`` (:class:`ztfimg.flags.ApertureFlag`) ... per radius (suffix
            ``_0``, ``_1`` ... for several radii), and the requested columns. Off-image,
            NaN or fully masked positions give NaN and a flag; no row is dropped.
        """
        from .. import aperture as _ap
        unit, flux_unit = _check_units(unit, flux_unit)
        scale = self.pixel_scale
        radii, rscalar = as_radii(radius, pixel_scale=scale)
        ann = as_annulus(bkgann, pixel_scale=scale)
        table = self.apcor if apcor else None
        if apcor:
            for r in radii:
                self.get_apcor(2.0 * float(r))  # raises before any photometry runs
        if unit != "counts":
            self.magzp  # noqa: B018 - a missing MAGZP raises before the photometry
        xs, ys, _, sky = self._positions(x, y, coords)
        prepared = self._prepared(data, noise_map=isinstance(rms, str) and rms == "map")
        df = _ap.aperture_photometry(prepared, xs, ys,
                                     float(radii[0]) if rscalar else radii,
                                     rms=prepared.rms if prepared.rms is not None
                                     else self._rms_value(rms), gain=self._optional("GAIN"),
                                     bkgann=ann, sky_estimator=sky_estimator, **kwargs)
        if sky is not None:
            df.insert(0, "dec", sky[1])
            df.insert(0, "ra", sky[0])
        suffixes = [""] if rscalar else [f"_{i}" for i in range(len(radii))]
        for r, suf in zip(radii, suffixes):
            if not apcor and unit == "counts":
                break                         # nothing to add (a column look-up costs 75 us)
            value, error = df["sum" + suf].to_numpy(), df["sumerr" + suf].to_numpy()
            if apcor:
                corr, corrunc = _ap.aperture_correction(float(r), table)
                value, error = _ap.apply_aperture_correction(value, error, radius=float(r),
                                                             apcor=table)
                df["apcor" + suf] = corr
                df["apcorerr" + suf] = corrunc
                df["sum_apcor" + suf], df["sumerr_apcor" + suf] = value, error
            if unit == "mag":
                df["mag" + suf], df["magerr" + suf] = self.counts_to_mag(value, error,
                                                                          colour=colour)
            elif unit == "flux":
                df[flux_unit + suf], df[flux_unit + "err" + suf] = self.counts_to_flux(
                    value, error, unit=flux_unit, colour=colour)
        return df

    def get_aperture(self, x, y, radius, bkgann=None, unit="counts", *, coords="pixels",
                     data="dataclean", as_dataframe=False, apcor=False, flux_unit="flam",
                     **kwargs):
        """Aperture sums (or magnitudes, or flux densities) and their errors at positions.

        Parameters
        ----------
        x, y : array_like
            0-based pixel positions (or RA/Dec with ``coords='sky'``).
        radius : float, sequence of float or Quantity
            Aperture radius (radii), pixels.
        bkgann : (float, float), optional
            Local sky annulus radii, pixels.
        unit : {'counts', 'mag', 'flux'}, default 'counts'
        coords : {'pixels', 'sky'}, default 'pixels'
        data : str or array, default 'dataclean'
        as_dataframe : bool, default False
            Return the full table of :meth:`aperture_photometry` instead.
        apcor : bool, default False
            Corrected to total with the header APCOR (counts: the ``sum_apcor`` values).
        flux_unit : str, default 'flam'
            Unit with ``unit='flux'``.
        **kwargs
            Passed to :meth:`aperture_photometry`.

        Returns
        -------
        value, error : numpy.ndarray
            Shape ``(n,)`` for one radius, ``(n, nradii)`` for several; NaN for off-image,
            NaN or fully masked positions (see the DataFrame's ``aper_flag``).
        """
        unit, flux_unit = _check_units(unit, flux_unit)
        df = self.aperture_photometry(x, y, radius, coords=coords, bkgann=bkgann, unit=unit,
                                      data=data, apcor=apcor, flux_unit=flux_unit, **kwargs)
        if as_dataframe:
            return df
        if unit == "counts":
            col, ecol = ("sum_apcor", "sumerr_apcor") if apcor else ("sum", "sumerr")
        elif unit == "mag":
            col, ecol = "mag", "magerr"
        else:
            col, ecol = flux_unit, flux_unit + "err"
        radii, rscalar = as_radii(radius, pixel_scale=self.pixel_scale)
        if rscalar:
            value, error = df[col].to_numpy(), df[ecol].to_numpy()
        else:
            value = np.column_stack([df[f"{col}_{i}"].to_numpy() for i in range(len(radii))])
            error = np.column_stack([df[f"{ecol}_{i}"].to_numpy() for i in range(len(radii))])
        if np.ndim(x) == 0 and (y is None or np.ndim(y) == 0) and not hasattr(x, "ra"):
            return value[0], error[0]
        return value, error

    def get_curve_of_growth(self, x, y, radii, *, bkgann=None, data="dataclean", **kwargs):
        """Normalised curve of growth of stars at 0-based pixel positions.

        See :func:`ztfimg.aperture.curve_of_growth`; the bad-pixel mask is applied.

        Returns
        -------
        pandas.DataFrame
        """
        from .. import aperture as _ap
        rad, _ = as_radii(radii, pixel_scale=self.pixel_scale)
        return _ap.curve_of_growth(self._prepared(data), x, y, rad,
                                   bkgann=as_annulus(bkgann, pixel_scale=self.pixel_scale),
                                   **kwargs)

    def _prepared(self, data, noise_map=False):
        """The pixels of ``data`` made ready for aperture calls, with the detection mask
        (and, with ``noise_map``, the background's rms map checked once).

        For 'dataclean' (the compute array, already finite with bad pixels 0) it is kept
        with the current background's version, so a call does no frame-sized work.
        """
        from .. import aperture as _ap
        mask = self._mask_owner(_bitmask.DETECTION_BITS)
        if isinstance(data, str) and normalise_selector(data) == "dataclean":
            prepared = self._products.get("prepared", self._bkg_version,
                                          lambda: _ap.prepare_image(self._compute(), mask))
            if not noise_map:
                return prepared
            return self._products.get("prepared", (self._bkg_version, "rms"),
                                      lambda: _ap.prepare_image(prepared,
                                                                rms=self.background.rms))
        return _ap.prepare_image(self._named_data(data, compute=True), mask)

    # ------------------------------------------------------------------ stamps
    def get_stamp(self, x, y, dx=23, dy=None, asarray=False, *, data="dataclean",
                  coords="pixels", size=None):
        """Cutout(s) around position(s).

        Parameters
        ----------
        x, y : float or array_like
            0-based pixel positions (or RA/Dec with ``coords='sky'``).
        dx : int, default 23
            Stamp width, pixels.
        dy : int, optional
            Stamp height; default ``dx``.
        asarray : bool, default False
            Return the pixel array(s) instead of :class:`~ztfimg.stamps.Stamp` objects.
        data : str or array, default 'dataclean'
            Which pixels (see the module doc); bad pixels are NaN in 'datamasked' and
            'dataclean' stamps.
        coords : {'pixels', 'sky'}, default 'pixels'
        size : int, optional
            Width and height at once (``size=23`` is ``dx=23, dy=23``).

        Returns
        -------
        Stamp, Stamps or numpy.ndarray
            One :class:`~ztfimg.stamps.Stamp` for a scalar position, a
            :class:`~ztfimg.stamps.Stamps` stack for several (``asarray``: a 2-D or 3-D
            array). Parts outside the frame are NaN and flagged; never wrapped around.
        """
        from .. import stamps as _st
        if size is not None:
            dx = dy = size
        xs, ys, scalar, _ = self._positions(x, y, coords)
        wcs = self._wcs() if self.has_wcs else None  # stamps take shifted copies
        mask = self._mask_owner(_bitmask.DETECTION_BITS)
        name = data if isinstance(data, np.ndarray) else normalise_selector(data)
        source = self._named_data(name, compute=True)
        stack = _st.cut_stamps(source, xs, ys, dx, dy, mask=mask, wcs=wcs)
        if isinstance(name, str) and name in ("dataclean", "datamasked"):
            stack.data[stack.mask] = np.nan
        if as_bool(asarray, "asarray"):
            return stack.data[0] if scalar else stack.data
        return stack[0] if scalar else stack

    # ------------------------------------------------------------------ catalogues
    @property
    def catalogs(self):
        """The image's :class:`~ztfimg.catalog.CatalogCollection` (``sources``, ``ps1`` ...)."""
        if self._catalogs is None:
            from ..catalog import CatalogCollection
            coll = CatalogCollection()
            if self._sources is not None and self.has_wcs:
                coll.add("sources", self._sources)
            self._catalogs = coll
        return self._catalogs

    def get_catalog(self, name="ps1", *, margin=0.0, magrange=None, isolation=8.0,
                    inside_only=True, cache_dir=None, offline=None, label=None):
        """Reference stars projected on the frame (from the on-disk cache, else VizieR).

        See :func:`ztfimg.workflows.fetch_catalog`; the result is also kept in
        :attr:`catalogs` under ``label`` (default the catalogue's name).

        Parameters
        ----------
        name : {'ps1', 'gaia'} (aliases 'ps1cat', 'panstarrs', 'gaiadr3')
        margin : float, default 0
            Pixels around the frame within which stars are kept.
        magrange : (float, float), optional
            Keep stars with ``mag`` in this range.
        isolation : float, default 8
            Radius (arcsec) for the ``isolated`` column.
        inside_only : bool, default True
            Drop stars outside the frame (+ margin).
        cache_dir : str, optional
            Catalogue cache (default ``$ZTFIMG_CACHE/catalogs``).
        offline : bool, optional
            Never query the network (default ``$ZTFIMG_OFFLINE``).
        label : str, optional
            Label in :attr:`catalogs`.

        Returns
        -------
        pandas.DataFrame
            A copy (see :func:`ztfimg.workflows.project_catalog` for the columns).
        """
        from .. import workflows  # facade: level 3
        df, key = workflows.fetch_catalog(self, name, margin=margin, cache_dir=cache_dir,
                                          offline=offline)
        return self.set_catalog(df, label or key, margin=margin, magrange=magrange,
                                isolation=isolation, inside_only=inside_only, kind=key)

    def set_catalog(self, catalog, label, *, margin=0.0, magrange=None, isolation=8.0,
                    inside_only=False, kind=None):
        """Attach a catalogue of one's own (projected on the frame) under ``label``.

        Parameters
        ----------
        catalog : pandas.DataFrame or astropy.table.Table
            Needs ``ra`` and ``dec`` (degrees). Copied; the caller's table is untouched.
        label : str
            Name in :attr:`catalogs` (``'ps1cat'`` is an alias of ``'ps1'``).
        margin, magrange, isolation, inside_only :
            As in :meth:`get_catalog` (``inside_only`` defaults to False here).
        kind : {'ps1', 'gaia'}, optional
            Adds the band ``mag``/``magerr`` (and ``colour``) columns of that catalogue;
            default from the label when it names one.

        Returns
        -------
        pandas.DataFrame
            A copy of the projected catalogue as stored in :attr:`catalogs`.
        """
        from .. import workflows  # facade: level 3
        out = workflows.project_catalog(self, catalog, label=label, kind=kind, margin=margin,
                                        magrange=magrange, isolation=isolation,
                                        inside_only=inside_only)
        self.catalogs.add(label, out)
        return out.copy()

    def fit_zeropoint(self, catalog="ps1", **kwargs):
        """Fit the zero point and colour coefficient against a reference catalogue.

        See :func:`ztfimg.workflows.fit_frame_zeropoint` for the parameters
        (``radius``, ``magrange``, ``isolation``, ``method``, ``aperture_diameter``,
        ``use_colour``, ``sigma_clip``, ``offline``, ``cache_dir``).

        Returns
        -------
        ztfimg.zeropoint.ZeroPointResult
            ``.show()`` plots the residuals. Compare with :attr:`magzp`, :attr:`clrcoeff`.
        """
        from .. import workflows  # facade: level 3
        return workflows.fit_frame_zeropoint(self, catalog, **kwargs)

    # ------------------------------------------------------------------ PSF
    @property
    def psf(self):
        """The frame's DAOPhot PSF (:class:`~ztfimg.dao.DAOPhotPSF`) from ``*_sciimgdao.psf``.

        Raises
        ------
        MissingFileError
            When the image has no file name or no PSF file lies beside it (use
            :meth:`set_psf` to attach one).
        """
        if self._psf is None:
            from ..dao import DAOPhotPSF
            if self._imagefile is None or not _filenames.is_ztf_filename(self._imagefile):
                raise MissingFileError("this image has no ZTF file name to find its "
                                       "*_sciimgdao.psf beside; use set_psf(path or DAOPhotPSF)")
            path = _filenames.sibling(self._imagefile, "sciimgdao.psf")
            if not os.path.exists(path):
                raise MissingFileError(f"no DAOPhot PSF file {path!r} beside the image; "
                                       "use set_psf(...) to attach one")
            self._psf = DAOPhotPSF(path)
        return self._psf

    def set_psf(self, psf):
        """Attach a PSF model (a :class:`~ztfimg.dao.DAOPhotPSF` or a path to a .psf file).

        Returns
        -------
        self
        """
        from ..dao import DAOPhotPSF
        if not isinstance(psf, (DAOPhotPSF, str, os.PathLike)):
            raise InvalidParameterError(
                f"set_psf needs a DAOPhotPSF or the path of a DAOPhot .psf file (IPAC's "
                f"*_sciimgdao.psf); got {type(psf).__name__} {psf!r}")
        self._psf = psf if isinstance(psf, DAOPhotPSF) else DAOPhotPSF(psf)
        return self

    def get_psf_photometry(self, x, y=None, *, coords="pixels", fit_radius=None,
                           data="datamasked", fit_sky=True, rms="map", **kwargs):
        """Forced PSF photometry at fixed positions with the frame's DAOPhot PSF.

        Parameters
        ----------
        x, y : array_like or SkyCoord
            0-based pixels, or RA/Dec / SkyCoord with ``coords='sky'``.
        coords : {'pixels', 'sky'}, default 'pixels'
        fit_radius : float or Quantity, optional
            Radius of the fitted disc, pixels (default ``max(3, 1.5 FWHM)``).
        data : str or array, default 'datamasked'
            Pixels to fit. With ``fit_sky`` a local constant sky is fitted with the
            amplitude; otherwise the sky is taken as zero on 'dataclean' and the current
            background is subtracted from anything else (never twice).
        fit_sky : bool, default True
        rms : 'map', 'global' or float, default 'map'
            Background noise per pixel (the background rms map, its global value, a number).
        **kwargs
            Passed to :func:`ztfimg.psfphot.psf_photometry`.

        Returns
        -------
        pandas.DataFrame
            Aligned with the input: ``flux``, ``fluxerr`` (DN, through the PSFMAG
            scaling), ``sky``, ``chi2``, ``redchi2``, ``npix``, ``psf_flag``
            (:class:`ztfimg.flags.PSFFlag`), ``mag``, ``magerr`` (MAGZP, MAGZPUNC) ...
        """
        from ..psfphot import psf_photometry
        psf = self.psf
        if fit_radius is not None:
            fit_radius = float(as_radii(fit_radius, pixel_scale=self.pixel_scale,
                                        name="fit_radius")[0][0])
        xs, ys, _, sky_in = self._positions(x, y, coords)
        arr = self._named_data(data, compute=True)
        sky_free = isinstance(data, str) and normalise_selector(data) == "dataclean"
        sky = None
        if not fit_sky:
            if not sky_free:
                arr = self.background.subtract(arr)
            sky = 0.0
        zp = self._optional("MAGZP")
        df = psf_photometry(arr, xs, ys, psf, rms=self._rms_value(rms),
                            gain=self._optional("GAIN"),
                            mask=self._mask_owner(_bitmask.DETECTION_BITS),
                            fit_radius=fit_radius, sky=sky,
                            zp=None if zp is None else float(zp),
                            zperr=(self.magzpunc or 0.0) if zp is not None else 0.0, **kwargs)
        if sky_in is not None:
            df.insert(0, "dec", sky_in[1])
            df.insert(0, "ra", sky_in[0])
        return df

    # ------------------------------------------------------------------ display
    def show(self, data="dataclean", ax=None, *, scale="zscale", wcs=False, overlay=None,
             colorbar=True, north_up=False, which=None, **kwargs):
        """Display the image; returns the matplotlib Axes.

        Parameters
        ----------
        data : {'dataclean', 'data', 'datamasked', 'background', 'rms'} or array
            What to show (``which=`` is the old name). Default the masked,
            background-subtracted pixels.
        ax : matplotlib.axes.Axes, optional
            Where to draw (a new figure otherwise; with ``wcs=True`` it must be a WCSAxes).
        scale : {'zscale', 'percentile'}, default 'zscale'
        wcs : bool, default False
            Use sky-coordinate axes (astropy WCSAxes).
        overlay : str or DataFrame, optional
            'sources' (the extracted sources as ellipses; sources are extracted for the
            picture, not stored, when none were), a catalogue label of :attr:`catalogs`
            ('ps1', 'gaia' ...), or any DataFrame with ``x``, ``y`` (and ``a``, ``b``,
            ``theta`` for ellipses).
        colorbar : bool, default True
            A colour bar labelled in DN.
        north_up : bool, default False
            North up, east left (as ds9): the axes are flipped (or the array transposed)
            from the WCS, and shown in RA/Dec. Default: file orientation.
        **kwargs
            Passed to :func:`ztfimg.plotting.show_image` (``stretch``, ``cmap``,
            ``mask_color`` (masked pixels: blue by default), ``vmin``/``vmax`` ...).

        Returns
        -------
        matplotlib.axes.Axes
        """
        from .. import plotting
        arr = self._named_data(which if which is not None else data)
        if isinstance(overlay, str):
            if overlay == "sources":
                overlay = self._sources if self._sources is not None else self._extract_quietly()
            else:
                overlay = self.catalogs.get(overlay)
        title = kwargs.pop("title", None)
        if title is None:
            parts = self._describe()
            title = " ".join(parts[:4]) if parts else None
        kwargs.setdefault("colorbar_label", "DN")
        use_wcs = bool(wcs) or bool(north_up)
        return plotting.show_image(arr, ax=ax, scale=scale,
                                   wcs=self._wcs() if use_wcs else None, overlay=overlay,
                                   colorbar=colorbar, title=title, north_up=north_up, **kwargs)

    def _extract_quietly(self):
        """Sources with the default extraction, without storing them (no side effect)."""
        return self._extract(warn=False)[0]
