/* tests/fuzz/fuzz_safetensors.c — the safetensors header validator and loader:
 * the input is a whole file; every entry it accepts is read as a tensor, summed,
 * reshaped flat and written back out, and the written file must open again. */
#include <stdint.h>

#include "fuzz_util.h"
#include "lens/model.h"
#include "lens/safetensors.h"
#include "lens/tensor_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool limited;
    if (!limited) { lens_set_memory_limit((size_t)256 << 20); limited = true; }
    char path[256], out[256];
    fuzz_file(path, sizeof path, "in.safetensors", data, size);
    snprintf(out, sizeof out, "%s/out.safetensors", fuzz_dir());
    lens_error err;
    lens_safetensors *st = lens_safetensors_open(path, &err);
    if (!st) return 0;
    int n = lens_safetensors_count(st);
    lens_tensor **ts = calloc((size_t)n + 1, sizeof *ts);
    const char **names = calloc((size_t)n + 1, sizeof *names);
    int k = 0;
    for (int i = 0; i < n; i++) {
        const lens_st_entry *e = lens_safetensors_entry(st, i);
        if (lens_safetensors_find(st, e->name) != e) abort();   /* lookup agrees with the order */
        lens_tensor *t = lens_st_entry_tensor(e, &err);
        if (!t) continue;
        lens_tensor *sum = lens_reduce_all(LENS_RED_SUM, t, &err);
        lens_tensor_free(sum);
        int64_t minus1 = -1;
        lens_tensor *flat = lens_tensor_reshape(t, 1, &minus1, &err);
        if (flat && lens_tensor_numel(flat) != lens_tensor_numel(t)) abort();
        lens_tensor_free(flat);
        names[k] = e->name;
        ts[k++] = t;
    }
    if (lens_safetensors_write(out, k, names, (const lens_tensor *const *)ts, lens_safetensors_metadata(st), &err) == 0) {
        lens_safetensors *back = lens_safetensors_open(out, &err);
        if (!back || lens_safetensors_count(back) != k) {
            fprintf(stderr, "a written file does not open again: %s\n", err.msg);
            abort();
        }
        lens_safetensors_close(back);
    }
    for (int i = 0; i < k; i++) lens_tensor_free(ts[i]);
    free(ts);
    free(names);
    lens_safetensors_close(st);
    return 0;
}
