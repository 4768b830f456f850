"""ImageCollection: construction, header table, selection, map on three executors, failures,
calibration offline and stamps through the frames (ztfimg.collection).

One simulated series (6 frames of 512x512, ztfimg.simseries) and one 2-worker LocalCluster
on loopback are shared by the module.
"""

import os
import shutil
import time

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from ztfimg import ImageCollection, ScienceImage, simseries, simulate
from ztfimg.bitmask import ZTFBit
from ztfimg.collection import (MapResult, StackFlag, StampStack, local_cluster, read_header,
                               read_headers)
from ztfimg.collection.execution import WORKER_ALLOCATOR
from ztfimg.errors import (FileNameError, InvalidParameterError, MissingFileError,
                           ZTFImgError)

N = 6
CORRUPT, NOMASK = 2, 4          # frames broken in the "broken" copy of the series


# ------------------------------------------------------------------ module fixtures
@pytest.fixture(scope="module")
def series(tmp_path_factory):
    root = tmp_path_factory.mktemp("series")
    s = simseries.simulate_series(root / "frames", n_frames=N, shape=(512, 512), seed=3)
    s.ingest(cache_dir=root / "catalogs")
    s.cache_dir = str(root / "catalogs")
    return s


@pytest.fixture(scope="module")
def broken(series, tmp_path_factory):
    """The series copied, with frame CORRUPT truncated and frame NOMASK's mask removed."""
    d = tmp_path_factory.mktemp("broken")
    files = []
    for f, m in zip(series.files, series.maskfiles):
        files.append(shutil.copy(f, d))
        shutil.copy(m, d)
    raw = open(files[CORRUPT], "rb").read()
    with open(files[CORRUPT], "wb") as fh:
        fh.write(raw[: len(raw) // 2])
    os.remove(files[NOMASK].replace("_sciimg.fits", "_mskimg.fits"))
    return files


@pytest.fixture(scope="module")
def client():
    import warnings

    from distributed import Client, LocalCluster
    with warnings.catch_warnings():   # "port 8787 in use" when another cluster runs here
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               dashboard_address=None, host="127.0.0.1")
    with cluster, Client(cluster) as c:
        yield c


# ------------------------------------------------------------------ jobs (module level)
def photometry_job(image, ra, dec):
    image.get_background()
    ph = image.aperture_photometry(ra, dec, radius=4.0, bkgann=(8.0, 12.0), coords="sky")
    return ph[["x", "y", "sum", "sumerr", "sky", "aper_flag"]]


def name_job(image):
    return os.path.basename(image.filename)


def interval_job(image, pause):
    t0 = time.time()
    time.sleep(pause)
    return t0, time.time()


def fail_on(image, name):
    if os.path.basename(image.filename) == name:
        raise ValueError(f"refusing {name}")
    return 1


def environment_job(image):
    from ztfimg.overlap import default_threads
    return ({k: os.environ.get(k) for k in WORKER_ALLOCATOR},
            os.environ.get("ZTFIMG_NUM_THREADS"), default_threads())


def photometry_env_job(image, ra, dec):
    return photometry_job(image, ra, dec), environment_job(image)


def _positions(series, n=40, seed=0):
    rng = np.random.default_rng(seed)
    img = ScienceImage.from_filename(series.files[0])
    ra, dec = img.pixels_to_coords(rng.uniform(20, 490, n), rng.uniform(20, 490, n))
    return np.append(ra, series.variable["ra"]), np.append(dec, series.variable["dec"])


# ------------------------------------------------------------------ construction
def test_constructors_find_the_frames_and_open_nothing(series, tmp_path):
    by_dir = ImageCollection.from_directory(series.directory)
    by_glob = ImageCollection.from_glob(os.path.join(series.directory, "*.fits"))  # masks too
    by_files = ImageCollection.from_files(series.files[::-1])
    assert by_dir.files == by_glob.files == sorted(series.files)
    assert by_files.files == series.files[::-1] and len(by_files) == N
    assert by_dir.kind == "science"
    assert repr(by_dir) == ("<ImageCollection 6 science frames, field 655, filters zr, "
                            "2020-09-24 .. 2020-09-29>")
    # nested directories (the archive tree) are searched; recursive=False does not
    nested = tmp_path / "sci" / "2020" / "0924"
    nested.mkdir(parents=True)
    shutil.copy(series.files[0], nested)
    assert len(ImageCollection.from_directory(tmp_path)) == 1
    with pytest.raises(MissingFileError, match="no .*_sciimg.fits"):
        ImageCollection.from_directory(tmp_path, recursive=False)
    # frames are not opened: a collection of an unreadable file is built fine
    bad = tmp_path / os.path.basename(series.files[1])
    bad.write_bytes(b"not FITS at all")
    col = ImageCollection.from_files([bad])
    assert len(col) == 1 and col.headers["header_error"].iloc[0].startswith("FileFormatError")


def test_indexing_slicing_and_iteration(series):
    col = ImageCollection.from_files(series.files)
    img = col[1]
    assert isinstance(img, ScienceImage) and img.filename == series.files[1]
    assert img.maskfile == series.maskfiles[1]
    assert col[-1].filename == series.files[-1]
    assert col[1:4].files == series.files[1:4]
    assert col[[5, 0]].files == [series.files[5], series.files[0]]
    assert col[np.array([True, False] * 3)].files == series.files[::2]
    assert [im.filename for im in col] == series.files
    assert col[[]].files == [] and len(col[[]]) == 0


def test_bad_input_raises_package_errors(series, tmp_path):
    cases = [
        (lambda: ImageCollection.from_directory(tmp_path / "nowhere"), MissingFileError,
         "does not exist"),
        (lambda: ImageCollection.from_directory(series.files[0]), MissingFileError,
         "is a file"),
        (lambda: ImageCollection.from_glob(str(tmp_path / "*.fits")), MissingFileError,
         "matches no file"),
        (lambda: ImageCollection.from_glob(series.maskfiles[0]), MissingFileError,
         "none a ZTF science image"),
        (lambda: ImageCollection.from_glob(42), InvalidParameterError, "pattern"),
        (lambda: ImageCollection.from_files(series.files, kind="raw"),
         InvalidParameterError, "kind must be"),
        (lambda: ImageCollection.from_files(series.maskfiles), FileNameError,
         "not a science image"),
        (lambda: ImageCollection.from_files(["ztf_000655_zr_c13_q3_refimg.fits"]),
         FileNameError, "use kind='reference'"),
        (lambda: ImageCollection.from_files(["notztf.fits"]), FileNameError,
         "not a ZTF file name"),
        (lambda: ImageCollection.from_files([str(tmp_path / os.path.basename(f))
                                             for f in series.files]),
         MissingFileError, "6 of 6 frame file"),
        (lambda: ImageCollection.from_files(12), InvalidParameterError, "sequence"),
        (lambda: ImageCollection.from_files([None]), FileNameError, "str or a path-like"),
    ]
    col = ImageCollection.from_files(series.files)
    cases += [
        (lambda: col.map(42), InvalidParameterError, "callable"),
        (lambda: col.map(name_job, client="threads"), InvalidParameterError, "client must"),
        (lambda: col.map(name_job, client=object()), InvalidParameterError, "client must"),
        (lambda: col.map(name_job, n_workers=0), InvalidParameterError, "n_workers"),
        (lambda: col.map(name_job, max_in_flight=-1), InvalidParameterError, "max_in_flight"),
        (lambda: col.map(name_job, progress="yes"), InvalidParameterError, "progress"),
        (lambda: col.select(seeingg=2), InvalidParameterError, "seeing"),
        (lambda: col.select(seeing=lambda s: 3), InvalidParameterError, "one boolean"),
        (lambda: col.select(filtername="zz"), InvalidParameterError, ""),
        (lambda: col[2.5], InvalidParameterError, "integer"),
        (lambda: col[10], InvalidParameterError, "out of range"),
        (lambda: col[np.ones(3, bool)], InvalidParameterError, "one value per frame"),
        (lambda: col[pd.Series([True] * N, index=range(1, N + 1))], InvalidParameterError,
         "index of col.headers"),
        (lambda: col.get_stamps("a", 3.0), InvalidParameterError, "ra"),
        (lambda: col.get_stamps(55.0, 33.0, size=0), InvalidParameterError, "size"),
        (lambda: col.get_stamps(55.0, 33.0, data="nope"), InvalidParameterError, "data"),
        (lambda: col.get_stamps(55.0, 33.0, mask_radius=-1), InvalidParameterError,
         "mask_radius"),
        (lambda: col.calibrate(3), InvalidParameterError, "catalog"),
        (lambda: col.read_headers(max_workers=0), InvalidParameterError, "max_workers"),
    ]
    for k, (call, exc, match) in enumerate(cases):
        with pytest.raises(exc, match=match or None):
            call()
            pytest.fail(f"case {k} did not raise")
    assert all(issubclass(exc, ZTFImgError) for _, exc, _ in cases)


# ------------------------------------------------------------------ headers
def _header_files(root, n):
    """``n`` header-only frames (2x2 pixels) with known values; some keywords missing or
    IPAC's -99, the 2017 'ZTF g' filter spelling, and one reference-style header."""
    rng = np.random.default_rng(7)
    truth = []
    for i in range(n):
        obsjd = 2458400.6 + i * 0.0137
        filt = ("zg", "zr", "zi")[i % 3]
        h = simulate.make_header((3080, 3072), fieldid=600 + i % 7, ccdid=1 + i % 16,
                                 qid=1 + i % 4, filtername=filt, obsjd=obsjd,
                                 magzp=rng.uniform(25.5, 26.5), seeing=rng.uniform(1.5, 4),
                                 maglim=rng.uniform(19, 21))
        name = root / os.path.basename(
            simulate.SimulatedFrame(None, None, h, None, None, None).filename)
        if i % 10 == 3:
            h["MAGZP"] = -99.0                      # IPAC's "not measured"
        if i % 10 == 5:
            del h["SEEING"]
        if i % 10 == 6:
            del h["FIELDID"], h["FILTERID"]         # DBFIELD / FILTER remain
            h["FILTER"] = "ZTF g" if filt == "zg" else h["FILTER"]
        if i % 10 == 7:
            h["AIRMASS"] = 1.234
        fits.PrimaryHDU(np.zeros((2, 2), ">f4"), header=h).writeto(name)
        truth.append({"file": str(name), "magzp": np.nan if i % 10 == 3 else h["MAGZP"],
                      "seeing": np.nan if i % 10 == 5 else h["SEEING"],
                      "fieldid": 600 + i % 7, "filtername": "ztf" + filt[1],
                      "ccdid": 1 + i % 16, "qid": 1 + i % 4, "obsjd": obsjd,
                      "maglim": h["MAGLIM"], "airmass": 1.234 if i % 10 == 7 else np.nan})
    return pd.DataFrame(truth)


def test_headers_of_300_header_only_files_right_and_fast(tmp_path):
    truth = _header_files(tmp_path, 300)
    col = ImageCollection.from_directory(tmp_path)
    assert len(col) == 300
    t0 = time.perf_counter()
    h = col.headers
    elapsed = time.perf_counter() - t0
    assert elapsed < 3.0, f"300 headers took {elapsed:.2f} s"
    truth = truth.set_index("file").loc[h["file"]].reset_index()
    for c in ("magzp", "seeing", "obsjd", "maglim", "airmass"):
        np.testing.assert_array_equal(h[c].to_numpy(float), truth[c].to_numpy(float), err_msg=c)
    for c in ("fieldid", "ccdid", "qid"):
        assert h[c].tolist() == truth[c].tolist(), c
    assert h["filtername"].tolist() == truth["filtername"].tolist()
    assert h["rcid"].tolist() == [4 * (c - 1) + q - 1 for c, q in zip(h.ccdid, h.qid)]
    np.testing.assert_allclose(h["obsmjd"], h["obsjd"] - 2400000.5, rtol=0, atol=1e-6)
    # file-name fields agree with the header
    assert (h["name_fieldid"] == h["fieldid"]).all() and (h["name_qid"] == h["qid"]).all()
    assert h["header_error"].isna().all() and h["maskfile"].isna().all()
    assert str(h["fieldid"].dtype) == "Int64" and h["magzp"].dtype == np.float64
    # the same values as the frame object's properties (one rule), checked on a few
    from ztfimg.image import ZTFImage
    for i in (0, 3, 5, 6):
        hdr = fits.getheader(h["file"].iloc[i])
        img = ZTFImage.from_arrays(np.zeros((2, 2), np.float32), hdr)
        assert h["fieldid"].iloc[i] == img.fieldid and h["filtername"].iloc[i] == img.filtername
        assert h["magzp"].iloc[i] == (img._optional("MAGZP") or np.nan) or i == 3
    # the header-block reader gives the cards astropy gives
    full = read_header(h["file"].iloc[0], keywords=None)
    assert full == fits.getheader(h["file"].iloc[0])
    # parallel and serial reads agree
    pd.testing.assert_frame_equal(read_headers(col.files[:40], max_workers=1),
                                  read_headers(col.files[:40], max_workers=8))


def test_headers_of_real_frames_follow_the_frame_properties(real_quadrant_paths, tmp_path):
    """The real quadrant and the real 2017 (FILTER='ZTF g') and zi headers: each table value
    is the frame property's value (one rule), the header-block read is astropy's header."""
    import warnings

    from ztfimg.collection.headers import HEADER_COLUMNS
    from ztfimg.errors import HeaderKeywordError
    from ztfimg.image import ZTFImage
    from conftest import HEADERS
    files = [real_quadrant_paths[0]]
    for name in ("zuds_ZTFg_651_c03_q1_sciimg.hdr", "zuds_ZTF_i_763_c14_q4_sciimg.hdr"):
        h = fits.Header.fromtextfile(os.path.join(HEADERS, name))
        rec = (h["FIELDID"], {1: "zg", 2: "zr", 3: "zi"}[h["FILTERID"]], h["CCDID"], h["QID"])
        path = tmp_path / (f"ztf_20200101{len(files):06d}_{rec[0]:06d}_{rec[1]}_"
                           f"c{rec[2]:02d}_o_q{rec[3]}_sciimg.fits")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fits.PrimaryHDU(np.zeros((2, 2), ">f4"), header=h).writeto(
                path, output_verify="silentfix")
        files.append(str(path))
    assert read_header(files[0], keywords=None) == fits.getheader(files[0])
    table = ImageCollection.from_files(files).headers
    assert table["filtername"].tolist() == ["ztfr", "ztfg", "ztfi"]
    assert table["magzp"].iloc[0] == 26.285139 and table["seeing"].iloc[0] == 1.241
    for i, path in enumerate(files):
        img = ZTFImage.from_arrays(np.zeros((2, 2), np.float32), fits.getheader(path))
        for column in HEADER_COLUMNS:
            try:
                expected = getattr(img, column)
            except HeaderKeywordError:
                expected = None
            value = table[column].iloc[i]
            if expected is None:
                assert pd.isna(value), (path, column, value)
            else:
                assert value == expected, (path, column, value, expected)
    assert table["maskfile"].iloc[0] == real_quadrant_paths[1]


def test_headers_of_a_series_and_of_references(series, tmp_path):
    col = ImageCollection.from_files(series.files)
    h = col.headers
    np.testing.assert_array_equal(h["magzp"], series.frames["magzp"])
    np.testing.assert_array_equal(h["seeing"], series.frames["seeing"])
    np.testing.assert_array_equal(h["obsjd"], series.frames["obsjd"])
    assert h["maskfile"].tolist() == series.maskfiles
    assert h["filefracday"].tolist() == series.frames["filefracday"].tolist()
    # a copy each time: the collection's table cannot be changed from outside
    h.loc[0, "magzp"] = 0.0
    assert col.headers["magzp"].iloc[0] == series.frames["magzp"].iloc[0]
    # reference frames: DBFIELD, GLOBMED, NFRAMES
    sci = simulate.simulate_quadrant(shape=(128, 128), seed=4, nstars=20)
    ref = simulate.simulate_reference(sci, nframes=17)
    path = ref.write(tmp_path)
    rcol = ImageCollection.from_directory(tmp_path, kind="reference")
    rh = rcol.headers
    assert rh["fieldid"].tolist() == [655] and rh["nframes"].tolist() == [17]
    assert rh["globmed"].iloc[0] == pytest.approx(ref.header["GLOBMED"])
    assert np.isnan(rh["obsjd"].iloc[0]) and rh["filtername"].iloc[0] == "ztfr"
    assert rcol.files == [path] and rcol[0].nframes == 17


def test_selection_on_every_column(series):
    col = ImageCollection.from_files(series.files)
    h = col.headers
    for column in h.columns:
        value = h[column].iloc[1]
        if pd.isna(value):
            continue
        sub = col.select(**{column: value})
        expected = [f for f, v in zip(h["file"], h[column]) if v == value]
        assert sub.files == expected, column
        assert sub.headers[column].tolist() == [value] * len(expected)
    # lists of values, callables, filter spellings, combined criteria
    three = col.select(filefracday=h["filefracday"].iloc[[0, 2, 4]].tolist())
    assert three.files == series.files[::2]
    sharp = col.select(seeing=lambda s: s < 2.3)
    assert sharp.files == [f for f, s in zip(series.files, series.frames["seeing"]) if s < 2.3]
    assert 0 < len(sharp) < N
    assert col.select(filtername="zr", fieldid=[655, 1]).files == series.files
    assert col.select(filtername="ztfg").files == []
    # boolean Series over the header table, and the carried (sliced) header rows
    bright = col[h["magzp"] > h["magzp"].median()]
    assert bright.files == [f for f, z in zip(h["file"], h["magzp"]) if z > h["magzp"].median()]
    assert bright._headers is not None      # carried: no second read
    pd.testing.assert_frame_equal(bright.headers, h[h["magzp"] > h["magzp"].median()]
                                  .reset_index(drop=True).assign(magzp=bright.headers.magzp))


# ------------------------------------------------------------------ map
def test_same_results_serial_processes_and_cluster(series, client):
    ra, dec = _positions(series)
    col = ImageCollection.from_files(series.files)
    before = {k: os.environ.get(k) for k in WORKER_ALLOCATOR}
    serial = col.map(photometry_env_job, ra, dec, progress=False)
    procs = col.map(photometry_env_job, ra, dec, client="processes", n_workers=2,
                    progress=False)
    clus = col.map(photometry_env_job, ra, dec, client=client, progress=False)
    assert serial.mode == "serial" and procs.mode == "processes" and clus.mode == "client"
    for res in (serial, procs, clus):
        assert isinstance(res, MapResult) and len(res) == N
        assert res.n_failed == 0, res.errors[["exception", "message"]].to_string()
        assert res.files == series.files and res.ok.all()
    for (a, _), (b, envb), (c, _) in zip(serial.results, procs.results, clus.results):
        assert len(a) == len(ra) and np.isfinite(a["sum"]).sum() > 30
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        pd.testing.assert_frame_equal(a, c, check_exact=True)
        # client="processes" workers: glibc keeps freed frames, kernels single-threaded
        assert envb == ({k: str(v) for k, v in WORKER_ALLOCATOR.items()}, "1", 1)
    assert {k: os.environ.get(k) for k in WORKER_ALLOCATOR} == before    # restored here
    # the variable star (last position) follows its injected light curve
    flux = np.array([r[0]["sum"].iloc[-1] for r in serial.results])
    assert np.corrcoef(flux, series.lightcurve["flux"])[0, 1] > 0.99
    # results are aligned with the frames whatever the completion order
    names = col.map(name_job, client=client, progress=False, max_in_flight=6)
    assert names.results == [os.path.basename(f) for f in series.files]


def test_failed_frames_are_reported_and_the_rest_completes(series, broken, client):
    col = ImageCollection.from_files(broken)
    ra, dec = _positions(series, n=5)
    good = [i for i in range(N) if i not in (CORRUPT, NOMASK)]
    reference = ImageCollection.from_files(series.files).map(photometry_job, ra, dec,
                                                             progress=False)
    for kw in ({}, {"client": client}):
        res = col.map(photometry_job, ra, dec, progress=False, **kw)
        assert res.n_failed == 2 and res.ok.tolist() == [i in good for i in range(N)]
        assert res.results[CORRUPT] is None and res.results[NOMASK] is None
        for i in good:
            pd.testing.assert_frame_equal(res.results[i], reference.results[i])
        e = res.errors
        assert list(e.columns) == ["file", "exception", "message", "traceback"]
        assert e.index.tolist() == [CORRUPT, NOMASK]
        assert e.loc[CORRUPT, "file"] == broken[CORRUPT]
        assert e.loc[CORRUPT, "exception"] == "FileFormatError"
        assert "truncated" in e.loc[CORRUPT, "message"]
        assert e.loc[NOMASK, "exception"] == "MissingFileError"
        assert "mskimg" in e.loc[NOMASK, "message"]
        assert "Traceback" in e.loc[NOMASK, "traceback"]
        assert "2 failed (FileFormatError: 1, MissingFileError: 1)" in repr(res)
    # an exception of the function itself, with its traceback
    res = col.map(fail_on, os.path.basename(broken[0]), progress=False)
    assert res.errors.loc[0, "exception"] == "ValueError"
    assert "fail_on" in res.errors.loc[0, "traceback"]
    assert res.results[1] == 1 and res.n_failed == 3
    # the header table reports the missing mask and reads the truncated frame's header
    h = col.headers
    assert pd.isna(h["maskfile"].iloc[NOMASK]) and not pd.isna(h["maskfile"].iloc[0])
    assert h["magzp"].iloc[CORRUPT] == series.frames["magzp"].iloc[CORRUPT]


def test_tasks_in_flight_are_bounded(series, client):
    col = ImageCollection.from_files(series.files[:4])
    one = col.map(interval_job, 0.15, client=client, max_in_flight=1, progress=False)
    spans = sorted(one.results)
    assert all(b[0] >= a[1] - 1e-3 for a, b in zip(spans, spans[1:])), spans  # one at a time
    two = col.map(interval_job, 0.8, client=client, max_in_flight=2, progress=False)
    spans = sorted(two.results)
    assert any(b[0] < a[1] for a, b in zip(spans, spans[1:]))                  # overlapping


def test_local_cluster_options():
    with pytest.raises(InvalidParameterError, match="n_workers"):
        local_cluster(0)
    with pytest.raises(InvalidParameterError, match="n_workers"):
        local_cluster(1.5)


def test_adaptive_cluster_without_workers_yet(series):
    """A site cluster often starts with no worker and scales up for tasks (dask-jobqueue)."""
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=0, threads_per_worker=1, processes=True,
                      dashboard_address="127.0.0.1:0", host="127.0.0.1") as cluster, \
            Client(cluster) as c:
        cluster.adapt(minimum=0, maximum=1, interval="200ms")
        res = ImageCollection.from_files(series.files[:3]).map(name_job, client=c,
                                                               progress=False)
    assert res.results == [os.path.basename(f) for f in series.files[:3]]


