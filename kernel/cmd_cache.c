/* cmd_cache.c — `lens cache MODEL --prompt TEXT ... --out FILE.safetensors`:
 * runs the prompts with a full activation cache and writes `tokens`, `logits`
 * and every cached activation under its TransformerLens hook name, so other
 * tools (numpy, torch) can read lens's activations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "lens/model.h"
#include "lens/safetensors.h"

static int cache_usage(FILE *f)
{
    fprintf(f, "usage: lens cache MODEL --prompt TEXT [--prompt TEXT ...] --out FILE.safetensors\n"
               "                  [--processing raw|default|refactor] [--names REGEX] [--no-bos]\n"
               "  MODEL is a model directory or name; --processing default is TransformerLens's\n"
               "  from_pretrained processing (fold_ln, center_writing_weights, center_unembed,\n"
               "  fold_value_biases), refactor adds refactor_factored_attn_matrices, raw is none.\n"
               "  --names caches only hooks whose names match the regular expression.\n");
    return 2;
}

static int parse_processing(const char *s, lens_processing *p)
{
    if (!strcmp(s, "raw")) *p = lens_processing_none();
    else if (!strcmp(s, "default")) *p = lens_processing_default();
    else if (!strcmp(s, "refactor")) {
        *p = lens_processing_default();
        p->refactor_factored_attn_matrices = true;
    } else return -1;
    return 0;
}

int cmd_cache(int argc, char **argv)
{
    const char *model = NULL, *out = NULL, *names = NULL;
    const char **prompts = calloc((size_t)argc, sizeof *prompts);
    int n_prompts = 0;
    bool bos = true;
    lens_processing proc = lens_processing_default();
    if (!prompts) return 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "--prompt") && has_value) prompts[n_prompts++] = argv[++i];
        else if (!strcmp(a, "--out") && has_value) out = argv[++i];
        else if (!strcmp(a, "--names") && has_value) names = argv[++i];
        else if (!strcmp(a, "--no-bos")) bos = false;
        else if (!strcmp(a, "--processing") && has_value) {
            if (parse_processing(argv[++i], &proc)) {
                fprintf(stderr, "lens cache: --processing must be raw, default or refactor\n");
                free(prompts);
                return cache_usage(stderr);
            }
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            free(prompts);
            cache_usage(stdout);
            return 0;
        } else if (a[0] != '-' && !model) model = a;
        else {
            fprintf(stderr, "lens cache: unexpected argument '%s'\n", a);
            free(prompts);
            return cache_usage(stderr);
        }
    }
    if (!model || !out || !n_prompts) {
        free(prompts);
        return cache_usage(stderr);
    }
    int rc = 1;
    lens_error err;
    lens_tensor *tokens = NULL, *logits = NULL;
    lens_cache *cache = NULL;
    const char **wnames = NULL;
    const lens_tensor **wtensors = NULL;
    lens_model *m = lens_model_load(model, &proc, &err);
    if (!m) goto fail;
    if (!(tokens = lens_model_to_tokens(m, prompts, n_prompts, bos, &err))) goto fail;
    lens_run_options o = lens_run_options_default();
    o.names_regex = names;
    if (lens_model_run(m, tokens, &o, &logits, &cache, &err)) goto fail;
    int n = lens_cache_count(cache) + 2;
    wnames = calloc((size_t)n, sizeof *wnames);
    wtensors = calloc((size_t)n, sizeof *wtensors);
    if (!wnames || !wtensors) { lens_fail(&err, "out of memory"); goto fail; }
    wnames[0] = "tokens";
    wtensors[0] = tokens;
    wnames[1] = "logits";
    wtensors[1] = logits;
    for (int i = 0; i < lens_cache_count(cache); i++) {
        wnames[i + 2] = lens_cache_name(cache, i);
        wtensors[i + 2] = lens_cache_at(cache, i);
    }
    char meta[512];
    snprintf(meta, sizeof meta, "{\"model\": \"%s\", \"processing\": \"%s%s%s%s%s\"}",
             lens_model_config(m)->name, proc.fold_ln ? "fold_ln " : "",
             proc.center_writing_weights ? "center_writing_weights " : "",
             proc.center_unembed ? "center_unembed " : "", proc.fold_value_biases ? "fold_value_biases " : "",
             proc.refactor_factored_attn_matrices ? "refactor_factored_attn_matrices" : "");
    if (lens_safetensors_write(out, n, wnames, (const lens_tensor *const *)wtensors, meta, &err)) goto fail;
    fprintf(stderr, "wrote %d tensors to %s\n", n, out);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "lens cache: %s\n", err.msg);
done:
    free(wnames);
    free(wtensors);
    lens_cache_free(cache);
    lens_tensor_free(logits);
    lens_tensor_free(tokens);
    lens_model_free(m);
    free(prompts);
    return rc;
}
