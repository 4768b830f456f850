"""Shared fixtures: the real ZTF quadrant, real headers and real DAOPhot cutouts.

The tests never touch the network. The real quadrant must already be in the ztfimg cache
(``python -m ztfimg fetch-data``, which the README's test command and CI run first); when it
is absent the tests that need it fail with a message saying so, they are not skipped.
"""

import os
import socket

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

DATA = os.path.join(os.path.dirname(__file__), "data")
HEADERS = os.path.join(DATA, "headers")
REAL_SCI_HEADER = os.path.join(HEADERS, "ztf_20200924431759_000655_zr_c13_o_q3_sciimg.hdr")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Refuse any connection that is not to this machine: tests must be offline."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1")
                                      or self.family == socket.AF_UNIX):
            return real_connect(self, address)
        raise RuntimeError(f"network access attempted in a test: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def real_quadrant_paths():
    """(sciimg, mskimg) paths of the real ZTF quadrant from the cache (offline)."""
    from ztfimg import datasets
    from ztfimg.errors import OfflineError
    try:
        return datasets.get_real_quadrant(offline=True, verify=False)
    except OfflineError as exc:
        pytest.fail(f"the real ZTF quadrant is needed: run `python -m ztfimg fetch-data` first ({exc})")


@pytest.fixture(scope="session")
def real_image(real_quadrant_paths):
    """The real quadrant as a ScienceImage (shared: tests must not modify it)."""
    from ztfimg import ScienceImage
    return ScienceImage(*real_quadrant_paths)


@pytest.fixture(scope="session")
def real_header():
    from astropy.io import fits
    return fits.Header.fromtextfile(REAL_SCI_HEADER)


@pytest.fixture(scope="session")
def small_frame():
    """A simulated 600x640 quadrant (seed 3) with its truth."""
    from ztfimg import simulate
    return simulate.simulate_quadrant(shape=(600, 640), seed=3)


def assert_unchanged(before, after):
    np.testing.assert_array_equal(np.asarray(before), np.asarray(after))
