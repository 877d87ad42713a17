/* slice.c — utils.Slice over tensors, label arrays, and head names ("L9H9",
 * flat indices) shared by the analyses. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lens/analysis.h"
#include "lens/tensor_ops.h"

lens_slice lens_slice_all(void) { return (lens_slice){.kind = LENS_SLICE_ALL}; }
lens_slice lens_slice_index(int64_t i) { return (lens_slice){.kind = LENS_SLICE_INDEX, .index = i}; }

lens_slice lens_slice_range(int64_t start, int64_t stop, int64_t step)
{
    return (lens_slice){.kind = LENS_SLICE_RANGE, .start = start, .stop = stop, .step = step};
}

lens_tensor *lens_slice_apply(const lens_slice *s, const lens_tensor *t, int dim, lens_error *err)
{
    int d = dim < 0 ? dim + t->ndim : dim;
    if (d < 0 || d >= t->ndim) {
        lens_fail(err, "cannot slice dim %d of a %d-d tensor", dim, t->ndim);
        return NULL;
    }
    if (!s || s->kind == LENS_SLICE_ALL) return lens_tensor_ref(t);
    if (s->kind == LENS_SLICE_INDEX) {
        int64_t i = s->index < 0 ? s->index + t->shape[d] : s->index;
        if (i < 0 || i >= t->shape[d]) {
            lens_fail(err, "index %lld is out of range for a dim of size %lld", (long long)s->index,
                      (long long)t->shape[d]);
            return NULL;
        }
        return lens_tensor_select(t, d, i);
    }
    if (s->kind == LENS_SLICE_RANGE) {
        int64_t step = s->step == LENS_SLICE_NONE ? 1 : s->step;
        int64_t stop = s->stop == LENS_SLICE_NONE ? INT64_MAX : s->stop;
        if (step < 0 && s->stop == LENS_SLICE_NONE) stop = INT64_MIN;
        return lens_tensor_slice(t, d, s->start, stop, step, err);
    }
    int64_t n = s->n;
    lens_tensor *idx = lens_tensor_from_i64(1, &n, s->list);
    if (!idx) { lens_fail_alloc(err); return NULL; }
    lens_tensor *r = lens_index_select(t, d, idx, err);
    lens_tensor_free(idx);
    return r;
}

void lens_labels_free(char **labels)
{
    if (!labels) return;
    for (int i = 0; labels[i]; i++) free(labels[i]);
    free(labels);
}

int lens_labels_count(char *const *labels)
{
    int n = 0;
    while (labels && labels[n]) n++;
    return n;
}

int lens_head_parse(const lens_config *cfg, const char *s, int *layer, int *head, lens_error *err)
{
    const char *p = s;
    if (toupper((unsigned char)*p) != 'L' || !isdigit((unsigned char)p[1])) goto bad;
    char *end;
    long l = strtol(p + 1, &end, 10);
    if (toupper((unsigned char)*end) != 'H' || !isdigit((unsigned char)end[1])) goto bad;
    long h = strtol(end + 1, &end, 10);
    if (*end) goto bad;
    if (l >= cfg->n_layers || h >= cfg->n_heads)
        return lens_fail(err, "head \"%s\" does not exist: the model has %d layers of %d heads", s,
                         cfg->n_layers, cfg->n_heads);
    *layer = (int)l;
    *head = (int)h;
    return 0;
bad:
    return lens_fail(err, "\"%s\" is not a head name; write heads as \"L<layer>H<head>\", e.g. \"L9H9\"", s);
}

int lens_head_from_index(const lens_config *cfg, int64_t index, int *layer, int *head, lens_error *err)
{
    int64_t n = (int64_t)cfg->n_layers * cfg->n_heads;
    if (index < 0 || index >= n)
        return lens_fail(err, "head index %lld is out of range: the model has %lld heads (layer * %d + head)",
                         (long long)index, (long long)n, cfg->n_heads);
    *layer = (int)(index / cfg->n_heads);
    *head = (int)(index % cfg->n_heads);
    return 0;
}

char **lens_head_labels(const lens_config *cfg, int n_layers)
{
    size_t n = (size_t)n_layers * (size_t)cfg->n_heads;
    char **labels = calloc(n + 1, sizeof *labels);
    if (!labels) return NULL;
    for (size_t i = 0; i < n; i++) {
        char buf[48];
        snprintf(buf, sizeof buf, "L%dH%d", (int)(i / (size_t)cfg->n_heads), (int)(i % (size_t)cfg->n_heads));
        if (!(labels[i] = strdup(buf))) { lens_labels_free(labels); return NULL; }
    }
    return labels;
}
