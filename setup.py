"""Build ztfimg's compiled kernel (ztfimg/_kernel.c); the rest of the metadata is setup.cfg.

The extension is optional: without a C compiler the install still succeeds and ztfimg
uses sep's aperture routes and the numpy versions of the stack and calibration-frame
loops (``ztfimg._npkernels``; ``ztfimg.overlap.HAVE_KERNEL`` is then False).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "ztfimg._kernel", sources=["ztfimg/_kernel.c"], optional=True,
    # no -ffast-math: the overlap arithmetic relies on IEEE semantics
    extra_compile_args=["-O3", "-pthread", "-fno-fast-math"], extra_link_args=["-pthread"],
    libraries=["m"])])
