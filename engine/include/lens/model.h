/* lens/model.h — a GPT-2-family model: loading, weight processing, forward pass
 * with an activation cache named exactly like TransformerLens's hook points.
 *
 *     lens_error err;
 *     lens_processing p = lens_processing_default();      // from_pretrained's defaults
 *     lens_model *m = lens_model_load("tests/fixtures/tiny-gpt2", &p, &err);
 *     const char *prompts[] = {"So John is a really great friend, isn't"};
 *     lens_tensor *tokens = lens_model_to_tokens(m, prompts, 1, true, &err);   // [1, 11] int64
 *     lens_run_options opt = lens_run_options_default();
 *     lens_tensor *logits; lens_cache *cache;
 *     lens_model_run(m, tokens, &opt, &logits, &cache, &err);               // logits [1, 11, vocab]
 *     const lens_tensor *r = lens_cache_get(cache, "blocks.1.hook_resid_post");  // [1, 11, d_model]
 *     lens_cache_free(cache); lens_tensor_free(logits); lens_tensor_free(tokens);
 *     lens_model_free(m);
 */
#ifndef LENS_MODEL_H
#define LENS_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lens/error.h"
#include "lens/tensor.h"
#include "lens/tokenizer.h"

typedef struct lens_config {
    int n_layers, d_model, n_heads, d_head, d_mlp, n_ctx, d_vocab;
    float ln_eps;
    char act_fn[32];        /* "gelu_new" (GPT-2), "gelu", "relu" */
    char name[128];         /* e.g. "gpt2-small" or the directory's base name */
} lens_config;

typedef struct lens_processing {
    bool fold_ln;
    bool center_writing_weights;
    bool center_unembed;
    bool fold_value_biases;
    bool refactor_factored_attn_matrices;
} lens_processing;

/* TransformerLens from_pretrained's defaults: everything but the refactor. */
lens_processing lens_processing_default(void);
/* No processing (from_pretrained_no_processing). */
lens_processing lens_processing_none(void);

typedef struct lens_model lens_model;

/* name_or_path: a model directory (config.json, model.safetensors, vocab.json,
 * merges.txt), or a name (gpt2-small, gpt2, gpt2-medium, ..., distilgpt2, or a
 * directory name) looked up in $LENS_MODELS_DIR, the project's models/ and the
 * Hugging Face cache. */
lens_model *lens_model_load(const char *name_or_path, const lens_processing *p, lens_error *err);
/* The same on a chosen device: "cpu", "sim", "cuda"; NULL: the process default
 * ($LENS_DEVICE, else cuda when a device is present, else cpu). The processed
 * weights are uploaded to it once (on the cpu they are used where they are, the
 * shared mapping included) and every forward pass runs there. */
lens_model *lens_model_load_on(const char *name_or_path, const lens_processing *p, const char *device,
                               lens_error *err);
/* The name of the device the model runs on ("cpu", "sim", "cuda"). */
const char *lens_model_device(const lens_model *m);
void lens_model_free(lens_model *m);
/* Processed weights are cached between processes: the first load of a weights file
 * with given processing flags writes them to a file in this folder, later loads map
 * it (N kernels share one copy). $LENS_CACHE_DIR, else $XDG_CACHE_HOME/lens, else
 * ~/.cache/lens; false when off (LENS_CACHE_DIR=none) or no folder can be named. */
bool lens_weights_cache_dir(char *out, size_t size);
/* The directory a name or path resolves to (as lens_model_load would use):
 * a directory with config.json; else a name looked up in $LENS_MODELS_DIR,
 * PREFIX/share/lens/models beside an installed PREFIX/bin/lens, a models/
 * folder beside the binary or above it, ./models; then, for the GPT-2 names,
 * the Hugging Face cache (lens_hf_hub_dir). */
bool lens_model_resolve(const char *name_or_path, char *out, size_t size);
/* The Hugging Face hub cache folder, as huggingface_hub picks it:
 * $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub. */
void lens_hf_hub_dir(char *out, size_t size);

const lens_config *lens_model_config(const lens_model *m);
const lens_processing *lens_model_processing(const lens_model *m);
const lens_tokenizer *lens_model_tokenizer(const lens_model *m);
const char *lens_model_path(const lens_model *m);

