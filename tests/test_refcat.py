"""Tests of ztfimg.refcat: VizieR access through astroquery (offline), tile cache.

No network: the HTTP transport of ``requests`` (``HTTPAdapter.send``) is replaced
by :class:`FakeVizier`, which answers astroquery's real POST requests with
VizieR VOTable bodies (recorded files, or ``to_vizier_votable`` from
``tests/support/vizier_votable.py`` on a truth catalogue).  Everything above the
transport -- astroquery's payload building, ``requests.Session``, response hooks,
``raise_for_status`` and astroquery's VOTable parsing -- is the real code.  Sockets
are also blocked.
"""

import multiprocessing as mp
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from support.vizier_votable import to_vizier_votable
from ztfimg import refcat
from ztfimg.errors import (CatalogError, FileFormatError, InvalidParameterError, OfflineError,
                           ZTFImgError)

DATA = Path(__file__).parent / "data" / "refcat"


# ---------------------------------------------------------------------------
# offline machinery
# ---------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """Point the cache to tmp; sockets are blocked by conftest.py's autouse guard."""
    monkeypatch.setenv("ZTFIMG_CACHE", str(tmp_path / "envcache"))
    monkeypatch.delenv("ZTFIMG_OFFLINE", raising=False)


def _sep_deg(ra1, dec1, ra2, dec2):
    r1, d1, r2, d2 = (np.radians(np.asarray(v, float)) for v in (ra1, dec1, ra2, dec2))
    s = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(s, 0, 1))))


class FakeVizier:
    """Answers VizieR POSTs like the service: cone cut of a truth table, as VOTable.

    ``truth`` maps VizieR table names to normalised DataFrames; ``bodies`` maps
    them to fixed recorded bodies (served whatever the cone).  Every request
    is recorded in ``self.requests`` as a dict of the astroquery script lines.
    """

    def __init__(self, truth=None, bodies=None, fail=None):
        self.truth = truth or {}
        self.bodies = bodies or {}
        self.fail = fail
        self.requests = []

    @staticmethod
    def parse_script(body):
        if isinstance(body, bytes):
            body = body.decode()
        out = {}
        for line in body.split("\n"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip() if _ else None
        return out

    def send(self, adapter, request, **kwargs):
        assert request.method == "POST", request.method
        assert re.match(r"https://[^/]+/viz-bin/votable$", request.url), request.url
        q = self.parse_script(request.body)
        self.requests.append(q)
        if self.fail is not None:
            raise self.fail
        table = q["-source"]
        if table in self.bodies:
            body = self.bodies[table]
        else:
            m = re.fullmatch(r"([0-9.]+)([+-][0-9.]+)", q["-c"])
            ra, dec = float(m.group(1)), float(m.group(2))
            key = next(k for k in q if k.startswith("-c.r"))
            radius = float(q[key]) / {"d": 1, "m": 60, "s": 3600}[key[-1]]
            df = self.truth[table]
            sub = df[_sep_deg(ra, dec, df["ra"], df["dec"]) <= radius]
            cols = q["-out"].split(",") if q.get("-out") else None
            body = to_vizier_votable(sub, table, columns=cols,
                                     query={"-c": q["-c"], key: q[key]})
        resp = requests.Response()
        resp.status_code = 200
        resp._content = body
        resp.headers["Content-Type"] = "text/xml;content=x-votable"
        resp.encoding = "UTF-8"
        resp.url = request.url
        resp.request = request
        resp.reason = "OK"
        return resp

    def install(self, monkeypatch):
        fake = self

        def send(adapter, request, **kwargs):
            return fake.send(adapter, request, **kwargs)

        monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
        return self


def make_ps1_truth(ra0, dec0, radius, n, seed=1):
    rng = np.random.default_rng(seed)
    rho = radius * np.sqrt(rng.uniform(0, 1, n))
    th = rng.uniform(0, 2 * np.pi, n)
    dec = np.clip(dec0 + rho * np.sin(th), -90, 90)
    ra = (ra0 + rho * np.cos(th) / np.cos(np.radians(dec))) % 360
    df = pd.DataFrame({
        "objid": np.arange(n, dtype=np.int64) * 7919 + 108350001234567890,
        "ra": ra.round(7), "dec": dec.round(7),
        "qual": rng.integers(0, 64, n).astype(np.int16),
    })
    for b in "grizy":
        df[f"{b}mag"] = rng.uniform(13, 22, n).round(4)
        df[f"e_{b}mag"] = rng.uniform(0.001, 0.2, n).round(4)
    df.loc[df.index[::17], ["ymag", "e_ymag"]] = np.nan
    return df


def make_gaia_truth(ra0, dec0, radius, n, seed=2):
    rng = np.random.default_rng(seed)
    rho = radius * np.sqrt(rng.uniform(0, 1, n))
    th = rng.uniform(0, 2 * np.pi, n)
    dec = dec0 + rho * np.sin(th)
    ra = (ra0 + rho * np.cos(th) / np.cos(np.radians(dec))) % 360
    df = pd.DataFrame({
        "source_id": 6917528997577384320 - np.arange(n, dtype=np.int64) * 1_000_003,
        "ra": ra.round(11), "dec": dec.round(11), "ref_epoch": 2016.0,
        "parallax": rng.normal(1, 1, n).round(4), "pmra": rng.normal(0, 20, n).round(3),
        "pmdec": rng.normal(0, 20, n).round(3), "ruwe": rng.uniform(0.8, 2, n).round(3),
    })
    for b in ("G", "BP", "RP"):
        df[f"{b}mag"] = rng.uniform(10, 21, n).round(6)
        df[f"e_{b}mag"] = rng.uniform(0.0002, 0.05, n).round(6)
    df.loc[df.index[::11], ["parallax", "pmra", "pmdec", "ruwe"]] = np.nan
    return df


RA0, DEC0 = 150.1, 2.2


@pytest.fixture
def ps1_truth():
    return make_ps1_truth(RA0, DEC0, 2.0, 3000)


@pytest.fixture
def gaia_truth():
    return make_gaia_truth(RA0, DEC0, 2.0, 1500)


@pytest.fixture
def vizier(monkeypatch, ps1_truth, gaia_truth):
    return FakeVizier({"II/349/ps1": ps1_truth, "I/355/gaiadr3": gaia_truth}).install(monkeypatch)


def expected_cone(truth, ra, dec, radius):
    sel = _sep_deg(ra, dec, truth["ra"], truth["dec"]) <= radius
    return truth[sel]


def assert_same_catalog(got, truth, idcol):
    assert len(got) == len(truth)
    got = got.sort_values(idcol).reset_index(drop=True)
    truth = truth.sort_values(idcol).reset_index(drop=True)
    assert got[idcol].dtype == np.int64
    np.testing.assert_array_equal(got[idcol].to_numpy(), truth[idcol].to_numpy())
    np.testing.assert_allclose(got["ra"], truth["ra"], rtol=0, atol=1e-7)
    np.testing.assert_allclose(got["dec"], truth["dec"], rtol=0, atol=1e-7)
    for c in truth.columns:
        if c in (idcol, "ra", "dec"):
            continue
        np.testing.assert_allclose(got[c].to_numpy(float), truth[c].to_numpy(float),
                                   rtol=0, atol=1e-9, err_msg=c)


# ---------------------------------------------------------------------------
# package layout and names
# ---------------------------------------------------------------------------
def test_public_names_and_no_network_import():
    import subprocess
    import sys

    for name in refcat.__all__:
        assert getattr(refcat, name) is not None, name
    assert not hasattr(refcat, "to_vizier_votable")  # test support, not product code
    code = ("import sys, ztfimg.refcat; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('astroquery', 'requests')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name,canon", [("ps1", "ps1"), ("PS1cat", "ps1"), ("panstarrs", "ps1"),
                                        ("gaia", "gaia"), ("GaiaDR3", "gaia")])
def test_aliases(name, canon):
    assert refcat.resolve_catalog(name) == canon


def test_unknown_catalogue_lists_known_names():
    with pytest.raises(CatalogError) as exc:
        refcat.get_catalog("sdss", RA0, DEC0, 0.1)
    for name in ("ps1", "ps1cat", "panstarrs", "gaia", "gaiadr3"):
        assert name in str(exc.value)
    assert isinstance(exc.value, ZTFImgError) and isinstance(exc.value, ValueError)


# ---------------------------------------------------------------------------
# recorded answers through astroquery's real path
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name,table,idcol", [("ps1", "II/349/ps1", "objid"),
                                              ("gaiadr3", "I/355/gaiadr3", "source_id")])
