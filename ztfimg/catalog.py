"""Sky catalogues side by side: a labelled collection matched by label (level 2).

:class:`CatalogCollection` holds catalogues (pandas DataFrames with ``ra``/``dec`` columns
in degrees) under labels and matches them one-to-one by label with
:func:`ztfimg.matching.match` (re-exported here as :func:`match`), caching the matches.

Example
-------
>>> cats = CatalogCollection()
>>> cats.add("sources", sources)                      # doctest: +SKIP
>>> cats.add("ps1", ps1)                              # doctest: +SKIP
>>> pairs = cats.match("sources", "ps1", radius=1.0)  # doctest: +SKIP
>>> cats.get_matched_entries(["mag", "rmag"], "sources", "ps1")  # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from .errors import CatalogError, InvalidParameterError
from .matching import check_radius as _check_radius
from .matching import match
from .matching import nearest_other as _nearest_other
from .refcat.specs import ALIASES

__all__ = ["match", "CatalogCollection", "LABEL_ALIASES"]

#: Accepted label aliases: the one alias table of the reference catalogues.
LABEL_ALIASES = ALIASES


class CatalogCollection:
    """Catalogues held under labels, matched by label.

    Each catalogue is a :class:`pandas.DataFrame` with sky positions in
    degrees (columns ``ra`` and ``dec`` by default).  Catalogues are copied
    when added, so the caller's frames are never modified.  Label aliases
    (:data:`LABEL_ALIASES`, e.g. ``"ps1cat"`` -> ``"ps1"``) are accepted
    everywhere a label is.

    Parameters
    ----------
    catalogs : dict of str -> DataFrame, optional
        Initial catalogues, added with :meth:`add`.

    Examples
    --------
    >>> import pandas as pd
    >>> cats = CatalogCollection({"a": pd.DataFrame({"ra": [1.0], "dec": [2.0]})})
    >>> "a" in cats, cats.labels
    (True, ['a'])
    """

    def __init__(self, catalogs=None):
        self._catalogs = {}
        self._coords = {}
        self._match_cache = {}
        for label, cat in (catalogs or {}).items():
            self.add(label, cat)

    # -- labels ---------------------------------------------------------------
    @staticmethod
    def _label(label):
        if not isinstance(label, str) or not label:
            raise InvalidParameterError(f"catalogue labels are non-empty strings, got {label!r}")
        return LABEL_ALIASES.get(label, label)

    def _need(self, label):
        key = self._label(label)
        if key not in self._catalogs:
            known = ", ".join(self._catalogs) or "none"
            raise CatalogError(f"no catalogue labelled {label!r}; labels held: {known}")
        return key

    @property
    def labels(self):
        """list of str: labels of the catalogues held, in insertion order."""
        return list(self._catalogs)

    def __contains__(self, label):
        try:
            return self._label(label) in self._catalogs
        except InvalidParameterError:
            return False

    def __len__(self):
        return len(self._catalogs)

    def __iter__(self):
        return iter(self.labels)

    def __getitem__(self, label):
        return self.get(label)

    def __repr__(self):
        inner = ", ".join(f"{k}: {len(v)} rows" for k, v in self._catalogs.items())
        return f"<CatalogCollection [{inner}]>"

    # -- content --------------------------------------------------------------
    def add(self, label, catalog, *, ra="ra", dec="dec", overwrite=True):
        """Add (a copy of) a catalogue under a label.

        Parameters
        ----------
        label : str
            Label; an alias (``"ps1cat"``) is stored under its target (``"ps1"``).
        catalog : pandas.DataFrame or astropy.table.Table
            The catalogue; copied, never modified.
        ra, dec : str, optional
            Names of its right ascension and declination columns, degrees.
            Default ``"ra"`` and ``"dec"``.
        overwrite : bool, optional
            Replace a catalogue already held under the label (default True);
            if False, raise instead.

        Raises
        ------
        CatalogError
            If the ra/dec columns are missing (message names them), or the
            label is taken and ``overwrite`` is False.
        """
        key = self._label(label)
        if key in self._catalogs and not overwrite:
            raise CatalogError(f"a catalogue is already labelled {key!r} (use overwrite=True)")
        if not isinstance(catalog, pd.DataFrame):
            if hasattr(catalog, "to_pandas"):
                catalog = catalog.to_pandas()
            else:
                raise CatalogError(
                    f"catalogue {label!r} must be a DataFrame or astropy Table, "
                    f"got {type(catalog).__name__}")
        else:
            catalog = catalog.copy()
        missing = [c for c in (ra, dec) if c not in catalog.columns]
        if missing:
            raise CatalogError(
                f"catalogue {label!r} lacks column(s) {', '.join(missing)} "
                f"(has: {', '.join(map(str, catalog.columns))})")
        self._catalogs[key] = catalog
        self._coords[key] = (ra, dec)
        self._match_cache = {k: v for k, v in self._match_cache.items() if key not in k[:2]}

    def get(self, label):
        """The catalogue held under ``label``.

        Parameters
        ----------
        label : str
            Label or alias.

        Returns
        -------
        pandas.DataFrame
            A copy: editing it cannot stale the cached matches (use :meth:`add` to
            replace a catalogue).

        Raises
        ------
        CatalogError
            If no catalogue has that label.
        """
        return self._catalogs[self._need(label)].copy()

    def remove(self, label):
        """Remove and return the catalogue held under ``label``.

        Parameters
        ----------
        label : str
            Label or alias.

        Returns
        -------
        pandas.DataFrame
            The catalogue removed.

        Raises
        ------
        CatalogError
            If no catalogue has that label.
        """
        key = self._need(label)
        self._match_cache = {k: v for k, v in self._match_cache.items() if key not in k[:2]}
        self._coords.pop(key)
        return self._catalogs.pop(key)

    def _radec(self, key):
        cat = self._catalogs[key]
        ra, dec = self._coords[key]
        return cat[ra].to_numpy(dtype=float), cat[dec].to_numpy(dtype=float)

    # -- matching -------------------------------------------------------------
    def _positions(self, a, b, radius):
        ka, kb = self._need(a), self._need(b)
        radius = _check_radius(radius)
        ck = (ka, kb, radius)
        if ck not in self._match_cache:
            ra1, dec1 = self._radec(ka)
            ra2, dec2 = self._radec(kb)
            self._match_cache[ck] = match(ra1, dec1, ra2, dec2, radius)
        return ka, kb, self._match_cache[ck]

    def match(self, a, b, radius=1.0):
        """One-to-one match of catalogue ``a`` against catalogue ``b``.

        Parameters
        ----------
        a, b : str
            Labels (or aliases) of two catalogues held.
        radius : float, optional
            Maximum separation, arcsec. Default 1.0.

        Returns
        -------
        pandas.DataFrame
            One row per pair: ``<a>_index`` and ``<b>_index`` (index labels
            of the two catalogues) and ``separation`` (arcsec), ordered by
            position in ``a``.  Empty (same columns) when nothing matches.

        Raises
        ------
        CatalogError
            Unknown label.
        InvalidParameterError
            Non-positive radius.
        """
        ka, kb, (i, j, sep) = self._positions(a, b, radius)
        ca, cb = self._catalogs[ka], self._catalogs[kb]
        cols = _pair_names(ka, kb)
        return pd.DataFrame({cols[0]: ca.index.to_numpy()[i], cols[1]: cb.index.to_numpy()[j],
                             "separation": sep})

    def get_matched_entries(self, keys, a, b, radius=1.0):
        """Columns of both catalogues for the matched pairs.

        Parameters
        ----------
        keys : str or list of str
            Column names to fetch; each must exist in both catalogues.
        a, b : str
            Labels (or aliases) of two catalogues held.
        radius : float, optional
            Maximum separation, arcsec. Default 1.0.

        Returns
        -------
        pandas.DataFrame
            One row per pair with ``<a>_index``, ``<b>_index``, then
            ``<a>_<key>`` and ``<b>_<key>`` for each key, then
            ``separation`` (arcsec).

        Raises
        ------
        CatalogError
            Unknown label, or a key missing from a catalogue (the message
            names the keys and the catalogue).
        """
        if isinstance(keys, str):
            keys = [keys]
        keys = list(keys)
        ka, kb = self._need(a), self._need(b)
        for k, cat in ((ka, self._catalogs[ka]), (kb, self._catalogs[kb])):
            missing = [key for key in keys if key not in cat.columns]
            if missing:
                raise CatalogError(f"catalogue {k!r} lacks column(s) {', '.join(map(str, missing))}")
        ka, kb, (i, j, sep) = self._positions(ka, kb, radius)
        ca, cb = self._catalogs[ka], self._catalogs[kb]
        ia, ib = _pair_names(ka, kb)
        out = {ia: ca.index.to_numpy()[i], ib: cb.index.to_numpy()[j]}
        pa, pb = (ka, kb) if ka != kb else (f"{ka}1", f"{kb}2")
        for key in keys:
            out[f"{pa}_{key}"] = ca[key].to_numpy()[i]
            out[f"{pb}_{key}"] = cb[key].to_numpy()[j]
        out["separation"] = sep
        df = pd.DataFrame(out)
        for key in keys:  # keep extension dtypes (nullable ints, strings, categoricals)
            for name, cat, idx in ((f"{pa}_{key}", ca, i), (f"{pb}_{key}", cb, j)):
                if isinstance(cat[key].dtype, pd.api.extensions.ExtensionDtype):
                    df[name] = cat[key].iloc[idx].reset_index(drop=True)
        return df

    def get_isolated(self, label, radius):
        """Which entries have no other entry of the same catalogue nearby.

        Parameters
        ----------
        label : str
            Label (or alias) of a catalogue held.
        radius : float
            Isolation radius, arcsec.

        Returns
        -------
        pandas.Series of bool
            Indexed like the catalogue: True when no other entry lies within
            ``radius`` (exact duplicates are not isolated).  Entries with
            NaN coordinates are False (their isolation cannot be known).

        Raises
        ------
        CatalogError
            Unknown label.
        InvalidParameterError
            Non-positive radius.
        """
        key = self._need(label)
        radius = _check_radius(radius)
        ra, dec = self._radec(key)
        crowded, ok = _nearest_other(ra, dec, radius)
        return pd.Series(ok & ~crowded, index=self._catalogs[key].index, name="isolated")


def _pair_names(ka, kb):
    if ka == kb:
        return f"{ka}1_index", f"{kb}2_index"
    return f"{ka}_index", f"{kb}_index"
