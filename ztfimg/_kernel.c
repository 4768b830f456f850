/*
 * ztfimg's compiled kernels (loaded by ztfimg/overlap.py and ztfimg/sources.py through
 * ctypes, which releases the GIL for the call).
 *
 * 1. Exact circle/pixel overlap and aperture sums (circles and annuli), parallel over
 *    positions with POSIX threads. The geometry is documented in ztfimg/overlap.py: the
 *    intersection of a disc of radius r centred at the origin with an axis-aligned
 *    rectangle is split along the axes into first-quadrant pieces; in a piece
 *    [x0, x1] x [y0, y1] the columns u < sqrt(r^2 - y1^2) are wholly covered, the columns
 *    u > sqrt(r^2 - y0^2) not at all, and between them the area under the arc is the
 *    trapezoid under its chord plus the circular segment r^2/2 (theta - sin theta), with
 *    sin theta = cross / r^2 from the chord's end points and theta - sin theta =
 *    asin(u) - u from its series for u < 0.3 (the first term left out is < 1e-16 of the
 *    sum there), else atan2. Large numbers are never subtracted from each other.
 * 2. The OR of integer mask bits over each source's bounding box (ztfimg.sources).
 *
 * Pixel convention: 0-based, x = column; pixel (i, j) covers [j - 0.5, j + 0.5] x
 * [i - 0.5, i + 0.5]. Every result goes to its own slot, so the outputs do not depend on
 * the number of threads or on the order of the positions.
 */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* sched_getcpu, pthread_attr_setaffinity_np */
#endif
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <pthread.h>
#if defined(__linux__)
#include <sched.h>
#endif
/* helper-thread placement: glibc's sched_getcpu and pthread_attr_setaffinity_np */
#if defined(__linux__) && defined(__GLIBC__)
#define ZTF_SPREAD 1
#endif
#include <stdint.h>
#include <stdlib.h>

/* x86-64: the hot functions are also compiled for x86-64-v3 (AVX2 + FMA), chosen when the
 * library is loaded on a CPU that has it (GCC/clang function multi-versioning) */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define HOT __attribute__((target_clones("default", "arch=x86-64-v3")))
#else
#define HOT
#endif

/* asin(u) - u = sum_n>=1 C(2n, n) / (4^n (2n + 1)) u^(2n+1): the first 14 coefficients */
static const double C1 = 1.0 / 6.0, C2 = 3.0 / 40.0, C3 = 5.0 / 112.0, C4 = 35.0 / 1152.0,
    C5 = 63.0 / 2816.0, C6 = 231.0 / 13312.0, C7 = 143.0 / 10240.0,
    C8 = 6435.0 / 557056.0, C9 = 12155.0 / 1245184.0, C10 = 46189.0 / 5505024.0,
    C11 = 88179.0 / 12058624.0, C12 = 676039.0 / 104857600.0,
    C13 = 1300075.0 / 226492416.0, C14 = 5014575.0 / 973078528.0;
#define SERIES_MAX 0.3

/* r^2/2 (theta - sin theta) of the chord between two points of the circle whose position
 * vectors have cross product `cross` and dot product `dot` (both in the first quadrant,
 * so theta <= pi/2). `ir2` = 1 / r^2. */
static inline double segment(double cross, double dot, double r2, double ir2)
{
    double u = (cross > 0.0 ? cross : 0.0) * ir2, g;
    if (u < SERIES_MAX) {
        /* Estrin's scheme: short dependency chains */
        double t = u * u, t2 = t * t, t4 = t2 * t2, t8 = t4 * t4;
        double lo = (C1 + t * C2) + t2 * (C3 + t * C4)
                    + t4 * ((C5 + t * C6) + t2 * (C7 + t * C8));
        double hi = (C9 + t * C10) + t2 * (C11 + t * C12) + t4 * (C13 + t * C14);
        g = u * t * (lo + t8 * hi);
    } else {
        g = atan2(cross, dot) - u;
    }
    return 0.5 * r2 * g;
}

/* Area of the disc u^2 + v^2 <= r^2 in [x0, x1] x [y0, y1], 0 <= x0, 0 <= y0; the
 * columns u <= a are covered up to y1, the columns u >= b are empty (b < 0: none). */
