/* cmd_random_model.c — `lens random-model --like NAME OUT_DIR`: writes a
 * random-weight GPT-2 in the Hugging Face layout (config.json, model.safetensors
 * with "transformer." keys and a tied unembedding, vocab.json, merges.txt), for
 * benchmarks on machines without real weights. Speed does not depend on values. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "lens/safetensors.h"

static const struct shape { const char *name; int layers, d_model, heads, n_ctx; } shapes[] = {
    {"gpt2-small", 12, 768, 12, 1024}, {"gpt2", 12, 768, 12, 1024},
    {"gpt2-medium", 24, 1024, 16, 1024}, {"gpt2-large", 36, 1280, 20, 1024},
    {"gpt2-xl", 48, 1600, 25, 1024}, {"distilgpt2", 6, 768, 12, 1024},
    {"tiny", 2, 64, 4, 128},
};

static int random_usage(FILE *f)
{
    fprintf(f, "usage: lens random-model --like gpt2-small|gpt2-medium|gpt2-large|gpt2-xl|distilgpt2|tiny\n"
               "                         [--tokenizer DIR] [--seed N] OUT_DIR\n"
               "  writes a random-weight model directory in the Hugging Face layout; the tokenizer\n"
               "  files are copied from DIR (default: the project's tiny test model).\n");
    return 2;
}

/* splitmix64 -> uniform -> Box-Muller normals. */
static uint64_t rng_state;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void fill_normal(float *x, int64_t n, float std, float mean)
{
    for (int64_t i = 0; i < n; i += 2) {
        double u1 = ((double)(rng_next() >> 11) + 1.0) / 9007199254740993.0;
        double u2 = (double)(rng_next() >> 11) / 9007199254740992.0;
        double r = sqrt(-2.0 * log(u1));
        x[i] = mean + std * (float)(r * cos(2 * M_PI * u2));
        if (i + 1 < n) x[i + 1] = mean + std * (float)(r * sin(2 * M_PI * u2));
    }
}

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
    if (!in || !out) {
        if (in) fclose(in);
        return -1;
    }
    char buf[1 << 16];
    size_t n;
    int rc = 0;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, n, out) != n) rc = -1;
    fclose(in);
    if (fclose(out)) rc = -1;
    return rc;
}

/* The project's tiny fixture model, found relative to the binary (build/lens). */
static void default_tokenizer_dir(char *out, size_t size)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    snprintf(out, size, "tests/fixtures/tiny-gpt2");
    if (n <= 0) return;
    exe[n] = 0;
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash) return;
        *slash = 0;
        char cand[PATH_MAX + 64];
        snprintf(cand, sizeof cand, "%s/tests/fixtures/tiny-gpt2/vocab.json", exe);
        if (access(cand, R_OK) == 0) {
            snprintf(out, size, "%s/tests/fixtures/tiny-gpt2", exe);
            return;
        }
    }
}

typedef struct weights {
    int n, cap;
    char **names;
    lens_tensor **tensors;
} weights;

static int add(weights *w, const char *name, int ndim, int64_t d0, int64_t d1, float std, float mean)
{
    if (w->n == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 64;
        w->names = realloc(w->names, (size_t)w->cap * sizeof *w->names);
        w->tensors = realloc(w->tensors, (size_t)w->cap * sizeof *w->tensors);
        if (!w->names || !w->tensors) return -1;
    }
    int64_t shape[2] = {d0, d1};
    lens_tensor *t = lens_tensor_new(LENS_F32, ndim, shape);
    if (!t) return -1;
    fill_normal(lens_tensor_f32(t), lens_tensor_numel(t), std, mean);
    w->names[w->n] = strdup(name);
    w->tensors[w->n++] = t;
    return 0;
}

