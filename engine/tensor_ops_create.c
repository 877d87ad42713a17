/* tensor_ops_create.c — new tensors from numbers (arange, full, zeros, ones, linspace,
 * eye), deterministic random tensors, and element access (see lens/tensor_ops.h).
 *
 * Random numbers: splitmix64 expands the seed into the 256-bit state of a xoshiro256**
 * generator (both public-domain algorithms by Vigna et al.). Floats in [0, 1) take the
 * top 24 bits; normals come from Box-Muller pairs; randint uses rejection so every value
 * in [low, high) is equally likely. The stream is lens's own, not torch's. */
#include "lens/tensor_ops.h"

#include <math.h>
#include <stdlib.h>

#include "tensor_device.h"
#include "tensor_iter.h"

static lens_tensor *new_or_fail(lens_dtype dt, int ndim, const int64_t *shape, lens_error *err)
{
    lens_tensor *t = lens_tensor_new(dt, ndim, shape);
    if (!t) lens_fail_alloc(err);
    return t;
}

lens_tensor *lens_arange(double start, double stop, double step, lens_dtype dt, lens_error *err)
{
    if (dt == LENS_BOOL) { lens_fail_kind(err, LENS_ERR_DTYPE, "\"arange_cpu\" not implemented for 'Bool'"); return NULL; }
    if (step == 0) { lens_fail(err, "arange: step must be nonzero"); return NULL; }
    if (!isfinite(start) || !isfinite(stop) || !isfinite(step)) { lens_fail(err, "arange: bounds must be finite"); return NULL; }
    double len = ceil((stop - start) / step);
    if (len < 0) len = 0;
    if (len > 1e10) { lens_fail(err, "arange: %.0f elements is too many", len); return NULL; }
    int64_t n = (int64_t)len;
    lens_tensor *t = new_or_fail(dt, 1, &n, err);
    if (!t) return NULL;
    for (int64_t i = 0; i < n; i++) {
        if (dt == LENS_I64) lens_tensor_i64(t)[i] = (int64_t)start + i * (int64_t)step;
        else lens_tensor_f32(t)[i] = (float)(start + (double)i * step);
    }
    return t;
}

lens_tensor *lens_full(lens_dtype dt, int ndim, const int64_t *shape, double value, lens_error *err)
{
    lens_tensor *t = new_or_fail(dt, ndim, shape, err);
    if (!t) return NULL;
    int64_t n = lens_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) lens_store(t, i, value);
    return t;
}

lens_tensor *lens_zeros(lens_dtype dt, int ndim, const int64_t *shape, lens_error *err)
{
    return new_or_fail(dt, ndim, shape, err);
}

lens_tensor *lens_ones(lens_dtype dt, int ndim, const int64_t *shape, lens_error *err)
{
    return lens_full(dt, ndim, shape, 1.0, err);
}

lens_tensor *lens_linspace(double start, double end, int64_t steps, lens_error *err)
{
    if (steps < 0) { lens_fail(err, "linspace: number of steps must be >= 0"); return NULL; }
    lens_tensor *t = new_or_fail(LENS_F32, 1, &steps, err);
    if (!t) return NULL;
    double step = steps > 1 ? (end - start) / (double)(steps - 1) : 0;
    /* Like torch: the first half counts up from start, the second half down from end. */
    int64_t half = steps / 2;
    for (int64_t i = 0; i < steps; i++)
        lens_tensor_f32(t)[i] = (float)(i < half ? start + step * (double)i
                                                 : end - step * (double)(steps - 1 - i));
    return t;
}

lens_tensor *lens_eye(int64_t n, lens_error *err)
{
    int64_t shape[2] = {n, n};
    lens_tensor *t = new_or_fail(LENS_F32, 2, shape, err);
    if (!t) return NULL;
    for (int64_t i = 0; i < n; i++) lens_tensor_f32(t)[i * n + i] = 1.0f;
    return t;
}

/* ---- random ---- */

typedef struct { uint64_t s[4]; } rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 24 bits (exact in float32). */
static double rng_unit(rng *r) { return (double)(rng_next(r) >> 40) * (1.0 / 16777216.0); }