static inline double quadrant(double x0, double x1, double y0, double y1, double a, double b,
                              double r2, double ir2)
{
    double full = 0.0, ua, ha, ub, hb, d;
    if (x0 >= b) return 0.0;
    if (x1 <= a) return (x1 - x0) * (y1 - y0);
    if (a > x0) {
        ua = a;
        full = (a - x0) * (y1 - y0);
        ha = y1;
    } else {
        ua = x0;
        d = r2 - x0 * x0;
        ha = sqrt(d > 0.0 ? d : 0.0);
    }
    if (b < x1) {
        ub = b;
        hb = y0;
    } else {
        ub = x1;
        d = r2 - x1 * x1;
        hb = sqrt(d > 0.0 ? d : 0.0);
    }
    if (ub <= ua) return full;
    return full + 0.5 * ((ha - y0) + (hb - y0)) * (ub - ua)
           + segment(ha * ub - ua * hb, ua * ub + ha * hb, r2, ir2);
}

/* a row [y0, y1] (relative to the centre) folded into at most two pieces y >= 0 */
typedef struct { double p0, p1, pa, pb, q0, q1, qa, qb; } rowp;

static inline void piece(double y0, double y1, double r2, double *a, double *b)
{
    *a = (y1 * y1 < r2) ? sqrt(r2 - y1 * y1) : 0.0;
    *b = (y0 * y0 < r2) ? sqrt(r2 - y0 * y0) : -1.0;
}

static inline rowp row_pieces(double y0, double y1, double r2)
{
    rowp rp;
    if (y0 >= 0.0) {
        rp.p0 = y0; rp.p1 = y1; rp.q0 = 0.0; rp.q1 = 0.0;
    } else if (y1 <= 0.0) {
        rp.p0 = -y1; rp.p1 = -y0; rp.q0 = 0.0; rp.q1 = 0.0;
    } else {
        rp.p0 = 0.0; rp.p1 = -y0; rp.q0 = 0.0; rp.q1 = y1;
    }
    piece(rp.p0, rp.p1, r2, &rp.pa, &rp.pb);
    if (rp.q1 > 0.0) {
        piece(rp.q0, rp.q1, r2, &rp.qa, &rp.qb);
    } else {
        rp.qa = 0.0; rp.qb = -1.0;
    }
    return rp;
}

static inline double overlap_x(double x0, double x1, double r2, double ir2, const rowp *rp)
{
    double s = quadrant(x0, x1, rp->p0, rp->p1, rp->pa, rp->pb, r2, ir2);
    if (rp->qb >= 0.0) s += quadrant(x0, x1, rp->q0, rp->q1, rp->qa, rp->qb, r2, ir2);
    return s;
}

/* area of the disc of radius sqrt(r2) at the origin in [x0, x1] x the row rp */
static inline double overlap_row(double x0, double x1, double r2, double ir2, const rowp *rp)
{
    if (x0 >= 0.0) return overlap_x(x0, x1, r2, ir2, rp);
    if (x1 <= 0.0) return overlap_x(-x1, -x0, r2, ir2, rp);
    return overlap_x(0.0, -x0, r2, ir2, rp) + overlap_x(0.0, x1, r2, ir2, rp);
}

HOT double ztf_pixel_overlap(double x0, double x1, double y0, double y1, double r)
{
    double r2 = r * r;
    rowp rp;
    if (!(r > 0.0)) return 0.0;
    rp = row_pieces(y0, y1, r2);
    return overlap_row(x0, x1, r2, 1.0 / r2, &rp);
}

/* pixels [*j0, *j1] whose extent [j - 0.5, j + 0.5] meets the open (lo, hi), clipped to
 * [0, nmax - 1]; (0, -1) when empty. Rows too. */
static inline void column_range(double lo, double hi, int64_t nmax, int64_t *j0, int64_t *j1)
{
    double a = floor(lo - 0.5) + 1.0, b = ceil(hi + 0.5) - 1.0;
    if (a < 0.0) a = 0.0;
    if (b > nmax - 1.0) b = nmax - 1.0;
    if (a > b) { *j0 = 0; *j1 = -1; return; }
    *j0 = (int64_t)a; *j1 = (int64_t)b;
}

/* pixels whose centre j is in the open (lo, hi), clipped to the image */
static inline void centre_range(double lo, double hi, int64_t nmax, int64_t *j0, int64_t *j1)
{
    double a = floor(lo) + 1.0, b = ceil(hi) - 1.0;
    if (a < 0.0) a = 0.0;
    if (b > nmax - 1.0) b = nmax - 1.0;
    if (a > b) { *j0 = 0; *j1 = -1; return; }
    *j0 = (int64_t)a; *j1 = (int64_t)b;
}

