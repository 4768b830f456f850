"""ztfimg.archive against a local IRSA-like server (tests/support/irsa_server.py): no network.

The server answers the metadata search from the real IRSA rows of
tests/data/daophot/manifest.json (fields 857, 858, 1884 around RA 96, Dec 77.7) and serves
small simulated frames at their archive paths, with switchable faults.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from support.irsa_server import IRSAServer, manifest_rows, repeat_row
from ztfimg import archive, filenames
from ztfimg.archive.lock import FileLock, lock_path
from ztfimg.archive.transfer import _fits_problem, part_path
from ztfimg.errors import (FileNameError, InvalidParameterError, MissingFileError, OfflineError,
                           ZTFImgError)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: The three real frames, in obsjd order (2021-11-22, 2022-04-14, 2023-10-30).
SCI = ["ztf_20211122348889_000857_zr_c09_o_q2_sciimg.fits",
       "ztf_20220414284606_000858_zg_c12_o_q1_sciimg.fits",
       "ztf_20231030503553_001884_zr_c02_o_q1_sciimg.fits"]
MSK = [n.replace("_sciimg.", "_mskimg.") for n in SCI]
CENTRE = (96.9173, 77.7049)          # inside all three footprints


@pytest.fixture(scope="module")
def server():
    with IRSAServer(stall_seconds=3.0) as srv:
        srv.add_frames(shape=(64, 64), seed=0)
        yield srv


@pytest.fixture
def irsa(server, tmp_path, monkeypatch):
    """The server, with the environment pointing at it and an empty $ZTFDATA."""
    server.reset()
    monkeypatch.setenv("ZTFIMG_IRSA_URL", server.base_url)
    monkeypatch.setenv("ZTFDATA", str(tmp_path / "ztfdata"))
    monkeypatch.delenv("ZTFIMG_OFFLINE", raising=False)
    yield server
    server.reset()


def root():
    return os.environ["ZTFDATA"]


def leftovers(top):
    """Hidden partial or lock files anywhere under ``top``."""
    return [f for _, _, files in os.walk(top) for f in files if f.startswith(".")]


# ------------------------------------------------------------------------------ search
def test_search_point_gives_covering_frames_and_names(irsa):
    frames = archive.search(*CENTRE)
    assert frames["filename"].tolist() == SCI
    assert frames["field"].tolist() == [857, 858, 1884]
    assert frames["filtercode"].tolist() == ["zr", "zg", "zr"]
    assert np.all(np.diff(frames["obsjd"]) > 0)
    real = {r["pid"]: r for r in manifest_rows()}
    for _, row in frames.iterrows():           # IRSA's columns come through unchanged
        assert row["seeing"] == pytest.approx(real[row["pid"]]["seeing"], abs=1e-6)
        assert row["filefracday"] == real[row["pid"]]["filefracday"]
    assert {"rcid", "maglimit", "airmass", "ra1", "dec4", "infobits"} <= set(frames.columns)
    (query,) = irsa.searches
    assert query["table"] == "sci" and query["INTERSECT"] == "OVERLAPS"
    assert [float(v) for v in query["POS"].split(",")] == pytest.approx(list(CENTRE))
    assert "where" not in query and "SIZE" not in query


@pytest.mark.parametrize("pos, expected", [((98.3432, 78.1007), [SCI[1]]),
                                            ((93.7150, 77.7707), [SCI[0]]),
                                            ((10.0, -30.0), [])])
def test_search_position_selects_footprints(irsa, pos, expected):
    frames = archive.search(*pos)
    assert frames["filename"].tolist() == expected
    assert "filename" in frames.columns and "obsjd" in frames.columns


def test_search_constraints_build_the_where_clause(irsa):
    assert archive.search(*CENTRE, filters="r")["filename"].tolist() == [SCI[0], SCI[2]]
    frames = archive.search(*CENTRE, filters=["ZTF_r"], start="2022-01-01")
    assert frames["filename"].tolist() == [SCI[2]]
    assert irsa.searches[-1]["where"] == "filtercode IN ('zr') AND obsjd >= 2459580.5"
    frames = archive.search(*CENTRE, fields=[858, 857], ccdid=12, qid=1, end=2459700.0)
    assert frames["filename"].tolist() == [SCI[1]]
    assert irsa.searches[-1]["where"] == ("obsjd <= 2459700.0 AND field IN (857,858) AND "
                                          "ccdid IN (12) AND qid IN (1)")
    frames = archive.search(*CENTRE, where="seeing < 3.1 AND infobits = 0")
    assert frames["filename"].tolist() == [SCI[0]]          # seeing 3.0795; others > 3.2


def test_search_skycoord_box_and_references(irsa):
    coord = SkyCoord(92.8 * u.deg, 77.77 * u.deg)
    assert archive.search(coord)["filename"].tolist() == []
    assert archive.search(coord, size=0.5 * u.deg)["filename"].tolist() == [SCI[0]]
    assert irsa.searches[-1]["SIZE"] == "0.5,0.5"
    assert archive.search(coord, size=(30 * u.arcmin, 0.5))["field"].tolist() == [857]
    refs = archive.search(*CENTRE, kind="ref")
    assert refs["filename"].tolist() == ["ztf_000857_zr_c09_q2_refimg.fits",
                                         "ztf_000858_zg_c12_q1_refimg.fits",
                                         "ztf_001884_zr_c02_q1_refimg.fits"]
    assert irsa.searches[-1]["table"] == "ref"


def test_search_errors(irsa):
    with pytest.raises(InvalidParameterError, match="IRSA rejected the search.*HTTP 400"):
        archive.search(*CENTRE, where="seeing LIKE '3%'")
    with pytest.raises(InvalidParameterError, match="reference images have none"):
        archive.search(*CENTRE, kind="ref", start="2022-01-01")
    for bad in ({"ccdid": 17}, {"filters": "zq"}, {"start": 59000.0}, {"kind": "raw"},
                {"size": -1}, {"qid": []}, {"intersect": "NEAR"}):
        with pytest.raises(InvalidParameterError):
            archive.search(*CENTRE, **bad)
    with pytest.raises(InvalidParameterError, match="one position"):
        archive.search([1.0, 2.0], [3.0, 4.0])
    assert len(irsa.searches) == 1                    # bad arguments never reach the server


def test_search_retries_5xx_and_honours_offline(irsa, monkeypatch):
    irsa.fail("search:sci", 503, times=2)
    assert archive.search(*CENTRE, backoff=0)["filename"].tolist() == SCI
    assert len(irsa.searches) == 3
    irsa.fail("search:sci", 503, times=None)
    with pytest.raises(archive.DownloadError, match="after 2 attempt"):
        archive.search(*CENTRE, retries=1, backoff=0)
    irsa.reset()
    monkeypatch.setenv("ZTFIMG_OFFLINE", "1")
    with pytest.raises(OfflineError, match="needs the network"):
        archive.search(*CENTRE)
    assert irsa.searches == []


# ------------------------------------------------------------------------------ download
def test_download_lays_out_the_archive_tree(irsa):
    files = archive.download(archive.search(*CENTRE), progress=False)
    assert files["name"].tolist() == [n for pair in zip(SCI, MSK) for n in pair]
    assert files["frame"].tolist() == [0, 0, 1, 1, 2, 2]
    assert files["suffix"].tolist() == ["sciimg.fits", "mskimg.fits"] * 3
    assert set(files["status"]) == {"downloaded"}
    assert files["path"].iloc[0] == os.path.join(
        root(), "sci", "2021", "1122", "348889", SCI[0])
    for name, path, size in zip(files["name"], files["path"], files["size"]):
        with open(path, "rb") as fh:
            assert fh.read() == irsa.data(name)
        assert size == len(irsa.data(name)) and size % 2880 == 0
    assert leftovers(root()) == []
    assert all(irsa.hits(n) == 1 for n in files["name"])


def test_second_call_downloads_nothing(irsa):
    first = archive.download(SCI, progress=False)
    n = len(irsa.log)
    assert n == 6
    again = archive.download(SCI, progress=False, workers=2)
    assert set(again["status"]) == {"present"}
    assert len(irsa.log) == n                        # not even a HEAD request
    assert again["path"].tolist() == first["path"].tolist()
    assert again["size"].tolist() == first["size"].tolist()
    fresh = archive.download(SCI[0], "sciimg.fits", overwrite=True, progress=False)
    assert fresh["status"].tolist() == ["downloaded"] and irsa.hits(SCI[0]) == 2


def test_dropped_connection_leaves_no_complete_file_and_resumes(irsa):
    name = SCI[1]
    target = os.path.join(root(), "sci", "2022", "0414", "284606", name)
    irsa.fail(name, "drop")
    with pytest.raises(archive.DownloadError, match="connection lost.*partial file is kept"):
        archive.download(name, "sciimg.fits", retries=0, progress=False)
    size = len(irsa.data(name))
    assert not os.path.exists(target)
    part = part_path(target)
    assert os.path.getsize(part) == size // 2
    # nothing in the directory looks like a product: the partial file is hidden, unnamed
    assert os.listdir(os.path.dirname(target)) == [os.path.basename(part)]
    assert not filenames.is_ztf_filename(os.path.basename(part))
    assert _fits_problem(part, size // 2) == "its length, 12960 bytes, is not a multiple of 2880"
    assert not os.path.exists(lock_path(target))
    files = archive.download(name, "sciimg.fits", progress=False)
    assert files["status"].tolist() == ["resumed"]
    assert irsa.ranges(name) == [None, f"bytes={size // 2}-"]
    with open(target, "rb") as fh:
        assert fh.read() == irsa.data(name)
    assert leftovers(root()) == []


SCRIPT = """
import json, os, sys, time
from ztfimg import archive, filenames
names, suffixes, base, root, ready, go = json.loads(sys.argv[1])
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.002)
t0 = time.time()
out = archive.download(names, suffixes, root=root, base_url=base, offline=False, progress=False,
                       workers=3, timeout=(5, 5))
