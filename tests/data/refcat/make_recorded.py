"""Regenerate the recorded VizieR answers in this directory.

    python tests/data/refcat/make_recorded.py

Writes ``*_truth.csv`` (the catalogue content, ids as integers) and the
matching ``vizier_*.xml`` bodies in the VOTable layout VizieR returns to
astroquery (see README.md).  Deterministic (fixed seed and date).
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent))  # tests/, for the test-support package
from support.vizier_votable import to_vizier_votable  # noqa: E402
RA0, DEC0 = 150.1, 2.2  # COSMOS-like field


def _disc(rng, n, r_deg):
    rho = r_deg * np.sqrt(rng.uniform(0, 1, n))
    th = rng.uniform(0, 2 * np.pi, n)
    return RA0 + rho * np.cos(th) / np.cos(np.radians(DEC0)), DEC0 + rho * np.sin(th)


def ps1(rng, n=25):
    ra, dec = _disc(rng, n, 0.05)
    df = pd.DataFrame({
        "objid": 110281501000000000 + rng.integers(0, 10**9, n) * 1000 + rng.integers(0, 999, n),
        "ra": ra.round(7), "dec": dec.round(7),
        "qual": rng.choice([52, 60, 61, 62, 63, 44, 16], n).astype(np.int16),
    })
    for b, off in zip("grizy", (0.6, 0.0, -0.2, -0.3, -0.35)):
        m = rng.uniform(14, 21.5, n) + off
        df[f"{b}mag"] = m.round(4)
        df[f"e_{b}mag"] = (0.002 + 0.03 * 10 ** (0.4 * (m - 21))).round(4)
    df.loc[[3, 7], ["ymag", "e_ymag"]] = np.nan  # undetected in y
    df.loc[11, ["gmag", "e_gmag"]] = np.nan
    return df


def gaia(rng, n=20):
    ra, dec = _disc(rng, n, 0.05)
    ids = 3837000000000000000 + rng.integers(0, 10**15, n)
    ids[0] = 6917528997577384320  # largest-ever style id: must survive exactly (> 2**53)
    df = pd.DataFrame({
        "source_id": ids.astype(np.int64), "ra": ra.round(11), "dec": dec.round(11),
        "parallax": rng.normal(1.0, 1.5, n).round(4),
        "pmra": rng.normal(-3, 8, n).round(3), "pmdec": rng.normal(-5, 8, n).round(3),
        "ruwe": rng.uniform(0.8, 1.6, n).round(3),
    })
    g = rng.uniform(12, 20.5, n)
    for b, off, e in (("G", 0, 0.0003), ("BP", 0.4, 0.003), ("RP", -0.5, 0.003)):
        df[f"{b}mag"] = (g + off).round(6)
        df[f"e_{b}mag"] = (e + 0.01 * 10 ** (0.4 * (g - 20))).round(6)
    df.loc[[4, 9], ["parallax", "pmra", "pmdec", "ruwe"]] = np.nan  # 2-parameter solutions
    df.loc[9, ["BPmag", "e_BPmag", "RPmag", "e_RPmag"]] = np.nan
    return df


def main():
    rng = np.random.default_rng(20240601)
    query = {"-c": f"{RA0:.8f}+{DEC0:.8f}", "-c.rd": "0.1"}
    for name, table, df in (("ps1", "II/349/ps1", ps1(rng)), ("gaiadr3", "I/355/gaiadr3", gaia(rng))):
        df.to_csv(HERE / f"{name}_truth.csv", index=False)
        body = to_vizier_votable(df, table, query=query)
        (HERE / f"vizier_{name}.xml").write_bytes(_fixed_date(body))
    empty = to_vizier_votable(ps1(rng).iloc[:0], "II/349/ps1",
                              query={"-c": "150.00000000+80.00000000", "-c.rd": "0.1"})
    (HERE / "vizier_ps1_empty.xml").write_bytes(_fixed_date(empty))


def _fixed_date(body):
    lines = body.decode().splitlines(keepends=True)
    lines = ["    Date: 2024-06-01T12:00:00 [V7.4.5]\n" if ln.strip().startswith("Date:") else ln
             for ln in lines]
    return "".join(lines).encode()


if __name__ == "__main__":
    main()
