/* compare_devices.c — one device's forward pass against another's, hook by hook.
 *
 *   compare_devices dump MODEL_DIR OUT.safetensors
 *       runs the seed-shaped batch (100 prompts x 11 tokens, the bench's tokens)
 *       through run_with_cache on the process's backend ($LENS_DEVICE), per-head
 *       results included, and writes every cached hook and the logits to OUT;
 *   compare_devices diff REF.safetensors OTHER.safetensors TOL
 *       prints each hook's relative error max|other - ref| / max|ref| and fails
 *       (exit 1) when one exceeds TOL, is NaN, or a hook or shape differs.
 *
 * tests/gpu/run.sh dumps with LENS_DEVICE=cpu and =cuda and diffs the two. Only
 * the public engine API is used: the writer downloads device tensors itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lens/model.h"
#include "lens/safetensors.h"
#include "lens/tensor_ops.h"

#define SEED_BATCH 100
#define SEED_POSITIONS 11

static int dump(const char *model_dir, const char *out)
{
    lens_error err = {0};
    lens_processing p = lens_processing_default();
    lens_model *m = lens_model_load(model_dir, &p, &err);
    if (!m) {
        fprintf(stderr, "compare_devices: %s\n", err.msg);
        return 2;
    }
    const lens_config *c = lens_model_config(m);
    lens_tensor *tokens = lens_tensor_new_v(LENS_I64, 2, (int64_t)SEED_BATCH, (int64_t)SEED_POSITIONS);
    if (!tokens) {
        lens_model_free(m);
        fprintf(stderr, "compare_devices: out of memory\n");
        return 2;
    }
    for (int64_t i = 0; i < SEED_BATCH * SEED_POSITIONS; i++) lens_tensor_i64(tokens)[i] = (i * 7919) % c->d_vocab;
    lens_run_options o = lens_run_options_default();
    o.include_attn_result = true;
    lens_tensor *logits = NULL;
    lens_cache *cache = NULL;
    int rc = 2;
    if (lens_model_run(m, tokens, &o, &logits, &cache, &err)) {
        fprintf(stderr, "compare_devices: run: %s\n", err.msg);
        goto done;
    }
    int n = lens_cache_count(cache);
    const char **names = calloc((size_t)n + 1, sizeof *names);
    const lens_tensor **tensors = calloc((size_t)n + 1, sizeof *tensors);
    if (!names || !tensors) {
        fprintf(stderr, "compare_devices: out of memory\n");
        free(names);
        free(tensors);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        names[i] = lens_cache_name(cache, i);
        tensors[i] = lens_cache_at(cache, i);
    }
    names[n] = "logits";
    tensors[n] = logits;
    const char *dev = getenv("LENS_DEVICE");
    char meta[128];
    snprintf(meta, sizeof meta, "{\"device\": \"%s\"}", dev && *dev ? dev : "default");
    if (lens_safetensors_write(out, n + 1, names, tensors, meta, &err))
        fprintf(stderr, "compare_devices: writing %s: %s\n", out, err.msg);
    else {
        printf("%s: %d hooks and the logits of a %dx%d batch\n", out, n, SEED_BATCH, SEED_POSITIONS);
        rc = 0;
    }
    free(names);
    free(tensors);
done:
    lens_cache_free(cache);
    lens_tensor_free(logits);
    lens_tensor_free(tokens);
    lens_model_free(m);
    return rc;
}

/* max|a - b| / max(max|b|, 1e-6) over n floats; NaN when either has a NaN. */
static double rel_error(const float *a, const float *b, size_t n)
{
    double maxdiff = 0, maxref = 1e-6;
    for (size_t i = 0; i < n; i++) {
        if (isnan(a[i]) || isnan(b[i])) return NAN;
        if (isinf(a[i]) || isinf(b[i])) {
            if (a[i] != b[i]) return INFINITY;   /* both -inf (masked scores) agree */
            continue;
        }
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > maxdiff) maxdiff = d;
        if (fabs((double)b[i]) > maxref) maxref = fabs((double)b[i]);
    }
    return maxdiff / maxref;
}

static bool same_shape(const lens_st_entry *a, const lens_st_entry *b)
{
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return false;
    return true;
}

static int diff(const char *ref_path, const char *other_path, double tol)
{
    lens_error err = {0};
    lens_safetensors *ref = lens_safetensors_open(ref_path, &err);
    if (!ref) {
        fprintf(stderr, "compare_devices: %s\n", err.msg);
        return 2;
    }
    lens_safetensors *other = lens_safetensors_open(other_path, &err);
    if (!other) {
        fprintf(stderr, "compare_devices: %s\n", err.msg);
        lens_safetensors_close(ref);
        return 2;
    }
    int bad = 0, n = lens_safetensors_count(ref);
    double worst = -1;   /* the first compared entry sets it */
    const char *worst_name = "-";
    if (n != lens_safetensors_count(other)) {
        printf("hook count differs: %d in %s, %d in %s\n", n, ref_path, lens_safetensors_count(other), other_path);
        bad++;
    }
    for (int i = 0; i < n; i++) {
        const lens_st_entry *a = lens_safetensors_entry(ref, i);
        const lens_st_entry *b = lens_safetensors_find(other, a->name);
        if (!b || !same_shape(a, b) || a->dtype != b->dtype || a->nbytes != b->nbytes) {
            printf("%-40s missing or of another shape in %s\n", a->name, other_path);
            bad++;
            continue;
        }
        if (a->dtype != LENS_ST_F32) continue;   /* int64 hooks (none today) are not compared */
        double r = rel_error((const float *)b->data, (const float *)a->data, a->nbytes / sizeof(float));
        bool ok = r <= tol;   /* false for NaN */
        if (!ok) bad++;
        if (!(r <= worst)) {
            worst = r;
            worst_name = a->name;
        }
        printf("%-40s %10.3g%s\n", a->name, r, ok ? "" : "  FAIL");
    }
    printf("%d entries compared, worst relative error %.3g (%s), tolerance %.1g: %s\n", n, worst, worst_name, tol,
           bad ? "FAILED" : "ok");
    lens_safetensors_close(other);
    lens_safetensors_close(ref);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "dump") == 0) return dump(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "diff") == 0) return diff(argv[2], argv[3], strtod(argv[4], NULL));
    fprintf(stderr, "usage: compare_devices dump MODEL_DIR OUT.safetensors\n"
                    "       compare_devices diff REF.safetensors OTHER.safetensors TOL\n");
    return 2;
}