def test_progress_bar_goes_to_stderr(series, capsys):
    col = ImageCollection.from_files(series.files[:2])
    col.map(name_job)
    err = capsys.readouterr().err
    assert "ztfimg name_job" in err and "/2" in err
    col.map(name_job, progress=False)
    assert capsys.readouterr().err == ""


def test_unpicklable_function_refused_before_any_work(series):
    import threading
    lock = threading.Lock()
    col = ImageCollection.from_files(series.files[:2])
    assert col.map(lambda img: lock.locked(), progress=False).results == [False, False]
    with pytest.raises(InvalidParameterError, match="picklable"):
        col.map(lambda img: lock.locked(), client="processes", progress=False)


# ------------------------------------------------------------------ built-in jobs
def test_calibrate_recovers_injected_zero_points_offline(series, broken, client):
    col = ImageCollection.from_files(series.files)
    zp = col.calibrate("ps1", cache_dir=series.cache_dir, offline=True, progress=False)
    assert zp["file"].tolist() == series.files and zp["error"].isna().all()
    truth = series.frames
    np.testing.assert_array_equal(zp["header_magzp"], truth["magzp"])
    pull = (zp["zp"] - truth["magzp"]) / zp["zp_err"]
    assert (np.abs(pull) < 3).all(), pull.tolist()
    assert (np.abs(zp["zp"] - truth["magzp"]) < 0.02).all()
    assert truth["magzp"].max() - truth["magzp"].min() > 0.2   # the frames really differ
    cpull = (zp["clrcoeff"] - truth["clrcoeff"]) / zp["clrcoeff_err"]
    assert (np.abs(cpull) < 3).all(), cpull.tolist()
    assert (zp["nstars"] > 30).all() and (zp["rms"] < 0.15).all()
    np.testing.assert_allclose(zp["dzp"], zp["zp"] - zp["header_magzp"])
    # the same on the cluster (workers read the same cache), with the broken frames reported
    bz = ImageCollection.from_files(broken).calibrate("ps1", client=client, progress=False,
                                                      cache_dir=series.cache_dir, offline=True)
    ok = [i for i in range(N) if i not in (CORRUPT, NOMASK)]
    pd.testing.assert_series_equal(bz["zp"].iloc[ok], zp["zp"].iloc[ok])
    assert bz["error"].iloc[CORRUPT].startswith("FileFormatError")
    assert bz["error"].iloc[NOMASK].startswith("MissingFileError")
    assert np.isnan(bz["zp"].iloc[CORRUPT]) and pd.isna(bz["nstars"].iloc[NOMASK])
    # offline with an empty cache: every frame reports the missing tiles
    empty = col[:2].calibrate("ps1", cache_dir=os.path.join(series.cache_dir, "none"),
                              offline=True, progress=False)
    assert empty["error"].str.startswith("OfflineError").all()