/* A weight under its TransformerLens name, as a new tensor (caller frees):
 * embed.W_E [d_vocab, d_model], pos_embed.W_pos [n_ctx, d_model],
 * blocks.L.ln1.w / .b, blocks.L.ln2.w / .b, ln_final.w / .b [d_model] (absent after fold_ln),
 * blocks.L.attn.W_Q / W_K / W_V [H, d_model, d_head], b_Q / b_K / b_V [H, d_head],
 * blocks.L.attn.W_O [H, d_head, d_model], b_O [d_model],
 * blocks.L.mlp.W_in [d_model, d_mlp], b_in [d_mlp], W_out [d_mlp, d_model], b_out [d_model],
 * unembed.W_U [d_model, d_vocab], unembed.b_U [d_vocab]. */
lens_tensor *lens_model_weight(const lens_model *m, const char *name, lens_error *err);

/* to_tokens: [n, max_len] int64, BOS first when prepend_bos, shorter prompts
 * padded on the right with the pad token (<|endoftext|>). */
lens_tensor *lens_model_to_tokens(const lens_model *m, const char *const *texts, int n,
                                  bool prepend_bos, lens_error *err);
/* Index of each row's last real token: the last position whose token is not the
 * pad token (position 0 always counts as real). Fills out[batch]; tokens on a
 * device are downloaded first. -1 + err when that fails. */
int lens_tokens_last_positions(const lens_model *m, const lens_tensor *tokens, int64_t *out, lens_error *err);

/* get_token_position: the position of `token` in one prompt's tokens ([P] or
 * [1, P]), the first occurrence (last=false) or the last; -1 with err filled when
 * it does not occur. */
int64_t lens_token_position(const lens_tensor *tokens, int64_t token, bool last, lens_error *err);

/* ---- forward pass ------------------------------------------------------- */

typedef struct lens_cache lens_cache;

typedef struct lens_run_options {
    bool cache;                 /* build a cache at all (false: model(tokens)) */
    const char *names_regex;    /* cache only hook names matching (POSIX ERE, search); NULL = all */
    bool (*names_filter)(const char *hook_name, void *ctx);  /* also required when set */
    void *names_filter_ctx;
    bool include_attn_result;   /* also cache blocks.L.attn.hook_result [B,P,H,d_model] */
    int stop_at_layer;          /* -1: whole model; L: stop before block L (no logits) */
    bool logits;                /* compute logits [B,P,d_vocab] */
    size_t memory_limit;        /* bytes; 0 = lens_memory_limit() */
    const volatile int *interrupt; /* when it becomes non-zero the run stops with an error */
    /* Called at every hook point, cached or not, in forward order, with a view of
     * the activation that it may change in place (patching, ablation): the rest
     * of the forward pass sees the change. The view is a tensor on the model's
     * device (lens_model_device): read it with lens_tensor_host (a download on a
     * device), change it with tensor operations or lens_tensor_copy_into(view,
     * new values) from any device (an upload from the host). Return 0, or -1 with
     * err filled to stop the run. NULL: no calls. */
    int (*hook_fn)(void *ctx, const char *hook_name, lens_tensor *activation, lens_error *err);
    void *hook_ctx;
    /* (A hook_fn that hands views of the activation to code that may keep them
     * calls lens_hook_keep_views before returning.) */
    /* Start at block start_layer from a given residual stream resid_pre
     * [B,P,d_model] instead of the embeddings (0 and NULL: from the tokens).
     * Patching sweeps use it to skip the blocks before the patched one. */
    int start_layer;
    const lens_tensor *start_resid;
    /* Prompts that begin with the same tokens have the same activations there
     * (causal attention), so a run without hook_fn computes each shared prefix
     * once and copies it (shared_prefix.h); the cache and logits hold every row
     * either way. true: compute every row (benchmarks, tests). */
    bool no_shared_prefixes;
} lens_run_options;

lens_run_options lens_run_options_default(void);  /* cache everything, logits, whole model */

/* Runs tokens [B, P] (int64, P <= n_ctx). *logits gets [B,P,d_vocab] (NULL when
 * not asked or stopped early: then *logits is the residual stream at the stop);
 * *cache (may be NULL) gets the cached activations. Before allocating, the size
 * of cache + logits is estimated and the run refused when it exceeds the memory
 * limit, with the size in the message. */
int lens_model_run(const lens_model *m, const lens_tensor *tokens, const lens_run_options *opt,
                   lens_tensor **logits, lens_cache **cache, lens_error *err);

/* The logits a run returns are computed on demand: a row (one position of one
 * prompt) is unembedded the first time a view covering it is read, all the rows a
 * view needs in one product, each row once; the numbers are those of the full
 * product. Read sparse parts through narrow views (lens_tensor_select /
 * lens_tensor_narrow): reading the whole tensor computes every row.
 * Rows computed so far (-1 for a tensor that is not such logits): */
