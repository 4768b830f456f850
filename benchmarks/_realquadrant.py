"""The real sample quadrant as bare sep sees it: the one set-up the aperture, extraction and
thread benchmarks share (``python benchmarks/bench_*.py`` puts this folder on the path)."""

from types import SimpleNamespace

import numpy as np
import sep
from astropy.io import fits

from ztfimg import bitmask, datasets


def bare_arrays():
    """Read the quadrant, subtract sep's background (masked by the background bits).

    Returns
    -------
    types.SimpleNamespace
        ``sub`` (float32, C-contiguous, background subtracted), ``det`` (bool, the
        detection bits), ``mask`` (int16, the mask image), ``rms`` (sep's global rms).
    """
    sci, msk = datasets.get_real_quadrant(offline=True, verify=False)
    data = fits.getdata(sci).astype(np.float32)
    mask = fits.getdata(msk).astype(np.int16)
    bkg = sep.Background(data, mask=(mask & int(bitmask.BACKGROUND_BITS)) != 0)
    sub = np.ascontiguousarray(data - bkg.back(), dtype=np.float32)
    det = (mask & int(bitmask.DETECTION_BITS)) != 0
    return SimpleNamespace(sub=sub, det=det, mask=mask, rms=bkg.globalrms)