def test_get_stamps_time_axis_flags_and_values(series, broken):
    col = ImageCollection.from_files(series.files)
    v = series.variable
    # a dead pixel of frame 3, as a sky position: that frame's stamp is MASKED
    img3 = col[3]
    yy, xx = np.nonzero(img3.mask & int(ZTFBit.DEAD))
    k = int(np.argmin((xx - 256) ** 2 + (yy - 256) ** 2))
    dra, ddec = img3.pixels_to_coords(float(xx[k]), float(yy[k]))
    stacks = col.get_stamps([v["ra"], v["ra"] + 1.0, dra], [v["dec"], v["dec"], ddec],
                            size=15, progress=False)
    var, off, dead = stacks
    assert isinstance(var, StampStack) and var.data.shape == (N, 15, 15)
    assert np.all(np.diff(var.times) > 0)
    np.testing.assert_array_equal(var.times, series.frames["obsjd"])
    np.testing.assert_allclose(var.x, series.lightcurve["x"], atol=1e-6)
    np.testing.assert_array_equal(var.flags, 0)
    assert var.filters == ["ztfr"] * N and var.files == series.files
    for i in (0, 5):
        expected = col[i].get_stamp(var.x[i], var.y[i], size=15, asarray=True)
        np.testing.assert_array_equal(var.data[i], expected)
    # the variable's stamp follows its light curve
    peak = np.nansum(var.data[:, 5:10, 5:10], axis=(1, 2))
    assert np.corrcoef(peak, series.lightcurve["flux"])[0, 1] > 0.98
    assert len(off) == 0 and off.data.shape == (0, 15, 15)
    assert dead.flags[3] & StackFlag.MASKED
    # keep_all: every frame present, the ones not covering flagged and NaN
    off_all = col.get_stamps(v["ra"] + 1.0, v["dec"], size=9, keep_all=True, progress=False)
    assert len(off_all) == N and np.isnan(off_all.data).all()
    assert (off_all.flags == StackFlag.OFF_IMAGE).all()
    # failed frames: left out, or FAILED with keep_all; the errors ride along
    b = ImageCollection.from_files(broken)
    st = b.get_stamps(v["ra"], v["dec"], size=9, progress=False)
    assert len(st) == N - 2 and st.errors.index.tolist() == [CORRUPT, NOMASK]
    st = b.get_stamps(v["ra"], v["dec"], size=9, keep_all=True, progress=False)
    assert len(st) == N and st.flags[CORRUPT] == StackFlag.FAILED
    assert np.isnan(st.data[NOMASK]).all() and st.flags[0] == 0
    assert "6 frames of 9x9 px, 4 unflagged" in repr(st)
    # show: a grid of Axes, one per frame
    import matplotlib.pyplot as plt
    axes = var.show(ncols=3)
    assert len(axes) == N and all(hasattr(a, "imshow") for a in axes)
    assert axes[0].get_title().startswith(f"{var.mjd[0]:.2f}")
    plt.close("all")
    assert var[2].data.shape == (15, 15)


def test_header_table_has_nan_for_an_absent_magzpunc(tmp_path):
    from ztfimg import simulate
    frame = simulate.simulate_quadrant(shape=(64, 64), seed=3, nstars=5)
    del frame.header["MAGZPUNC"]
    frame.header.remove("AIRMASS", ignore_missing=True)
    sci, _ = frame.write(tmp_path)
    row = read_headers([sci]).iloc[0]
    assert np.isnan(row["airmass"])
    assert np.isnan(row["magzpunc"])                  # missing, not a 0.0 uncertainty
    assert row["magzp"] == pytest.approx(frame.header["MAGZP"])
