/* model_load.c — opening a Hugging Face GPT-2 directory: resolving a model
 * name to a directory, reading config.json, copying the safetensors weights
 * into the engine's layout (model_internal.h; the source's pages leave the
 * process as they are copied), then processing them. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lens/file.h"
#include "lens/safetensors.h"
#include "device_tensor.h"
#include "model_internal.h"

lens_processing lens_processing_default(void)
{
    return (lens_processing){.fold_ln = true, .center_writing_weights = true,
                             .center_unembed = true, .fold_value_biases = true,
                             .refactor_factored_attn_matrices = false};
}

lens_processing lens_processing_none(void) { return (lens_processing){0}; }

const lens_config *lens_model_config(const lens_model *m) { return &m->cfg; }
const lens_processing *lens_model_processing(const lens_model *m) { return &m->proc; }
const lens_tokenizer *lens_model_tokenizer(const lens_model *m) { return m->tok; }
const char *lens_model_path(const lens_model *m) { return m->path; }

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_model_dir(const char *dir)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/config.json", dir);
    return is_file(p);
}

/* ---- name resolution ---------------------------------------------------- */

static const char *const hf_repos[][3] = {
    /* lens name, Hugging Face repo ids (as cache folder names) */
    {"gpt2-small", "models--gpt2", "models--openai-community--gpt2"},
    {"gpt2", "models--gpt2", "models--openai-community--gpt2"},
    {"gpt2-medium", "models--gpt2-medium", "models--openai-community--gpt2-medium"},
    {"gpt2-large", "models--gpt2-large", "models--openai-community--gpt2-large"},
    {"gpt2-xl", "models--gpt2-xl", "models--openai-community--gpt2-xl"},
    {"distilgpt2", "models--distilgpt2", "models--distilbert--distilgpt2"},
};

/* First snapshot of a Hugging Face cache folder that holds a model. */
static bool find_hf_snapshot(const char *hub, const char *repo, char *out, size_t size)
{
    char snaps[PATH_MAX];
    snprintf(snaps, sizeof snaps, "%s/%s/snapshots", hub, repo);
    DIR *d = opendir(snaps);
    if (!d) return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char cand[PATH_MAX], st[PATH_MAX + 32];
        snprintf(cand, sizeof cand, "%s/%s", snaps, e->d_name);
        snprintf(st, sizeof st, "%s/model.safetensors", cand);
        if (is_model_dir(cand) && is_file(st)) {
            snprintf(out, size, "%s", cand);
            found = true;
        }
    }
    closedir(d);
    return found;
}

static bool find_in_dir(const char *base, const char *name, char *out, size_t size)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s/%s", base, name) >= (int)sizeof p || !is_model_dir(p)) return false;
    snprintf(out, size, "%s", p);
    return true;
}

enum { MAX_MODEL_DIRS = 8 };

/* The folders searched for a model by name, in order: $LENS_MODELS_DIR; the
 * data folder of an installed binary (PREFIX/bin/lens -> PREFIX/share/lens/models);
 * a models/ folder beside the binary or up to three levels above it (the
 * project's, for build/lens and build/tests/x); ./models. Returns how many. */
static int model_dirs(char dirs[][PATH_MAX], int max)
{
    int n = 0;
    const char *env = getenv("LENS_MODELS_DIR");
    if (env && *env && n < max) snprintf(dirs[n++], PATH_MAX, "%s", env);
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    char *slash = len > 0 ? (exe[len] = 0, strrchr(exe, '/')) : NULL;
    if (slash) {
        *slash = 0;   /* exe: the binary's folder */
        char *up = strrchr(exe, '/');
        if (up && n < max) {
            *up = 0;
            if (snprintf(dirs[n], PATH_MAX, "%s/share/lens/models", exe) < PATH_MAX) n++;
            *up = '/';
        }
        for (int level = 0; level < 4 && n < max; level++) {
            if (snprintf(dirs[n], PATH_MAX, "%s/models", exe) < PATH_MAX) n++;
            if (!(slash = strrchr(exe, '/')) || slash == exe) break;
            *slash = 0;
        }
    }
    if (n < max) snprintf(dirs[n++], PATH_MAX, "models");
    return n;
}