static inline double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* columns whose whole pixel lies in [lo, hi], clipped to [-1, nmax] */
static inline void inside_range(double lo, double hi, int64_t nmax, int64_t *j0, int64_t *j1)
{
    *j0 = (int64_t)clampd(ceil(lo + 0.5), -1.0, (double)nmax);
    *j1 = (int64_t)clampd(floor(hi - 0.5), -1.0, (double)nmax);
}

typedef struct {
    const void *data;
    int is_f32;
    int64_t ny, nx;
    const uint8_t *mask;
    const void *var;
    int var_kind; /* 1: float64 variance; 2, 3: float32, float64 rms (squared here) */
    const double *xs, *ys, *rin, *rout;
    int64_t n, m;
    const uint8_t *exact;
    const int64_t *order;
    double *out;
    int64_t stop;
    int64_t *next; /* shared: the next position (in `order`) no thread has taken yet */
} job_t;

/* positions taken at a time: small enough that a thread which starts late (waking an idle
 * core can take milliseconds on a VM) leaves its share to the others */
#define GRAIN 16

/* the variance of pixel p: a variance map as it is, an rms map squared (in float64) */
static inline double var_at(const void *var, int kind, int64_t p)
{
    double r;
    if (kind == 1) return ((const double *)var)[p];
    r = kind == 2 ? (double)((const float *)var)[p] : ((const double *)var)[p];
    return r * r;
}
#define VAR(job, kind, p) var_at((job)->var, (kind), (p))

#define PIX(job, i, j) ((job)->is_f32 ? (double)((const float *)(job)->data)[(i) * (job)->nx + (j)] \
                                      : ((const double *)(job)->data)[(i) * (job)->nx + (j)])

/* sum, area, masked area, var sum of the annulus ri < d < ro at (cx, cy) (a circle when
 * ri == 0). Each row is cut into runs: pixels wholly in the aperture (weight 1), boundary
 * pixels (exact overlap) and pixels wholly inside the inner circle (skipped). */
static inline __attribute__((always_inline)) void one(const job_t *job, double cx, double cy, double ri, double ro, int exact,
                double res[4])
{
    const int64_t ny = job->ny, nx = job->nx;
    const int64_t none_lo = nx + 2;
    const int has_mask = job->mask != NULL, has_var = job->var != NULL;
    const int var_kind = job->var_kind;
    const double ro2 = ro * ro, ri2 = ri * ri;
    const double iro2 = ro2 > 0.0 ? 1.0 / ro2 : 0.0, iri2 = ri2 > 0.0 ? 1.0 / ri2 : 0.0;
    double s = 0.0, area = 0.0, marea = 0.0, vsum = 0.0;
    int64_t i0, i1, i;
    column_range(cy - ro, cy + ro, ny, &i0, &i1);
    for (i = i0; i <= i1; i++) {
        const double dyc = (double)i - cy, y0 = dyc - 0.5, y1 = dyc + 0.5;
        double ymin2, ymax2, ho;
        int64_t j_lo, j_hi, f_lo, f_hi, t_lo, t_hi, k_lo, k_hi, j;
        rowp rpo, rpi;
        if (exact) {
            ymin2 = (y0 < 0.0 && 0.0 < y1) ? 0.0 : fmin(y0 * y0, y1 * y1);
            ymax2 = fmax(y0 * y0, y1 * y1);
        } else {
            ymin2 = dyc * dyc;
            ymax2 = ymin2;
        }
        if (ymin2 >= ro2) continue;
        ho = sqrt(ro2 - ymin2);
        if (exact) column_range(cx - ho, cx + ho, nx, &j_lo, &j_hi);
        else centre_range(cx - ho, cx + ho, nx, &j_lo, &j_hi);
        if (j_lo > j_hi) continue;
        /* outer circle: pixels wholly inside (f) */
        f_lo = none_lo; f_hi = none_lo - 1;
        if (!exact) {
            f_lo = j_lo; f_hi = j_hi;
        } else if (ymax2 < ro2) {
            double hf = sqrt(ro2 - ymax2);
            inside_range(cx - hf, cx + hf, nx, &f_lo, &f_hi);
            if (f_lo > f_hi) { f_lo = none_lo; f_hi = none_lo - 1; }
        }
        /* inner circle: pixels touched (t, exact mode) and wholly inside (k, skipped) */
        t_lo = none_lo; t_hi = none_lo - 1;
        k_lo = none_lo; k_hi = none_lo - 1;
        if (ri > 0.0 && (ymin2 < ri2 || (ymin2 == ri2 && !exact))) {
            double hi_ = sqrt(ri2 - ymin2);
            if (exact) {
                column_range(cx - hi_, cx + hi_, nx, &t_lo, &t_hi);
                if (t_lo > t_hi) { t_lo = none_lo; t_hi = none_lo - 1; }
                if (ymax2 < ri2) {
                    double hk = sqrt(ri2 - ymax2);
                    inside_range(cx - hk, cx + hk, nx, &k_lo, &k_hi);
                }
            } else { /* a centre at d <= ri is out of the annulus */
                k_lo = (int64_t)clampd(ceil(cx - hi_), -1.0, (double)nx);
                k_hi = (int64_t)clampd(floor(cx + hi_), -1.0, (double)nx);
            }
            if (k_lo > k_hi) { k_lo = none_lo; k_hi = none_lo - 1; }
        }
        rpo = row_pieces(y0, y1, ro2);
        rpi = row_pieces(y0, y1, ri2);
        j = j_lo;
        while (j <= j_hi) {
            int in_t, in_f;
            double w, val, dxc;
            if (k_lo <= j && j <= k_hi) {
                j = k_hi + 1;
                continue;
            }
            in_t = t_lo <= j && j <= t_hi;
            in_f = f_lo <= j && j <= f_hi;
            if (in_f && !in_t) {
                int64_t jend = (j < t_lo) ? (f_hi < t_lo - 1 ? f_hi : t_lo - 1) : f_hi, jj;
                if (j < k_lo && jend > k_lo - 1) jend = k_lo - 1;
                if (jend > j_hi) jend = j_hi;
                for (jj = j; jj <= jend; jj++) {
                    val = PIX(job, i, jj);
                    if (val - val == 0.0 && !(has_mask && job->mask[i * nx + jj])) {
                        s += val;
                        if (has_var) vsum += VAR(job, var_kind, i * nx + jj);
                    } else {
                        marea += 1.0;
                    }
                }
                area += (double)(jend - j + 1);
                j = jend + 1;
                continue;
            }
            dxc = (double)j - cx;
            w = in_f ? 1.0 : overlap_row(dxc - 0.5, dxc + 0.5, ro2, iro2, &rpo);
            if (in_t) w -= overlap_row(dxc - 0.5, dxc + 0.5, ri2, iri2, &rpi);
            val = PIX(job, i, j);
            area += w;
            if ((has_mask && job->mask[i * nx + j]) || !(val - val == 0.0)) {
                marea += w;
            } else {
                s += w * val;
                if (has_var) vsum += w * VAR(job, var_kind, i * nx + j);
            }
            j++;
        }
    }
    res[0] = s; res[1] = area; res[2] = marea; res[3] = vsum;
}