print(json.dumps([t0, time.time(), dict(zip(out["name"], out["status"]))]))
"""


def _spawn(args):
    env = dict(os.environ, PYTHONPATH=REPO)
    env.pop("ZTFIMG_OFFLINE", None)
    return subprocess.Popen([sys.executable, "-c", SCRIPT, json.dumps(args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(paths, timeout=60):
    t0 = time.monotonic()
    while not all(os.path.exists(p) for p in paths):
        assert time.monotonic() - t0 < timeout, "helper processes did not start"
        time.sleep(0.01)


def test_killed_download_resumes(irsa, tmp_path):
    irsa.chunk_size, irsa.chunk_delay = 2048, 0.05       # ~0.65 s for one frame
    try:
        name = SCI[2]
        target = os.path.join(root(), "sci", "2023", "1030", "503553", name)
        ready, go = str(tmp_path / "ready"), str(tmp_path / "go")
        open(go, "w").close()
        proc = _spawn([[name], ["sciimg.fits"], irsa.base_url, root(), ready, go])
        t0 = time.monotonic()
        part = part_path(target)
        while not (os.path.exists(part) and os.path.getsize(part) >= 6144):
            assert time.monotonic() - t0 < 60 and proc.poll() is None, proc.stderr.read()
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = os.path.getsize(part_path(target))
        assert 6144 <= done < len(irsa.data(name))
        assert not os.path.exists(target)
        irsa.chunk_delay = 0.0
        files = archive.download(name, "sciimg", progress=False, lock_timeout=5)  # lock died too
        assert files["status"].tolist() == ["resumed"]
        assert irsa.ranges(name)[-1] == f"bytes={done}-"
        with open(target, "rb") as fh:
            assert fh.read() == irsa.data(name)
        assert leftovers(root()) == []
    finally:
        irsa.chunk_size, irsa.chunk_delay = 4096, 0.0


def test_two_processes_download_the_same_files(irsa, tmp_path):
    irsa.chunk_size, irsa.chunk_delay = 4096, 0.04          # ~0.3 s per file
    try:
        go = str(tmp_path / "go")
        args = [[SCI, None, irsa.base_url, root(), str(tmp_path / f"ready{i}"), go] for i in (0, 1)]
        procs = [_spawn(a) for a in args]
        _wait_for([a[4] for a in args])
        open(go, "w").close()
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, err
            outs.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        irsa.chunk_delay = 0.0
    (start0, end0, _), (start1, end1, _) = outs
    assert max(start0, start1) < min(end0, end1)              # they did run at the same time
    outs = [o[2] for o in outs]
    for name in SCI + MSK:
        with open(filenames.local_path(name, root()), "rb") as fh:
            assert fh.read() == irsa.data(name)
        # one transfer per file: the other process waited on the lock, then found it complete
        assert irsa.hits(name) == 1, irsa.ranges(name)
        assert sorted(o[name] for o in outs) == ["downloaded", "present"]
    assert leftovers(root()) == []


def test_404_is_a_clear_missing_product(irsa):
    name = SCI[0].replace("_sciimg.fits", "_psfcat.fits")
    with pytest.raises(archive.ProductNotFoundError, match="does not exist in the archive "
                       r"\(HTTP 404") as info:
        archive.download(SCI[0], "psfcat.fits", progress=False)
    assert isinstance(info.value, MissingFileError) and name in str(info.value)
    assert irsa.hits(name) == 1                              # 404 is not retried
    assert leftovers(root()) == [] and not os.path.exists(
        os.path.join(root(), "sci", "2021", "1122", "348889", name))


@pytest.mark.parametrize("code", [401, 403])
def test_401_403_say_how_to_authenticate(irsa, code):
    irsa.fail(SCI[1], code)
    files = archive.download(SCI[1], errors="report", progress=False)
    assert files["status"].tolist() == ["failed", "downloaded"]
    assert f"HTTP {code}" in files["error"].iloc[0] and files["size"].iloc[0] == -1
    irsa.fail(SCI[2], code)
    with pytest.raises(archive.AuthenticationRequiredError,
                       match=f"without credentials \\(HTTP {code}.*session=") as info:
        archive.download(SCI[2], "sciimg.fits", progress=False)
    assert isinstance(info.value, PermissionError) and "josso" in str(info.value)
    assert irsa.hits(SCI[2]) == 1


def test_stalled_server_is_timed_out_and_retried(irsa):
    irsa.fail(SCI[0], "stall")
    t0 = time.monotonic()
    files = archive.download(SCI[0], "sciimg.fits", timeout=(2, 0.3), backoff=0,
                             progress=False)
    elapsed = time.monotonic() - t0
    assert files["status"].tolist() == ["downloaded"]
    assert irsa.hits(SCI[0]) == 2
    assert elapsed < irsa.stall_seconds                      # gave up on the stall
    irsa.fail(MSK[0], "stall", times=None)
    with pytest.raises(archive.DownloadError, match="after 2 attempt.*ReadTimeout"):
        archive.download(SCI[0], "mskimg.fits", timeout=(2, 0.2), retries=1, backoff=0,
                         progress=False)
    assert irsa.hits(MSK[0]) == 2


def test_503_is_retried_with_backoff(irsa):
    irsa.fail(SCI[1], 503, times=2)
    t0 = time.monotonic()
    files = archive.download(SCI[1], "sciimg.fits", backoff=0.1, progress=False)
    assert files["status"].tolist() == ["downloaded"]
    assert irsa.hits(SCI[1]) == 3
    assert time.monotonic() - t0 >= 0.1 + 0.2 - 0.01          # 0.1 s then 0.2 s


def test_offline_lists_missing_files_and_keeps_present_ones(irsa, monkeypatch):
    archive.download(SCI[0], progress=False)
    irsa.reset()
    monkeypatch.setenv("ZTFIMG_OFFLINE", "1")
    files = archive.download(SCI[0], progress=False)
    assert files["status"].tolist() == ["present", "present"]
    with pytest.raises(OfflineError) as info:
        archive.download(SCI, progress=False)
    msg = str(info.value)
    assert "4 file(s) are not in the local archive" in msg
    for name in SCI[1:] + MSK[1:]:
        assert name in msg
    assert SCI[0] not in msg and root() in msg
    assert "ZTFIMG_OFFLINE" in msg and "ztfimg.archive.download(" in msg
    assert irsa.log == []
    with pytest.raises(OfflineError, match="2 file"):
        archive.ensure_local(SCI[2])
    assert archive.download(SCI[1], offline=False, progress=False)["status"].tolist() == [
        "downloaded", "downloaded"]


def test_incomplete_or_invalid_files_are_never_kept(irsa):
    target = os.path.join(root(), "sci", "2021", "1122", "348889", SCI[0])
    os.makedirs(os.path.dirname(target))
    with open(target, "wb") as fh:                   # e.g. an interrupted copy
        fh.write(irsa.data(SCI[0])[:2880 * 3])
    assert not archive.is_complete(target)
    assert archive.download(SCI[0], "sciimg.fits", progress=False)["status"].tolist() == [
        "downloaded"]
    assert archive.is_complete(target)
    bad = SCI[1].replace("_sciimg.", "_sexcat.")
    irsa.add_file(bad, b"<html><body>Please log in</body></html>")
    with pytest.raises(archive.DownloadError, match="not complete FITS.*starts with b'<html>"):
        archive.download(SCI[1], "sexcat.fits", progress=False)
    assert leftovers(root()) == []
    assert not os.path.exists(os.path.join(os.path.dirname(target).replace(
        "2021/1122/348889", "2022/0414/284606"), bad))


def test_is_complete_checks(tmp_path, server):
    data = server.data(SCI[0])
    path = tmp_path / SCI[0]
    for content, ok in ((data, True), (data[:-2880], False), (data[:-1], False),
                        (b"", False), (b"x" * 2880, False)):
        path.write_bytes(content)
        assert archive.is_complete(path) is ok
    psf = tmp_path / "ztf_20211122348889_000857_zr_c09_o_q2_sciimgdao.psf"
    assert not archive.is_complete(psf)
    psf.write_text("GAUSSIAN   47    2    3    0\n")
    assert archive.is_complete(psf)


# ------------------------------------------------------------------------------ local
def test_ensure_local_and_open(irsa):
    from ztfimg import ScienceImage
    sci, msk = archive.ensure_local(SCI[1])
    assert (sci, msk) == (archive.download(SCI[1], progress=False)["path"].iloc[0],
                          os.path.join(root(), "sci", "2022", "0414", "284606", MSK[1]))
    img = ScienceImage.from_filename(sci)
    assert img.data.shape == (64, 64)
    assert int(img.header["FIELDID"]) == 858 and int(img.header["CCDID"]) == 12
    n = len(irsa.log)
    assert archive.ensure_local(SCI[1], download=False, workers=2) == (sci, msk)
    with pytest.raises(InvalidParameterError, match="unknown option.*'worker'"):
        archive.ensure_local(SCI[1], download=False, worker=2)
    assert len(irsa.log) == n
    with pytest.raises(MissingFileError, match="2 file.*are missing .*download=True") as info:
        archive.ensure_local(SCI[0], download=False)
    assert not isinstance(info.value, archive.ProductNotFoundError) and MSK[0] in str(info.value)
    paths = archive.ensure_local_frames(archive.search(*CENTRE, filters="zr"))
    assert paths.columns.tolist() == ["sciimg.fits", "mskimg.fits"]
    assert [os.path.basename(p) for p in paths["sciimg.fits"]] == [SCI[0], SCI[2]]
    assert all(archive.is_complete(p) for p in paths.to_numpy().ravel())
    (ref,) = archive.ensure_local(SCI[0], "refimg.fits")
    assert ref == os.path.join(root(), "ref", "000", "field000857", "zr", "ccd09", "q2",
                               "ztf_000857_zr_c09_q2_refimg.fits")


def test_from_filename_downloads_what_is_missing(irsa, monkeypatch):
    from ztfimg import ReferenceImage, ScienceImage
    img = ScienceImage.from_filename(SCI[2], download=True, progress=False)
    assert img.data.shape == (64, 64) and img.has_mask
    assert img.filename == os.path.join(root(), "sci", "2023", "1030", "503553", SCI[2])
    n = len(irsa.log)
    again = ScienceImage.from_filename(SCI[2], download=True)      # present: no request
    assert len(irsa.log) == n and again.filename == img.filename
    # without download=True a bare name is only looked up, never fetched
    with pytest.raises(MissingFileError):
        ScienceImage.from_filename(SCI[0])
    assert len(irsa.log) == n
    ref = ReferenceImage.from_filename(filenames.reference_filename(SCI[0]), download=True,
                                       progress=False)
    assert ref.filename.endswith("ztf_000857_zr_c09_q2_refimg.fits")
    monkeypatch.setenv("ZTFIMG_OFFLINE", "1")
    with pytest.raises(OfflineError, match=MSK[1]):
        ScienceImage.from_filename(SCI[1], download=True)


def test_difference_image_from_filename_downloads(irsa, tmp_path):
    import io

    from astropy.io import fits

    from ztfimg import DifferenceImage
    sci = irsa.data(SCI[2])
    header = fits.getheader(io.BytesIO(sci))
    diff = np.random.default_rng(3).normal(0, 5, (64, 64)).astype(np.float32)
    buf = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(diff, header=header,
                                                       compression_type="GZIP_2",
                                                       quantize_level=0.0)]).writeto(buf)
    irsa.add_file(filenames.sibling(SCI[2], "scimrefdiffimg.fits.fz"), buf.getvalue())
    name = filenames.sibling(SCI[2], "scimrefdiffimg.fits.fz")
    img = DifferenceImage.from_filename(name, download=True, progress=False)
    np.testing.assert_array_equal(img.data, diff)
    assert img.has_mask and img.sciencefile.endswith(SCI[2])
    assert img.filename == os.path.join(root(), "sci", "2023", "1030", "503553", name)


def test_arguments_and_settings(irsa, monkeypatch):
    for bad in ({"workers": 0}, {"retries": -1}, {"timeout": 0}, {"errors": "ignore"},
                {"progress": "yes"}, {"suffixes": ()}):
        with pytest.raises(InvalidParameterError):
            archive.download(SCI[0], **bad)
    with pytest.raises(FileNameError, match="frame 1"):
        archive.download([SCI[0], "notes.txt"])
    with pytest.raises(InvalidParameterError, match="ensure_local_frames"):
        archive.ensure_local(SCI)
    monkeypatch.delenv("ZTFDATA")
    with pytest.raises(InvalidParameterError, match="set the environment variable ZTFDATA"):
        archive.download(SCI[0])
    assert irsa.log == []
    assert archive.irsa_url() == irsa.base_url
    monkeypatch.delenv("ZTFIMG_IRSA_URL")
    assert archive.irsa_url() == archive.DEFAULT_IRSA_URL
    assert archive.product_url(MSK[0]) == (
        "https://irsa.ipac.caltech.edu/ibe/data/ztf/products/sci/2021/1122/348889/" + MSK[0])
    with pytest.raises(InvalidParameterError):
        archive.irsa_url("ftp://example.org/ibe/")
    assert issubclass(archive.DownloadError, OfflineError)
    assert issubclass(archive.AuthenticationRequiredError, ZTFImgError)


def test_file_lock_serialises_holders(tmp_path):
    target = str(tmp_path / "x.fits")
    first = FileLock(target)
    assert first.acquire() is False
    got = []

    def second():
        lock = FileLock(target, poll=0.01)
        got.append(lock.acquire())
        lock.release()

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.1)
    assert got == []                                  # still waiting
    first.release()
    t.join(5)
    assert got == [True]
    assert not os.path.exists(lock_path(target))
    with FileLock(target):
        with pytest.raises(archive.DownloadError, match="waited 0.1 s for the lock"):
            FileLock(target, timeout=0.1, poll=0.02).acquire()


def test_position_to_light_curve_end_to_end(tmp_path, monkeypatch):
    """ImageCollection.from_sky(ra, dec).forced_photometry(ra, dec): search, download and
    the light curve, end to end."""
    import pandas as pd

    from ztfimg import ImageCollection
    real = manifest_rows()[1]                         # field 857 c09 q2, zr
    ra, dec = real["crval1"], real["crval2"]
    star = pd.DataFrame({"ra": [ra], "dec": [dec], "mag": [16.0]})
    with IRSAServer(repeat_row(real, 4, days=3.0)) as srv:
        srv.add_frames(shape=(64, 64), catalog=star)
        monkeypatch.setenv("ZTFIMG_IRSA_URL", srv.base_url)
        monkeypatch.setenv("ZTFDATA", str(tmp_path))
        monkeypatch.delenv("ZTFIMG_OFFLINE", raising=False)
        frames = archive.search(ra, dec, filters="zr")
        assert frames["filename"].iloc[0] == SCI[0] and len(frames) == 4
        col = ImageCollection.from_sky(ra, dec, filters="zr", progress=False)
        assert len(col) == 4 and all(archive.is_complete(f) for f in col.files)
        lc = col.forced_photometry(ra, dec, radius=3, bkgann=(10, 15), progress=False)
    assert lc.shape == (1, 1, 4)
    assert np.diff(np.asarray(lc.mjd, float)) == pytest.approx([3.0, 3.0, 3.0])
    flux, err, flags = lc.flux[0, 0], lc.flux_err[0, 0], lc.flags[0, 0]
    expected = 10 ** (-0.4 * (16.0 - 26.3)) * 0.998  # MAGZP 26.3; 3 px holds 99.8% (FWHM 2)
    good = flags == 0
    assert good.sum() >= 3
    assert np.all(np.abs(flux[good] - expected) < 4 * err[good])


def test_lock_and_part_files_follow_one_hidden_path_rule():
    from ztfimg.archive import lock, transfer
    target = os.path.join("some", "dir", "ztf_000655_zr_c13_q3_refimg.fits")
    assert lock.lock_path(target) == os.path.join("some", "dir",
                                                  ".ztf_000655_zr_c13_q3_refimg.fits.lock")
    assert part_path(target) == os.path.join("some", "dir",
                                             ".ztf_000655_zr_c13_q3_refimg.fits.part")
    assert lock.hidden_path(target, "part") == part_path(target)
    assert transfer.hidden_path is lock.hidden_path   # one implementation, the lower module's