lens_tensor *lens_rand(int ndim, const int64_t *shape, uint64_t seed)
{
    lens_tensor *t = new_or_fail(LENS_F32, ndim, shape, NULL);
    if (!t) return NULL;
    rng r;
    rng_seed(&r, seed);
    int64_t n = lens_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) lens_tensor_f32(t)[i] = (float)rng_unit(&r);
    return t;
}

lens_tensor *lens_randn(int ndim, const int64_t *shape, uint64_t seed)
{
    lens_tensor *t = new_or_fail(LENS_F32, ndim, shape, NULL);
    if (!t) return NULL;
    rng r;
    rng_seed(&r, seed);
    int64_t n = lens_tensor_numel(t);
    float *o = lens_tensor_f32(t);
    for (int64_t i = 0; i < n; i += 2) {
        double u1 = 1.0 - rng_unit(&r), u2 = rng_unit(&r);   /* u1 in (0, 1] */
        double rad = sqrt(-2.0 * log(u1)), th = 2.0 * M_PI * u2;
        o[i] = (float)(rad * cos(th));
        if (i + 1 < n) o[i + 1] = (float)(rad * sin(th));
    }
    return t;
}

lens_tensor *lens_randint(int64_t low, int64_t high, int ndim, const int64_t *shape,
                          uint64_t seed, lens_error *err)
{
    if (high <= low) {
        lens_fail(err, "randint: high (%lld) must be greater than low (%lld)", (long long)high, (long long)low);
        return NULL;
    }
    lens_tensor *t = new_or_fail(LENS_I64, ndim, shape, err);
    if (!t) return NULL;
    rng r;
    rng_seed(&r, seed);
    uint64_t range = (uint64_t)high - (uint64_t)low;
    uint64_t limit = UINT64_MAX - UINT64_MAX % range;   /* reject the uneven tail */
    int64_t n = lens_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        uint64_t x;
        do x = rng_next(&r); while (x >= limit);
        lens_tensor_i64(t)[i] = (int64_t)((uint64_t)low + x % range);
    }
    return t;
}

/* ---- element access ---- */

/* One element of a device tensor, downloaded (NaN when the device fails). */
static double device_load(const lens_tensor *t, int64_t off, int64_t *as_int)
{
    union {
        float f;
        int64_t l;
        uint8_t b;
    } v;
    size_t es = lens_dtype_size(t->dtype);
    lens_error err;
    if (lens_tensor_backend(t)->download(&v, (char *)lens_tensor_device_ptr(t) + off * (int64_t)es, es, &err)) {
        *as_int = 0;
        return NAN;
    }
    *as_int = t->dtype == LENS_F32 ? (int64_t)v.f : t->dtype == LENS_BOOL ? v.b : v.l;
    return t->dtype == LENS_F32 ? (double)v.f : (double)*as_int;
}

static double load_f64(const lens_tensor *t, int64_t off)
{
    int64_t i;
    return lens_tensor_on_host(t) ? lens_load(t, off) : device_load(t, off, &i);
}

double lens_tensor_get_f64(const lens_tensor *t, const int64_t *idx)
{
    return load_f64(t, lens_tensor_offset(t, idx));
}

int64_t lens_tensor_get_i64(const lens_tensor *t, const int64_t *idx)
{
    int64_t off = lens_tensor_offset(t, idx), i;
    if (lens_tensor_on_host(t)) return lens_load_i64(t, off);
    device_load(t, off, &i);
    return i;
}

double lens_tensor_flat_f64(const lens_tensor *t, int64_t i)
{
    int64_t off = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        int64_t n = t->shape[d];
        off += (i % n) * t->strides[d];
        i /= n;
    }
    return load_f64(t, off);
}

int lens_tensor_item(const lens_tensor *t, double *out, lens_error *err)
{
    if (lens_tensor_numel(t) != 1) {
        char b[128];
        return lens_fail(err, "item() needs a tensor with exactly one element, got shape %s",
                         lens_shape_str(t->ndim, t->shape, b, sizeof b));
    }
    if (!lens_tensor_on_host(t)) {   /* the one element downloaded, its failure reported */
        lens_tensor *h = lens_tensor_host(t, err);
        int rc = h ? lens_tensor_item(h, out, err) : -1;
        lens_tensor_free(h);
        return rc;
    }
    *out = lens_tensor_flat_f64(t, 0);
    return 0;
}