/* The Hugging Face hub cache, as huggingface_hub finds it: $HF_HUB_CACHE,
 * $HF_HOME/hub, else ~/.cache/huggingface/hub. */
void lens_hf_hub_dir(char *out, size_t size)
{
    const char *hf_home = getenv("HF_HOME"), *hub_env = getenv("HF_HUB_CACHE"), *home = getenv("HOME");
    if (hub_env && *hub_env) snprintf(out, size, "%s", hub_env);
    else if (hf_home && *hf_home) snprintf(out, size, "%s/hub", hf_home);
    else snprintf(out, size, "%s/.cache/huggingface/hub", home ? home : "");
}

bool lens_model_resolve(const char *name, char *out, size_t size)
{
    if (is_model_dir(name)) { snprintf(out, size, "%s", name); return true; }
    if (strchr(name, '/')) return false;
    const char *canonical = !strcmp(name, "gpt2-small") ? "gpt2" : name;
    char dirs[MAX_MODEL_DIRS][PATH_MAX];
    int n = model_dirs(dirs, MAX_MODEL_DIRS);
    for (int i = 0; i < n; i++)
        if (find_in_dir(dirs[i], name, out, size) || find_in_dir(dirs[i], canonical, out, size))
            return true;
    char hub[PATH_MAX];
    lens_hf_hub_dir(hub, sizeof hub);
    for (size_t i = 0; i < sizeof hf_repos / sizeof *hf_repos; i++) {
        if (strcmp(name, hf_repos[i][0])) continue;
        for (int r = 1; r < 3; r++)
            if (find_hf_snapshot(hub, hf_repos[i][r], out, size)) return true;
    }
    return false;
}

static void append(char *buf, size_t size, size_t *len, const char *fmt, const char *arg)
{
    if (*len >= size) return;
    int w = snprintf(buf + *len, size - *len, fmt, arg);
    if (w > 0) *len = (size_t)w >= size - *len ? size : *len + (size_t)w;
}

/* "model X not found" with what is present and where it looked. */
static void fail_not_found(lens_error *err, const char *name)
{
    char present[512] = "", searched[512] = "";
    size_t np = 0, ns = 0;
    char dirs[MAX_MODEL_DIRS][PATH_MAX];
    int n = model_dirs(dirs, MAX_MODEL_DIRS);
    char real[MAX_MODEL_DIRS][PATH_MAX];
    for (int i = 0; i < n; i++) {
        bool seen = !realpath(dirs[i], real[i]);   /* only folders that exist, each once */
        for (int j = 0; j < i && !seen; j++) seen = !strcmp(real[i], real[j]);
        DIR *d = seen ? NULL : opendir(dirs[i]);
        if (!d) {
            real[i][0] = 0;
            continue;
        }
        append(searched, sizeof searched, &ns, ns ? ", %s" : "%s", real[i]);
        struct dirent *e;
        while ((e = readdir(d))) {
            char p[PATH_MAX];
            if (e->d_name[0] == '.' || !find_in_dir(dirs[i], e->d_name, p, sizeof p)) continue;
            /* gpt2 in a models folder is found as gpt2-small too */
            append(present, sizeof present, &np, np ? ", %s" : "%s",
                   strcmp(e->d_name, "gpt2") ? e->d_name : "gpt2-small");
        }
        closedir(d);
    }
    char hub[PATH_MAX], snap[PATH_MAX];
    lens_hf_hub_dir(hub, sizeof hub);
    for (size_t i = 1; i < sizeof hf_repos / sizeof *hf_repos; i++)   /* [0] is gpt2's alias */
        if (find_hf_snapshot(hub, hf_repos[i][1], snap, sizeof snap) ||
            find_hf_snapshot(hub, hf_repos[i][2], snap, sizeof snap))
            append(present, sizeof present, &np, np ? ", %s" : "%s",
                   strcmp(hf_repos[i][0], "gpt2") ? hf_repos[i][0] : "gpt2-small");
    const char *env = getenv("LENS_MODELS_DIR");
    bool hub_name = false;
    for (size_t i = 0; i < sizeof hf_repos / sizeof *hf_repos; i++) hub_name |= !strcmp(name, hf_repos[i][0]);
    char get[128];
    snprintf(get, sizeof get, "`lens download %s`", hub_name ? name : "gpt2-small");
    lens_fail(err, "model \"%s\" not found. Models present: %s. Searched by name: %s%s%s the "
                   "Hugging Face cache %s (gpt2-small, gpt2-medium, gpt2-large, gpt2-xl, distilgpt2). "
                   "Get %s with %s, or give a directory with config.json and model.safetensors",
              name, np ? present : "none", ns ? searched : "",
              env && *env ? "" : (ns ? ", $LENS_MODELS_DIR (not set)" : "$LENS_MODELS_DIR (not set)"),
              ", and", hub, hub_name ? "it" : "GPT-2 small", get);
}

