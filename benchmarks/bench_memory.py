"""Peak memory of real workloads on the real ZTF quadrant, each in a fresh process.

Workloads (3080x3072 real quadrant, public calls only):

* ``session``: ``ScienceImage(sci, mask)``, ``load_source_background()``,
  ``extract_sources()``, aperture photometry of 1000 positions (the first 1000 extracted
  sources; seeded random in-frame positions if extraction fails) at radii 3, 5, 8 px with a
  10-15 px annulus, and 1000 stamps of 23 px. At the end, the bytes of the numpy arrays the
  image object holds (each distinct buffer once; DataFrames by ``memory_usage(deep=True)``).
* ``forced``: ``ScienceImage(sci, mask)``, ``get_background()``, 1000 seeded random in-frame
  positions at r = 5 px with a 10-15 px annulus.

Each run is a fresh ``python3 bench_memory.py --child NAME`` process; runs are interleaved
(session, forced, session, forced, ...). The child reports its peak RSS (``VmHWM`` from
``/proc/self/status``, cross-checked by ``ru_maxrss``) and the baseline RSS after the imports
(numpy, astropy, sep, ``ztfimg``, ``ztfimg.image``), so the increment of the workload shows.
A call that raises is reported (step and exception) and the run goes on without it. Run:

    python3 benchmarks/bench_memory.py [--repeat 3]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

WORKLOADS = ("session", "forced")
TARGET_MB = {"session": 300.0, "forced": 200.0}  # peak RSS targets from the issue
N_POS, SEED = 1000, 12345
RADII, BKGANN, STAMP = [3, 5, 8], (10, 15), 23


# ---------------------------------------------------------------- measurements (child side)
def _status_mb(field):
    """A ``kB`` field of /proc/self/status (VmHWM, VmRSS) in MB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _ru_maxrss_mb():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def held_array_bytes(obj):
    """Bytes of the numpy arrays reachable from ``obj`` through ``__dict__``/containers.

    Walks dicts (keys and values), lists, tuples, sets, objects with ``__dict__`` or
    ``__slots__``; each ndarray is counted once per distinct base buffer (the root of its
    ``.base`` chain, by id, during this walk only); pandas DataFrames/Series count as
    ``memory_usage(deep=True).sum()`` and are not walked further. Returns
    ``(total_bytes, memmapped_bytes)``: the part whose buffer is a file mapping (np.memmap or
    mmap) is resident only as far as it was read.
    """
    import mmap
    import types

    import numpy as np
    try:
        import pandas as pd
        frames = (pd.DataFrame, pd.Series, pd.Index)
    except ImportError:  # pragma: no cover
        frames = ()
    seen_obj, seen_buf = set(), set()
    total = mapped = 0
    skip = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType,
            types.MethodType, str, bytes, int, float, complex, bool, type(None))
    stack = [obj]
    while stack:
        o = stack.pop()
        if isinstance(o, skip) or id(o) in seen_obj:
            continue
        seen_obj.add(id(o))
        if isinstance(o, np.ndarray):
            root, is_map = o, isinstance(o, np.memmap)
            while isinstance(root.base, np.ndarray):
                root = root.base
                is_map = is_map or isinstance(root, np.memmap)
            is_map = is_map or isinstance(root.base, mmap.mmap)
            key = id(root.base) if root.base is not None else id(root)
            if key not in seen_buf:
                seen_buf.add(key)
                total += root.nbytes
                mapped += root.nbytes if is_map else 0
            continue
        if frames and isinstance(o, frames):
            n = o.memory_usage(deep=True)
            total += int(n.sum()) if hasattr(n, "sum") else int(n)
            continue
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            stack.extend(o)
        d = getattr(o, "__dict__", None)
        if isinstance(d, dict):
            stack.extend(d.values())
        for cls in type(o).__mro__:
            for name in getattr(cls, "__slots__", ()):
                if isinstance(name, str) and hasattr(o, name):
                    stack.append(getattr(o, name))
    return total, mapped


def _positions(x=None, y=None, shape=(3080, 3072)):
    """The first N_POS given positions, or seeded random in-frame ones."""
    import numpy as np
    if x is not None and len(x) >= N_POS:
        return np.asarray(x[:N_POS], float), np.asarray(y[:N_POS], float), "extracted"
    rng = np.random.default_rng(SEED)
    ny, nx = shape
    return rng.uniform(5, nx - 6, N_POS), rng.uniform(5, ny - 6, N_POS), f"random(seed={SEED})"


