/* tests/engine/model_fixture.h — helpers shared by the engine tests that compare
 * with tests/fixtures/tiny-gpt2/reference.safetensors (TransformerLens output). */
#ifndef LENS_TEST_MODEL_FIXTURE_H
#define LENS_TEST_MODEL_FIXTURE_H

#include <math.h>
#include <stdio.h>

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

/* max |a-b| / max |b| over finite entries; infinities must sit at the same places
 * with the same sign (else returns INFINITY). Both contiguous-equivalent shapes. */
static inline double tensor_rel_err(const lens_tensor *a, const lens_tensor *b)
{
    if (!a || !b || !lens_tensor_same_shape(a, b)) return INFINITY;
    lens_tensor *ca = lens_tensor_contiguous(a), *cb = lens_tensor_contiguous(b);
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
