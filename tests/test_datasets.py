import hashlib
import io
import os
import tarfile

import pytest

from ztfimg import datasets
from ztfimg.errors import FileFormatError, OfflineError


@pytest.fixture
def fake_sample(monkeypatch, tmp_path):
    """Small stand-ins for the two sample files, in an sdist laid out like the real one."""
    payloads = {"ztf_a_sciimg.fits": b"A" * 1000, "ztf_a_mskimg.fits": b"B" * 500}
    monkeypatch.setattr(datasets, "REAL_QUADRANT",
                        {k: hashlib.sha256(v).hexdigest() for k, v in payloads.items()})
    sdist = tmp_path / "ztfimg-0.19.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as tar:
        for name, data in payloads.items():
            info = tarfile.TarInfo(datasets._MEMBER_DIR + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return sdist, payloads


def test_from_local_sdist_then_cached(fake_sample, tmp_path, monkeypatch):
    sdist, payloads = fake_sample
    cache = tmp_path / "cache"
    paths = datasets.get_real_quadrant(cache, sdist=sdist)
    assert [open(p, "rb").read() for p in paths] == list(payloads.values())
    # second call: nothing to obtain, works offline, never calls pip
    monkeypatch.setattr(datasets.subprocess, "run", lambda *a, **k: pytest.fail("pip called"))
    assert datasets.get_real_quadrant(cache, offline=True) == paths
    assert not [f for f in os.listdir(cache) if f.startswith(".part-")]


def test_download_path_uses_pip_once(fake_sample, tmp_path, monkeypatch):
    sdist, _ = fake_sample
    calls = []

    def fake_pip(cmd, **kw):
        calls.append(cmd)
        dest = cmd[cmd.index("-d") + 1]
        os.link(sdist, os.path.join(dest, sdist.name))
        return type("P", (), {"stderr": "", "returncode": 0})()

    monkeypatch.setattr(datasets.subprocess, "run", fake_pip)
    cache = tmp_path / "c2"
    datasets.get_real_quadrant(cache, offline=False)
    datasets.get_real_quadrant(cache, offline=False)
    assert len(calls) == 1 and "ztfimg==0.19.0" in calls[0] and "--no-binary" in calls[0]


def test_offline_empty_cache_is_clear(fake_sample, tmp_path):
    with pytest.raises(OfflineError, match="fetch-data"):
        datasets.get_real_quadrant(tmp_path / "empty", offline=True)


def test_corrupt_cache_detected(fake_sample, tmp_path):
    sdist, _ = fake_sample
    cache = tmp_path / "c3"
    paths = datasets.get_real_quadrant(cache, sdist=sdist)
    with open(paths[0], "ab") as fh:
        fh.write(b"junk")
    with pytest.raises(OfflineError, match="corrupt"):
        datasets.get_real_quadrant(cache, offline=True)
    assert datasets.get_real_quadrant(cache, sdist=sdist) == paths  # repaired from the sdist
    assert datasets.verify_sha256(paths[0], datasets.REAL_QUADRANT[os.path.basename(paths[0])])


def test_bad_sdist_leaves_no_file(fake_sample, tmp_path, monkeypatch):
    sdist, _ = fake_sample
    monkeypatch.setitem(datasets.REAL_QUADRANT, "ztf_a_sciimg.fits", "0" * 64)
    cache = tmp_path / "c4"
    with pytest.raises(FileFormatError, match="sha256"):
        datasets.get_real_quadrant(cache, sdist=sdist)
    assert not os.path.exists(cache / "ztf_a_sciimg.fits")
    assert not [f for f in os.listdir(cache) if f.startswith(".part-")]


def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("ZTFIMG_CACHE", str(tmp_path))
    assert datasets.cache_dir() == os.path.join(str(tmp_path), "data")
    monkeypatch.setenv("ZTFIMG_OFFLINE", "yes")
    assert datasets.is_offline()