def child(name, sci, msk):
    out = {"workload": name, "errors": [], "steps": {}}
    t0 = time.perf_counter()
    import numpy as np  # noqa: F401
    import astropy.io.fits  # noqa: F401
    import astropy.wcs  # noqa: F401
    import sep  # noqa: F401
    import ztfimg  # noqa: F401
    from ztfimg import image
    out["import_s"] = time.perf_counter() - t0
    out["baseline_mb"] = _status_mb("VmRSS")
    out["baseline_hwm_mb"] = _status_mb("VmHWM")

    def step(label, fn):
        t = time.perf_counter()
        try:
            r = fn()
        except Exception as e:  # report, go on
            out["errors"].append(f"{label}: {type(e).__name__}: {e}"[:300])
            r = None
        out["steps"][label] = round(time.perf_counter() - t, 3)
        return r

    t0 = time.perf_counter()
    z = step("ScienceImage", lambda: image.ScienceImage(sci, msk))
    if z is not None:
        try:
            shape = tuple(z.data.shape)
        except Exception:
            shape = (3080, 3072)
        if name == "session":
            step("load_source_background", lambda: z.load_source_background())
            src = step("extract_sources", lambda: z.extract_sources())
            sx = sy = None
            if src is not None:
                try:
                    sx, sy = src["x"].to_numpy(), src["y"].to_numpy()
                except Exception as e:
                    out["errors"].append(f"sources x/y: {type(e).__name__}: {e}"[:300])
            x, y, out["positions"] = _positions(sx, sy, shape)
            step("aperture_photometry", lambda: z.aperture_photometry(x, y, RADII, bkgann=BKGANN))
            step("get_stamp", lambda: z.get_stamp(x, y, dx=STAMP))
            held = step("held_arrays", lambda: held_array_bytes(z))
            if held is not None:
                out["held_mb"], out["held_mapped_mb"] = held[0] / 2**20, held[1] / 2**20
        elif name == "forced":
            step("get_background", lambda: z.get_background())
            x, y, out["positions"] = _positions(None, None, shape)
            step("aperture_photometry", lambda: z.aperture_photometry(x, y, 5, bkgann=BKGANN))
        else:
            raise SystemExit(f"unknown workload {name!r}; expected one of {WORKLOADS}")
    out["work_s"] = time.perf_counter() - t0
    out["peak_mb"] = _status_mb("VmHWM")
    out["ru_maxrss_mb"] = _ru_maxrss_mb()
    out["end_rss_mb"] = _status_mb("VmRSS")
    print("RESULT " + json.dumps(out))


# ---------------------------------------------------------------- driver (parent side)
def run_child(name, sci, msk):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", name, sci, msk]
    p = subprocess.run(cmd, capture_output=True, text=True)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (p.stderr or p.stdout).strip().splitlines()[-5:]
    return {"workload": name, "errors": [f"child exited {p.returncode}: " + " | ".join(tail)]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="fresh processes per workload")
    ap.add_argument("--child", nargs=3, metavar=("WORKLOAD", "SCI", "MSK"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return

    from ztfimg import datasets
    sci, msk = datasets.get_real_quadrant(offline=True, verify=False)
    runs = {w: [] for w in WORKLOADS}
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        for w in WORKLOADS:  # interleaved: session, forced, session, forced, ...
            runs[w].append(run_child(w, sci, msk))
    wall = time.perf_counter() - t0

    def col(rs, key):
        return [r[key] for r in rs if key in r]

    def fmt(v, spec=".0f"):
        return format(v, spec) if v is not None else "n/a"

    med = lambda v: statistics.median(v) if v else None  # noqa: E731
    low = lambda v: min(v) if v else None  # noqa: E731
    print(f"peak memory, real quadrant, {args.repeat} fresh processes per workload "
          f"(interleaved), {N_POS} positions; MB = 2**20 bytes")
    head = ("workload", "baseline RSS", "peak min", "peak median", "increment (med)",
            "ru_maxrss med", "held arrays", "work s (med)", "target", "")
    rows = []
    for w in WORKLOADS:
        rs = runs[w]
        peak, base = col(rs, "peak_mb"), col(rs, "baseline_mb")
        held = col(rs, "held_mb")
        pk = med(peak)
        verdict = "" if pk is None else ("met" if pk <= TARGET_MB[w] else "NOT met")
        rows.append((w, fmt(med(base)), fmt(low(peak)), fmt(pk),
                     fmt(None if pk is None or not base else pk - med(base)),
                     fmt(med(col(rs, "ru_maxrss_mb"))),
                     fmt(med(held)) if held else "-", fmt(med(col(rs, "work_s")), ".2f"),
                     f"<= {TARGET_MB[w]:.0f}", verdict))
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(str(c).ljust(n) for c, n in zip(r, widths)) + " |"  # noqa: E731
    print(line(head))
    print("|" + "|".join("-" * (n + 2) for n in widths) + "|")
    for r in rows:
        print(line(r))
    for w in WORKLOADS:
        rs = runs[w]
        if rs and "steps" in rs[0]:
            steps = rs[0]["steps"]
            print(f"{w}: positions {rs[0].get('positions', '?')}; step times (s, median): " + ", ".join(
                f"{k}={statistics.median([r['steps'].get(k, float('nan')) for r in rs if 'steps' in r]):.2f}"
                for k in steps))
        mapped = col(rs, "held_mapped_mb")
        if mapped:
            print(f"{w}: held arrays {med(col(rs, 'held_mb')):.0f} MB, of which file-mapped "
                  f"{med(mapped):.0f} MB")
        errs = sorted({e for r in rs for e in r.get("errors", [])})
        for e in errs:
            print(f"{w}: ERROR {e}")
    print(f"total wall time {wall:.1f} s")


if __name__ == "__main__":
    main()
