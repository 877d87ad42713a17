/* tests/engine/model_fixture.h — helpers shared by the engine tests that compare
 * with tests/fixtures/tiny-gpt2/reference.safetensors (TransformerLens output). */
#ifndef LENS_TEST_MODEL_FIXTURE_H
#define LENS_TEST_MODEL_FIXTURE_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "lens/model.h"
#include "lens/safetensors.h"

#define TINY_DIR "tests/fixtures/tiny-gpt2"
#define TINY_REF TINY_DIR "/reference.safetensors"

/* Fixture tensor by name (new tensor), or NULL with a message. */
static inline lens_tensor *fixture_tensor(const lens_safetensors *st, const char *name)
{
    const lens_st_entry *e = lens_safetensors_find(st, name);
    if (!e) { fprintf(stderr, "fixture has no %s\n", name); return NULL; }
    lens_error err;
    lens_tensor *t = lens_st_entry_tensor(e, &err);
    if (!t) fprintf(stderr, "%s\n", err.msg);
    return t;
}

/* t's values as a contiguous host tensor (caller frees): results on a device
 * (LENS_DEVICE=sim) are read through the explicit download, like any reader. */
static inline lens_tensor *host_copy(const lens_tensor *t)
{
    lens_error err;
    lens_tensor *h = t ? lens_tensor_host(t, &err) : NULL;
    lens_tensor *c = h ? lens_tensor_contiguous(h) : NULL;
    if (t && !c) fprintf(stderr, "host copy: %s\n", h ? "out of memory" : err.msg);
    lens_tensor_free(h);
    return c;
}

/* The host copies host_f32 made, freed when the test program exits. */
static lens_tensor **host_copies;
static size_t host_ncopies;
static inline void host_copies_free(void)
{
    for (size_t i = 0; i < host_ncopies; i++) lens_tensor_free(host_copies[i]);
    free(host_copies);
}

/* t's values on the host, contiguous (NULL for NULL): kept until exit. */
static inline const float *host_f32(const lens_tensor *t)
{
    lens_tensor *c = host_copy(t);
    if (!c) return NULL;
    if (!host_ncopies) atexit(host_copies_free);
    lens_tensor **grown = realloc(host_copies, (host_ncopies + 1) * sizeof *grown);
    if (!grown) { lens_tensor_free(c); return NULL; }
    host_copies = grown;
    host_copies[host_ncopies++] = c;
    return lens_tensor_f32(c);
}

/* max |a-b| / max |b| over finite entries; infinities must sit at the same places
 * with the same sign (else returns INFINITY). Both contiguous-equivalent shapes. */
static inline double tensor_rel_err(const lens_tensor *a, const lens_tensor *b)
{
    if (!a || !b || !lens_tensor_same_shape(a, b)) return INFINITY;
    lens_tensor *ca = host_copy(a), *cb = host_copy(b);
    if (!ca || !cb) { lens_tensor_free(ca); lens_tensor_free(cb); return INFINITY; }
    const float *x = lens_tensor_f32(ca), *y = lens_tensor_f32(cb);
    double maxdiff = 0, maxref = 1e-6;
    for (int64_t i = 0; i < lens_tensor_numel(ca); i++) {
        if (isinf(y[i]) || isinf(x[i])) {
            if (x[i] != y[i]) { maxdiff = INFINITY; break; }
            continue;
        }
        double d = fabs((double)x[i] - y[i]);
        if (!(d <= maxdiff)) maxdiff = d;
        if (fabs(y[i]) > maxref) maxref = fabs(y[i]);
    }
    lens_tensor_free(ca);
    lens_tensor_free(cb);
    return maxdiff / maxref;
}

/* The last position of logits [B, P, V] as a new [B, V] tensor. */
static inline lens_tensor *last_position(const lens_tensor *logits)
{
    lens_tensor *v = lens_tensor_select(logits, 1, logits->shape[1] - 1);
    lens_tensor *c = lens_tensor_clone(v);
    lens_tensor_free(v);
    return c;
}

#endif