/* ---- config ------------------------------------------------------------- */

static int json_int(const cJSON *o, const char *key, int dflt, lens_error *err, int *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) {
        if (dflt < 0) return lens_fail(err, "config.json has no \"%s\"", key);
        *out = dflt;
        return 0;
    }
    /* At most 10^7, so products of dims fit in 64 bits and sizes are checked later. */
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > 1e7 ||
        v->valuedouble != (double)(int)v->valuedouble)
        return lens_fail(err, "config.json: \"%s\" must be a positive integer (at most 10^7)", key);
    *out = (int)v->valuedouble;
    return 0;
}

static int read_config(const char *dir, lens_config *cfg, lens_error *err)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/config.json", dir);
    size_t len;
    char *text = lens_read_file(p, "model config", &len, err);
    if (!text) return -1;
    cJSON *o = cJSON_Parse(text);
    free(text);
    if (!o || !cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return lens_fail(err, "%s is not a JSON object", p);
    }
    int rc = 0, inner = 0;
    memset(cfg, 0, sizeof *cfg);
    rc |= json_int(o, "n_layer", -1, err, &cfg->n_layers);
    if (!rc) rc |= json_int(o, "n_embd", -1, err, &cfg->d_model);
    if (!rc) rc |= json_int(o, "n_head", -1, err, &cfg->n_heads);
    if (!rc) rc |= json_int(o, "n_positions", 1024, err, &cfg->n_ctx);
    if (!rc) rc |= json_int(o, "vocab_size", 50257, err, &cfg->d_vocab);
    if (!rc) rc |= json_int(o, "n_inner", 0, err, &inner);
    const cJSON *eps = cJSON_GetObjectItemCaseSensitive(o, "layer_norm_epsilon");
    cfg->ln_eps = cJSON_IsNumber(eps) ? (float)eps->valuedouble : 1e-5f;
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(o, "activation_function");
    snprintf(cfg->act_fn, sizeof cfg->act_fn, "%s",
             cJSON_IsString(act) ? act->valuestring : "gelu_new");
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(o, "model_type");
    if (!rc && cJSON_IsString(mt) && strcmp(mt->valuestring, "gpt2"))
        rc = lens_fail(err, "%s: model_type \"%s\" is not supported (lens runs GPT-2-family models)",
                       p, mt->valuestring);
    cJSON_Delete(o);
    if (rc) return lens_fail_context(err, "%s", p);
    if (cfg->d_model % cfg->n_heads)
        return lens_fail(err, "%s: n_embd %d is not divisible by n_head %d", p, cfg->d_model,
                         cfg->n_heads);
    if (strcmp(cfg->act_fn, "gelu_new") && strcmp(cfg->act_fn, "gelu") &&
        strcmp(cfg->act_fn, "relu") && strcmp(cfg->act_fn, "gelu_pytorch_tanh"))
        return lens_fail(err, "%s: activation_function \"%s\" is not supported", p, cfg->act_fn);
    cfg->d_head = cfg->d_model / cfg->n_heads;
    cfg->d_mlp = inner ? inner : 4 * cfg->d_model;
    return 0;
}