/* read a few pixels of every row of a circle's bounding box: independent loads, so the
 * cache and TLB misses of all the rows are in flight at once */
static inline __attribute__((always_inline)) double touch_rows(const job_t *job, double cx, double cy, double r)
{
    int64_t i0, i1, j0, j1, i, jm;
    double acc = 0.0;
    column_range(cy - r, cy + r, job->ny, &i0, &i1);
    column_range(cx - r, cx + r, job->nx, &j0, &j1);
    if (j0 > j1) return 0.0;
    jm = (j0 + j1) / 2;
    for (i = i0; i <= i1; i++) {
        acc += PIX(job, i, j0) + PIX(job, i, jm) + PIX(job, i, j1);
        if (job->mask) acc += job->mask[i * job->nx + j0] + job->mask[i * job->nx + j1];
    }
    return acc;
}

/* Run fn(arg) on the calling thread and on up to n_threads - 1 more, no more threads than
 * `pieces` of work: every thread takes work from the job's shared counter until none is
 * left, so a thread that starts late (or not at all) leaves its share to the others. The
 * helpers start first, so that their start overlaps the calling thread's work.
 *
 * On Linux (glibc) each helper is started on its own CPU of the caller's affinity set, other than
 * the one the caller runs on (as OMP_PROC_BIND=spread does), for the helper's lifetime
 * only. Left to itself the scheduler starts a new thread on its parent's CPU and moves it
 * only after some milliseconds: measured on a 2-vCPU VM, the two threads of a 6 ms job
 * then took turns on one CPU (10-12 ms in all) in most calls, and ran side by side (6.1 ms)
 * when placed. More helpers than CPUs are left to the scheduler. ZTFIMG_SPREAD_THREADS=0
 * turns the placement off. Returns 0, or -1 when a thread could not be started. */
#define MAX_THREADS 256

#if defined(ZTF_SPREAD)
static int spread_wanted(void)
{
    const char *v = getenv("ZTFIMG_SPREAD_THREADS");
    return !(v && v[0] == '0' && v[1] == '\0');
}

