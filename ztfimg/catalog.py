"""Sky catalogues side by side: one-to-one cross-matching and a labelled collection.

:func:`match` pairs two lists of sky positions one-to-one: every source gets at
most one counterpart and vice versa, the closest pairs being served first
(greedy on sorted separations, which is what "nearest pairs first" means when
sources compete).  Candidates come from a :class:`scipy.spatial.cKDTree` on unit
vectors (chord distances), and the separations of the candidates are then computed
with :func:`astropy.coordinates.angular_separation` (Vincenty), so it is exact on the
whole sphere (poles, RA wrap) and fast for millions of rows.  :class:`CatalogCollection` holds catalogues (pandas DataFrames with
``ra``/``dec`` columns in degrees) under labels and matches them by label.

Example
-------
>>> cats = CatalogCollection()
>>> cats.add("sources", sources)                      # doctest: +SKIP
>>> cats.add("ps1", ps1)                              # doctest: +SKIP
>>> pairs = cats.match("sources", "ps1", radius=1.0)  # doctest: +SKIP
>>> cats.get_matched_entries(["mag", "rmag"], "sources", "ps1")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import CatalogError, InvalidParameterError, ShapeMismatchError
from .refcat.specs import ALIASES
from .validation import as_sky

__all__ = ["match", "CatalogCollection", "LABEL_ALIASES"]

_DEG = np.pi / 180.0
_ARCSEC = _DEG / 3600.0

#: Label aliases understood by :class:`CatalogCollection` (alias -> label).
LABEL_ALIASES = ALIASES  # the one alias table (ztfimg.refcat.specs)


def _unit_vectors(ra, dec):
    ra = np.asarray(ra, dtype=float) * _DEG
    dec = np.asarray(dec, dtype=float) * _DEG
    cd = np.cos(dec)
    return np.column_stack([cd * np.cos(ra), cd * np.sin(ra), np.sin(dec)])


def _coords(ra, dec, which):
    """ICRS degrees (1-D, same length) and which positions are usable."""
    try:
        ra, dec, _ = as_sky(ra, dec)
    except ShapeMismatchError as exc:
        raise ShapeMismatchError(f"{which}: {exc}") from None
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"{which}: {exc}") from None
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
    return ra, dec, valid


def _separation_arcsec(ra1, dec1, ra2, dec2):
    """Angular separations (arcsec) of paired positions in degrees (Vincenty formula)."""
    from astropy.coordinates import angular_separation

    return np.asarray(angular_separation(ra1 * _DEG, dec1 * _DEG, ra2 * _DEG, dec2 * _DEG),
                      dtype=np.float64) / _ARCSEC


def _search_chord(radius):
    """KD-tree search radius (chord) for a separation radius in arcsec, with a slack
    covering the rounding of unit-vector distances; the exact cut is on the angle."""
    return 2 * np.sin(radius * _ARCSEC / 2) * (1 + 1e-9) + 1e-15


def _check_radius(radius):
    if hasattr(radius, "unit"):
        radius = radius.to_value("arcsec")
    try:
        radius = float(radius)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"radius must be a number of arcsec, got {radius!r}") from None
    if not (np.isfinite(radius) and radius > 0):
        raise InvalidParameterError(f"radius must be a positive number of arcsec, got {radius}")
    if radius > 180 * 3600:
        raise InvalidParameterError(f"radius must be at most 180 deg, got {radius} arcsec")
    return radius


def _candidate_pairs(xyz1, xyz2, chord):
    """All (i, j, chord distance) with |xyz1[i] - xyz2[j]| <= chord."""
    from scipy.spatial import cKDTree

    n1, n2 = len(xyz1), len(xyz2)
    if n1 == 0 or n2 == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    tree = cKDTree(xyz2)
    # Nearest k neighbours within the radius; rows whose k-th neighbour is still
    # inside the radius may have more: query those again with twice k.
    ii, jj, dd = [], [], []
    rows = np.arange(n1)
    k = min(2, n2)
    while len(rows):
        d, j = tree.query(xyz1[rows], k=k, distance_upper_bound=chord)
        d = d.reshape(len(rows), k)
        j = j.reshape(len(rows), k)
        full = np.isfinite(d[:, -1])
        if k >= n2:
            full[:] = False
        done = ~full
        ok = np.isfinite(d[done])
        ii.append(np.broadcast_to(rows[done][:, None], d[done].shape)[ok])
        jj.append(j[done][ok])
        dd.append(d[done][ok])
        rows = rows[full]
        k = min(2 * k, n2)
    return (np.concatenate(ii).astype(np.int64), np.concatenate(jj).astype(np.int64),
            np.concatenate(dd))


def _first_of_groups(keys):
    """Boolean mask of the first occurrence of each key (keys already ordered)."""
    order = np.argsort(keys, kind="stable")
    ks = keys[order]
    start = np.ones(len(ks), bool)
    start[1:] = ks[1:] != ks[:-1]
    first = np.zeros(len(keys), bool)
    first[order[start]] = True
    return first


def _greedy_one_to_one(i, j, d, n1, n2):
    """Greedy one-to-one selection on sorted distances (vectorised rounds).

    A pair is taken when it is, in the strict order (d, i, j), the best remaining
    pair of both its members; such pairs are exactly those the sequential greedy
    algorithm takes.  Pairs touching a taken member are then dropped, and the
    rounds repeat until no pair is left (usually 1-3 rounds).
    """
    if len(i) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    # fast path: a pair whose two members have no other candidate is always taken
    alone = (np.bincount(i, minlength=n1)[i] == 1) & (np.bincount(j, minlength=n2)[j] == 1)
    take = [(i[alone], j[alone], d[alone])]
    i, j, d = i[~alone], j[~alone], d[~alone]
    order = np.lexsort((j, i, d))
    i, j, d = i[order], j[order], d[order]
    used_i = np.zeros(n1, bool)
    used_j = np.zeros(n2, bool)
    while len(i):
        sel = _first_of_groups(i) & _first_of_groups(j)
        take.append((i[sel], j[sel], d[sel]))
        used_i[i[sel]] = True
        used_j[j[sel]] = True
        keep = ~(used_i[i] | used_j[j])
        i, j, d = i[keep], j[keep], d[keep]
    i = np.concatenate([t[0] for t in take])
    j = np.concatenate([t[1] for t in take])
    d = np.concatenate([t[2] for t in take])
    order = np.argsort(i, kind="stable")
    return i[order], j[order], d[order]


def match(ra1, dec1, ra2, dec2, radius):
    """One-to-one cross-match of two lists of sky positions.

    Every position of list 1 gets at most one counterpart in list 2 and vice
    versa.  Among all pairs closer than ``radius``, the closest pairs are
    taken first (greedy on sorted separations; ties broken by index), so a
    source loses its nearest neighbour only to a closer pair and may then be
    matched to its next neighbour within the radius.  Positions with NaN or
    infinite coordinates (or ``|dec| > 90``) never match.

    Parameters
    ----------
    ra1, dec1 : array_like, astropy.units.Quantity or SkyCoord
        Positions of list 1: degrees, angle Quantities, or a SkyCoord as ``ra1`` with
        ``dec1=None`` (see :func:`ztfimg.validation.as_sky`).
    ra2, dec2 : array_like, astropy.units.Quantity or SkyCoord
        Positions of list 2, likewise.
    radius : float or astropy.units.Quantity
        Maximum separation, arcsec (a Quantity is converted).

    Returns
    -------
    idx1 : numpy.ndarray of int64
        Positional indices into list 1, increasing.
    idx2 : numpy.ndarray of int64
        Matching positional indices into list 2.
    separation : numpy.ndarray of float64
        Separations of the pairs, arcsec.

    Raises
    ------
    ShapeMismatchError
        If ra and dec arrays of a list differ in length.
    InvalidParameterError
        If radius is not a positive number, or positions are not numbers/angles.

    Examples
    --------
    >>> i1, i2, sep = match([10.0, 10.001], [0.0, 0.0], [10.0003], [0.0], radius=2.0)
    >>> i1.tolist(), i2.tolist(), round(float(sep[0]), 2)
    ([0], [0], 1.08)
    """
    radius = _check_radius(radius)
    ra1, dec1, ok1 = _coords(ra1, dec1, "list 1")
    ra2, dec2, ok2 = _coords(ra2, dec2, "list 2")
    pos1 = np.flatnonzero(ok1)
    pos2 = np.flatnonzero(ok2)
    ra1, dec1, ra2, dec2 = ra1[pos1], dec1[pos1], ra2[pos2], dec2[pos2]
    xyz1 = _unit_vectors(ra1, dec1)
    xyz2 = _unit_vectors(ra2, dec2)
    # candidates within the (slightly enlarged) chord; the exact test is on the angle
    i, j, _ = _candidate_pairs(xyz1, xyz2, _search_chord(radius))
    sep = _separation_arcsec(ra1[i], dec1[i], ra2[j], dec2[j])
    keep = sep <= radius
    i, j, sep = _greedy_one_to_one(i[keep], j[keep], sep[keep], len(pos1), len(pos2))
    return pos1[i], pos2[j], sep


def _nearest_other(ra, dec, radius):
    """Boolean: has another valid entry within radius (arcsec)."""
    from scipy.spatial import cKDTree

    ra, dec, ok = _coords(ra, dec, "catalogue")
    pos = np.flatnonzero(ok)
    crowded = np.zeros(len(ra), bool)
    if len(pos) < 2:
        return crowded, ok
    ra, dec = ra[pos], dec[pos]
    xyz = _unit_vectors(ra, dec)
    d, j = cKDTree(xyz).query(xyz, k=2, distance_upper_bound=_search_chord(radius))
    near = np.flatnonzero(np.isfinite(d[:, 1]))   # a neighbour within the search chord
    sep = _separation_arcsec(ra[near], dec[near], ra[j[near, 1]], dec[j[near, 1]])
    crowded[pos[near]] = sep <= radius
    return crowded, ok


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