/* ---- weights ------------------------------------------------------------ */

/* The entry under its Hugging Face name, with or without "transformer.". */
static const lens_st_entry *find_weight(const lens_safetensors *st, const char *name)
{
    char full[256];
    snprintf(full, sizeof full, "transformer.%s", name);
    const lens_st_entry *e = lens_safetensors_find(st, full);
    return e ? e : lens_safetensors_find(st, name);
}

/* A weight's pages of the source file's mapping, once copied, leave this
 * process (they stay in the page cache): the load holds one copy, not two. Only
 * whole pages inside the entry. */
static void release_source_pages(const lens_st_entry *e)
{
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || !e->nbytes) return;
    uintptr_t p = (uintptr_t)page, lo = (uintptr_t)e->data, hi = lo + e->nbytes;
    uintptr_t first = (lo + p - 1) / p * p, last = hi / p * p;
    if (last > first) madvise((void *)first, last - first, MADV_DONTNEED);
}

/* Reads a weight of the expected shape into a new float tensor. */
static lens_tensor *load_weight(const lens_safetensors *st, const char *name, int ndim,
                                int64_t d0, int64_t d1, lens_error *err)
{
    const lens_st_entry *e = find_weight(st, name);
    if (!e) { lens_fail(err, "weights file has no tensor \"%s\"", name); return NULL; }
    int64_t shape[2] = {d0, d1};
    bool ok = e->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++) ok = e->shape[d] == shape[d];
    if (!ok) {
        char a[64], b[64];
        lens_fail(err, "tensor \"%s\" has shape %s, expected %s for this config", name,
                  lens_shape_str(e->ndim, e->shape, a, sizeof a), lens_shape_str(ndim, shape, b, sizeof b));
        return NULL;
    }
    lens_tensor *t = lens_tensor_new(LENS_F32, ndim, shape);
    if (!t) {   /* the memory limit's MemoryError (or the shape's error), with the weight's name */
        lens_fail_alloc(err);
        lens_fail_context(err, "loading \"%s\"", name);
        return NULL;
    }
    if (lens_st_entry_read_f32(e, lens_tensor_f32(t), (size_t)lens_tensor_numel(t), err)) {
        lens_tensor_free(t);
        return NULL;
    }
    release_source_pages(e);
    return t;
}

/* Columns [c0, c0+n) of a [rows, cols] matrix as a new [rows, n] tensor. */
static lens_tensor *columns(const lens_tensor *w, int64_t c0, int64_t n)
{
    lens_tensor *v = lens_tensor_narrow(w, w->ndim - 1, c0, n);
    lens_tensor *c = v ? lens_tensor_clone(v) : NULL;
    lens_tensor_free(v);
    return c;
}