int64_t lens_logits_rows_computed(const lens_tensor *logits);
/* Computes, in one product, the rows (b, pos[b]) of [B, P, V] logits (negative
 * positions count from the end); nothing for ordinary tensors. */
int lens_logits_prepare_positions(const lens_tensor *logits, const int64_t *pos, lens_error *err);

/* Estimated bytes of a run's outputs (cache + logits) for B x P tokens. */
size_t lens_run_estimate_bytes(const lens_model *m, int64_t batch, int64_t pos,
                               const lens_run_options *opt);

/* The cache: hook name -> tensor, in forward order. Tensors are borrowed. */
int lens_cache_count(const lens_cache *c);
const char *lens_cache_name(const lens_cache *c, int i);
const lens_tensor *lens_cache_at(const lens_cache *c, int i);
const lens_tensor *lens_cache_get(const lens_cache *c, const char *name);
void lens_cache_free(lens_cache *c);

/* ---- names ---------------------------------------------------------------- */

/* utils.get_act_name: ("resid_post", 3, NULL) -> "blocks.3.hook_resid_post",
 * ("pattern", -1, NULL) -> last layer, ("scale", 2, "ln2"), ("attn", 0) means pattern,
 * ("attn_logits") means attn_scores, ("embed") -> "hook_embed"; layer < 0 counts
 * from the end; layer may be LENS_NO_LAYER for names that have none. */
#define LENS_NO_LAYER INT32_MIN
int lens_act_name(const lens_config *cfg, const char *short_name, int layer,
                  const char *layer_type, char *out, size_t out_size, lens_error *err);

/* For a hook_fn: when references to the activation's storage other than the
 * run's own remain (views kept by the hook's caller), the storage gets its own
 * copy of the data, so those views stay valid after the run reuses or frees
 * its buffers; the run keeps writing into its buffers. 0, or -1 with err
 * filled when out of memory. */
int lens_hook_keep_views(lens_tensor *activation, lens_error *err);

/* Every hook point name of a model in forward order (NULL-terminated, owned by
 * the caller: free each then the array). */
char **lens_hook_names(const lens_config *cfg);

/* ---- resources ------------------------------------------------------------- */

/* The process's memory limit, for everything a session allocates (tensors, caches,
 * logits, the language's strings and lists; lens/memory.h counts them):
 * $LENS_MEMORY_LIMIT ("8G", "512M", bytes) or 3/4 of physical memory; settable
 * (0: back to the environment's value). */
size_t lens_memory_limit(void);
void lens_set_memory_limit(size_t bytes);
/* Activation memory: a freed cache's arena stays mapped in a small pool (two
 * arenas: a re-run alternates between them) for the next run that fits; pooled
 * pages may be reclaimed by the kernel under memory pressure, arenas are not pooled
 * when memory is short, and the pool is unmapped after `idle` seconds unused
 * (default 60; 0 disables pooling). */
typedef struct lens_activation_pool_info {
    int pooled;            /* arenas in the pool now */
    size_t pooled_bytes;
    size_t mapped;         /* fresh arenas mapped since the process started */
} lens_activation_pool_info;
void lens_activation_pool_stats(lens_activation_pool_info *out);
void lens_activation_pool_release(void);
void lens_set_activation_pool_idle(double seconds);
/* Threads for BLAS and the engine's loops: $LENS_NUM_THREADS, else $OMP_NUM_THREADS,
 * else lens_default_num_threads(); settable. */
void lens_set_num_threads(int n);
int lens_num_threads(void);
/* The CPUs this process may use (its affinity mask, capped by a cgroup CPU quota),
 * at most LENS_MAX_DEFAULT_THREADS (GPT-2-sized matmuls gain little beyond). */
#define LENS_MAX_DEFAULT_THREADS 16
int lens_default_num_threads(void);

/* Idle OpenMP threads spin for a while by default, which lets many kernels on few
 * cores steal each other's time. Waiting is set when the OpenMP runtime loads, before
 * main, so a program calls this first thing in main: when neither OMP_WAIT_POLICY nor
 * GOMP_SPINCOUNT is set it sets OMP_WAIT_POLICY=passive and re-executes itself with the
 * same argv (same process id). Returns when nothing needs doing or exec failed. */
void lens_exec_with_passive_threads(char **argv);
/* True when the environment sets the wait policy (OMP_WAIT_POLICY or GOMP_SPINCOUNT). */
bool lens_thread_wait_policy_set(void);

#endif
