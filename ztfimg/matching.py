"""One-to-one cross-matching of sky positions (level 1, array level).

:func:`match` pairs two lists of sky positions one-to-one: every source gets at
most one counterpart and vice versa, the closest pairs being served first
(greedy on sorted separations, which is what "nearest pairs first" means when
sources compete).  Candidates come from a :class:`scipy.spatial.cKDTree` on unit
vectors (chord distances), and the separations of the candidates are then computed
with :func:`astropy.coordinates.angular_separation` (Vincenty), so it is exact on the
whole sphere (poles, RA wrap) and fast for millions of rows.  The greedy selection is
never run over a sorted list of all pairs: vectorised rounds take the pairs that are
each other's best candidate (nearly all of them in real catalogues), and a
nearest-neighbour chain with lazily fetched candidates finishes the rest (exact
duplicates, dense clusters, ties), so the cost stays near-linear even when every
position is within the radius of every other.  :func:`nearest_other` tells which positions have another one of the same list
within a radius (isolation). The labelled collection built on these is
:class:`ztfimg.catalog.CatalogCollection`.

Example
-------
>>> i1, i2, sep = match([10.0, 10.001], [0.0, 0.0], [10.0003], [0.0], radius=2.0)
>>> i1.tolist(), i2.tolist()
([0], [0])
"""

from __future__ import annotations

import math

import numpy as np

from .errors import InvalidParameterError, ShapeMismatchError
from .validation import as_sky

__all__ = ["match", "nearest_other", "check_radius"]

_DEG = np.pi / 180.0
_ARCSEC = _DEG / 3600.0


def _unit_vectors(ra, dec):
    ra = np.asarray(ra, dtype=float) * _DEG
    dec = np.asarray(dec, dtype=float) * _DEG
    xyz = np.empty((len(ra), 3))
    cd = np.cos(dec)
    np.multiply(cd, np.cos(ra), out=xyz[:, 0])
    np.multiply(cd, np.sin(ra), out=xyz[:, 1])
    np.sin(dec, out=xyz[:, 2])
    return xyz


def _tree(xyz):
    """KD-tree of unit vectors (sliding-midpoint build: faster than the balanced one and
    as fast to query on sky positions)."""
    from scipy.spatial import cKDTree

    return cKDTree(xyz, balanced_tree=False)


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


def check_radius(radius):
    """A matching radius in arcsec (a number, or an angle Quantity converted).

    Parameters
    ----------
    radius : float or astropy.units.Quantity

    Returns
    -------
    float
        Arcsec, in (0, 180 deg].

    Raises
    ------
    InvalidParameterError
        Not a positive number, or larger than 180 deg.
    """
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


#: Candidates fetched per position by the vectorised pass of :func:`match`.  A position
#: with more within the radius is "crowded": it and every position near it are left to
#: the sequential pass, which fetches candidates lazily, nearest first.
_KMAX = 32


def _duplicate_groups(ra, dec):
    """Group bit-identical positions, groups numbered by their first member.

    Members of a group have the same separation to any other position, so they are
    interchangeable up to the index tie-break, and the KD-trees are built on one
    representative per group (a tree over many identical points degrades to a scan).

    Parameters
    ----------
    ra, dec : numpy.ndarray of float64
        Finite positions, degrees.

    Returns
    -------
    first : numpy.ndarray of int64
        Smallest member index of each group, increasing (group ``g`` is the ``g``-th
        distinct position in order of first appearance).
    start : numpy.ndarray of int64 or None
        Group ``g`` has members ``members[start[g]:start[g + 1]]``.
    members : numpy.ndarray of int64 or None
        Indices sorted by (group, index).  ``start`` and ``members`` are None when all
        positions are distinct (every group a single point).
    """
    n = len(ra)
    kr = np.ascontiguousarray(ra, dtype=np.float64).view(np.int64)
    kd = np.ascontiguousarray(dec, dtype=np.float64).view(np.int64)
    s = np.sort(kr)  # cheap screen: no repeated ra, no duplicate
    if n < 2 or not (s[1:] == s[:-1]).any():
        return np.arange(n, dtype=np.int64), None, None
    order = np.lexsort((kd, kr))  # stable: members of a group in increasing index
    new = np.ones(n, bool)
    new[1:] = (kr[order[1:]] != kr[order[:-1]]) | (kd[order[1:]] != kd[order[:-1]])
    if new.all():
        return np.arange(n, dtype=np.int64), None, None
    firsts = order[new]
    rank = np.argsort(firsts, kind="stable")
    relabel = np.empty(len(firsts), np.int64)
    relabel[rank] = np.arange(len(firsts))
    gid = relabel[np.cumsum(new) - 1]  # group of order[k]
    members = order[np.argsort(gid, kind="stable")]
    start = np.zeros(len(firsts) + 1, np.int64)
    np.cumsum(np.bincount(gid, minlength=len(firsts)), out=start[1:])
    return firsts[rank].astype(np.int64), start, members