static int load_layer(const lens_safetensors *st, const lens_config *c, int l, lens_layer *L,
                      lens_error *err)
{
    char n[128];
    int64_t d = c->d_model, f = c->d_mlp;
#define LOAD(dst, hf, nd, a, b)                                      \
    do {                                                             \
        snprintf(n, sizeof n, "h.%d.%s", l, hf);                     \
        if (!(dst = load_weight(st, n, nd, a, b, err))) return -1;   \
    } while (0)
    LOAD(L->ln1_w, "ln_1.weight", 1, d, 0);
    LOAD(L->ln1_b, "ln_1.bias", 1, d, 0);
    lens_tensor *qkv, *qkv_b;
    LOAD(qkv, "attn.c_attn.weight", 2, d, 3 * d);
    snprintf(n, sizeof n, "h.%d.attn.c_attn.bias", l);
    if (!(qkv_b = load_weight(st, n, 1, 3 * d, 0, err))) { lens_tensor_free(qkv); return -1; }
    L->W_Q = columns(qkv, 0, d);
    L->W_K = columns(qkv, d, d);
    L->W_V = columns(qkv, 2 * d, d);
    L->b_Q = columns(qkv_b, 0, d);
    L->b_K = columns(qkv_b, d, d);
    L->b_V = columns(qkv_b, 2 * d, d);
    lens_tensor_free(qkv);
    lens_tensor_free(qkv_b);
    if (!L->W_Q || !L->W_K || !L->W_V || !L->b_Q || !L->b_K || !L->b_V)
        return lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory");
    LOAD(L->W_O, "attn.c_proj.weight", 2, d, d);
    LOAD(L->b_O, "attn.c_proj.bias", 1, d, 0);
    LOAD(L->ln2_w, "ln_2.weight", 1, d, 0);
    LOAD(L->ln2_b, "ln_2.bias", 1, d, 0);
    LOAD(L->W_in, "mlp.c_fc.weight", 2, d, f);
    LOAD(L->b_in, "mlp.c_fc.bias", 1, f, 0);
    LOAD(L->W_out, "mlp.c_proj.weight", 2, f, d);
    LOAD(L->b_out, "mlp.c_proj.bias", 1, d, 0);
#undef LOAD
    return 0;
}

