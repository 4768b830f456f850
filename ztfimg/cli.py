"""The ``ztfimg`` command line (also ``python -m ztfimg``).

Commands
--------
``ztfimg demo [--outdir DIR] [--real] [--size N]``
    The main job on a built-in default, offline: simulate a ZTF quadrant (or use the real
    sample quadrant with ``--real`` when it is cached), load it as a ScienceImage, measure it
    and write pictures and tables to ``DIR``.
``ztfimg info FILE [FILE ...]``
    One line per ZTF image: the ScienceImage summary.
``ztfimg fetch-data``
    Obtain the real sample quadrant into the cache (needs the Python package index).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

__all__ = ["main", "run_demo"]


def _log(msg):
    print(msg, flush=True)


def run_demo(outdir="ztfimg-demo", real=False, size=None, seed=0):
    """Run the demo pipeline and return a dict of what it produced.

    Parameters
    ----------
    outdir : str, default 'ztfimg-demo'
        Output directory (created).
    real : bool, default False
        Use the real sample quadrant (must be cached, see ``ztfimg fetch-data``).
    size : int, optional
        Side of a smaller simulated frame (default: a full 3080x3072 quadrant).
    seed : int, default 0
        Seed of the simulation.

    Returns
    -------
    dict
        Paths written and summary numbers.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from . import datasets, simulate
    from .image import ScienceImage

    os.makedirs(outdir, exist_ok=True)
    out = {}
    t0 = time.perf_counter()
    if real:
        sciimg, mskimg = datasets.get_real_quadrant(offline=True)
        truth = None
        _log(f"real ZTF quadrant: {os.path.basename(sciimg)}")
    else:
        shape = (3080, 3072) if size is None else (int(size), int(size))
        frame = simulate.simulate_quadrant(shape=shape, seed=seed)
        sciimg, mskimg = frame.write(os.path.join(outdir, "data"))[:2]
        truth = frame.truth
        _log(f"simulated ZTF quadrant ({shape[1]}x{shape[0]}, {len(truth)} stars, seed {seed}) "
             f"written to {os.path.dirname(sciimg)}")
    img = ScienceImage.from_filename(sciimg)
    _log(repr(img))
    mask = img.get_mask()
    _log(f"  masked pixels (detection selection): {int(mask.sum())} "
         f"of {mask.size} ({100 * mask.mean():.3f}%)")
    ra, dec = img.get_center("radec")
    _log(f"  centre: RA {ra:.5f}  Dec {dec:.5f} deg; MAGZP {img.magzp:.3f} "
         f"(+-{img.magzpunc:.1e}); gain {img.gain} e-/DN; saturation {img.saturation:.0f} DN")
    out["image"] = img

    if hasattr(img, "extract_sources"):
        img.load_source_background()
        src = img.extract_sources(thresh=5, setmag=True)
        _log(f"  background {img.background.globalback:.2f} DN, rms {img.background.globalrms:.2f} DN; "
             f"{len(src)} sources at 5 sigma")
        src_path = os.path.join(outdir, "sources.csv")
        src.to_csv(src_path, index=False)
        out["sources"] = src_path
        if truth is not None:
            from .catalog import match
            inside = truth[truth["inside"]]
            i1, i2, _ = match(src["ra"].to_numpy(), src["dec"].to_numpy(),
                              inside["ra"].to_numpy(), inside["dec"].to_numpy(), 1.5)
            bright = inside.iloc[i2]
            dm = src["mag"].to_numpy()[i1] - bright["mag"].to_numpy()
            ok = np.isfinite(dm) & (bright["mag"].to_numpy() < 19)
            _log(f"  matched {len(i1)} detections to the truth; "
                 f"median(mag - true mag) for stars brighter than 19: {np.median(dm[ok]):+.3f}")
        ax = img.show(overlay="sources")
    else:  # pragma: no cover - before the measurement layer exists
        fig, ax = plt.subplots(figsize=(7, 7))
        d = img.get_data(apply_mask=True)
        lo, hi = np.nanpercentile(d, [1, 99])
        ax.imshow(d, origin="lower", vmin=lo, vmax=hi, cmap="gray")
    png = os.path.join(outdir, "frame.png")
    ax.figure.savefig(png, dpi=90, bbox_inches="tight")
    plt.close(ax.figure)
    out["png"] = png
    _log(f"  picture of the frame: {png}")
    _log(f"done in {time.perf_counter() - t0:.1f} s")
    return out


def main(argv=None) -> int:
    """Entry point of the ``ztfimg`` command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="ztfimg", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    p_demo = sub.add_parser("demo", help="simulate (or load) a ZTF quadrant and measure it, offline")
    p_demo.add_argument("--outdir", default="ztfimg-demo", help="output directory (default ztfimg-demo)")
    p_demo.add_argument("--real", action="store_true", help="use the cached real sample quadrant")
    p_demo.add_argument("--size", type=int, default=None, help="side of a smaller simulated frame")
    p_demo.add_argument("--seed", type=int, default=0, help="simulation seed (default 0)")
    p_info = sub.add_parser("info", help="summarise ZTF image files")
    p_info.add_argument("files", nargs="+")
    sub.add_parser("fetch-data", help="obtain the real sample quadrant into the cache")
    args = parser.parse_args(argv)

    from .errors import ZTFImgError
    try:
        if args.command == "demo":
            run_demo(args.outdir, real=args.real, size=args.size, seed=args.seed)
        elif args.command == "info":
            from .image import ScienceImage
            for f in args.files:
                print(repr(ScienceImage(f)))
        elif args.command == "fetch-data":
            from . import datasets
            for path in datasets.get_real_quadrant():
                print(path)
        else:
            parser.print_help()
            return 2
    except ZTFImgError as exc:
        print(f"ztfimg: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