int cmd_random_model(int argc, char **argv)
{
    const char *like = NULL, *out = NULL;
    char tok_dir[PATH_MAX];
    default_tokenizer_dir(tok_dir, sizeof tok_dir);
    rng_state = 1234;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--like") && i + 1 < argc) like = argv[++i];
        else if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) snprintf(tok_dir, sizeof tok_dir, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) rng_state = strtoull(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && !out) out = argv[i];
        else return random_usage(stderr);
    }
    const struct shape *s = NULL;
    for (size_t i = 0; like && i < sizeof shapes / sizeof *shapes; i++)
        if (!strcmp(like, shapes[i].name)) s = &shapes[i];
    if (!s || !out) return random_usage(stderr);
    char parents[PATH_MAX];
    snprintf(parents, sizeof parents, "%s", out);
    for (char *p = parents + 1; *p; p++)   /* like mkdir -p */
        if (*p == '/') { *p = 0; mkdir(parents, 0755); *p = '/'; }
    if (mkdir(out, 0755) && errno != EEXIST) {
        fprintf(stderr, "lens random-model: cannot create %s: %s\n", out, strerror(errno));
        return 1;
    }
    int64_t d = s->d_model, V = 50257;
    weights w = {0};
    char name[128];
    int rc = 0;
    rc |= add(&w, "transformer.wte.weight", 2, V, d, 0.02f, 0);
    rc |= add(&w, "transformer.wpe.weight", 2, s->n_ctx, d, 0.01f, 0);
    for (int l = 0; l < s->layers && !rc; l++) {
        const struct { const char *n; int nd; int64_t a, b; float std, mean; } p[] = {
            {"ln_1.weight", 1, d, 0, 0.02f, 1}, {"ln_1.bias", 1, d, 0, 0.02f, 0},
            {"attn.c_attn.weight", 2, d, 3 * d, 0.02f, 0}, {"attn.c_attn.bias", 1, 3 * d, 0, 0.02f, 0},
            {"attn.c_proj.weight", 2, d, d, 0.02f, 0}, {"attn.c_proj.bias", 1, d, 0, 0.02f, 0},
            {"ln_2.weight", 1, d, 0, 0.02f, 1}, {"ln_2.bias", 1, d, 0, 0.02f, 0},
            {"mlp.c_fc.weight", 2, d, 4 * d, 0.02f, 0}, {"mlp.c_fc.bias", 1, 4 * d, 0, 0.02f, 0},
            {"mlp.c_proj.weight", 2, 4 * d, d, 0.02f, 0}, {"mlp.c_proj.bias", 1, d, 0, 0.02f, 0},
        };
        for (size_t i = 0; i < sizeof p / sizeof *p && !rc; i++) {
            snprintf(name, sizeof name, "transformer.h.%d.%s", l, p[i].n);
            rc |= add(&w, name, p[i].nd, p[i].a, p[i].b, p[i].std, p[i].mean);
        }
    }
    rc |= add(&w, "transformer.ln_f.weight", 1, d, 0, 0.02f, 1);
    rc |= add(&w, "transformer.ln_f.bias", 1, d, 0, 0.02f, 0);
    lens_error err = {0};
    char path[PATH_MAX + 32];
    if (rc) lens_fail(&err, "out of memory");
    snprintf(path, sizeof path, "%s/model.safetensors", out);
    if (!rc)
        rc = lens_safetensors_write(path, w.n, (const char *const *)w.names,
                                    (const lens_tensor *const *)w.tensors, "{\"format\": \"pt\"}", &err);
    for (int i = 0; i < w.n; i++) {
        free(w.names[i]);
        lens_tensor_free(w.tensors[i]);
    }
    free(w.names);
    free(w.tensors);
    if (!rc) {
        snprintf(path, sizeof path, "%s/config.json", out);
        FILE *f = fopen(path, "w");
        if (f) {
            fprintf(f, "{\n  \"model_type\": \"gpt2\",\n  \"architectures\": [\"GPT2LMHeadModel\"],\n"
                       "  \"n_layer\": %d,\n  \"n_embd\": %d,\n  \"n_head\": %d,\n  \"n_positions\": %d,\n"
                       "  \"vocab_size\": 50257,\n  \"layer_norm_epsilon\": 1e-05,\n"
                       "  \"activation_function\": \"gelu_new\",\n  \"bos_token_id\": 50256,\n"
                       "  \"eos_token_id\": 50256,\n  \"tie_word_embeddings\": true\n}\n",
                    s->layers, s->d_model, s->heads, s->n_ctx);
            rc = fclose(f) ? lens_fail(&err, "cannot write %s", path) : 0;
        } else rc = lens_fail(&err, "cannot write %s", path);
    }
    const char *files[] = {"vocab.json", "merges.txt"};
    for (int i = 0; i < 2 && !rc; i++) {
        char from[PATH_MAX + 32], to[PATH_MAX + 32];
        snprintf(from, sizeof from, "%s/%s", tok_dir, files[i]);
        snprintf(to, sizeof to, "%s/%s", out, files[i]);
        if (copy_file(from, to)) rc = lens_fail(&err, "cannot copy %s to %s", from, to);
    }
    if (rc) {
        fprintf(stderr, "lens random-model: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "wrote a random %s-shaped model to %s\n", s->name, out);
    return 0;
}