def _candidate_pairs(xyz1, tree, chord, kmax):
    """Pairs (i, j) with ``|xyz1[i] - tree.data[j]| <= chord``, up to ``kmax`` per i.

    Parameters
    ----------
    xyz1 : numpy.ndarray, shape (n1, 3)
        Unit vectors searched for.
    tree : scipy.spatial.cKDTree
        Tree of the unit vectors searched in.
    chord : float
        Search radius (chord).
    kmax : int
        Most neighbours fetched per row.

    Returns
    -------
    i, j : numpy.ndarray of int64
        The pairs of the rows with at most ``kmax`` neighbours within ``chord``.
    crowded : numpy.ndarray of bool
        Rows with more (their pairs are not returned).
    """
    n1, n2 = len(xyz1), tree.n
    crowded = np.zeros(n1, bool)
    if n1 == 0 or n2 == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), crowded
    # the nearest k within the radius; rows whose k-th is still inside may have more:
    # query those again with twice k
    ii, jj = [], []
    rows = np.arange(n1)
    k = min(2, n2, kmax)
    while len(rows):
        d, j = tree.query(xyz1[rows], k=k, distance_upper_bound=chord)
        d = d.reshape(len(rows), k)
        j = j.reshape(len(rows), k)
        full = np.isfinite(d[:, -1]) if k < n2 else np.zeros(len(rows), bool)
        done = ~full
        ok = np.isfinite(d[done])
        ii.append(np.broadcast_to(rows[done][:, None], ok.shape)[ok])
        jj.append(j[done][ok])
        rows = rows[full]
        if k >= kmax:
            crowded[rows] = True
            break
        k = min(2 * k, n2, kmax)
    return (np.concatenate(ii).astype(np.int64), np.concatenate(jj).astype(np.int64),
            crowded)


def _first_of_groups(keys):
    """Boolean mask of the first occurrence of each key (keys already ordered)."""
    order = np.argsort(keys, kind="stable")
    ks = keys[order]
    start = np.ones(len(ks), bool)
    start[1:] = ks[1:] != ks[:-1]
    first = np.zeros(len(keys), bool)
    first[order[start]] = True
    return first


def _greedy_rounds(i, j, d, closed1, closed2):
    """Vectorised greedy rounds: take the mutual best pairs of closed members.

    In the strict order (d, i, j), a pair that is the best remaining pair of both its
    members is taken by the sequential greedy algorithm, whatever else happens: no
    earlier pair can touch either member.  Such pairs are taken when both members are
    *closed* (all their candidates are in ``i, j``; a group of one); pairs touching a
    taken member are dropped, and the rounds repeat while they shrink the candidates by
    at least half (ties and chains can make a round take a single pair: the sequential
    pass then finishes the job).

    Parameters
    ----------
    i, j : numpy.ndarray of int64
        Candidate pairs: positions of list 1, groups of identical positions of list 2
        (numbered in order of their first member, so that index order is kept).
    d : numpy.ndarray of float64
        Their separations.
    closed1, closed2 : numpy.ndarray of bool
        Closed positions of list 1 and groups of list 2.

    Returns
    -------
    ti, tj, td : numpy.ndarray
        Pairs taken, and their separations.
    ri, rj : numpy.ndarray of int64
        Remaining candidate pairs (both members free).
    """
    n1, n2 = len(closed1), len(closed2)
    # fast path: a pair of closed members without other candidates is always taken
    alone = (closed1[i] & closed2[j] & (np.bincount(i, minlength=n1)[i] == 1)
             & (np.bincount(j, minlength=n2)[j] == 1))
    take = [(i[alone], j[alone], d[alone])]
    i, j, d = i[~alone], j[~alone], d[~alone]
    order = np.lexsort((j, i, d))
    i, j, d = i[order], j[order], d[order]
    used_i = np.zeros(n1, bool)
    used_j = np.zeros(n2, bool)
    while len(i):
        sel = closed1[i] & closed2[j] & _first_of_groups(i) & _first_of_groups(j)
        if not sel.any():
            break
        take.append((i[sel], j[sel], d[sel]))
        used_i[i[sel]] = True
        used_j[j[sel]] = True
        keep = ~(used_i[i] | used_j[j])
        before = len(i)
        i, j, d = i[keep], j[keep], d[keep]
        if 2 * len(i) > before:
            break
    return (np.concatenate([t[0] for t in take]), np.concatenate([t[1] for t in take]),
            np.concatenate([t[2] for t in take]), i, j)


