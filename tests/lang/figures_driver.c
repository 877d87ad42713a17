/* tests/lang/figures_driver.c — runs a few notebook cells of the lens
 * language (load a model, a line plot, a heatmap, attention displays) through
 * lang_execute and writes what a notebook would hold, for the browser test to
 * pre-fill a notebook with real language output:
 *
 *     figures_driver OUTDIR MODEL_DIR
 *
 * writes OUTDIR/cells.json: [{"source": code, "outputs": [{"output_type":
 * "display_data" | "execute_result", "data": bundle}, ...]}, ...]. Updates of a
 * display (update_display_data) replace the output shown with that id, as a
 * frontend does. Exit status 1 when a cell fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lang.h"

typedef struct outputs {
    cJSON *list;   /* array of outputs of the current cell */
    cJSON *ids;    /* object: display_id -> index in list */
} outputs;

static cJSON *output(const char *type, const cJSON *bundle)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "output_type", type);
    cJSON_AddItemToObject(o, "data", cJSON_Duplicate(bundle, 1));
    return o;
}

static void on_display(void *ctx, const cJSON *bundle, const char *id, bool update)
{
    outputs *o = ctx;
    const cJSON *at = id ? cJSON_GetObjectItemCaseSensitive(o->ids, id) : NULL;
    if (update) {
        if (at) cJSON_ReplaceItemInArray(o->list, at->valueint, output("display_data", bundle));
        return;
    }
    if (id) {
        cJSON_DeleteItemFromObjectCaseSensitive(o->ids, id);
        cJSON_AddNumberToObject(o->ids, id, cJSON_GetArraySize(o->list));
    }
    cJSON_AddItemToArray(o->list, output("display_data", bundle));
}

static void on_stream(void *ctx, const char *name, const char *text)
{
    outputs *o = ctx;
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "output_type", "stream");
    cJSON_AddStringToObject(s, "name", name);
    cJSON_AddStringToObject(s, "text", text);
    cJSON_AddItemToArray(o->list, s);
}

/* The cells, in order; %s is the model directory. */
static const char *const cells[] = {
    "model = load('%s')",
    "tokens = model.to_tokens('When John and Mary went to the store, John gave a drink to')\n"
    "logits, cache = model.run_with_cache(tokens)\n"
    "model.to_str_tokens(tokens[0])",
    "line(arange(25) * 0.1 - 1.0, x=arange(25) / 2, hover_name=[f'{i // 2}_{i % 2}' for i in range(25)],\n"
    "     title='Logit Difference From Accumulate Residual Stream')",
    "head_scores = cache['pattern', 1][0].max(-1).values - cache['pattern', 0][0].max(-1).values   # [head, query]\n"
    "imshow(head_scores, labels={'x': 'Position', 'y': 'Head'}, title='Strongest attention, layer 1 minus layer 0')",
    "top = topk(cache['pattern', 1][0, :, -1, :].max(-1).values, 3).indices + 4   # heads of layer 1\n"
    "attention_patterns(cache, heads=top, tokens=tokens[0], title='Top 3 heads')",
    "attention_patterns(cache, heads=['L0H0', 'L0H2'], title='Early heads')",
    "attention_heads(cache, [(1, 1), (1, 2), (1, 3)], title='Layer 1')",
};

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: figures_driver OUTDIR MODEL_DIR\n");
        return 2;
    }
    lang_session *s = lang_session_new();
    if (!s) return 1;
    cJSON *nb = cJSON_CreateArray();
    int rc = 0;
    for (size_t i = 0; i < sizeof cells / sizeof *cells && rc == 0; i++) {
        char code[2048];
        snprintf(code, sizeof code, cells[i], argv[2]);
        outputs o = {cJSON_CreateArray(), cJSON_CreateObject()};
        lang_output out = {&o, on_stream, on_display, NULL, NULL, NULL};
        cJSON *result = NULL;
        lang_error err;
        memset(&err, 0, sizeof err);
        if (lang_execute(s, code, &out, &result, &err)) {
            fprintf(stderr, "cell %zu failed: %s: %s\n", i, err.ename, err.evalue);
            lang_error_clear(&err);
            rc = 1;
        }
        if (result) cJSON_AddItemToArray(o.list, output("execute_result", result));
        cJSON_Delete(result);
        cJSON *cell = cJSON_CreateObject();
        cJSON_AddStringToObject(cell, "source", code);
        cJSON_AddItemToObject(cell, "outputs", o.list);
        cJSON_AddItemToArray(nb, cell);
        cJSON_Delete(o.ids);
    }
    lang_session_free(s);
    char path[4096];
    snprintf(path, sizeof path, "%s/cells.json", argv[1]);
    char *text = cJSON_Print(nb);
    FILE *f = fopen(path, "w");
    if (!text || !f || fputs(text, f) < 0) rc = 1;
    if (f && fclose(f)) rc = 1;
    if (rc) fprintf(stderr, "figures_driver: failed (%s)\n", path);
    free(text);
    cJSON_Delete(nb);
    return rc;
}
