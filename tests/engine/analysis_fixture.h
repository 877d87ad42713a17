/* tests/engine/analysis_fixture.h — what the analysis and patching tests share:
 * fixture metadata (JSON in __metadata__["meta"]), answer tokens from it, label
 * comparison, and the seed notebook's three attributions computed with the
 * engine API exactly as the notebook chains them. */
#ifndef LENS_TEST_ANALYSIS_FIXTURE_H
#define LENS_TEST_ANALYSIS_FIXTURE_H

#include <cJSON.h>
#include <string.h>

#include "../harness.h"
#include "lens/analysis.h"
#include "lens/patching.h"
#include "lens/tensor_ops.h"
#include "model_fixture.h"

#define TINY_PATCHING TINY_DIR "/patching.safetensors"
#define STORIES_DIR "models/lens-tinystories-16m"
#define STORIES_REF STORIES_DIR "/seed-reference.safetensors"

/* The parsed "meta" object of a fixture (caller deletes). */
static inline cJSON *fixture_meta(const lens_safetensors *st)
{
    cJSON *outer = cJSON_Parse(lens_safetensors_metadata(st));
    cJSON *m = cJSON_GetObjectItemCaseSensitive(outer, "meta");
    cJSON *meta = cJSON_IsString(m) ? cJSON_Parse(m->valuestring) : NULL;
    cJSON_Delete(outer);
    return meta;
}

/* [n, 2] int64 answer tokens from the metadata's "answers" pairs. */
static inline lens_tensor *answers_from_meta(const lens_model *m, const cJSON *meta)
{
    const cJSON *ans = cJSON_GetObjectItemCaseSensitive(meta, "answers");
    int n = cJSON_GetArraySize(ans);
    lens_tensor *t = lens_tensor_new_v(LENS_I64, 2, (int64_t)n, (int64_t)2);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            const char *s = cJSON_GetArrayItem(cJSON_GetArrayItem(ans, i), k)->valuestring;
            int64_t *ids = NULL;
            size_t len = 0;
            lens_error err;
            lens_tokenizer_encode(lens_model_tokenizer(m), s, &ids, &len, &err);
            lens_tensor_i64(t)[2 * i + k] = len == 1 ? ids[0] : -1;
            free(ids);
        }
    return t;
}

/* Labels equal the JSON array of strings. */
static inline bool labels_equal(char *const *labels, const cJSON *want)
{
    if (!labels || lens_labels_count(labels) != cJSON_GetArraySize(want)) return false;
    for (int i = 0; labels[i]; i++)
        if (strcmp(labels[i], cJSON_GetArrayItem(want, i)->valuestring)) return false;
    return true;
}

/* Column k of answer tokens [n, 2] as a new [n] tensor. */
static inline lens_tensor *answer_column(const lens_tensor *answers, int k)
{
    lens_tensor *v = lens_tensor_select(answers, 1, k);
    lens_tensor *c = lens_tensor_clone(v);
    lens_tensor_free(v);
    return c;
}

/* logit_attrs(stack, answers[:, 0], answers[:, 1], pos_slice=-1).mean(-1) */
static inline lens_tensor *mean_attrs(const lens_model *m, const lens_cache *c, const lens_tensor *stack,
                                      const lens_tensor *answers, lens_error *err)
{
    lens_slice last = lens_slice_index(-1);
    lens_tensor *a0 = answer_column(answers, 0), *a1 = answer_column(answers, 1);
    lens_tensor *attrs = stack ? lens_logit_attrs(m, c, stack, a0, a1, &last, NULL, err) : NULL;
    lens_tensor *r = attrs ? lens_reduce(LENS_RED_MEAN, attrs, -1, false, err) : NULL;
    lens_tensor_free(a0);
    lens_tensor_free(a1);
    lens_tensor_free(attrs);
    return r;
}

#endif