def _sequential_greedy(side1, side2, chord, radius):
    """Exact greedy one-to-one matching of groups, candidates fetched lazily.

    Nearest-neighbour chain: from a group, follow each group's best remaining
    candidate (in the strict order (separation, i, j), ``i`` and ``j`` being the
    smallest free members of the two groups); the keys decrease strictly along the
    chain, so it ends in two groups that are each other's best, whose smallest free
    members the greedy algorithm pairs.  They leave the chain, whose other links stay
    valid (a group's best changes only when that candidate is taken, keys only grow), and
    the chain goes on from its new end.  Each step extends the chain, takes a pair or
    drops a group without candidates, so there are at most about three steps per pair
    and group.  A group's candidates are held in a heap keyed (separation, smallest free
    member), fetched from a KD-tree of the other side nearest first, ``k`` doubling when
    the nearest are taken: the heap's top is the best candidate when its separation is
    below a lower bound of the separations not fetched (from the ``k``-th distance).  The
    fetches stay near-linear in total, even in a cluster where every group is within the
    radius of all others.

    Parameters
    ----------
    side1, side2 : tuple
        For each list ``(ra, dec, xyz, start, members)``: positions of one representative
        per group (degrees, unit vectors) and the members of group ``g``,
        ``members[start[g]:start[g + 1]]`` (increasing indices).
    chord : float
        KD-tree search radius (chord).
    radius : float
        Separation radius, arcsec.

    Returns
    -------
    i, j : numpy.ndarray of int64
        Member indices of the pairs taken.
    sep : numpy.ndarray of float64
        Their separations, arcsec.
    """
    from heapq import heapify, heappop, heapreplace

    inf = math.inf
    ra = [side1[0], side2[0]]
    dec = [side1[1], side2[1]]
    xyz = [side1[2], side2[2]]
    m1, m2 = len(xyz[0]), len(xyz[1])
    offset = [0, m1]  # nodes: groups of list 1, then groups of list 2
    trees = [_tree(xyz[1]), _tree(xyz[0])]  # the tree each side searches
    ntree = [m2, m1]
    members = np.concatenate([side1[4], side2[4]]).tolist()
    ptr = np.concatenate([side1[3][:-1], side2[3][:-1] + len(side1[4])]).tolist()
    end = np.concatenate([side1[3][1:], side2[3][1:] + len(side1[4])]).tolist()
    nn = m1 + m2
    heaps = [[] for _ in range(nn)]
    bound = [0.0] * nn  # separations not fetched are >= bound (inf: all fetched)
    kfetch = [0] * nn  # candidates fetched
    dlast = [0.0] * nn  # KD-tree distance of the last candidate fetched
    current = np.array(members, np.int64)[ptr]  # smallest free member (-1: none)
    current[np.array(ptr) >= np.array(end)] = -1

    def fetch(side, rows, k):
        """First candidate heaps of groups ``rows`` of ``side``: the nearest ``k``."""
        k = min(k, ntree[side])
        d, nb = trees[side].query(xyz[side][rows], k=k, distance_upper_bound=chord)
        d = d.reshape(len(rows), k)
        nb = nb.reshape(len(rows), k)
        r, c = np.nonzero(np.isfinite(d))
        g, h = rows[r], nb[r, c]
        a, b = (g, h) if side == 0 else (h, g)  # separations always as (list 1, list 2)
        sep = _separation_arcsec(ra[0][a], dec[0][a], ra[1][b], dec[1][b])
        keep = sep <= radius
        r, h, sep = r[keep], h[keep] + offset[1 - side], sep[keep]
        nodes = (rows + offset[side]).tolist()
        for rr, y, s in zip(r.tolist(), h.tolist(), sep.tolist()):
            heaps[nodes[rr]].append((s, members[ptr[y]], y))
        for x, last in zip(nodes, d[:, -1].tolist()):
            heapify(heaps[x])
            set_bound(x, last, k < ntree[side], k)

    def set_bound(x, last, partial, k):
        bound[x] = _lower_separation(last) if partial and last < inf else inf
        dlast[x] = last
        kfetch[x] = k

    def refetch(x):
        """Twice as many candidates for node x.  Those nearer than the last one fetched
        before are not added again (ties at that distance may be: a repeat is harmless)."""
        side = 0 if x < m1 else 1
        g = x - offset[side]
        k = min(2 * kfetch[x], ntree[side])
        d, nb = trees[side].query(xyz[side][g], k=k, distance_upper_bound=chord)
        nb = nb[(d >= dlast[x]) & (d < inf)]
        here = np.full(len(nb), g)
        a, b = (here, nb) if side == 0 else (nb, here)
        sep = _separation_arcsec(ra[0][a], dec[0][a], ra[1][b], dec[1][b])
        y = nb + offset[1 - side]
        idx = current[y]
        keep = (sep <= radius) & (idx >= 0)
        h = heaps[x]
        h.extend(zip(sep[keep].tolist(), idx[keep].tolist(), y[keep].tolist()))
        heapify(h)
        set_bound(x, float(d[-1]), k < ntree[side], k)

    def best(x):
        """Best free candidate (node) of node x, or -1 when it has none left."""
        h = heaps[x]
        while True:
            while h:
                s, idx, y = h[0]
                p = ptr[y]
                if p >= end[y]:
                    heappop(h)
                elif members[p] != idx:  # the group's smallest free member changed
                    heapreplace(h, (s, members[p], y))
                elif s < bound[x]:
                    return y
                else:
                    break
            if bound[x] == inf:
                return -1
            refetch(x)

    if m1:
        fetch(0, np.arange(m1), 8)
    if m2:
        fetch(1, np.arange(m2), 8)
    out_i, out_j, out_s = [], [], []
    dead = [False] * nn
    stack = []
    for start in range(nn):
        while ptr[start] < end[start] and not dead[start]:
            stack.append(start)
            while stack:
                x = stack[-1]
                y = best(x)
                if y < 0:
                    dead[x] = True
                    stack.pop()
                elif len(stack) > 1 and stack[-2] == y:
                    a, b = (x, y) if x < m1 else (y, x)
                    out_i.append(members[ptr[a]])
                    out_j.append(members[ptr[b]])
                    out_s.append(heaps[x][0][0])
                    for z in (a, b):
                        ptr[z] += 1
                        current[z] = members[ptr[z]] if ptr[z] < end[z] else -1
                    del stack[-2:]
                else:
                    stack.append(y)
    return (np.array(out_i, np.int64), np.array(out_j, np.int64),
            np.array(out_s, np.float64))