def test_recorded_response_parses_to_truth(monkeypatch, tmp_path, name, table, idcol):
    body = (DATA / f"vizier_{name}.xml").read_bytes()
    fake = FakeVizier(bodies={table: body}).install(monkeypatch)
    truth = pd.read_csv(DATA / f"{name}_truth.csv")
    got = refcat.get_catalog(name, 150.1, 2.2, 0.2, cache_dir=tmp_path)
    assert list(got.columns) == list(refcat.empty_catalog(name).columns)
    assert_same_catalog(got, truth, idcol)
    assert got[idcol].max() <= np.iinfo(np.int64).max
    # one astroquery request per tile, with the documented payload
    tiles = refcat.cone_tiles(150.1, 2.2, 0.2)
    assert len(fake.requests) == len(tiles)
    q = fake.requests[0]
    assert q["-source"] == table
    assert q["-out.max"] == "unlimited"
    assert set(q["-out"].split(",")) == set(refcat.CATALOGS[refcat.resolve_catalog(name)]
                                            .vizier_columns)
    # NULLs are NaN, never a number
    if name == "ps1":
        assert got["ymag"].isna().sum() == 2 and got["gmag"].isna().sum() == 1
    else:
        assert got["parallax"].isna().sum() == 2 and (got["ref_epoch"] == 2016.0).all()
        assert 6917528997577384320 in set(got["source_id"])


def test_recorded_empty_response(monkeypatch, tmp_path):
    body = (DATA / "vizier_ps1_empty.xml").read_bytes()
    fake = FakeVizier(bodies={"II/349/ps1": body}).install(monkeypatch)
    got = refcat.get_catalog("ps1", 150.0, 80.0, 0.1, cache_dir=tmp_path)
    assert len(got) == 0
    assert list(got.columns) == list(refcat.empty_catalog("ps1").columns)
    assert got["objid"].dtype == np.int64
    n = len(fake.requests)
    # empty tiles are cached as such: no refetch
    again = refcat.get_catalog("ps1", 150.0, 80.0, 0.1, cache_dir=tmp_path)
    assert len(again) == 0 and len(fake.requests) == n


def test_writer_output_is_valid_votable():
    from astropy.io import votable

    truth = make_gaia_truth(10, -30, 0.1, 50)
    body = to_vizier_votable(truth, "gaia")
    import io

    tab = votable.parse(io.BytesIO(body), verify="exception").get_first_table()
    assert tab.name == "I/355/gaiadr3"
    assert tab.get_field_by_id_or_name("RA_ICRS").unit == "deg"
    assert tab.get_field_by_id_or_name("Source").ucd == "meta.id;meta.main"
    assert tab.array["Source"].dtype == np.int64


# ---------------------------------------------------------------------------
# live-like cone queries and the cache
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name,idcol", [("ps1", "objid"), ("gaia", "source_id")])
def test_cone_equals_truth_and_second_call_is_free(vizier, tmp_path, name, idcol,
                                                   ps1_truth, gaia_truth):
    truth = ps1_truth if name == "ps1" else gaia_truth
    got = refcat.get_catalog(name, RA0, DEC0, 0.7, cache_dir=tmp_path)
    assert_same_catalog(got, expected_cone(truth, RA0, DEC0, 0.7), idcol)
    ntiles = len(refcat.cone_tiles(RA0, DEC0, 0.7))
    assert len(vizier.requests) == ntiles
    files = list((tmp_path / name / "hpx64").glob("*.parquet"))
    assert len(files) == ntiles
    # second request: no network at all, same answer, also offline
    again = refcat.get_catalog(name, RA0, DEC0, 0.7, cache_dir=tmp_path, offline=True)
    assert len(vizier.requests) == ntiles
    pd.testing.assert_frame_equal(got, again)
    # a smaller cone inside: free as well
    inner = refcat.get_catalog(name, RA0 + 0.1, DEC0, 0.3, cache_dir=tmp_path)
    assert len(vizier.requests) == ntiles
    assert_same_catalog(inner, expected_cone(truth, RA0 + 0.1, DEC0, 0.3), idcol)


def test_overlapping_frames_share_tiles(vizier, tmp_path, ps1_truth):
    refcat.get_catalog("ps1", RA0, DEC0, 0.6, cache_dir=tmp_path)
    n1 = len(vizier.requests)
    t1 = set(refcat.cone_tiles(RA0, DEC0, 0.6))
    t2 = set(refcat.cone_tiles(RA0 + 0.5, DEC0, 0.6))
    got = refcat.get_catalog("ps1", RA0 + 0.5, DEC0, 0.6, cache_dir=tmp_path)
    assert len(vizier.requests) - n1 == len(t2 - t1) < len(t2)
    assert_same_catalog(got, expected_cone(ps1_truth, RA0 + 0.5, DEC0, 0.6), "objid")


