/* hooks.c — the one table of hook point names and shapes (TransformerLens's
 * names), utils.get_act_name's short-name resolution, and keeping views that a
 * hook function let escape valid after the run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "model_internal.h"

const lens_hook_info lens_hooks[HK_COUNT] = {
    [HK_EMBED] = {"hook_embed", false, SH_BPD},
    [HK_POS_EMBED] = {"hook_pos_embed", false, SH_BPD},
    [HK_RESID_PRE] = {"hook_resid_pre", true, SH_BPD},
    [HK_LN1_SCALE] = {"ln1.hook_scale", true, SH_BP1},
    [HK_LN1_NORMALIZED] = {"ln1.hook_normalized", true, SH_BPD},
    [HK_Q] = {"attn.hook_q", true, SH_BPHD},
    [HK_K] = {"attn.hook_k", true, SH_BPHD},
    [HK_V] = {"attn.hook_v", true, SH_BPHD},
    [HK_ATTN_SCORES] = {"attn.hook_attn_scores", true, SH_BHPP},
    [HK_PATTERN] = {"attn.hook_pattern", true, SH_BHPP},
    [HK_Z] = {"attn.hook_z", true, SH_BPHD},
    [HK_RESULT] = {"attn.hook_result", true, SH_BPHM},
    [HK_ATTN_OUT] = {"hook_attn_out", true, SH_BPD},
    [HK_RESID_MID] = {"hook_resid_mid", true, SH_BPD},
    [HK_LN2_SCALE] = {"ln2.hook_scale", true, SH_BP1},
    [HK_LN2_NORMALIZED] = {"ln2.hook_normalized", true, SH_BPD},
    [HK_MLP_PRE] = {"mlp.hook_pre", true, SH_BPF},
    [HK_MLP_POST] = {"mlp.hook_post", true, SH_BPF},
    [HK_MLP_OUT] = {"hook_mlp_out", true, SH_BPD},
    [HK_RESID_POST] = {"hook_resid_post", true, SH_BPD},
    [HK_LNF_SCALE] = {"ln_final.hook_scale", false, SH_BP1},
    [HK_LNF_NORMALIZED] = {"ln_final.hook_normalized", false, SH_BPD},
    [HK_UNEMBED_IN] = {"unembed.hook_in", false, SH_BPD},
};

void lens_hook_name(lens_hook_kind kind, int layer, char *out, size_t size)
{
    if (lens_hooks[kind].per_layer)
        snprintf(out, size, "blocks.%d.%s", layer, lens_hooks[kind].suffix);
    else
        snprintf(out, size, "%s", lens_hooks[kind].suffix);
}

int lens_hook_shape_of(const lens_config *c, lens_hook_kind kind, int64_t B, int64_t P,
                       int64_t *s)
{
    s[0] = B;
    switch (lens_hooks[kind].shape) {
    case SH_BPD: s[1] = P; s[2] = c->d_model; return 3;
    case SH_BP1: s[1] = P; s[2] = 1; return 3;
    case SH_BPHD: s[1] = P; s[2] = c->n_heads; s[3] = c->d_head; return 4;
    case SH_BHPP: s[1] = c->n_heads; s[2] = P; s[3] = P; return 4;
    case SH_BPHM: s[1] = P; s[2] = c->n_heads; s[3] = c->d_model; return 4;
    case SH_BPF: s[1] = P; s[2] = c->d_mlp; return 3;
    }
    return 0;
}

int lens_hook_parse(const lens_config *cfg, const char *name, lens_hook_kind *kind, int *layer)
{
    int l = -1;
    const char *rest = name;
    if (!strncmp(name, "blocks.", 7)) {
        char *end;
        long v = strtol(name + 7, &end, 10);
        if (end == name + 7 || *end != '.' || v < 0 || v >= cfg->n_layers) return -1;
        l = (int)v;
        rest = end + 1;
    }
    for (int k = 0; k < HK_COUNT; k++) {
        if (lens_hooks[k].per_layer != (l >= 0)) continue;
        if (!strcmp(rest, lens_hooks[k].suffix)) {
            *kind = (lens_hook_kind)k;
            *layer = l;
            return 0;
        }
    }
    return -1;
}

char **lens_hook_names(const lens_config *cfg)
{
    size_t n = 0, cap = (size_t)HK_COUNT * (size_t)(cfg->n_layers + 1) + 1;
    char **names = calloc(cap, sizeof *names);
    if (!names) return NULL;
    char buf[128];
    for (int k = HK_EMBED; k <= HK_POS_EMBED; k++) {
        lens_hook_name((lens_hook_kind)k, 0, buf, sizeof buf);
        names[n++] = strdup(buf);
    }
    for (int l = 0; l < cfg->n_layers; l++)
        for (int k = HK_RESID_PRE; k <= HK_RESID_POST; k++) {
            lens_hook_name((lens_hook_kind)k, l, buf, sizeof buf);
            names[n++] = strdup(buf);
        }
    for (int k = HK_LNF_SCALE; k <= HK_UNEMBED_IN; k++) {
        lens_hook_name((lens_hook_kind)k, 0, buf, sizeof buf);
        names[n++] = strdup(buf);
    }
    names[n] = NULL;
    return names;
}

static const char *alias(const char *name, const char *const table[][2])
{
    for (int i = 0; table[i][0]; i++)
        if (!strcmp(name, table[i][0])) return table[i][1];
    return name;
}

static bool in_list(const char *name, const char *const list[])
{
    for (int i = 0; list[i]; i++)
        if (!strcmp(name, list[i])) return true;
    return false;
}

int lens_act_name(const lens_config *cfg, const char *short_name, int layer,
                  const char *layer_type, char *out, size_t size, lens_error *err)
{
    static const char *const act_alias[][2] = {
        {"attn", "pattern"}, {"attn_logits", "attn_scores"}, {"key", "k"}, {"query", "q"},
        {"value", "v"}, {"mlp_pre", "pre"}, {"mlp_post", "post"}, {NULL, NULL}};
    static const char *const type_alias[][2] = {
        {"a", "attn"}, {"m", "mlp"}, {"b", ""}, {"block", ""}, {"blocks", ""},
        {"attention", "attn"}, {NULL, NULL}};
    static const char *const attn_names[] = {"k", "v", "q", "z", "result", "pattern",
                                             "attn_scores", NULL};
    static const char *const mlp_names[] = {"pre", "post", NULL};

    bool has_layer = layer != LENS_NO_LAYER;
    if (!has_layer && !layer_type && (strchr(short_name, '.') || !strncmp(short_name, "hook_", 5))) {
        snprintf(out, size, "%s", short_name);
        return 0;
    }
    if (has_layer) {
        int l = layer < 0 ? layer + cfg->n_layers : layer;
        if (l < 0 || l >= cfg->n_layers)
            return lens_fail(err, "layer %d is out of range for a model with %d layers", layer,
                             cfg->n_layers);
        layer = l;
    }
    const char *name = alias(short_name, act_alias);
    const char *type = layer_type ? alias(layer_type, type_alias) : NULL;
    if (in_list(name, attn_names)) type = "attn";
    else if (in_list(name, mlp_names)) type = "mlp";
    size_t n = 0;
    out[0] = 0;
    if (has_layer) n += (size_t)snprintf(out + n, size - n, "blocks.%d.", layer);
    if (type && *type && n < size) n += (size_t)snprintf(out + n, size - n, "%s.", type);
    if (n < size) snprintf(out + n, size - n, "hook_%s", name);
    if (!has_layer && (!strcmp(name, "scale") || !strcmp(name, "normalized"))) {
        char tmp[256];
        snprintf(tmp, sizeof tmp, "ln_final.%s", out);
        snprintf(out, size, "%s", tmp);
    }
    return 0;
}

static void device_copy_release(void *data, size_t nbytes, void *ctx)
{
    const lens_backend *be = ctx;
    be->free(data, nbytes);
}

int lens_hook_keep_views(lens_tensor *activation, lens_error *err)
{
    lens_storage *st = activation->storage;
    if (!st || st->refcount <= 1) return 0;
    /* the copy is made where the activation is: host memory, or the device's */
    const lens_backend *be = lens_backend_of_device(st->device);
    if (!be) return lens_fail(err, "keeping a hook's view: no backend for its device");
    size_t n = st->nbytes ? st->nbytes : 1;
    void *copy = be->host_addressable ? malloc(n) : be->alloc(n, err);
    if (!copy) return be->host_addressable ? lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory keeping a hook's view of %zu bytes", n) : -1;
    if (be->copy(copy, st->data, st->nbytes, err)) {
        if (be->host_addressable) free(copy); else be->free(copy, n);
        return -1;
    }
    /* the other references now own the copy; this tensor goes on seeing the run's buffer */
    lens_storage *own = calloc(1, sizeof *own);
    if (!own) {
        if (be->host_addressable) free(copy); else be->free(copy, n);
        return lens_fail_oom(err);
    }
    *own = *st;
    own->refcount = 1;
    st->data = copy;
    st->nbytes = n;
    st->release = be->host_addressable ? NULL : device_copy_release;
    st->release_ctx = be->host_addressable ? NULL : (void *)be;
    st->refcount--;
    activation->storage = own;
    return 0;
}
