"""Make the README's pictures from a run of ``ztfimg demo``: small PNGs in docs/images/.

Run from the project root: ``python docs/make_images.py [DEMO_DIR]``. Without DEMO_DIR the
demo is run first (offline, about 20 s) in a temporary directory. Each picture is the demo's
own, resized and reduced to a palette (:data:`PICTURES`) so that it stays under 150 KB.
"""
import os
import sys
import tempfile

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "images")
#: The demo's pictures shown in the README: (width in pixels, palette colours). Frames of
#: noise compress badly, so they get fewer colours; plots keep smooth colour bars.
PICTURES = {"frame.png": (800, 64), "photometry.png": (900, 256), "stack.png": (900, 96),
            "season_lightcurve.png": (560, 128), "transient.png": (560, 128)}
MAX_BYTES = 150_000


def shrink(src, dst, width, colours):
    """Resize ``src`` to ``width`` (never larger) with a palette of ``colours``; the size."""
    with Image.open(src) as im:
        im = im.convert("RGB")
        if im.width > width:
            im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
        im.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(dst, optimize=True)
    return os.path.getsize(dst)


def main(demo_dir=None):
    if demo_dir is None:
        from ztfimg.cli import run_demo
        demo_dir = tempfile.mkdtemp(prefix="ztfimg-demo-")
        run_demo(demo_dir)
    os.makedirs(OUT, exist_ok=True)
    for name, (width, colours) in PICTURES.items():
        size = shrink(os.path.join(demo_dir, name), os.path.join(OUT, name), width, colours)
        print(f"{name}: {size / 1000:.0f} KB")
        if size > MAX_BYTES:
            raise SystemExit(f"{name} is {size} bytes, over {MAX_BYTES}: lower its width")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