def _lower_separation(chord):
    """Lower bound (arcsec) of the separation of any pair with KD-tree distance >= chord,
    with room for the rounding of unit vectors, distances and the Vincenty formula."""
    return 2 * math.asin(min(max(chord - 1e-14, 0.0), 2.0) / 2) * (1 - 1e-9) / _ARCSEC


def _group_members(g, first, start, members):
    """Members of groups ``g`` (see :func:`_duplicate_groups`), as ``(start, members)``."""
    if start is None:
        return np.arange(len(g) + 1), first[g]
    size = start[g + 1] - start[g]
    gstart = np.zeros(len(g) + 1, np.int64)
    np.cumsum(size, out=gstart[1:])
    return gstart, members[np.repeat(start[g] - gstart[:-1], size) + np.arange(gstart[-1])]


def _greedy_match(ra1, dec1, ra2, dec2, radius):
    """One-to-one greedy match of finite positions (see :func:`match`).

    A vectorised pass (:func:`_greedy_rounds`) settles the pairs that are mutual best
    candidates among positions with few candidates; what is left (duplicates, crowded
    places, and ties or chains that the rounds would resolve a pair at a time) goes to
    :func:`_sequential_greedy`.

    Parameters
    ----------
    ra1, dec1, ra2, dec2 : numpy.ndarray of float64
        Finite positions, degrees.
    radius : float
        Arcsec.

    Returns
    -------
    i, j : numpy.ndarray of int64
        Indices into the two lists, ordered by ``i``.
    sep : numpy.ndarray of float64
        Separations, arcsec.
    """
    chord = _search_chord(radius)
    n1 = len(ra1)
    # list 2 goes into the KD-tree: one point per distinct position
    first2, start2, mem2 = _duplicate_groups(ra2, dec2)
    n2 = len(first2)
    if n1 == 0 or n2 == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    r2, d2 = ra2[first2], dec2[first2]
    xyz1, xyz2 = _unit_vectors(ra1, dec1), _unit_vectors(r2, d2)
    # candidates within the (slightly enlarged) chord; the exact test is on the angle
    i, j, crowded = _candidate_pairs(xyz1, _tree(xyz2), chord, _KMAX)
    sep = _separation_arcsec(ra1[i], dec1[i], r2[j], d2[j])
    keep = sep <= radius
    i, j, sep = i[keep], j[keep], sep[keep]
    # a group of list 2 can have candidates missing from (i, j) only near a crowded position
    known2 = np.ones(n2, bool)
    if crowded.any():
        c = np.flatnonzero(crowded)
        c = c[_duplicate_groups(ra1[c], dec1[c])[0]]
        d, _ = _tree(xyz1[c]).query(xyz2, k=1, distance_upper_bound=chord * (1 + 1e-6))
        known2 = ~np.isfinite(d)
    closed2 = known2 if start2 is None else known2 & (np.diff(start2) == 1)
    ti, tj, ts, ri, rj = _greedy_rounds(i, j, sep, ~crowded, closed2)
    # left: free positions/groups with candidates left, or with candidates not all known
    rest1 = crowded | (np.bincount(ri, minlength=n1) > 0)
    rest2 = ~known2 | (np.bincount(rj, minlength=n2) > 0)
    rest1[ti] = False
    rest2[tj] = False
    i, j, sep = ti, first2[tj], ts
    if rest1.any() and rest2.any():
        p = np.flatnonzero(rest1)
        f, st, mem = _duplicate_groups(ra1[p], dec1[p])
        st, mem = _group_members(np.arange(len(f)), f, st, mem)
        side1 = (ra1[p[f]], dec1[p[f]], xyz1[p[f]], st, p[mem])
        g = np.flatnonzero(rest2)
        side2 = (r2[g], d2[g], xyz2[g]) + _group_members(g, first2, start2, mem2)
        si, sj, ss = _sequential_greedy(side1, side2, chord, radius)
        i, j, sep = np.concatenate([i, si]), np.concatenate([j, sj]), np.concatenate([sep, ss])
    order = np.argsort(i, kind="stable")
    return i[order], j[order], sep[order]


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

    Notes
    -----
    The rule, exactly: all pairs of usable positions with separation <= ``radius`` (the
    Vincenty formula on the degrees given) are ordered by (separation, index in list 1,
    index in list 2) and taken in turn when both positions are still free.  The result
    is computed without listing all pairs, so identical positions and dense clusters,
    where nearly every pair is a candidate, cost near-linear time (2000 x 2000 identical
    positions: milliseconds).

    Examples
    --------
    >>> i1, i2, sep = match([10.0, 10.001], [0.0, 0.0], [10.0003], [0.0], radius=2.0)
    >>> i1.tolist(), i2.tolist(), round(float(sep[0]), 2)
    ([0], [0], 1.08)
    """
    radius = check_radius(radius)
    ra1, dec1, ok1 = _coords(ra1, dec1, "list 1")
    ra2, dec2, ok2 = _coords(ra2, dec2, "list 2")
    pos1 = np.flatnonzero(ok1)
    pos2 = np.flatnonzero(ok2)
    i, j, sep = _greedy_match(ra1[pos1], dec1[pos1], ra2[pos2], dec2[pos2], radius)
    return pos1[i], pos2[j], sep


def nearest_other(ra, dec, radius):
    """Which entries have another valid entry within ``radius`` (arcsec).

    Exact duplicates are settled first (another entry at separation 0); the KD-tree
    holds one entry per distinct position, so identical positions cost nothing.

    Returns
    -------
    crowded, ok : numpy.ndarray of bool
        Another entry within the radius; usable coordinates.
    """

    ra, dec, ok = _coords(ra, dec, "catalogue")
    pos = np.flatnonzero(ok)
    crowded = np.zeros(len(ra), bool)
    if len(pos) < 2:
        return crowded, ok
    ra, dec = ra[pos], dec[pos]
    first, start, members = _duplicate_groups(ra, dec)
    lone = np.arange(len(first))
    if start is not None:
        size = np.diff(start)
        crowded[pos[members[np.repeat(size > 1, size)]]] = True
        lone = lone[size == 1]
    if len(first) < 2 or len(lone) == 0:
        return crowded, ok
    # every pair of distinct positions within the (slightly enlarged) chord, each once:
    # fewer than the two nearest of every position, and the exact test is on the angle
    xyz = _unit_vectors(ra[first], dec[first])
    pairs = _tree(xyz).query_pairs(_search_chord(radius), output_type="ndarray")
    if len(pairs):
        g, h = first[pairs[:, 0]], first[pairs[:, 1]]
        close = _separation_arcsec(ra[g], dec[g], ra[h], dec[h]) <= radius
        crowded[pos[g[close]]] = True
        crowded[pos[h[close]]] = True
    return crowded, ok
