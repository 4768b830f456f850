"""Sample real ZTF data, obtained once into a user cache and verified by sha256.

The sample is one public ZTF science quadrant with its mask (field 655, CCD 13, quadrant 3,
ZTF_r, 2020-09-24). The two files are shipped (Apache-2.0) in the source distribution of
the PyPI package ``ztfimg==0.19.0`` (an older, unrelated toolkit of the same name), so they
are obtained with pip from the package index, unpacked, checked and kept in the cache.

Cache location: ``$ZTFIMG_CACHE/data`` (default ``~/.cache/ztfimg/data``). Set
``ZTFIMG_OFFLINE=1`` to forbid any download.

Examples
--------
>>> from ztfimg import datasets
>>> sciimg, mskimg = datasets.get_real_quadrant()            # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

from .errors import FileFormatError, OfflineError

__all__ = ["cache_dir", "is_offline", "REAL_QUADRANT", "get_real_quadrant", "real_quadrant_cached",
           "verify_sha256"]

#: The files of the sample quadrant and their sha256.
REAL_QUADRANT = {
    "ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits":
        "0884728fcf98cb81c95961987c940069b00fe496552030f7610f6d6390b4dee4",
    "ztf_20200924431759_000655_zr_c13_o_q3_mskimg.fits":
        "dd636f16779a9aaadfab035243dadbed686ebaae8ffac157a60f5e30916ba8f2",
}
_SDIST = ("ztfimg", "0.19.0")
_MEMBER_DIR = "ztfimg-0.19.0/ztfimg/data/"


def cache_dir(subdir: str = "data") -> str:
    """The ztfimg cache directory (``$ZTFIMG_CACHE/<subdir>``, default ``~/.cache/ztfimg``)."""
    root = os.environ.get("ZTFIMG_CACHE") or os.path.join("~", ".cache", "ztfimg")
    return os.path.join(os.path.expanduser(root), subdir)


def is_offline() -> bool:
    """True when ``$ZTFIMG_OFFLINE`` is set to 1/true/yes."""
    return os.environ.get("ZTFIMG_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def verify_sha256(path, expected: str) -> bool:
    """True when the file's sha256 equals ``expected``."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest() == expected


def real_quadrant_cached(directory=None) -> bool:
    """True when both sample files are in the cache (present; not re-hashed)."""
    directory = directory or cache_dir()
    return all(os.path.exists(os.path.join(directory, name)) for name in REAL_QUADRANT)


def _how_to_fill(directory):
    return (f"run `python -m ztfimg fetch-data` with network access to the Python package index, "
            f"or place {', '.join(REAL_QUADRANT)} (from the sdist of {_SDIST[0]}=={_SDIST[1]}, "
            f"{_MEMBER_DIR}) in {directory}")


def _extract_from_sdist(sdist, directory):
    """Unpack the two sample files from the sdist into ``directory``, verified, atomically."""
    os.makedirs(directory, exist_ok=True)
    try:
        tar = tarfile.open(sdist, "r:gz")
    except (tarfile.TarError, OSError) as exc:
        raise FileFormatError(f"{sdist!r} is not a readable source distribution: {exc}") from exc
    with tar:
        for name, sha in REAL_QUADRANT.items():
            try:
                member = tar.getmember(_MEMBER_DIR + name)
            except KeyError:
                raise FileFormatError(f"{sdist!r} has no member {_MEMBER_DIR + name}") from None
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".part-")
            try:
                with os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(tar.extractfile(member), out)
                if not verify_sha256(tmp, sha):
                    raise FileFormatError(f"{name} from {sdist!r} fails its sha256 check")
                os.replace(tmp, os.path.join(directory, name))
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)


def get_real_quadrant(directory=None, *, offline=None, sdist=None, verify=True):
    """Paths of the real sample quadrant (``sciimg``, ``mskimg``), obtaining it once.

    Parameters
    ----------
    directory : str or path-like, optional
        Where the files are kept. Default :func:`cache_dir` ``('data')``.
    offline : bool, optional
        Forbid downloading. Default: ``$ZTFIMG_OFFLINE``.
    sdist : str or path-like, optional
        A local copy of ``ztfimg-0.19.0.tar.gz`` to unpack instead of downloading.
    verify : bool, default True
        Check the sha256 of files already in the cache (a bad file is replaced when online,
        reported when offline).

    Returns
    -------
    (sciimg_path, mskimg_path) : tuple of str

    Raises
    ------
    OfflineError
        When the files are absent and downloading is forbidden or fails; the message says
        how to fill the cache.
    FileFormatError
        When a downloaded file fails its checksum.
    """
    directory = os.fspath(directory or cache_dir())
    offline = is_offline() if offline is None else bool(offline)
    paths = tuple(os.path.join(directory, name) for name in REAL_QUADRANT)
    bad = [p for p, sha in zip(paths, REAL_QUADRANT.values())
           if not os.path.exists(p) or (verify and not verify_sha256(p, sha))]
    if not bad:
        return paths
    if sdist is not None:
        _extract_from_sdist(os.fspath(sdist), directory)
        return paths
    if offline:
        raise OfflineError(f"the real sample quadrant is not in {directory} (missing or corrupt: "
                           f"{[os.path.basename(p) for p in bad]}) and ztfimg is offline; "
                           + _how_to_fill(directory))
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", _SDIST[0],
               "-q", "-d", tmp, f"{_SDIST[0]}=={_SDIST[1]}"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        found = [f for f in os.listdir(tmp) if f.endswith(".tar.gz")]
        if not found:
            raise OfflineError(f"could not download {_SDIST[0]}=={_SDIST[1]} with pip "
                               f"({proc.stderr.strip()[-300:]}); " + _how_to_fill(directory))
        _extract_from_sdist(os.path.join(tmp, found[0]), directory)
    return paths
