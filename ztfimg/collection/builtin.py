"""Built-in jobs of :class:`~ztfimg.collection.ImageCollection` that hand the frames to
another level-3 package: forced photometry (:mod:`ztfimg.lightcurves`), stacks
(:mod:`ztfimg.stacking`) and the astrometry table (:mod:`ztfimg.astrometry`)."""

from __future__ import annotations

import pandas as pd

from . import jobs as _jobs

__all__ = []


class _BuiltinJobs:
    """Mixin of :class:`ImageCollection`: methods that go through :meth:`map` or hand the
    file names to another package (needs ``map``, ``files`` and ``read_headers``)."""

    def forced_photometry(self, ra, dec=None, **kwargs):
        """Forced photometry of sky positions on every frame: a :class:`~ztfimg.LightCurves`.

        See :func:`ztfimg.lightcurves.forced.forced_photometry` for the parameters
        (``radius``, ``bkgann``, ``method='aperture'|'psf'``, ``client``, ``progress`` ...).

        Returns
        -------
        ztfimg.LightCurves

        Examples
        --------
        >>> lc = col.forced_photometry(ra, dec, radius=[2, 3, 5], bkgann=(10, 15))  # doctest: +SKIP
        """
        from ..lightcurves.forced import forced_photometry
        return forced_photometry(self, ra, dec, **kwargs)

    def stack(self, **kwargs):
        """Stack the frames on one grid at one zero point (:func:`ztfimg.stacking.stack`).

        Parameters
        ----------
        **kwargs
            ``grid``, ``zeropoint``, ``combine``, ``sigma``, ``tile``, ``reproject``,
            ``mem_limit``, ``output``, ``client`` ... of :func:`ztfimg.stacking.stack`.

        Returns
        -------
        ztfimg.stacking.Stack
        """
        from ..stacking import stack
        return stack(self.files, **kwargs)

    def astrometry(self, catalog="gaia", *, refine=False, client=None, progress=True,
                   n_workers=None, max_in_flight=None, **kwargs):
        """Astrometric residuals of every frame against Gaia (a per-frame table).

        :func:`ztfimg.collection.jobs.astrometry_frame` through :meth:`map`.

        Parameters
        ----------
        catalog : str, default 'gaia'
        refine : bool, default False
            Also fit a corrected WCS per frame (:func:`ztfimg.astrometry.refine_wcs`).
        client, progress, n_workers, max_in_flight :
            See :meth:`map`.
        **kwargs
            Passed to :func:`ztfimg.astrometry.measure_astrometry` / ``refine_wcs``.

        Returns
        -------
        pandas.DataFrame
            One row per frame: ``file``, ``obsjd``, ``filtername``, the job's columns
            (mas) and ``error`` (None, or ``'Class: message'``).
        """
        res = self.map(_jobs.astrometry_frame, catalog, client=client, progress=progress,
                       n_workers=n_workers, max_in_flight=max_in_flight, refine=refine,
                       **kwargs)
        out = self.read_headers()[["file", "obsjd", "filtername"]].copy()
        rows = pd.DataFrame([r or {} for r in res.results], index=out.index)
        out = pd.concat([out, rows], axis=1)
        out["error"] = None
        for i, row in res.errors.iterrows():
            out.loc[out.index[i], "error"] = f"{row['exception']}: {row['message']}"
        return out