def test_env_cache_dir_and_offline_switch(vizier, monkeypatch, tmp_path):
    monkeypatch.setenv("ZTFIMG_CACHE", str(tmp_path / "root"))
    assert refcat.get_cache_dir() == tmp_path / "root" / "catalogs"
    monkeypatch.delenv("ZTFIMG_CACHE")
    assert refcat.get_cache_dir() == Path.home() / ".cache" / "ztfimg" / "catalogs"
    monkeypatch.setenv("ZTFIMG_CACHE", str(tmp_path / "root"))
    monkeypatch.setenv("ZTFIMG_OFFLINE", "1")
    assert refcat.is_offline() and not refcat.is_offline(False)
    with pytest.raises(OfflineError):
        refcat.get_catalog("ps1", RA0, DEC0, 0.2)
    assert vizier.requests == []
    got = refcat.get_catalog("ps1", RA0, DEC0, 0.2, offline=False)  # explicit beats env
    assert len(got) > 0
    assert list((tmp_path / "root" / "catalogs" / "ps1").rglob("*.parquet"))
    refcat.get_catalog("ps1", RA0, DEC0, 0.2)  # env offline, now cached
    monkeypatch.setenv("ZTFIMG_OFFLINE", "0")
    assert not refcat.is_offline()


def test_offline_without_cache_names_tiles(vizier, tmp_path):
    with pytest.raises(OfflineError) as exc:
        refcat.get_catalog("gaiadr3", RA0, DEC0, 0.5, cache_dir=tmp_path, offline=True)
    msg = str(exc.value)
    tiles = refcat.cone_tiles(RA0, DEC0, 0.5)
    for t in tiles:
        assert refcat.tile_path("gaia", t, cache_dir=tmp_path).name in msg
    assert "I/355/gaiadr3" in msg and "ingest" in msg and "offline=False" in msg
    assert isinstance(exc.value, ConnectionError)
    assert vizier.requests == []


def test_network_failure_is_offline_error(monkeypatch, tmp_path):
    FakeVizier(fail=requests.ConnectionError("no route to host")).install(monkeypatch)
    with pytest.raises(OfflineError, match="cannot reach VizieR"):
        refcat.get_catalog("ps1", RA0, DEC0, 0.1, cache_dir=tmp_path)


def test_non_votable_answer_is_catalog_error(monkeypatch, tmp_path):
    FakeVizier(bodies={"II/349/ps1": b"<html>maintenance</html>"}).install(monkeypatch)
    with pytest.raises(CatalogError, match="not a VOTable"):
        refcat.get_catalog("ps1", RA0, DEC0, 0.1, cache_dir=tmp_path)