static int load_weights(lens_model *m, const char *path, lens_error *err)
{
    lens_safetensors *st = lens_safetensors_open(path, err);
    if (!st) return -1;
    const lens_config *c = &m->cfg;
    int rc = -1;
    m->layers = calloc((size_t)c->n_layers, sizeof *m->layers);
    if (!m->layers) { lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory"); goto done; }
    if (!(m->W_E = load_weight(st, "wte.weight", 2, c->d_vocab, c->d_model, err))) goto done;
    if (!(m->W_pos = load_weight(st, "wpe.weight", 2, c->n_ctx, c->d_model, err))) goto done;
    if (!(m->lnf_w = load_weight(st, "ln_f.weight", 1, c->d_model, 0, err))) goto done;
    if (!(m->lnf_b = load_weight(st, "ln_f.bias", 1, c->d_model, 0, err))) goto done;
    for (int l = 0; l < c->n_layers; l++)
        if (load_layer(st, c, l, &m->layers[l], err)) goto done;
    /* Tied unembedding unless the file has its own lm_head. */
    const lens_st_entry *head = lens_safetensors_find(st, "lm_head.weight");
    m->W_Ut = head ? load_weight(st, "lm_head.weight", 2, c->d_vocab, c->d_model, err)
                   : lens_tensor_clone(m->W_E);
    if (!m->W_Ut) { if (!head) lens_fail_alloc(err); goto done; }
    int64_t v = c->d_vocab;
    if (!(m->b_U = lens_tensor_new(LENS_F32, 1, &v))) { lens_fail_alloc(err); goto done; }
    rc = 0;
done:
    if (rc) lens_fail_context(err, "%s", path);
    lens_safetensors_close(st);
    return rc;
}

/* tokenizer loading lives with the tokenizer; the model only finds its files. */
static int load_tokenizer(lens_model *m, const char *dir, lens_error *err)
{
    char v[PATH_MAX], mg[PATH_MAX];
    snprintf(v, sizeof v, "%s/vocab.json", dir);
    snprintf(mg, sizeof mg, "%s/merges.txt", dir);
    m->tok = lens_tokenizer_load(v, mg, err);
    return m->tok ? 0 : -1;
}

static void free_tensors(lens_tensor **ts, size_t n)
{
    for (size_t i = 0; i < n; i++) lens_tensor_free(ts[i]);
}

void lens_model_free(lens_model *m)
{
    if (!m) return;
    if (m->layers)
        for (int l = 0; l < m->cfg.n_layers; l++)
            free_tensors((lens_tensor **)&m->layers[l], sizeof(lens_layer) / sizeof(lens_tensor *));
    free(m->layers);
    lens_tensor *globals[] = {m->W_E, m->W_pos, m->W_Ut, m->b_U, m->lnf_w, m->lnf_b};
    free_tensors(globals, sizeof globals / sizeof *globals);
    lens_tokenizer_free(m->tok);
    free(m);
}

/* Moves every weight to be (nothing to do on a host-addressable backend). */
static int upload_weights(lens_model *m, const lens_backend *be, lens_error *err)
{
    m->be = be;
    if (be->host_addressable) return 0;
    lens_tensor **globals[] = {&m->W_E, &m->W_pos, &m->W_Ut, &m->b_U, &m->lnf_w, &m->lnf_b};
    size_t per_layer = sizeof(lens_layer) / sizeof(lens_tensor *);
    for (int i = -1; i < m->cfg.n_layers; i++) {
        lens_tensor **ts = i < 0 ? NULL : (lens_tensor **)&m->layers[i];
        size_t n = i < 0 ? sizeof globals / sizeof *globals : per_layer;
        for (size_t j = 0; j < n; j++) {
            lens_tensor **slot = i < 0 ? globals[j] : &ts[j];
            if (!*slot) continue;
            lens_tensor *d = lens_dev_on(be, *slot, err);
            if (!d) return lens_fail_context(err, "uploading the weights to %s", be->name);
            lens_tensor_free(*slot);
            *slot = d;
        }
    }
    return 0;
}

const char *lens_model_device(const lens_model *m) { return m->be->name; }

lens_model *lens_model_load(const char *name_or_path, const lens_processing *p, lens_error *err)
{
    return lens_model_load_on(name_or_path, p, NULL, err);
}

lens_model *lens_model_load_on(const char *name_or_path, const lens_processing *p, const char *device,
                               lens_error *err)
{
    const lens_backend *be = device ? lens_backend_by_name(device, err) : lens_backend_default();
    if (!be) return NULL;
    char dir[PATH_MAX];
    if (!lens_model_resolve(name_or_path, dir, sizeof dir)) {
        fail_not_found(err, name_or_path);
        return NULL;
    }
    lens_model *m = calloc(1, sizeof *m);
    if (!m) { lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory"); return NULL; }
    snprintf(m->path, sizeof m->path, "%s", dir);
    if (read_config(dir, &m->cfg, err)) goto fail;
    const char *base = strrchr(dir, '/');
    snprintf(m->cfg.name, sizeof m->cfg.name, "%s", strchr(name_or_path, '/') ? (base ? base + 1 : dir) : name_or_path);
    char st[PATH_MAX + 32];
    snprintf(st, sizeof st, "%s/model.safetensors", dir);
    if (!is_file(st)) {
        lens_fail(err, "%s has no model.safetensors (lens reads safetensors weights only)", dir);
        goto fail;
    }
    if (load_tokenizer(m, dir, err)) goto fail;
    lens_processing proc = p ? *p : lens_processing_default();
    m->be = lens_backend_cpu();   /* loading and processing happen on the host */
    if (lens_weights_cache_load(m, st, &proc) != 0) {   /* else shared with other processes */
        if (load_weights(m, st, err)) goto fail;
        if (lens_model_process(m, &proc, err)) goto fail;
        lens_weights_cache_store(m, st, &proc);   /* best effort: a read-only cache folder is fine */
    }
    if (upload_weights(m, be, err)) goto fail;
    return m;
fail:
    lens_model_free(m);
    return NULL;
}