/* the caller's allowed CPUs other than its current one, at most `cap` of them */
static int other_cpus(int *cpus, int cap)
{
    cpu_set_t allowed;
    int c, n = 0, here = sched_getcpu();
    if (cap <= 0 || !spread_wanted() || sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return 0;
    for (c = 0; c < CPU_SETSIZE && n < cap; c++)
        if (CPU_ISSET(c, &allowed) && c != here) cpus[n++] = c;
    return n;
}

static int start_on(pthread_t *tid, void *(*fn)(void *), void *arg, int cpu)
{
    pthread_attr_t attr;
    cpu_set_t one;
    int rc;
    if (pthread_attr_init(&attr) != 0) return pthread_create(tid, NULL, fn, arg);
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    rc = pthread_attr_setaffinity_np(&attr, sizeof one, &one) == 0
             ? pthread_create(tid, &attr, fn, arg) : -1;
    pthread_attr_destroy(&attr);
    return rc == 0 ? 0 : pthread_create(tid, NULL, fn, arg); /* unplaced, rather than none */
}
#endif

static int run_parallel(void *(*fn)(void *), void *arg, int n_threads, int64_t pieces)
{
    pthread_t tids[MAX_THREADS];
    int t, started = 0, ncpu = 0, rc;
#if defined(ZTF_SPREAD)
    int cpus[MAX_THREADS];
#endif
    if (n_threads > MAX_THREADS) n_threads = MAX_THREADS;
    if (n_threads > pieces) n_threads = (int)pieces;
#if defined(ZTF_SPREAD)
    if (n_threads > 1) ncpu = other_cpus(cpus, n_threads - 1);
#endif
    for (t = 1; t < n_threads; t++) {
#if defined(ZTF_SPREAD)
        rc = t - 1 < ncpu ? start_on(&tids[t], fn, arg, cpus[t - 1])
                          : pthread_create(&tids[t], NULL, fn, arg);
#else
        rc = pthread_create(&tids[t], NULL, fn, arg);
#endif
        if (rc != 0) break;
        started = t;
    }
    (void)ncpu;
    fn(arg);
    for (t = 1; t <= started; t++) pthread_join(tids[t], NULL);
    return n_threads <= 1 || started == n_threads - 1 ? 0 : -1;
}

HOT static void *run_chunk(void *arg)
{
    const job_t *job = (const job_t *)arg;
    const int64_t n = job->n, m = job->m;
    int64_t t, t0, t1, q, f;
    double res[4];
    volatile double sink = 0.0; /* keeps the touch pass's loads */
    for (;;) {
        t0 = __atomic_fetch_add(job->next, GRAIN, __ATOMIC_RELAXED);
        if (t0 >= job->stop) break;
        t1 = t0 + GRAIN < job->stop ? t0 + GRAIN : job->stop;
        for (t = t0; t < t1; t++) {
            const int64_t k = job->order[t];
            const double cx = job->xs[k], cy = job->ys[k];
            const int ok = isfinite(cx) && isfinite(cy);
            double rmax = 0.0;
            for (q = 0; q < m; q++)
                if (isfinite(job->rout[q * n + k]) && job->rout[q * n + k] > rmax)
                    rmax = job->rout[q * n + k];
            if (ok) sink += touch_rows(job, cx, cy, rmax);
            for (q = m - 1; q >= 0; q--) { /* the largest first: the others find the cache warm */
                const double ri = job->rin[q * n + k], ro = job->rout[q * n + k];
                if (!(ok && isfinite(ri) && isfinite(ro))) {
                    for (f = 0; f < 4; f++) job->out[(f * m + q) * n + k] = NAN;
                    continue;
                }
                one(job, cx, cy, ri, ro, job->exact[q] != 0, res);
                for (f = 0; f < 4; f++) job->out[(f * m + q) * n + k] = res[f];
            }
        }
    }
    return NULL;
}

/* Sums of the annuli rin[q, k] < d < rout[q, k] (circles when rin == 0) at every position
 * k, m apertures per position (rin, rout: (m, n), C order), exact[q] their sampling (1 exact
 * overlap, 0 pixel centres); out: (4, m, n) sum, area, masked area, var sum. Positions are
 * visited in `order`, GRAIN at a time by whichever of the n_threads threads is free (each
 * result in its own slot: the numbers do not depend on the threads). mask and var may be
 * NULL. Returns 0, or -1 when a thread could not be started (the others did its share). */
int ztf_aperture_sums(const void *data, int is_f32, int64_t ny, int64_t nx,
                      const uint8_t *mask, const void *var, int var_kind, const double *xs,
                      const double *ys, int64_t n, const double *rin, const double *rout,
                      int64_t m, const uint8_t *exact, const int64_t *order, double *out,
                      int n_threads)
{
    int64_t next = 0;
    job_t job = {data, is_f32, ny, nx, mask, var, var_kind, xs, ys, rin, rout, n, m, exact,
                 order, out, n, &next};
    return run_parallel(run_chunk, &job, n_threads, (n + GRAIN - 1) / GRAIN);
}

/* One mask value as int64, as numpy's astype(int64) gives it (sign- or zero-extended). */
static inline int64_t bits_at(const void *bits, int itemsize, int is_signed, int64_t p)
{
    switch (itemsize) {
    case 1: return is_signed ? (int64_t)((const int8_t *)bits)[p] : (int64_t)((const uint8_t *)bits)[p];
    case 2: return is_signed ? (int64_t)((const int16_t *)bits)[p] : (int64_t)((const uint16_t *)bits)[p];
    case 4: return is_signed ? (int64_t)((const int32_t *)bits)[p] : (int64_t)((const uint32_t *)bits)[p];
    default: return ((const int64_t *)bits)[p];
    }
}

/* OR of the mask bits over each object's bounding box [ymin, ymax] x [xmin, xmax]
 * (inclusive): with use_seg, only its own segment (id k + 1) and, with det, the masked
 * pixels no object claims (seg == 0 and det != 0). bits: (ny, nx) integers of `itemsize`
 * bytes; seg: int32 or NULL; det: uint8 or NULL. */
void ztf_or_bits(const void *bits, int itemsize, int is_signed, const int32_t *seg,
                 const uint8_t *det, int64_t nx, const int64_t *xmin, const int64_t *xmax,
                 const int64_t *ymin, const int64_t *ymax, int64_t nobj, int64_t *out)
{
    int64_t k, i, j;
    for (k = 0; k < nobj; k++) {
        int64_t acc = 0;
        const int32_t sid = (int32_t)(k + 1);
        for (i = ymin[k]; i <= ymax[k]; i++) {
            for (j = xmin[k]; j <= xmax[k]; j++) {
                const int64_t p = i * nx + j;
                if (!seg || seg[p] == sid || (det && seg[p] == 0 && det[p] != 0))
                    acc |= bits_at(bits, itemsize, is_signed, p);
            }
        }
        out[k] = acc;
    }
}

/* 3. Bilinear resampling for ztfimg.stacking: out[r, c] from the float32 section (sh, sw)
 * of a frame (ny, nx) that starts at frame pixel (y0, x0), at frame positions x, y (float64,
 * th x tw). Positions more than half a pixel outside the frame give NaN, positions in the
 * outer half pixel take the edge pixel (reproject's convention); a weight within `snap` of
 * 0 is 0; a NaN neighbour with a non-zero weight makes the result NaN. Rows are shared by
 * n_threads threads, 8 at a time. */
typedef struct {
    const float *section;
    int64_t sh, sw;
    const double *x, *y;
    int64_t th, tw, x0, y0, ny, nx;
    double snap;
    float *out;
    int64_t *next;
} bilinear_t;

static void *bilinear_rows(void *arg)
{
    const bilinear_t *b = (const bilinear_t *)arg;
    int64_t r0, r, c;
    for (;;) {
        r0 = __atomic_fetch_add(b->next, 8, __ATOMIC_RELAXED);
        if (r0 >= b->th) break;
        for (r = r0; r < r0 + 8 && r < b->th; r++) {
            for (c = 0; c < b->tw; c++) {
                double xx = b->x[r * b->tw + c], yy = b->y[r * b->tw + c], fx, fy, acc = 0.0;
                int64_t ix, iy, dx, dy;
                int bad = 0;
                if (!(xx >= -0.5 && xx <= b->nx - 0.5 && yy >= -0.5 && yy <= b->ny - 0.5)) {
                    b->out[r * b->tw + c] = NAN;
                    continue;
                }
                xx = clampd(xx, 0.0, b->nx - 1.0);
                yy = clampd(yy, 0.0, b->ny - 1.0);
                ix = (int64_t)floor(xx);
                iy = (int64_t)floor(yy);
                fx = xx - ix;
                fy = yy - iy;
                if (fx < b->snap) fx = 0.0;
                else if (fx > 1.0 - b->snap) { ix += 1; fx = 0.0; }
                if (fy < b->snap) fy = 0.0;
                else if (fy > 1.0 - b->snap) { iy += 1; fy = 0.0; }
                ix -= b->x0;
                iy -= b->y0;
                for (dy = 0; dy < 2; dy++) {
                    const double wy = dy == 0 ? 1.0 - fy : fy;
                    if (wy == 0.0) continue;
                    for (dx = 0; dx < 2; dx++) {
                        const double wx = dx == 0 ? 1.0 - fx : fx;
                        const int64_t j = iy + dy, i = ix + dx;
                        double v;
                        if (wx == 0.0) continue;
                        if (j < 0 || j >= b->sh || i < 0 || i >= b->sw) { bad = 1; continue; }
                        v = (double)b->section[j * b->sw + i];
                        if (isnan(v)) bad = 1;
                        acc += wx * wy * v;
                    }
                }
                b->out[r * b->tw + c] = bad ? NAN : (float)acc;
            }
        }
    }
    return NULL;
}

void ztf_bilinear(const float *section, int64_t sh, int64_t sw, const double *x,
                  const double *y, int64_t th, int64_t tw, int64_t x0, int64_t y0,
                  int64_t ny, int64_t nx, double snap, float *out, int n_threads)
{
    int64_t next = 0;
    bilinear_t b = {section, sh, sw, x, y, th, tw, x0, y0, ny, nx, snap, out, &next};
    run_parallel(bilinear_rows, &b, n_threads, (th + 7) / 8);
}

/* 4. Pixel-by-pixel combination for ztfimg.calibframes (see its module docstring): for
 * each of the m pixels of the (n, m) cube (float32 or float64; non-finite = missing), the
 * median, or the weighted mean after iterative sigma clipping around the median (bounds
 * only shrink, as astropy's sigma_clip), with the variance from the scatter, the count,
 * the weight sum and sums of the per-frame `extra` (n, nq) over the values used. */
static double select_kth(double *a, int64_t n, int64_t kth)
{
    int64_t lo = 0, hi = n - 1;
    while (hi > lo) {
        const int64_t mid = (lo + hi) / 2;
        double pivot, tmp;
        int64_t i, j;
        if (a[mid] < a[lo]) { tmp = a[mid]; a[mid] = a[lo]; a[lo] = tmp; }
        if (a[hi] < a[lo]) { tmp = a[hi]; a[hi] = a[lo]; a[lo] = tmp; }
        if (a[hi] < a[mid]) { tmp = a[hi]; a[hi] = a[mid]; a[mid] = tmp; }
        pivot = a[mid];
        i = lo;
        j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) {
                tmp = a[i]; a[i] = a[j]; a[j] = tmp;
                i++;
                j--;
            }
        }
        if (kth <= j) hi = j;
        else if (kth >= i) lo = i;
        else break;
    }
    return a[kth];
}

