"""From a sky position to frames on disk: search the ZTF archive, download into $ZTFDATA.

The calls are the ones you make against IRSA. So that this example runs anywhere (and in
the tests, offline), it starts a local stand-in for IRSA's image server on 127.0.0.1
(``tests/support/irsa_server.py``: the real IRSA metadata rows of three ZTF quadrants
around RA 96.9, Dec +77.7, with small simulated frames) and passes its address as
``base_url``; ``offline=False`` is given explicitly because only that local server is
contacted. Against IRSA itself, drop ``base_url`` (or ``export ZTFIMG_IRSA_URL=...`` for a
mirror) and set ``ZTFDATA`` to your mirror's directory.
Run: ``python examples/archive_search.py``.
"""
import os
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")

from ztfimg import ScienceImage, archive
from ztfimg.errors import OfflineError

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from support.irsa_server import IRSAServer  # noqa: E402  (the local IRSA stand-in)

RA, DEC = 96.9173, 77.7049


if __name__ == "__main__":
    root = tempfile.mkdtemp(prefix="ztfdata-")        # your $ZTFDATA
    with IRSAServer() as irsa:
        irsa.add_frames(shape=(128, 128))
        here = {"base_url": irsa.base_url, "offline": False}   # against IRSA: leave out

        # 1. which frames cover the position (IRSA's metadata + the ZTF file names)
        frames = archive.search(RA, DEC, filters="zr", **here)
        print(frames[["filename", "obsdate", "seeing", "maglimit"]].to_string())
        refs = archive.search(RA, DEC, kind="ref", **here)
        print(refs[["filename", "nframes"]].to_string())

        # 2. their images and masks, in the archive layout under root, in parallel
        files = archive.download(frames, ("sciimg.fits", "mskimg.fits"), root=root,
                                 progress=False, **here)
        print(files[["name", "status", "size"]].to_string())
        print("first file:", os.path.relpath(files["path"].iloc[0], root))

        # 3. a second call transfers nothing, and works offline (ZTFIMG_OFFLINE=1) too
        again = archive.download(frames, root=root, progress=False)
        print("second call:", again["status"].value_counts().to_dict())

        # 4. offline with files missing: a clear error naming them
        try:
            archive.download(frames, ("sciimg.fits", "refimg.fits"), root=root, offline=True)
        except OfflineError as exc:
            print("offline:", str(exc)[:160], "...")

        # 5. what ScienceImage.from_filename(name, download=True) does: paths, then open
        sci, msk = archive.ensure_local(frames["filename"].iloc[0], root=root)
        img = ScienceImage.from_filename(sci)
        print(img)
        ax = img.show()
        ax.set_title(os.path.basename(sci), fontsize=7)
        ax.figure.savefig("archive-frame.png", dpi=70)