def _corrupt(path, how):
    raw = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(bytes(raw[: len(raw) // 2]))
    elif how == "garbage":
        path.write_bytes(b"not a parquet file at all")
    elif how == "bitflip":  # inside the first data page: caught by the page checksum
        raw[40] ^= 0xFF
        path.write_bytes(bytes(raw))


@pytest.mark.parametrize("how", ["truncate", "garbage", "bitflip"])
def test_corrupt_tile_refetched_online_reported_offline(vizier, tmp_path, ps1_truth, how):
    ra, dec, rad = RA0, DEC0, 0.3
    refcat.get_catalog("ps1", ra, dec, rad, cache_dir=tmp_path)
    tile = refcat.cone_tiles(ra, dec, rad)[0]
    path = refcat.tile_path("ps1", tile, cache_dir=tmp_path)
    _corrupt(path, how)
    with pytest.raises(OfflineError) as exc:
        refcat.get_catalog("ps1", ra, dec, rad, cache_dir=tmp_path, offline=True)
    assert "corrupt" in str(exc.value) and path.name in str(exc.value)
    n = len(vizier.requests)
    with pytest.warns(UserWarning, match="corrupt"):
        got = refcat.get_catalog("ps1", ra, dec, rad, cache_dir=tmp_path)
    assert len(vizier.requests) == n + 1
    assert_same_catalog(got, expected_cone(ps1_truth, ra, dec, rad), "objid")
    refcat.get_catalog("ps1", ra, dec, rad, cache_dir=tmp_path, offline=True)  # repaired


def test_misnamed_tile_is_corrupt(vizier, tmp_path):
    tiles = refcat.cone_tiles(RA0, DEC0, 0.3)
    refcat.get_catalog("ps1", RA0, DEC0, 0.3, cache_dir=tmp_path)
    a = refcat.tile_path("ps1", tiles[0], cache_dir=tmp_path)
    b = refcat.tile_path("ps1", tiles[1], cache_dir=tmp_path)
    os.replace(a, b)  # a tile under another tile's name
    with pytest.raises(OfflineError, match="does not match its name"):
        refcat.get_catalog("ps1", RA0, DEC0, 0.3, cache_dir=tmp_path, offline=True)


def _writer(path, k, barrier, nwrites):
    df = make_ps1_truth(RA0, DEC0, 0.2, 200 + 50 * k, seed=k)
    barrier.wait()
    for _ in range(nwrites):
        refcat.tiles._write_tile(path, df, {"catalog": "ps1", "nside": 64, "ipix": 7})


def test_concurrent_writers_leave_valid_tile(tmp_path):
    path = refcat.tile_path("ps1", 7, cache_dir=tmp_path)
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    nproc, nwrites = 4, 15
    barrier = ctx.Barrier(nproc)
    procs = [ctx.Process(target=_writer, args=(path, k, barrier, nwrites)) for k in range(nproc)]
    for p in procs:
        p.start()
    spec = refcat.CATALOGS["ps1"]
    reads = 0
    while any(p.is_alive() for p in procs):
        if path.exists():  # a reader never sees a partial file
            df = refcat.tiles._read_tile(path, spec, 7, 64)
            assert len(df) in {200 + 50 * k for k in range(nproc)}
            reads += 1
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    df = refcat.tiles._read_tile(path, spec, 7, 64)
    k = (len(df) - 200) // 50
    pd.testing.assert_frame_equal(df, make_ps1_truth(RA0, DEC0, 0.2, 200 + 50 * k, seed=k)
                                  [spec.columns], check_dtype=False)
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp files left
    assert reads > 0


# ---------------------------------------------------------------------------
# empty sky, bad input
# ---------------------------------------------------------------------------
def test_region_without_stars(vizier, tmp_path):
    got = refcat.get_catalog("ps1", 300.0, -60.0, 0.3, cache_dir=tmp_path)
    assert got.empty
    assert list(got.columns) == list(refcat.empty_catalog("ps1").columns)
    assert got["objid"].dtype == np.int64 and got["ra"].dtype == np.float64
    n = len(vizier.requests)
    assert n == len(refcat.cone_tiles(300.0, -60.0, 0.3))
    refcat.get_catalog("ps1", 300.0, -60.0, 0.3, cache_dir=tmp_path, offline=True)
    assert len(vizier.requests) == n


@pytest.mark.parametrize("args", [(RA0, DEC0, -1), (RA0, DEC0, 0), (RA0, 95, 0.1),
                                  (np.nan, DEC0, 0.1), (RA0, DEC0, "wide")])
def test_bad_cone(args, tmp_path):
    with pytest.raises(InvalidParameterError):
        refcat.get_catalog("ps1", *args, cache_dir=tmp_path, offline=True)


def test_bad_nside_and_epoch(tmp_path):
    with pytest.raises(InvalidParameterError):
        refcat.get_catalog("ps1", RA0, DEC0, 0.1, nside=60, cache_dir=tmp_path)
    with pytest.raises(InvalidParameterError, match="proper motion"):
        refcat.get_catalog("ps1", RA0, DEC0, 0.1, epoch=2020.0, cache_dir=tmp_path)


def test_skycoord_and_quantity_accepted(vizier, tmp_path, gaia_truth):
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    c = SkyCoord(RA0 * u.deg, DEC0 * u.deg)
    got = refcat.get_catalog("gaia", c, radius=20 * u.arcmin, cache_dir=tmp_path)
    assert_same_catalog(got, expected_cone(gaia_truth, RA0, DEC0, 1 / 3), "source_id")


def test_ra_wrap_and_pole(monkeypatch, tmp_path):
    truth = pd.concat([make_ps1_truth(0.05, 10.0, 0.5, 800, seed=5),
                       make_ps1_truth(0.0, 89.8, 0.5, 800, seed=6).assign(
                           objid=lambda d: d.objid + 10**12)], ignore_index=True)
    FakeVizier({"II/349/ps1": truth}).install(monkeypatch)
    for ra, dec in ((0.05, 10.0), (359.99, 10.0), (123.0, 89.9)):
        got = refcat.get_catalog("ps1", ra, dec, 0.3, cache_dir=tmp_path)
        assert_same_catalog(got, expected_cone(truth, ra, dec, 0.3), "objid")


def test_cone_tiles_cover_every_point():
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    rng = np.random.default_rng(3)
    for _ in range(60):
        ra, dec, r = rng.uniform(0, 360), rng.uniform(-89.5, 89.5), rng.uniform(0.01, 1.2)
        tiles = set(refcat.cone_tiles(ra, dec, r))
        n = 3000
        rho = r * np.sqrt(rng.uniform(0, 1, n))
        rho[:500] = r * (1 - 1e-9)
        pts = SkyCoord(ra * u.deg, dec * u.deg).directional_offset_by(
            rng.uniform(0, 2 * np.pi, n) * u.rad, rho * u.deg)
        pix = set(refcat.tiles._pixels_of(pts.ra.deg, pts.dec.deg, 64).tolist())
        assert pix <= tiles


# ---------------------------------------------------------------------------
# normalisation and ingest
# ---------------------------------------------------------------------------
def test_normalize_missing_columns_named():
    with pytest.raises(CatalogError) as exc:
        refcat.normalize(pd.DataFrame({"ra": [1.0], "gmag": [15.0]}), "ps1")
    assert "objid" in str(exc.value) and "dec" in str(exc.value)


def test_ids_never_float():
    df = pd.DataFrame({"source_id": [6917528997577384320.0], "ra": [1.0], "dec": [2.0]})
    with pytest.raises(CatalogError, match="lost precision"):
        refcat.normalize(df, "gaia")
    small = refcat.normalize(df.assign(source_id=[12345.0]), "gaia")
    assert small["source_id"].dtype == np.int64 and small["source_id"][0] == 12345
    s = refcat.normalize(df.assign(source_id=["Gaia DR3 1"]), "gaia")
    assert s["source_id"][0] == "Gaia DR3 1"
    nan_id = df.assign(source_id=[np.nan])
    with pytest.raises(CatalogError):
        refcat.normalize(nan_id, "gaia")


def test_normalize_archive_names_and_sentinels():
    mast = pd.DataFrame({"objID": [1, 2], "raMean": [10.0, 370.0], "decMean": [1.0, 2.0],
                         "gMeanPSFMag": [17.0, -999.0], "gMeanPSFMagErr": [0.01, -999.0]})
    out = refcat.normalize(mast, "ps1")
    assert out["gmag"].tolist()[0] == 17.0 and np.isnan(out["gmag"][1])
    assert out["ra"].tolist() == [10.0, 10.0]
    assert out["rmag"].isna().all() and (out["qual"] == 0).all()
    archive = pd.DataFrame({"SOURCE_ID": [5], "ra": [1.0], "dec": [2.0], "pmra": [-3000.0],
                            "phot_g_mean_mag": [15.0], "phot_g_mean_flux_over_error": [1000.0],
                            "ref_epoch": [2016.0]})
    g = refcat.normalize(archive, "gaia")
    assert g["Gmag"][0] == 15.0 and g["pmra"][0] == -3000.0  # not a sentinel
    assert g["e_Gmag"][0] == pytest.approx(2.5 / np.log(10) / 1000)
    assert mast.columns.tolist()[0] == "objID"  # input untouched


@pytest.mark.parametrize("kind", ["dataframe", "table", "parquet", "fits"])
def test_ingest_then_offline(tmp_path, kind):
    from astropy.table import Table

    truth = make_gaia_truth(RA0, DEC0, 1.0, 500)
    viz = truth.rename(columns={"source_id": "Source", "ra": "RA_ICRS", "dec": "DE_ICRS",
                                "parallax": "Plx", "pmra": "pmRA", "pmdec": "pmDE"})
    if kind == "dataframe":
        data = viz
    elif kind == "table":
        data = Table.from_pandas(viz)
    elif kind == "parquet":
        data = tmp_path / "mine.parquet"
        viz.to_parquet(data)
    else:
        data = tmp_path / "mine.fits"
        Table.from_pandas(viz).write(data)
    cache = tmp_path / "cache"
    written = refcat.ingest(data, "gaiadr3", region=(RA0, DEC0, 1.0), cache_dir=cache)
    assert len(written) >= 1 and all(p.exists() for p in written)
    got = refcat.get_catalog("gaia", RA0, DEC0, 0.4, cache_dir=cache, offline=True)
    assert_same_catalog(got, expected_cone(truth, RA0, DEC0, 0.4), "source_id")


def test_ingest_region_serves_its_whole_cone(tmp_path):
    truth = make_ps1_truth(RA0, DEC0, 2.0, 3000)
    written = refcat.ingest(truth, "ps1", region=(RA0, DEC0, 2.0), cache_dir=tmp_path)
    assert written
    inside = refcat.get_catalog("ps1", RA0, DEC0, 0.2, cache_dir=tmp_path, offline=True)
    assert_same_catalog(inside, expected_cone(truth, RA0, DEC0, 0.2), "objid")
    # the edge tiles are partial tiles that know they hold the region's cone
    edge = refcat.get_catalog("ps1", RA0, DEC0, 1.95, cache_dir=tmp_path, offline=True)
    assert_same_catalog(edge, expected_cone(truth, RA0, DEC0, 1.95), "objid")
    with pytest.raises(OfflineError, match="partial"):  # beyond the region: refused
        refcat.get_catalog("ps1", RA0, DEC0, 2.05, cache_dir=tmp_path, offline=True)


def test_ingest_missing_file_and_format(tmp_path):
    from ztfimg.errors import MissingFileError

    with pytest.raises(MissingFileError):
        refcat.ingest(tmp_path / "nope.parquet", "ps1", cache_dir=tmp_path)
    bad = tmp_path / "bad.parquet"
    bad.write_text("garbage")
    with pytest.raises(FileFormatError):
        refcat.ingest(bad, "ps1", cache_dir=tmp_path)


# ---------------------------------------------------------------------------
# ingest coverage: complete and partial tiles, frames served offline
# ---------------------------------------------------------------------------
def _cache_files(cache, name="ps1"):
    return sorted((Path(cache) / name / "hpx64").glob("*"))


def _snapshot(root):
    return {p: p.read_bytes() for p in sorted(Path(root).rglob("*")) if p.is_file()}


def test_ingest_without_region_is_refused(tmp_path):
    # the trap: without a region, ingest used to write every tile the rows touch as
    # complete, although the catalogue covers only a cone of it
    mine = expected_cone(make_ps1_truth(RA0, DEC0, 2.0, 3000), RA0, DEC0, 0.7)
    cache = tmp_path / "cache"
    with pytest.raises(InvalidParameterError, match=r"region=\(ra, dec, radius\)") as exc:
        refcat.ingest(mine, "ps1", cache_dir=cache)
    assert f"{len(mine)} rows within" in str(exc.value)
    assert not cache.exists()


@pytest.mark.parametrize("radius,queries", [
    (0.7, [(0, 0, 0.7), (0, 0, 0.62), (0.05, -0.03, 0.6), (0.5, 0.2, 0.1)]),
    (0.05, [(0, 0, 0.05), (0.01, 0.01, 0.03), (0, 0, 0.002)]),
])
def test_ingest_cone_serves_every_cone_inside_it(tmp_path, radius, queries):
    # the issue: with region=(ra, dec, 0.7) ingest wrote nothing at all (no tile lies
    # inside a 0.7 deg cone) and every query of the region failed offline
    truth = make_ps1_truth(RA0, DEC0, 2.0, 12000)
    region = (RA0, DEC0, radius)
    mine = expected_cone(truth, *region)
    written = refcat.ingest(mine, "ps1", region=region, cache_dir=tmp_path)
    assert {p.name for p in written} == {p.name for p in _cache_files(tmp_path)}
    for dra, ddec, r in queries:
        got = refcat.get_catalog("ps1", RA0 + dra, DEC0 + ddec, r, cache_dir=tmp_path,
                                 offline=True)
        assert_same_catalog(got, expected_cone(truth, RA0 + dra, DEC0 + ddec, r), "objid")
    # one step beyond the region: an OfflineError naming the partial tile and its cone,
    # never an answer with the stars outside the region missing
    with pytest.raises(OfflineError) as exc:
        refcat.get_catalog("ps1", RA0 + radius, DEC0, 0.2 * radius, cache_dir=tmp_path,
                           offline=True)
    msg = str(exc.value)
    assert "partial" in msg and "partial.parquet" in msg
    assert f"(ra={RA0:.5f}, dec={DEC0:.5f}, radius={radius:.4f})" in msg
    assert "region=(ra, dec, radius)" in msg


def test_complete_and_partial_tiles_on_disk(tmp_path):
    truth = make_ps1_truth(RA0, DEC0, 2.0, 6000)
    region = (RA0, DEC0, 1.5)
    refcat.ingest(truth, "ps1", region=region, cache_dir=tmp_path)
    spec = refcat.CATALOGS["ps1"]
    tiles = refcat.cone_tiles(*region)
    pix = refcat.tiles._pixels_of(truth["ra"], truth["dec"], 64)
    inside = expected_cone(truth, *region)
    ipix_in = refcat.tiles._pixels_of(inside["ra"], inside["dec"], 64)
    kinds = {}
    for t in tiles:
        full = refcat.tile_path("ps1", t, cache_dir=tmp_path)
        part = refcat.partial_path(full)
        assert full.exists() != part.exists()  # exactly one of them
        if full.exists():  # complete: every star of the tile
            kinds[t] = "complete"
            df = refcat.tiles._read_tile(full, spec, t, 64)
            assert set(df["objid"]) == set(truth["objid"][pix == t])
        else:  # partial: every star of the tile inside the region, and the region recorded
            kinds[t] = "partial"
            df, cones = refcat.tiles._read_any_tile(part, spec, t, 64)
            assert cones == [region]
            assert set(df["objid"]) == set(inside["objid"][ipix_in == t])
    assert set(kinds.values()) == {"complete", "partial"}
    # a tile whose whole boundary is inside the region is complete, and only those
    lon, lat = refcat.tiles._healpix(64).boundaries_lonlat(tiles, step=64)
    far = _sep_deg(RA0, DEC0, lon.deg, lat.deg).max(axis=1)
    for t, d in zip(tiles, far):
        if d < region[2] - 0.01:
            assert kinds[t] == "complete", t
        if d > region[2]:
            assert kinds[t] == "partial", t


def test_random_queries_are_exact_or_refused(tmp_path):
    truth = make_ps1_truth(RA0, DEC0, 2.0, 6000)
    # two overlapping regions: complete tiles inside them, partial ones on their edges
    refcat.ingest(truth, "ps1", region=(RA0 + 1.0, DEC0, 1.0), cache_dir=tmp_path)
    region = (RA0, DEC0, 0.7)
    refcat.ingest(expected_cone(truth, *region), "ps1", region=region, cache_dir=tmp_path)
    # a cone inside neither region but inside their union is answered, tile by tile
    # (each tile's part of it is inside one of the regions)
    across = (RA0 + 0.3, DEC0 + 0.2, 0.4)
    assert _sep_deg(*across[:2], RA0, DEC0) + 0.4 > 0.7
    assert _sep_deg(*across[:2], RA0 + 1.0, DEC0) + 0.4 > 1.0
    got = refcat.get_catalog("ps1", *across, cache_dir=tmp_path, offline=True)
    assert_same_catalog(got, expected_cone(truth, *across), "objid")
    rng = np.random.default_rng(7)
    served = beyond = 0
    for _ in range(80):
        ra, dec = RA0 + rng.uniform(-0.8, 1.6), DEC0 + rng.uniform(-0.7, 0.7)
        r = rng.uniform(0.02, 0.5)
        inside = (_sep_deg(ra, dec, RA0, DEC0) + r <= 0.7
                  or _sep_deg(ra, dec, RA0 + 1.0, DEC0) + r <= 1.0)
        try:
            got = refcat.get_catalog("ps1", ra, dec, r, cache_dir=tmp_path, offline=True)
        except OfflineError:
            assert not inside, (ra, dec, r)  # every cone inside a region is served
            continue
        served += 1
        beyond += not inside
        assert_same_catalog(got, expected_cone(truth, ra, dec, r), "objid")
    assert served > 20 and beyond >= 1


def test_partial_tile_online_is_fetched_keeping_own_rows(vizier, tmp_path, ps1_truth):
    region = (RA0, DEC0, 0.5)
    mine = expected_cone(ps1_truth, *region).copy()
    mine["gmag"] += 0.25  # one's own photometry, recognisable
    refcat.ingest(mine, "ps1", region=region, cache_dir=tmp_path)
    query = (RA0 + 0.4, DEC0, 0.5)
    need = [int(t) for t in refcat.cone_tiles(*query)]
    got = refcat.get_catalog("ps1", *query, cache_dir=tmp_path)
    assert_same_catalog(got.drop(columns="gmag"),
                        expected_cone(ps1_truth, *query).drop(columns="gmag"), "objid")
    # only the tiles the region does not cover for this query were fetched; they are
    # complete now (partial file gone), the others still partial and served as such
    full = [t for t in need if refcat.tile_path("ps1", t, cache_dir=tmp_path).exists()]
    part = [t for t in need
            if refcat.partial_path(refcat.tile_path("ps1", t, cache_dir=tmp_path)).exists()]
    assert sorted(full + part) == need and full and part
    assert len(vizier.requests) == len(full)
    # one's own rows are kept where they are complete, VizieR's elsewhere
    g = got.set_index("objid")["gmag"]
    m = mine.set_index("objid")["gmag"]
    t = ps1_truth.set_index("objid")["gmag"]
    own, other = g.index.intersection(m.index), g.index.difference(m.index)
    assert len(own) and len(other)
    np.testing.assert_allclose(g[own], m[own])
    np.testing.assert_allclose(g[other], t[other])
    n = len(vizier.requests)
    again = refcat.get_catalog("ps1", *query, cache_dir=tmp_path, offline=True)
    assert len(vizier.requests) == n
    pd.testing.assert_frame_equal(got, again)


def test_ingest_into_complete_tiles_keeps_them_complete(vizier, tmp_path, ps1_truth):
    refcat.get_catalog("ps1", RA0, DEC0, 0.6, cache_dir=tmp_path)  # complete tiles
    n = len(vizier.requests)
    before = {p.name for p in _cache_files(tmp_path)}
    region = (RA0 + 0.1, DEC0, 0.2)
    mine = expected_cone(ps1_truth, *region).copy()
    mine["rmag"] -= 0.1
    refcat.ingest(mine, "ps1", region=region, cache_dir=tmp_path)
    assert {p.name for p in _cache_files(tmp_path)} == before  # no partial tile
    got = refcat.get_catalog("ps1", RA0, DEC0, 0.6, cache_dir=tmp_path, offline=True)
    assert len(vizier.requests) == n
    assert_same_catalog(got.drop(columns="rmag"),
                        expected_cone(ps1_truth, RA0, DEC0, 0.6).drop(columns="rmag"), "objid")
    r = got.set_index("objid")["rmag"]
    t = ps1_truth.set_index("objid")["rmag"]
    own = r.index.isin(mine["objid"])
    np.testing.assert_allclose(r[own], t[r.index[own]] - 0.1)
    np.testing.assert_allclose(r[~own], t[r.index[~own]])


def test_successive_ingests_add_up(tmp_path):
    truth = make_ps1_truth(RA0, DEC0, 2.0, 8000)
    a, b = (RA0 - 0.3, DEC0, 0.5), (RA0 + 0.3, DEC0, 0.5)
    refcat.ingest(expected_cone(truth, *a), "ps1", region=a, cache_dir=tmp_path)
    refcat.ingest(expected_cone(truth, *b), "ps1", region=b, cache_dir=tmp_path)
    refcat.ingest(expected_cone(truth, *b), "ps1", region=b, cache_dir=tmp_path)  # again: no-op
    spec = refcat.CATALOGS["ps1"]
    both = 0
    for p in _cache_files(tmp_path):
        t = int(p.name.split("_")[2][:6])
        df, cones = refcat.tiles._read_any_tile(p, spec, t, 64)
        assert df["objid"].is_unique
        assert cones is None or set(cones) <= {a, b}
        both += cones is not None and set(cones) == {a, b}
    assert both > 0
    for q in (a, b, (RA0 - 0.3, DEC0 + 0.1, 0.3)):
        got = refcat.get_catalog("ps1", *q, cache_dir=tmp_path, offline=True)
        assert_same_catalog(got, expected_cone(truth, *q), "objid")


def test_cones_that_fill_a_tile_together_make_it_complete(tmp_path):
    from ztfimg.refcat import coverage

    truth = make_ps1_truth(RA0, DEC0, 2.0, 6000)
    t = int(refcat.tiles._pixels_of([RA0], [DEC0], 64)[0])
    ra, dec, _ = coverage.tile_caps([t], 64)[0]
    dra = 0.2 / np.cos(np.radians(dec))
    a, b = (ra - dra, dec, 0.65), (ra + dra, dec, 0.65)
    full = refcat.tile_path("ps1", t, cache_dir=tmp_path)
    refcat.ingest(expected_cone(truth, *a), "ps1", region=a, cache_dir=tmp_path)
    assert refcat.partial_path(full).exists() and not full.exists()  # neither cone alone
    refcat.ingest(expected_cone(truth, *b), "ps1", region=b, cache_dir=tmp_path)
    assert full.exists() and not refcat.partial_path(full).exists()
    df = refcat.tiles._read_tile(full, refcat.CATALOGS["ps1"], t, 64)
    pix = refcat.tiles._pixels_of(truth["ra"], truth["dec"], 64)
    assert sorted(df["objid"]) == sorted(truth["objid"][pix == t])


def test_old_tiles_without_coverage_are_complete(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    truth = make_ps1_truth(RA0, DEC0, 2.0, 3000)
    pix = refcat.tiles._pixels_of(truth["ra"], truth["dec"], 64)
    spec = refcat.CATALOGS["ps1"]
    for t in refcat.cone_tiles(RA0, DEC0, 0.3):  # written as ztfimg did before coverage
        sub = truth[pix == t][spec.columns].reset_index(drop=True)
        table = pa.Table.from_pandas(sub, preserve_index=False)
        md = dict(table.schema.metadata)
        md.update({b"ztfimg.catalog": b"ps1", b"ztfimg.nside": b"64",
                   b"ztfimg.ipix": str(t).encode(), b"ztfimg.nrows": str(len(sub)).encode(),
                   b"ztfimg.format": b"1", b"ztfimg.source": b"vizier"})
        path = refcat.tile_path("ps1", t, cache_dir=tmp_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.replace_schema_metadata(md), path, write_page_checksum=True)
    got = refcat.get_catalog("ps1", RA0, DEC0, 0.3, cache_dir=tmp_path, offline=True)
    assert_same_catalog(got, expected_cone(truth, RA0, DEC0, 0.3), "objid")


def test_tile_names_and_coverage_must_agree(tmp_path):
    truth = make_ps1_truth(RA0, DEC0, 2.0, 3000)
    region = (RA0, DEC0, 0.05)
    refcat.ingest(truth, "ps1", region=region, cache_dir=tmp_path)
    t = int(refcat.tiles._pixels_of([RA0], [DEC0], 64)[0])
    full = refcat.tile_path("ps1", t, cache_dir=tmp_path)
    part = refcat.partial_path(full)
    assert part.name == f"ps1_hpx64_{t:06d}.partial.parquet" and part.exists()
    os.replace(part, full)  # a partial tile under a complete tile's name is corrupt
    with pytest.raises(OfflineError, match="coverage"):
        refcat.get_catalog("ps1", *region, cache_dir=tmp_path, offline=True)
    refcat.tiles._write_tile(part, truth.iloc[:0][refcat.CATALOGS["ps1"].columns],
                             {"catalog": "ps1", "nside": 64, "ipix": t, "coverage": "[[1, 2]]"})
    os.remove(full)
    with pytest.raises(OfflineError, match="unusable coverage"):
        refcat.get_catalog("ps1", *region, cache_dir=tmp_path, offline=True)


@pytest.mark.parametrize("shape,radius", [((3080, 3072), 0.7), ((160, 160), 0.05)])
def test_frame_sized_ingest_serves_the_frame_offline(tmp_path, shape, radius):
    from ztfimg import simulate

    ra, dec = 55.0608, 33.35
    n = int(8000 * (2 * radius) ** 2 / 0.75)
    ps1 = simulate.ps1_like_catalog(ra, dec, radius, n, seed=4)
    frame = simulate.simulate_quadrant(shape=shape, seed=4, catalog=ps1, defects=False)
    refcat.ingest(ps1, "ps1", region=(ra, dec, radius), cache_dir=tmp_path)
    img = frame.to_image()
    cat = img.get_catalog("ps1", cache_dir=tmp_path, offline=True)
    inside = frame.truth[frame.truth["inside"]]
    assert len(inside) > 20
    assert set(cat["objid"]) == set(inside["objid"])
    # the same frame elsewhere on the sky: nothing ingested there
    other = simulate.simulate_quadrant(shape=(160, 160), seed=4, ra=ra + 2, dec=dec,
                                       defects=False)
    with pytest.raises(OfflineError, match="missing"):
        other.to_image().get_catalog("ps1", cache_dir=tmp_path, offline=True)


def test_unwritable_cache_is_package_error(monkeypatch, tmp_path, ps1_truth):
    blocker = tmp_path / "afile"
    blocker.write_text("not a directory")
    cache = blocker / "sub"
    with pytest.raises(refcat.CacheError) as exc:
        refcat.ingest(ps1_truth, "ps1", region=(RA0, DEC0, 0.3), cache_dir=cache)
    err = exc.value
    assert isinstance(err, ZTFImgError) and type(err) is refcat.CacheError
    msg = str(err)
    assert str(cache) in msg and "writable" in msg and "NotADirectoryError" in msg
    assert "cache_dir=" in msg
    assert blocker.read_text() == "not a directory"
    # the fetch path says the same
    fake = FakeVizier({"II/349/ps1": ps1_truth}).install(monkeypatch)
    with pytest.raises(refcat.CacheError, match="writable"):
        refcat.get_catalog("ps1", RA0, DEC0, 0.1, cache_dir=cache)
    assert len(fake.requests) == 1


def test_failed_write_leaves_cache_untouched(monkeypatch, tmp_path):
    import errno

    truth = make_ps1_truth(RA0, DEC0, 2.0, 6000)
    refcat.ingest(truth, "ps1", region=(RA0, DEC0, 0.7), cache_dir=tmp_path)
    before = _snapshot(tmp_path)
    changed = truth.assign(gmag=truth["gmag"] + 1)
    real_fsync, calls = os.fsync, []

    def failing_fsync(fd):
        calls.append(fd)
        if len(calls) >= fail_at:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    fail_at = 1
    with pytest.raises(refcat.CacheError, match="No space left"):
        refcat.ingest(changed, "ps1", region=(RA0, DEC0, 0.7), cache_dir=tmp_path)
    assert _snapshot(tmp_path) == before  # nothing changed, no temporary file left
    calls.clear()
    fail_at = 3
    with pytest.raises(refcat.CacheError, match="stopped after 2 of"):
        refcat.ingest(changed, "ps1", region=(RA0, DEC0, 0.7), cache_dir=tmp_path)
    monkeypatch.undo()
    after = _snapshot(tmp_path)
    assert set(after) == set(before)
    assert sum(after[p] != before[p] for p in before) == 2
    # every tile still reads, and each query gets either the old or the new magnitudes
    got = refcat.get_catalog("ps1", RA0, DEC0, 0.7, cache_dir=tmp_path, offline=True)
    assert_same_catalog(got.drop(columns="gmag"),
                        expected_cone(truth, RA0, DEC0, 0.7).drop(columns="gmag"), "objid")


# ---------------------------------------------------------------------------
# coverage geometry against brute force
# ---------------------------------------------------------------------------
def _circle(ra, dec, r, n):
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    pts = SkyCoord(ra * u.deg, dec * u.deg).directional_offset_by(
        np.linspace(0, 2 * np.pi, n, endpoint=False) * u.rad, r * u.deg)
    return pts.ra.deg, pts.dec.deg


def test_lens_containment_matches_dense_sampling():
    from ztfimg.refcat import coverage

    rng = np.random.default_rng(11)
    decided = {True: 0, False: 0}
    for _ in range(400):
        ra0, dec0 = rng.uniform(0, 360), rng.uniform(-80, 80)
        cones = []
        for rmax in (1.2, 1.2, 2.0):
            cones.append((ra0 + rng.uniform(-1, 1) / np.cos(np.radians(dec0)),
                          dec0 + rng.uniform(-1, 1), rng.uniform(0.05, rmax)))
        q, b, c = cones
        got = coverage._lens_within(coverage._xyz(*q[:2]), np.radians(q[2]),
                                    coverage._xyz(*b[:2]), np.radians(b[2]),
                                    coverage._xyz(*c[:2]), np.radians(c[2]))
        # the farthest point of the lens from c is on its boundary: sample it densely
        qra, qdec = _circle(*q, 4000)
        bra, bdec = _circle(*b, 4000)
        on_q = _sep_deg(b[0], b[1], qra, qdec) <= b[2]
        on_b = _sep_deg(q[0], q[1], bra, bdec) <= q[2]
        ra = np.concatenate([qra[on_q], bra[on_b]])
        dec = np.concatenate([qdec[on_q], bdec[on_b]])
        if not ra.size:  # disjoint, or one cap inside the other
            inner = q if _sep_deg(q[0], q[1], b[0], b[1]) + q[2] <= b[2] else b
            if _sep_deg(q[0], q[1], b[0], b[1]) > q[2] + b[2]:
                assert got
                continue
            ra, dec = _circle(*inner, 4000)
        far = _sep_deg(c[0], c[1], ra, dec).max()
        step = 2 * np.pi / 4000 * max(q[2], b[2])  # sampling error of the maximum
        if got:
            assert far <= c[2] + 1e-9
        if far < c[2] - step:
            assert got
        if far > c[2] + 1e-9:
            assert not got
        decided[bool(got)] += 1
    assert min(decided.values()) > 50


def test_tiles_inside_cone_are_inside():
    from ztfimg.refcat import coverage

    rng = np.random.default_rng(12)
    hp = refcat.tiles._healpix(64)
    for _ in range(30):
        ra, dec, r = rng.uniform(0, 360), rng.uniform(-85, 85), rng.uniform(0.3, 3.0)
        tiles = refcat.cone_tiles(ra, dec, r)
        inside = coverage.tiles_inside_cone(tiles, 64, ra, dec, r)
        lon, lat = hp.boundaries_lonlat(tiles, step=200)
        far = _sep_deg(ra, dec, lon.deg, lat.deg).max(axis=1)
        assert (far[inside] <= r).all()
        assert inside[far < r - 0.05].all()
        caps = coverage.tile_caps(tiles, 64)
        assert (_sep_deg(caps[:, 0, None], caps[:, 1, None], lon.deg, lat.deg).max(axis=1)
                <= caps[:, 2]).all()


# ---------------------------------------------------------------------------
# proper motion
# ---------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::erfa.ErfaWarning")
def test_propagation_matches_astropy():
    import astropy.units as u
    from astropy.coordinates import Distance, SkyCoord
    from astropy.time import Time

    rng = np.random.default_rng(4)
    n = 200
    df = pd.DataFrame({"ra": rng.uniform(0, 360, n), "dec": rng.uniform(-85, 85, n),
                       "pmra": rng.normal(0, 300, n), "pmdec": rng.normal(0, 300, n),
                       "parallax": rng.uniform(0.5, 5, n), "ref_epoch": 2016.0})
    df.loc[0, ["pmra", "pmdec"]] = [5000.0, -8000.0]  # Barnard-like
    target = Time("2024-03-01T00:00:00", scale="tcb")
    out = refcat.propagate_positions(df, target)
    c = SkyCoord(ra=df.ra.values * u.deg, dec=df.dec.values * u.deg,
                 pm_ra_cosdec=df.pmra.values * u.mas / u.yr, pm_dec=df.pmdec.values * u.mas / u.yr,
                 distance=Distance(parallax=df.parallax.values * u.mas),
                 radial_velocity=np.zeros(n) * u.km / u.s, obstime=Time(2016.0, format="jyear",
                                                                         scale="tcb"))
    moved = c.apply_space_motion(new_obstime=target)
    sep = moved.separation(SkyCoord(out.ra.values * u.deg, out.dec.values * u.deg)).to_value(u.mas)
    assert sep.max() < 5  # linear propagation: < 5 mas over 8 yr even for 9"/yr
    # same result for JD and decimal year; input untouched; ref_epoch updated
    out2 = refcat.propagate_positions(df, target.jd)
    out3 = refcat.propagate_positions(df, target.jyear)
    np.testing.assert_allclose(out2.ra, out.ra, atol=1e-9)
    np.testing.assert_allclose(out3.dec, out.dec, atol=1e-9)
    assert (df.ref_epoch == 2016.0).all() and np.allclose(out.ref_epoch, target.jyear)
    # moved by the expected amount
    shift = np.hypot(df.pmra, df.pmdec)[0] * (target.jyear - 2016.0)
    assert sep[0] < 5 and abs(_sep_deg(df.ra[0], df.dec[0], out.ra[0], out.dec[0]) * 3.6e6
                              - shift) < 1


def test_propagation_nan_pm_and_bad_epoch():
    df = pd.DataFrame({"ra": [10.0], "dec": [20.0], "pmra": [np.nan], "pmdec": [np.nan]})
    out = refcat.propagate_positions(df, 2020.0)
    assert out.ra[0] == pytest.approx(10.0, abs=1e-12) and out.dec[0] == pytest.approx(20.0)
    with pytest.raises(InvalidParameterError):
        refcat.propagate_positions(df, "yesterday")
    with pytest.raises(InvalidParameterError):
        refcat.propagate_positions(df, 50.0)
    with pytest.raises(CatalogError, match="pmra"):
        refcat.propagate_positions(df.drop(columns="pmra"), 2020.0)


def test_get_catalog_with_epoch(vizier, tmp_path, gaia_truth):
    got = refcat.get_catalog("gaia", RA0, DEC0, 0.3, epoch=2021.0, cache_dir=tmp_path)
    ref = refcat.propagate_positions(expected_cone(gaia_truth, RA0, DEC0, 0.3), 2021.0)
    got = got.sort_values("source_id").reset_index(drop=True)
    ref = ref.sort_values("source_id").reset_index(drop=True)
    np.testing.assert_allclose(got.ra, ref.ra, atol=1e-9)
    assert (got.ref_epoch == 2021.0).all()
