"""Tests of ztfimg.catalog: one-to-one matching and CatalogCollection."""

import socket
import time

import numpy as np
import pandas as pd
import pytest

from ztfimg import matching
from ztfimg.catalog import CatalogCollection, match
from ztfimg.errors import CatalogError, InvalidParameterError, ShapeMismatchError

ARCSEC = 1 / 3600.0


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def guarded(self, address):
        raise RuntimeError(f"network access attempted in tests: {address}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


def offset(ra, dec, dx_arcsec, dy_arcsec):
    """Small tangent-plane offset (arcsec east, north)."""
    return ra + dx_arcsec * ARCSEC / np.cos(np.radians(dec)), dec + dy_arcsec * ARCSEC


def brute_force_match(ra1, dec1, ra2, dec2, radius):
    """Reference implementation of the documented rule, O(n1 n2): every pair of usable
    positions (finite, |dec| <= 90) with separation <= radius, the separation being the
    Vincenty formula of astropy on the degrees given (no RA wrapping, as in ``match``),
    sorted by (separation, i, j) and taken greedily.  Returns the pairs (i, j) in order of i
    and their separations."""
    from astropy.coordinates import angular_separation

    ra1, dec1, ra2, dec2 = (np.asarray(v, dtype=float) for v in (ra1, dec1, ra2, dec2))
    if not len(ra1) or not len(ra2):
        return [], np.zeros(0)
    deg = np.pi / 180
    lon1, lon2 = (np.ascontiguousarray(v) * deg for v in np.broadcast_arrays(ra1[:, None], ra2))
    lat1, lat2 = (np.ascontiguousarray(v) * deg for v in np.broadcast_arrays(dec1[:, None], dec2))
    with np.errstate(invalid="ignore"):
        d = angular_separation(lon1, lat1, lon2, lat2) / (deg / 3600)
        ok1 = np.isfinite(ra1) & np.isfinite(dec1) & (np.abs(dec1) <= 90)
        ok2 = np.isfinite(ra2) & np.isfinite(dec2) & (np.abs(dec2) <= 90)
    d[~(ok1[:, None] & ok2[None, :]) | ~np.isfinite(d)] = np.inf
    i, j = np.nonzero(d <= radius)
    order = np.lexsort((j, i, d[i, j]))
    used1, used2, out = set(), set(), []
    for a, b in zip(i[order].tolist(), j[order].tolist()):
        if a not in used1 and b not in used2:
            used1.add(a)
            used2.add(b)
            out.append((a, b))
    out.sort()
    return out, np.array([d[a, b] for a, b in out])


def assert_same_as_brute_force(ra1, dec1, ra2, dec2, radius):
    i, j, sep = match(ra1, dec1, ra2, dec2, radius)
    pairs, ref_sep = brute_force_match(ra1, dec1, ra2, dec2, radius)
    assert list(zip(i.tolist(), j.tolist())) == pairs
    np.testing.assert_array_equal(sep, ref_sep)  # the same floats, not only close
    return len(pairs)


def synthetic(n=2000, seed=0):
    """Catalogue A, catalogue B with known counterparts, duplicates and decoys."""
    rng = np.random.default_rng(seed)
    # a 0.3 deg field on a grid with jitter: every A source > 10" from the others
    side = int(np.ceil(np.sqrt(n)))
    gx, gy = np.meshgrid(np.arange(side), np.arange(side))
    ra_a = 80.0 + (gx.ravel()[:n] * 15 + rng.uniform(-2, 2, n)) * ARCSEC / np.cos(np.radians(-5))
    dec_a = -5.0 + (gy.ravel()[:n] * 15 + rng.uniform(-2, 2, n)) * ARCSEC
    has = rng.random(n) < 0.8
    ia = np.flatnonzero(has)
    r = rng.uniform(0, 0.4, ia.size)
    t = rng.uniform(0, 2 * np.pi, ia.size)
    ra_b, dec_b = offset(ra_a[ia], dec_a[ia], r * np.cos(t), r * np.sin(t))
    truth = dict(zip(ia, np.arange(ia.size)))
    # duplicates in B: a second entry 0.6-0.9" from some matched A sources (never the match)
    dup = rng.choice(ia, 150, replace=False)
    r2 = rng.uniform(0.6, 0.9, dup.size)
    t2 = rng.uniform(0, 2 * np.pi, dup.size)
    ra_d, dec_d = offset(ra_a[dup], dec_a[dup], r2 * np.cos(t2), r2 * np.sin(t2))
    # decoys: 3-6" from A sources, beyond the 1" radius
    dec_src = rng.choice(n, 200, replace=False)
    r3 = rng.uniform(3, 6, dec_src.size)
    ra_x, dec_x = offset(ra_a[dec_src], dec_a[dec_src], r3, 0)
    ra_b = np.concatenate([ra_b, ra_d, ra_x])
    dec_b = np.concatenate([dec_b, dec_d, dec_x])
    perm = rng.permutation(ra_b.size)  # shuffle B; remap the truth
    inv = np.argsort(perm)
    ra_b, dec_b = ra_b[perm], dec_b[perm]
    truth = {a: inv[b] for a, b in truth.items()}
    return ra_a, dec_a, ra_b, dec_b, truth


# ---------------------------------------------------------------------------
# match()
# ---------------------------------------------------------------------------
def test_match_recovers_truth_with_duplicates_and_decoys():
    ra_a, dec_a, ra_b, dec_b, truth = synthetic()
    i, j, sep = match(ra_a, dec_a, ra_b, dec_b, 1.0)
    assert dict(zip(i.tolist(), j.tolist())) == {int(a): int(b) for a, b in truth.items()}
    assert np.all(np.diff(i) > 0) and len(set(j)) == len(j)
    assert i.dtype == np.int64 and j.dtype == np.int64
    from astropy.coordinates import SkyCoord

    ref = SkyCoord(ra_a[i], dec_a[i], unit="deg").separation(
        SkyCoord(ra_b[j], dec_b[j], unit="deg")).arcsec
    np.testing.assert_allclose(sep, ref, atol=1e-6)
    assert sep.max() <= 0.4 + 1e-9
    # symmetric
    j2, i2, _ = match(ra_b, dec_b, ra_a, dec_a, 1.0)
    assert sorted(zip(i2.tolist(), j2.tolist())) == sorted(zip(i.tolist(), j.tolist()))


def test_greedy_nearest_pairs_first():
    # b1 -- 0.5" -- a1 -- 0.3" -- b2 -- 0.2" -- a2 ... a2 takes b2, a1 falls back to b1
    ra0, dec0 = 10.0, 20.0
    a = np.array([0.0, 0.5])
    b = np.array([-0.5, 0.3])
    ra_a, dec_a = offset(ra0, dec0, a, 0 * a)
    ra_b, dec_b = offset(ra0, dec0, b, 0 * b)
    i, j, sep = match(ra_a, dec_a, ra_b, dec_b, 1.0)
    assert i.tolist() == [0, 1] and j.tolist() == [0, 1]
    np.testing.assert_allclose(sep, [0.5, 0.2], atol=1e-6)
    # with a 0.4" radius a1 has no counterpart left
    i, j, _ = match(ra_a, dec_a, ra_b, dec_b, 0.4)
    assert i.tolist() == [1] and j.tolist() == [1]


@pytest.mark.parametrize("seed", range(6))
def test_match_equals_brute_force_in_crowded_fields(seed):
    rng = np.random.default_rng(seed)
    n1, n2 = rng.integers(0, 150, 2)
    box = 10 * ARCSEC  # very crowded: many competing pairs
    ra1, dec1 = 200 + rng.uniform(0, box, n1), 40 + rng.uniform(0, box, n1)
    ra2, dec2 = 200 + rng.uniform(0, box, n2), 40 + rng.uniform(0, box, n2)
    ra2[:3] = ra1[:3] if n1 >= 3 and n2 >= 3 else ra2[:3]  # exact coincidences
    assert_same_as_brute_force(ra1, dec1, ra2, dec2, 2.0)


def tie_heavy_case(rng):
    """Two small lists with many equal separations: positions on a coarse grid, a few
    distinct positions repeated many times, a dense cluster, a 1-D lattice or a sparse
    field; shared positions, NaN/inf entries, |dec| > 90, RA past 360, near a pole; the
    radius often a multiple of the grid step (pairs at the radius)."""
    kind = rng.integers(0, 5)
    n1, n2 = rng.integers(0, 120, 2)
    ra0 = float(rng.choice([10.0, 200.0, 359.9999]))
    dec0 = float(rng.choice([0.0, 40.0, -89.9995, 89.9999]))
    step = float(rng.choice([0.25, 0.5, 1.0]))
    cells = int(rng.integers(1, 8))
    cosd = max(np.cos(np.radians(dec0)), 1e-3)

    def positions(n):
        if kind == 0:  # coarse grid
            gx, gy = rng.integers(0, cells, n), rng.integers(0, cells, n)
            return ra0 + gx * step * ARCSEC / cosd, dec0 + gy * step * ARCSEC
        if kind == 1:  # a few positions, many duplicates
            k = rng.integers(1, 4)
            r, d = ra0 + rng.uniform(0, 3, k) * ARCSEC, dec0 + rng.uniform(0, 3, k) * ARCSEC
            w = rng.integers(0, k, n)
            return r[w], d[w]
        if kind == 2:  # dense cluster
            return ra0 + rng.uniform(0, 1.5, n) * ARCSEC, dec0 + rng.uniform(0, 1.5, n) * ARCSEC
        if kind == 3:  # 1-D lattice
            return ra0 + rng.integers(0, 3 * cells, n) * step * ARCSEC, np.full(n, dec0)
        return ra0 + rng.uniform(0, 20, n) * ARCSEC, dec0 + rng.uniform(0, 20, n) * ARCSEC

    ra1, dec1 = positions(n1)
    ra2, dec2 = positions(n2)
    if rng.random() < 0.3 and n1 and n2:  # positions shared by the two lists
        m = min(n1, n2, rng.integers(1, 10))
        k = rng.integers(0, n1, m)
        ra2[:m], dec2[:m] = ra1[k], dec1[k]
    for ra, dec in ((ra1, dec1), (ra2, dec2)):
        if rng.random() < 0.2 and len(ra):
            ra[rng.integers(0, len(ra), 3)] = np.nan
        if rng.random() < 0.1 and len(ra):
            dec[rng.integers(0, len(ra), 2)] = np.inf
    radius = float(rng.choice([step, 2 * step, 1.0, 0.7, 3.0]))
    return ra1, dec1, ra2, dec2, radius


@pytest.mark.parametrize("kmax", [None, 2, 5])
@pytest.mark.parametrize("seed", range(8))
def test_match_equals_brute_force_with_heavy_ties(seed, kmax, monkeypatch):
    """Exactly the pairs (and separation floats) of the brute-force greedy, case by case.
    A small ``_KMAX`` sends most positions through the crowded (sequential) path."""
    import ztfimg.catalog as catalog

    if kmax is not None:
        monkeypatch.setattr(matching, "_KMAX", kmax)
    rng = np.random.default_rng(1000 + seed)
    npairs = sum(assert_same_as_brute_force(*tie_heavy_case(rng)) for _ in range(25))
    assert npairs > 0


def test_match_duplicates_in_index_order():
    # P at three indices of list 1 and two of list 2, Q once in each; far apart
    ra1 = np.array([10.0, 20.0, 10.0, 10.0])
    ra2 = np.array([10.0, 10.0, 20.0])
    i, j, sep = match(ra1, np.zeros(4), ra2, np.zeros(3), 1.0)
    assert i.tolist() == [0, 1, 2] and j.tolist() == [0, 2, 1] and (sep == 0).all()
    # a duplicated position competes with a slightly closer pair
    ra_a, dec_a = offset(50.0, 10.0, np.array([0.0, 0.0, 0.3]), np.zeros(3))
    ra_b, dec_b = offset(50.0, 10.0, np.array([0.35, 0.35]), np.zeros(2))
    i, j, _ = match(ra_a, dec_a, ra_b, dec_b, 1.0)
    assert i.tolist() == [0, 2] and j.tolist() == [1, 0]   # a2 takes b0 (closest), a0 b1


def test_match_pair_exactly_at_radius():
    ra1, dec1, ra2, dec2 = [30.0], [5.0], [30.0 + 0.8 * ARCSEC], [5.0 + 0.3 * ARCSEC]
    _, _, sep = match(ra1, dec1, ra2, dec2, 2.0)
    r = float(sep[0])
    assert len(match(ra1, dec1, ra2, dec2, r)[0]) == 1  # separation <= radius
    assert len(match(ra1, dec1, ra2, dec2, np.nextafter(r, 0))[0]) == 0


def test_match_identical_positions_fast():
    n = 2000
    t0 = time.perf_counter()
    i, j, sep = match(np.full(n, 150.0), np.full(n, 30.0), np.full(n, 150.0),
                      np.full(n, 30.0), 1.0)
    elapsed = time.perf_counter() - t0
    # every separation ties at 0: the index tie-break pairs k with k
    assert i.tolist() == list(range(n)) and j.tolist() == list(range(n)) and (sep == 0).all()
    assert elapsed < 10  # was ~190 s (cubic); now milliseconds
    # identical positions among unrelated ones, lists of different lengths
    rng = np.random.default_rng(5)
    ra1 = np.concatenate([np.full(300, 150.0), 150 + rng.uniform(0, 5, 50) * ARCSEC])
    dec1 = np.concatenate([np.full(300, 30.0), 30 + rng.uniform(0, 5, 50) * ARCSEC])
    ra2 = np.concatenate([150 + rng.uniform(0, 5, 80) * ARCSEC, np.full(200, 150.0)])
    dec2 = np.concatenate([30 + rng.uniform(0, 5, 80) * ARCSEC, np.full(200, 30.0)])
    p1, p2 = rng.permutation(len(ra1)), rng.permutation(len(ra2))
    assert_same_as_brute_force(ra1[p1], dec1[p1], ra2[p2], dec2[p2], 2.0) == 280


@pytest.mark.parametrize("kmax", [None, 3])
def test_match_dense_cluster_and_lattice(kmax, monkeypatch):
    """Hundreds of candidates per position, and a lattice whose index order makes the
    vectorised rounds take one pair per round: both exact, both quick."""
    import ztfimg.catalog as catalog

    if kmax is not None:
        monkeypatch.setattr(matching, "_KMAX", kmax)
    rng = np.random.default_rng(11)

    def disc(m):  # uniform in a disc of 1" diameter
        r, t = 0.5 * np.sqrt(rng.uniform(0, 1, m)), rng.uniform(0, 2 * np.pi, m)
        return offset(80.0, -20.0, r * np.cos(t), r * np.sin(t))

    assert assert_same_as_brute_force(*disc(400), *disc(300), 1.0) == 300
    # a lattice, a_k at 2k and b_k at 2k+1 (units of 0.1"), radius 0.15": each position
    # has two candidates at (nearly) equal separations
    n = 300
    ra_a, dec_a = offset(10.0, 0.0, 0.2 * np.arange(n), np.zeros(n))
    ra_b, dec_b = offset(10.0, 0.0, 0.2 * np.arange(n) + 0.1, np.zeros(n))
    assert assert_same_as_brute_force(ra_a, dec_a, ra_b, dec_b, 0.15) > 0.8 * n
    # a chain: a_0 b_0 a_1 b_1 ... on a line with gaps shrinking from 0.3" to 0.2", radius
    # 0.31": every position's best is its right neighbour, only the last pair is mutual, so
    # the vectorised rounds would take one pair per round; the greedy pairs a_k with b_k
    for n in (300, 20_000):
        gaps = np.linspace(0.3, 0.2, 2 * n - 1)
        x = np.concatenate([[0.0], np.cumsum(gaps)])
        ra, dec = offset(10.0, 0.0, x, np.zeros(2 * n))
        t0 = time.perf_counter()
        i, j, _ = match(ra[0::2], dec[0::2], ra[1::2], dec[1::2], 0.31)
        assert time.perf_counter() - t0 < 20
        assert i.tolist() == list(range(n)) and j.tolist() == list(range(n))
        if n == 300:
            assert_same_as_brute_force(ra[0::2], dec[0::2], ra[1::2], dec[1::2], 0.31)


def test_nan_coordinates_never_match():
    ra1 = np.array([10.0, np.nan, 10.0, np.inf])
    dec1 = np.array([0.0, 0.0, np.nan, 0.0])
    ra2 = np.array([np.nan, 10.0, 10.0])
    dec2 = np.array([0.0, np.nan, 0.0])
    i, j, sep = match(ra1, dec1, ra2, dec2, 5.0)
    assert i.tolist() == [0] and j.tolist() == [2] and sep[0] == pytest.approx(0, abs=1e-9)
    i, j, sep = match([np.nan], [np.nan], [np.nan], [np.nan], 1.0)
    assert len(i) == len(j) == len(sep) == 0


def test_empty_inputs():
    for a, b in (([], [1.0]), ([1.0], []), ([], [])):
        i, j, sep = match(a, a, b, b, 1.0)
        assert len(i) == len(j) == len(sep) == 0
        assert i.dtype == np.int64 and sep.dtype == np.float64


def test_ra_wrap_and_pole():
    i, j, sep = match([359.99999], [0.0], [0.00001], [0.0], 1.0)
    assert i.tolist() == [0] and sep[0] == pytest.approx(0.072, abs=1e-4)
    i, j, sep = match([0.0], [89.99999], [180.0], [89.99999], 1.0)
    assert i.tolist() == [0] and sep[0] == pytest.approx(0.072, abs=1e-4)


def test_bad_match_input():
    with pytest.raises(InvalidParameterError):
        match([1.0], [1.0], [1.0], [1.0], 0)
    with pytest.raises(InvalidParameterError):
        match([1.0], [1.0], [1.0], [1.0], "far")
    with pytest.raises(ShapeMismatchError):
        match([1.0, 2.0], [1.0], [1.0], [1.0], 1.0)


def test_radius_quantity():
    import astropy.units as u

    i, _, _ = match([10.0], [0.0], [10.0 + 1.5 * ARCSEC], [0.0], 2 * u.arcsec)
    assert i.tolist() == [0]
    i, _, _ = match([10.0], [0.0], [10.0 + 1.5 * ARCSEC], [0.0], 0.03 * u.arcmin)
    assert i.tolist() == [0]


# ---------------------------------------------------------------------------
# CatalogCollection
# ---------------------------------------------------------------------------
@pytest.fixture
def cats():
    ra_a, dec_a, ra_b, dec_b, truth = synthetic(500, seed=3)
    rng = np.random.default_rng(1)
    src = pd.DataFrame({"ra": ra_a, "dec": dec_a, "mag": rng.uniform(14, 20, ra_a.size),
                        "name": [f"S{k:04d}" for k in range(ra_a.size)]},
                       index=pd.Index(np.arange(ra_a.size) + 1000, name="srcid"))
    ps1 = pd.DataFrame({"ra": ra_b, "dec": dec_b, "mag": rng.uniform(14, 20, ra_b.size),
                        "name": [f"PSO J{k:06d}" for k in range(ra_b.size)]})
    return src, ps1, truth


def test_collection_basics(cats):
    src, ps1, _ = cats
    c = CatalogCollection()
    c.add("sources", src)
    c.add("ps1cat", ps1)
    assert c.labels == ["sources", "ps1"]
    assert "ps1" in c and "ps1cat" in c and "gaia" not in c and 3 not in c
    assert len(c) == 2 and list(c) == ["sources", "ps1"]
    pd.testing.assert_frame_equal(c.get("ps1cat"), c.get("ps1"))
    pd.testing.assert_frame_equal(c["ps1"], c.get("ps1"))
    handed = c.get("ps1")
    handed["ra"] = 0.0                      # a copy: the stored catalogue is untouched
    assert (c.get("ps1")["ra"] != 0).all() and c.get("ps1") is not c.get("ps1")
    assert "ps1: " in repr(c)
    removed = c.remove("ps1cat")
    assert len(removed) == len(ps1) and "ps1" not in c
    with pytest.raises(CatalogError, match="no catalogue labelled 'ps1'"):
        c.get("ps1")
    with pytest.raises(CatalogError):
        c.remove("ps1")
    c.add("ps1", ps1)
    with pytest.raises(CatalogError, match="already"):
        c.add("ps1", ps1, overwrite=False)
    c2 = CatalogCollection({"a": src})
    assert c2.labels == ["a"]


def test_collection_never_mutates_and_copies(cats):
    src, ps1, _ = cats
    before = src.copy()
    c = CatalogCollection()
    c.add("sources", src)
    c.add("ps1", ps1)
    c.match("sources", "ps1")
    c.get_matched_entries("mag", "sources", "ps1")
    c.get_isolated("sources", 5.0)
    pd.testing.assert_frame_equal(src, before)
    src.loc[src.index[0], "ra"] = np.nan  # caller edits later: the collection is unaffected
    assert np.isfinite(c.get("sources")["ra"].iloc[0])


def test_collection_missing_columns():
    c = CatalogCollection()
    with pytest.raises(CatalogError) as exc:
        c.add("x", pd.DataFrame({"RA": [1.0], "DEC": [2.0]}))
    assert "ra" in str(exc.value) and "dec" in str(exc.value)
    c.add("x", pd.DataFrame({"RA": [1.0], "DEC": [2.0]}), ra="RA", dec="DEC")
    c.add("y", pd.DataFrame({"ra": [1.0], "dec": [2.0], "flux": [3.0]}))
    with pytest.raises(CatalogError, match="'x' lacks column.*flux"):
        c.get_matched_entries(["flux"], "x", "y")
    with pytest.raises(CatalogError):
        c.add("z", [1, 2, 3])


def test_collection_match_frame(cats):
    src, ps1, truth = cats
    c = CatalogCollection({"sources": src, "ps1": ps1})
    m = c.match("sources", "ps1cat", radius=1.0)
    assert list(m.columns) == ["sources_index", "ps1_index", "separation"]
    expect = {src.index[a]: b for a, b in truth.items()}
    assert dict(zip(m.sources_index, m.ps1_index)) == expect
    assert (m.separation <= 1.0).all()


def test_get_matched_entries_string_ids(cats):
    src, ps1, truth = cats
    c = CatalogCollection({"sources": src, "ps1": ps1})
    e = c.get_matched_entries(["name", "mag"], "sources", "ps1", radius=1.0)
    assert list(e.columns) == ["sources_index", "ps1_index", "sources_name", "ps1_name",
                               "sources_mag", "ps1_mag", "separation"]
    assert len(e) == len(truth)
    for _, row in e.sample(20, random_state=0).iterrows():
        assert src.loc[row.sources_index, "name"] == row.sources_name
        assert ps1.loc[row.ps1_index, "name"] == row.ps1_name
        assert ps1.loc[row.ps1_index, "mag"] == row.ps1_mag
    assert e["ps1_name"].map(type).eq(str).all()


def test_string_and_extension_dtypes_survive():
    a = pd.DataFrame({"ra": [1.0, 2.0], "dec": [0.0, 0.0],
                      "id": pd.array(["x", "y"], dtype="string"),
                      "flag": pd.array([1, None], dtype="Int64")})
    c = CatalogCollection({"a": a, "b": a})
    e = c.get_matched_entries(["id", "flag"], "a", "b", radius=0.5)
    assert e["a_id"].dtype == "string" and e["b_flag"].dtype == "Int64"
    assert e["a_id"].tolist() == ["x", "y"]
    # self-match gets distinct column names
    c2 = CatalogCollection({"a": a})
    e2 = c2.get_matched_entries("id", "a", "a", radius=0.5)
    assert {"a1_id", "a2_id", "a1_index", "a2_index"} <= set(e2.columns)


def test_get_isolated():
    ra0, dec0 = 30.0, -10.0
    ra, dec = offset(ra0, dec0, np.array([0.0, 2.0, 20.0, 40.0, 40.0, 60.0]), np.zeros(6))
    ra = np.append(ra, np.nan)
    dec = np.append(dec, dec0)
    df = pd.DataFrame({"ra": ra, "dec": dec}, index=list("abcdefg"))
    c = CatalogCollection({"s": df})
    iso = c.get_isolated("s", 5.0)
    assert iso.dtype == bool and list(iso.index) == list("abcdefg")
    # a,b within 2"; d,e exact duplicates; c,f isolated; g has NaN coordinates
    assert iso.to_dict() == {"a": False, "b": False, "c": True, "d": False, "e": False,
                             "f": True, "g": False}
    assert c.get_isolated("s", 1.0)[["a", "b"]].all()
    with pytest.raises(InvalidParameterError):
        c.get_isolated("s", -1)


@pytest.mark.parametrize("seed", range(4))
def test_get_isolated_equals_brute_force(seed):
    from astropy.coordinates import angular_separation

    rng = np.random.default_rng(50 + seed)
    for _ in range(10):
        ra, dec, _, _, radius = tie_heavy_case(rng)
        df = pd.DataFrame({"ra": ra, "dec": dec})
        iso = CatalogCollection({"s": df}).get_isolated("s", radius).to_numpy()
        deg = np.pi / 180
        lon1, lon2 = (np.ascontiguousarray(v) * deg for v in np.broadcast_arrays(ra[:, None], ra))
        lat1, lat2 = (np.ascontiguousarray(v) * deg
                      for v in np.broadcast_arrays(dec[:, None], dec))
        with np.errstate(invalid="ignore"):
            d = angular_separation(lon1, lat1, lon2, lat2) / (deg / 3600)
            ok = np.isfinite(ra) & np.isfinite(dec) & (np.abs(dec) <= 90)
        d[~(ok[:, None] & ok[None, :])] = np.inf
        np.fill_diagonal(d, np.inf)
        np.testing.assert_array_equal(iso, ok & ~(d <= radius).any(axis=1))


def test_get_isolated_identical_positions_fast():
    n = 50_000
    ra = np.concatenate([np.full(n, 150.0), [150.1, 150.2, 150.2]])
    dec = np.full(n + 3, 30.0)
    c = CatalogCollection({"s": pd.DataFrame({"ra": ra, "dec": dec})})
    t0 = time.perf_counter()
    iso = c.get_isolated("s", 1.0)
    assert time.perf_counter() - t0 < 10  # was quadratic (a KD-tree leaf of n points)
    assert not iso.iloc[:n].any() and iso.iloc[n] and not iso.iloc[n + 1:].any()


def test_empty_catalogues():
    empty = pd.DataFrame({"ra": pd.Series([], dtype=float), "dec": pd.Series([], dtype=float),
                          "mag": pd.Series([], dtype=float)})
    full = pd.DataFrame({"ra": [1.0], "dec": [1.0], "mag": [15.0]})
    c = CatalogCollection({"e": empty, "f": full})
    m = c.match("e", "f")
    assert len(m) == 0 and list(m.columns) == ["e_index", "f_index", "separation"]
    e = c.get_matched_entries("mag", "f", "e")
    assert len(e) == 0 and "f_mag" in e.columns and "e_mag" in e.columns
    assert len(c.get_isolated("e", 1.0)) == 0
    assert c.get_isolated("f", 1.0).tolist() == [True]


def test_astropy_table_and_cache_invalidation():
    from astropy.table import Table

    t = Table({"ra": [10.0, 11.0], "dec": [0.0, 0.0]})
    c = CatalogCollection()
    c.add("a", t)
    c.add("b", pd.DataFrame({"ra": [10.0], "dec": [0.0]}))
    assert len(c.match("a", "b")) == 1
    c.add("b", pd.DataFrame({"ra": [11.0, 10.0], "dec": [0.0, 0.0]}))  # replaced: new answer
    m = c.match("a", "b")
    assert m.a_index.tolist() == [0, 1] and m.b_index.tolist() == [1, 0]


def test_million_rows():
    rng = np.random.default_rng(7)
    n = 1_000_000
    ra = rng.uniform(0, 4, n)
    dec = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-2)), np.sin(np.radians(2)), n)))
    ra2, dec2 = offset(ra, dec, rng.normal(0, 0.1, n), rng.normal(0, 0.1, n))
    a = pd.DataFrame({"ra": ra, "dec": dec})
    b = pd.DataFrame({"ra": ra2, "dec": dec2})
    c = CatalogCollection({"a": a, "b": b})
    t0 = time.perf_counter()
    m = c.match("a", "b", radius=1.0)
    elapsed = time.perf_counter() - t0
    # with ~1 source per 56 arcsec^2 a few true pairs swap; nearly all are recovered
    assert (m.a_index.to_numpy() == m.b_index.to_numpy()).mean() > 0.995
    assert len(m) > 0.995 * n
    assert elapsed < 20