static double median_of(double *a, int64_t n)
{
    double low, high;
    int64_t q;
    if (n % 2 == 1) return select_kth(a, n, n / 2);
    low = select_kth(a, n, n / 2 - 1);
    high = a[n / 2];
    for (q = n / 2 + 1; q < n; q++)
        if (a[q] < high) high = a[q];
    return 0.5 * (low + high);
}

typedef struct {
    const void *cube;
    int is_f32;
    int64_t n, m, nq;
    const double *weights, *extra;
    int median;
    double sigma;
    int64_t maxiters;
    float *out, *var, *wsum, *esum;
    int32_t *count;
    int64_t *next;
    int failed;
} combine_t;

#define COMBINE_GRAIN 256

static void *combine_pixels(void *arg)
{
    combine_t *c = (combine_t *)arg;
    const int64_t n = c->n, m = c->m, nq = c->nq;
    double *buf = (double *)malloc(sizeof(double) * (size_t)(3 * n + (nq > 0 ? nq : 1)));
    int64_t *idx = (int64_t *)malloc(sizeof(int64_t) * (size_t)n);
    double *vals, *ws, *work, *s_e;
    int64_t j0, j, i, k, q, e, it;
    if (!buf || !idx) {
        free(buf); free(idx);
        __atomic_store_n(&c->failed, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    vals = buf; ws = buf + n; work = buf + 2 * n; s_e = buf + 3 * n;
    for (;;) {
        j0 = __atomic_fetch_add(c->next, COMBINE_GRAIN, __ATOMIC_RELAXED);
        if (j0 >= m) break;
        for (j = j0; j < j0 + COMBINE_GRAIN && j < m; j++) {
            double vmin = -INFINITY, vmax = INFINITY, s_w = 0.0, s_wv = 0.0, s_v = 0.0;
            double s_d = 0.0, value, v_out;
            int64_t nk;
            k = 0;
            for (i = 0; i < n; i++) {
                const double v = c->is_f32 ? (double)((const float *)c->cube)[i * m + j]
                                           : ((const double *)c->cube)[i * m + j];
                if (isfinite(v)) {
                    vals[k] = v;
                    ws[k] = c->weights[i];
                    idx[k] = i;
                    k++;
                }
            }
            if (k == 0) {
                c->out[j] = NAN;
                c->var[j] = NAN;
                c->count[j] = 0;
                c->wsum[j] = 0.0f;
                for (e = 0; e < nq; e++) c->esum[e * m + j] = 0.0f;
                continue;
            }
            nk = k;
            if (!c->median && c->sigma > 0.0) {
                for (it = 0; it < c->maxiters; it++) {
                    int64_t cnt = 0;
                    double mean = 0.0, ss = 0.0, sd, med;
                    for (q = 0; q < k; q++) {
                        const double v = vals[q];
                        if (v >= vmin && v <= vmax) {
                            work[cnt] = v;
                            mean += v;
                            cnt++;
                        }
                    }
                    mean /= (double)cnt;
                    for (q = 0; q < cnt; q++) ss += (work[q] - mean) * (work[q] - mean);
                    sd = sqrt(ss / (double)cnt);
                    med = median_of(work, cnt);
                    if (med - c->sigma * sd > vmin) vmin = med - c->sigma * sd;
                    if (med + c->sigma * sd < vmax) vmax = med + c->sigma * sd;
                    nk = 0;
                    for (q = 0; q < k; q++)
                        if (vals[q] >= vmin && vals[q] <= vmax) nk++;
                    if (nk == cnt) break;
                }
            }
            for (e = 0; e < nq; e++) s_e[e] = 0.0;
            for (q = 0; q < k; q++) {
                const double v = vals[q];
                if (v >= vmin && v <= vmax) {
                    s_w += ws[q];
                    s_wv += ws[q] * v;
                    s_v += v;
                    for (e = 0; e < nq; e++) s_e[e] += c->extra[idx[q] * nq + e];
                }
            }
            if (c->median) {
                double mean;
                for (q = 0; q < k; q++) work[q] = vals[q];
                value = median_of(work, k);
                mean = s_v / (double)nk;
                for (q = 0; q < k; q++) s_d += (vals[q] - mean) * (vals[q] - mean);
                v_out = nk > 1 ? (M_PI / 2.0) * s_d / (double)(nk - 1) / (double)nk : NAN;
            } else {
                value = s_w > 0 ? s_wv / s_w : s_v / (double)nk;
                for (q = 0; q < k; q++) {
                    const double v = vals[q];
                    if (v >= vmin && v <= vmax) s_d += ws[q] * (v - value) * (v - value);
                }
                v_out = (nk > 1 && s_w > 0) ? s_d / (double)(nk - 1) / s_w : NAN;
            }
            c->out[j] = (float)value;
            c->var[j] = (float)v_out;
            c->count[j] = (int32_t)nk;
            c->wsum[j] = (float)s_w;
            for (e = 0; e < nq; e++) c->esum[e * m + j] = (float)s_e[e];
        }
    }
    free(buf); free(idx);
    return NULL;
}

/* Returns 0, or -1 when a work buffer could not be allocated (the outputs are then
 * incomplete: the caller raises). */
int ztf_combine(const void *cube, int is_f32, int64_t n, int64_t m, const double *weights,
                const double *extra, int64_t nq, int median, double sigma, int64_t maxiters,
                float *out, float *var, int32_t *count, float *wsum, float *esum,
                int n_threads)
{
    int64_t next = 0;
    combine_t c = {cube, is_f32, n, m, nq, weights, extra, median, sigma, maxiters, out, var,
                   wsum, esum, count, &next, 0};
    run_parallel(combine_pixels, &c, n_threads, (m + COMBINE_GRAIN - 1) / COMBINE_GRAIN);
    return c.failed ? -1 : 0;
}

/* A Python extension module only so that setuptools builds and installs it and importlib
 * finds it; the functions are called through ctypes. */
static struct PyModuleDef kernel_module = {PyModuleDef_HEAD_INIT, "_kernel",
                                           "ztfimg's compiled kernels (used through ctypes)",
                                           -1, NULL};

PyMODINIT_FUNC PyInit__kernel(void) { return PyModule_Create(&kernel_module); }
