/* bench.c — the engine benchmarks (`make bench`): load, seed, seed-forward,
 * long, seed-pipeline (tokenize + run_with_cache + the seed's three
 * attributions), a resid_pre patching sweep of the seed batch, attribution
 * patching of the seed batch against the exact sweeps and the backward pass
 * against the forward pass, and this
 * machine's sgemm rate as the floor. Links the engine only (no
 * ZeroMQ), so it runs on any machine that builds liblens. Prints one markdown
 * table: workload, backend (the model's: LENS_DEVICE chooses it), median/min/max,
 * peak memory, GFLOP/s, ratio to the host's sgemm floor. */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "lens/analysis.h"
#include "lens/backward.h"
#include "lens/model.h"
#include "lens/patching.h"
#include "lens/tensor_ops.h"
#include "../engine/shared_prefix.h"
#include "seed_batch.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds of the whole process (every thread, user + system): under a
 * loaded shared machine a steadier measure of work than the wall clock. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

typedef struct stats { double median, min, max; } stats;

static stats summarize(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp);
    return (stats){t[n / 2], t[0], t[n - 1]};
}

/* GFLOP/s of a large sgemm on this machine, OpenBLAS threading it its own way
 * over lens's threads: the floor every workload is compared to. */
static double sgemm_rate(void)
{
    int M = 1100, K = 768, N = 3072, threads = lens_num_threads();
    openblas_set_num_threads(threads);
    float *a = calloc((size_t)M * K, 4), *b = calloc((size_t)K * N, 4), *c = calloc((size_t)M * N, 4);
    for (int i = 0; i < M * K; i++) a[i] = (float)(i % 7) * 0.1f;
    for (int i = 0; i < K * N; i++) b[i] = (float)(i % 5) * 0.1f;
    double best = 1e9;
    for (int r = 0; r < 8; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, a, K, b, N, 0, c, N);
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    free(a); free(b); free(c);
    lens_set_num_threads(threads);   /* back to the engine's setting: OpenBLAS on one thread */
    return 2.0 * M * K * N / best / 1e9;
}

/* FLOPs of a forward pass (matmuls and attention) for B x P tokens of which
 * `computed` (prompt, position) rows are computed (fewer than B x P where
 * prompts share a prefix: shared_prefix.h). */
static double forward_flops(const lens_config *c, int64_t B, int64_t P, int64_t computed, bool logits)
{
    double M = (double)computed, d = c->d_model, f = c->d_mlp;
    double per_layer = 2 * M * d * (3 * d) + 2 * M * d * d + 2 * M * d * f * 2 + 2.0 * 2 * B * P * P * d;
    return per_layer * c->n_layers + (logits ? 2.0 * (double)(B * P) * d * c->d_vocab : 0);
}

/* The rows a run of tokens computes (all of them when share is false). */
static int64_t rows_computed(const lens_tensor *tokens, bool share)
{
    int64_t B = tokens->shape[0], P = tokens->shape[1], n = B * P;
    lens_prefix_plan plan;
    lens_error err;
    if (share && B > 1 && !lens_prefix_plan_make(lens_tensor_i64(tokens), B, P, &plan, &err)) {
        if (plan.computed * 16 <= n * 15) n = plan.computed;   /* as forward.c decides */
        lens_prefix_plan_free(&plan);
    }
    return n;
}

/* B x P arbitrary tokens with no shared prefix. */
static lens_tensor *arbitrary_tokens(const lens_config *c, int64_t B, int64_t P)
{
    lens_tensor *tokens = lens_tensor_new_v(LENS_I64, 2, B, P);
    for (int64_t i = 0; i < B * P; i++) lens_tensor_i64(tokens)[i] = (i * 7919) % c->d_vocab;
    return tokens;
}

/* The backend that runs the workloads: the loaded model's (lens_model_device). */
static const char *backend_name = "cpu";

static void row(const char *name, stats s, double flops, double floor_gflops)
{
    double gf = flops / s.median / 1e9;
    double floor_s = flops / (floor_gflops * 1e9);
    printf("| %-31s | %s | %8.1f | %8.1f | %8.1f | %8.0f | %7.1f | %5.2f |\n", name, backend_name, s.median * 1e3,
           s.min * 1e3, s.max * 1e3, peak_rss_mib(), flops ? gf : 0, flops ? s.median / floor_s : 0);
}

/* prompts[100] (swap: female names first, as the corrupted prompts); caller frees each. */
static void seed_prompts(char **prompts, bool swap)
{
    char text[100][64];
    seed_prompt_texts(text, swap);
    for (int i = 0; i < 100; i++) prompts[i] = strdup(text[i]);
}

/* The seed prompts tokenized with <bos>, as the notebook runs them: [100, 11]. */
static lens_tensor *seed_tokens(const lens_model *m)
{
    lens_error err;
    lens_tensor *t = seed_batch_tokens(m, false, &err);
    if (!t) fprintf(stderr, "seed tokens: %s\n", err.msg);
    return t;
}

/* [100, 2]: (" he", " she") for the male-name prompts, reversed for the others. */
static lens_tensor *seed_answers(const lens_model *m)
{
    lens_tensor *a = lens_tensor_new_v(LENS_I64, 2, (int64_t)100, (int64_t)2);
    const char *he = " he", *she = " she";
    lens_error err;
    lens_tensor *t = lens_model_to_tokens(m, (const char *const[]){he, she}, 2, false, &err);
    int64_t h = lens_tensor_i64(t)[0], s = lens_tensor_i64(t)[t->shape[1]];
    for (int i = 0; i < 100; i++) {
        lens_tensor_i64(a)[2 * i] = i < 50 ? h : s;
        lens_tensor_i64(a)[2 * i + 1] = i < 50 ? s : h;
    }
    lens_tensor_free(t);
    return a;
}

/* attrs(stack).mean(-1) for the seed's logit difference; frees stack. */
static void attribute(const lens_model *m, const lens_cache *c, lens_tensor *stack, const lens_tensor *a0,
                      const lens_tensor *a1, const lens_slice *last, lens_error *err)
{
    lens_tensor *attrs = stack ? lens_logit_attrs(m, c, stack, a0, a1, last, NULL, err) : NULL;
    lens_tensor *mean = attrs ? lens_reduce(LENS_RED_MEAN, attrs, -1, false, err) : NULL;
    lens_tensor_free(mean);
    lens_tensor_free(attrs);
    lens_tensor_free(stack);
}

/* LENS_BENCH_ONLY=word runs only the workloads whose names contain it. */
static bool want(const char *name);

/* B x P random tokens through lens_model_run, with or without the full cache. */
/* What a workload reads of the logits (computed where they are read). */
typedef enum { READ_LAST, READ_ALL } logits_read;

/* Reads logits[:, -1] (as the seed's logit difference does) or every logit. */
static void read_logits(const lens_tensor *logits, logits_read what)
{
    lens_tensor *v = what == READ_LAST ? lens_tensor_select(logits, 1, logits->shape[1] - 1) : lens_tensor_ref(logits);
    lens_error err;
    /* on a device the rows are read as a caller reads them: downloaded */
    lens_tensor *h = !v ? NULL : lens_tensor_on_host(v) ? lens_tensor_ref(v) : lens_tensor_host(v, &err);
    volatile float sink = h ? lens_tensor_f32(h)[0] : 0;
    (void)sink;
    lens_tensor_free(h);
    lens_tensor_free(v);
}

/* tokens [B, P] through lens_model_run, with or without the full cache; share:
 * prompts' shared prefixes computed once (the default) or every row computed. */
static int forward_workload(const lens_model *m, const char *name, const lens_tensor *tokens, bool with_cache,
                            bool share, logits_read what, int runs, double *t, double floor, double *median_out,
                            double *cpu_median_out)
{
    const lens_config *c = lens_model_config(m);
    int64_t B = tokens->shape[0], P = tokens->shape[1];
    if (P > c->n_ctx || !want(name)) return 0;
    lens_error err;
    lens_run_options o = lens_run_options_default();
    o.cache = with_cache;
    o.no_shared_prefixes = !share;
    int n = P > 100 ? (runs < 3 ? runs : 3) : runs;
    /* As a re-run cell `logits, cache = model.run_with_cache(tokens)` does: the
     * previous results go only after the new ones exist. Not for long: one run's
     * cache and logits (16 GiB for GPT-2 small) are two thirds of this kind of
     * machine's memory, so two cannot be alive at once; it frees them first, as a
     * notebook must (`del cache`). */
    bool keep_previous = P <= 100;
    lens_tensor *prev_logits = NULL;
    lens_cache *prev_cache = NULL;
    double cpu[64];
    /* warm-up: one run, or two when the previous results stay (the second maps
     * the re-run's second arena; from the third on the two alternate) */
    int warm_up = keep_previous && with_cache ? 2 : 1;
    for (int r = -warm_up; r < n; r++) {
        lens_tensor *logits = NULL;
        lens_cache *cache = NULL;
        if (!keep_previous) {
            lens_tensor_free(prev_logits);
            lens_cache_free(prev_cache);
            prev_logits = NULL;
            prev_cache = NULL;
        }
        double t0 = now(), c0 = cpu_now();
        if (lens_model_run(m, tokens, &o, &logits, with_cache ? &cache : NULL, &err)) {
            fprintf(stderr, "%s: %s\n", name, err.msg);
            return 1;
        }
        read_logits(logits, what);
        double dt = now() - t0;
        if (r >= 0) t[r] = dt;
        if (r >= 0 && r < 64) cpu[r] = cpu_now() - c0;
        lens_tensor_free(prev_logits);
        lens_cache_free(prev_cache);
        prev_logits = logits;
        prev_cache = cache;
    }
    lens_tensor_free(prev_logits);
    lens_cache_free(prev_cache);
    stats st = summarize(t, n);
    int64_t rows = rows_computed(tokens, share);
    row(name, st, what == READ_LAST ? forward_flops(c, B, P, rows, false) + 2.0 * (double)B * c->d_model * c->d_vocab
                                    : forward_flops(c, B, P, rows, true), floor);
    if (median_out) *median_out = st.median;
    if (cpu_median_out) *cpu_median_out = summarize(cpu, n < 64 ? n : 64).median;
    return 0;
}

/* The seed batch's logits read at the last position against the whole product:
 * they must be identical (printed with the table). */
static void lazy_logits_check(const lens_model *m)
{
    const lens_config *c = lens_model_config(m);
    lens_tensor *tokens = arbitrary_tokens(c, 100, 11);
    lens_run_options o = lens_run_options_default();
    o.cache = false;
    lens_error err;
    lens_tensor *a = NULL, *b = NULL;
    if (lens_model_run(m, tokens, &o, &a, NULL, &err) || lens_model_run(m, tokens, &o, &b, NULL, &err)) {
        fprintf(stderr, "lazy logits check: %s\n", err.msg);
    } else {
        lens_tensor *last = lens_tensor_select(a, 1, 10), *lc = lens_tensor_host_contiguous(last, &err);
        int64_t rows = lens_logits_rows_computed(a);
        lens_tensor *all = lens_tensor_host_contiguous(b, &err);
        double diff = lc && all ? 0 : INFINITY;
        for (int64_t i = 0; lc && all && i < 100; i++)
            for (int64_t v = 0; v < c->d_vocab; v++) {
                double d = fabs((double)lens_tensor_f32(lc)[i * c->d_vocab + v] -
                                (double)lens_tensor_f32(all)[(i * 11 + 10) * c->d_vocab + v]);
                if (!(d <= diff)) diff = d;
            }
        printf("\nlogits[:, -1] computed alone (%lld rows) vs the whole product: max |diff| %g\n", (long long)rows, diff);
        lens_tensor_free(last); lens_tensor_free(lc); lens_tensor_free(all);
    }
    lens_tensor_free(a); lens_tensor_free(b); lens_tensor_free(tokens);
}

static bool want(const char *name)
{
    const char *only = getenv("LENS_BENCH_ONLY");
    return !only || !*only || strstr(name, only);
}

/* tokenize + run_with_cache + logit lens + per-layer + per-head attribution */
static int seed_pipeline(const lens_model *m, char **prompts, const lens_tensor *answers, lens_error *err)
{
    lens_tensor *tokens = lens_model_to_tokens(m, (const char *const *)prompts, 100, true, err);
    if (!tokens) return -1;
    lens_run_options o = lens_run_options_default();
    lens_tensor *logits = NULL;
    lens_cache *c = NULL;
    int rc = lens_model_run(m, tokens, &o, &logits, &c, err);
    if (!rc) {
        lens_slice last = lens_slice_index(-1);
        lens_tensor *a0v = lens_tensor_select(answers, 1, 0), *a1v = lens_tensor_select(answers, 1, 1);
        lens_tensor *a0 = lens_tensor_clone(a0v), *a1 = lens_tensor_clone(a1v);
        attribute(m, c, lens_accumulated_resid(m, c, -1, true, false, false, &last, NULL, err), a0, a1, &last, err);
        attribute(m, c, lens_decompose_resid(m, c, -1, false, "all", true, false, &last, NULL, err), a0, a1, &last, err);
        attribute(m, c, lens_stack_head_results(m, c, -1, &last, false, false, NULL, err), a0, a1, &last, err);
        lens_tensor_free(a0v); lens_tensor_free(a1v); lens_tensor_free(a0); lens_tensor_free(a1);
    }
    lens_tensor_free(logits);
    lens_cache_free(c);
    lens_tensor_free(tokens);
    return rc;
}

/* Attribution patching of the seed batch (resid_pre by position, z by head) and
 * the backward pass against the forward pass. exact_resid_pre: the exact sweep's
 * median time in this run (0: not measured); the exact z-by-head sweep is timed
 * once here. */
static int attribution_workload(const lens_model *m, const lens_tensor *bad, const lens_cache *clean_cache,
                                const lens_metric *metric, double exact_resid_pre, int runs, double *t, double floor)
{
    lens_error err;
    const lens_config *c = lens_model_config(m);
    int n = runs < 5 ? runs : 5;
    static const struct { const char *name, *hook; lens_patch_by by; } maps[] = {
        {"attribution resid_pre", "resid_pre", LENS_PATCH_BY_POS},
        {"attribution z by head", "z", LENS_PATCH_BY_HEAD},
    };
    double attr_median[2];
    for (int i = 0; i < 2; i++) {
        for (int r = -1; r < n; r++) {
            double t0 = now();
            lens_tensor *map = lens_attribution_patch(m, bad, clean_cache, maps[i].hook, metric, maps[i].by, &err);
            if (!map) { fprintf(stderr, "%s: %s\n", maps[i].name, err.msg); return 1; }
            if (r >= 0) t[r] = now() - t0;
            lens_tensor_free(map);
        }
        stats s = summarize(t, n);
        attr_median[i] = s.median;
        row(maps[i].name, s, 0, floor);
    }
    lens_patch_options po = lens_patch_options_default();
    po.by = LENS_PATCH_BY_HEAD;
    double t0 = now();
    lens_tensor *zmap = lens_patch_sweep(m, bad, clean_cache, "z", metric, &po, &err);
    double exact_z = now() - t0;
    if (!zmap) { fprintf(stderr, "patch z sweep: %s\n", err.msg); return 1; }
    lens_tensor_free(zmap);
    row("patch z by head sweep", (stats){exact_z, exact_z, exact_z}, 0, floor);

    /* forward (no logits, no cache) vs forward + backward keeping resid_pre's gradients */
    lens_run_options f = lens_run_options_default();
    f.cache = false;
    f.logits = false;
    lens_run_options b = lens_run_options_default();
    b.logits = false;
    b.names_regex = "hook_resid_pre$";
    lens_grad_metric g = lens_grad_metric_normalized(metric);
    for (int r = -1; r < n; r++) {
        lens_tensor *out = NULL;
        double t1 = now();
        if (lens_model_run(m, bad, &f, &out, NULL, &err)) { fprintf(stderr, "forward: %s\n", err.msg); return 1; }
        if (r >= 0) t[r] = now() - t1;
        lens_tensor_free(out);
    }
    stats fw = summarize(t, n);
    row("seed forward, no logits", fw, forward_flops(c, 100, 11, rows_computed(bad, true), false), floor);
    for (int r = -1; r < n; r++) {
        lens_cache *grads = NULL;
        double t1 = now();
        if (lens_model_run_backward(m, bad, &b, &g, NULL, NULL, &grads, NULL, &err)) {
            fprintf(stderr, "backward: %s\n", err.msg);
            return 1;
        }
        if (r >= 0) t[r] = now() - t1;
        lens_cache_free(grads);
    }
    stats fb = summarize(t, n);
    row("seed forward + backward", fb, 2 * forward_flops(c, 100, 11, rows_computed(bad, true), false), floor);
    printf("\nattribution: resid_pre %.1f ms", attr_median[0] * 1e3);
    if (exact_resid_pre > 0) printf(" (%.1f x faster than the exact sweep)", exact_resid_pre / attr_median[0]);
    printf(", z by head %.1f ms (%.1f x faster than the exact sweep, %.1f s); backward pass %.1f ms = %.2f x the "
           "forward's %.1f ms\n",
           attr_median[1] * 1e3, exact_z / attr_median[1], exact_z, (fb.median - fw.median) * 1e3,
           (fb.median - fw.median) / fw.median, fw.median * 1e3);
    return 0;
}

int main(int argc, char **argv)
{
    lens_exec_with_passive_threads(argv);   /* as the lens program does */
    if (argc < 2) {
        fprintf(stderr, "usage: lens-bench MODEL_DIR [runs]\n");
        return 2;
    }
    const char *dir = argv[1];
    int runs = argc > 2 ? atoi(argv[2]) : 10;
    if (runs < 1) runs = 1;
    lens_error err;
    lens_processing p = lens_processing_default();
    setvbuf(stdout, NULL, _IOLBF, 0);
    double floor = sgemm_rate();
    const char *coretype = getenv("OPENBLAS_CORETYPE");
    printf("threads %d, sgemm floor %.1f GFLOP/s, OpenBLAS kernels %s (%s%s)\n\n", lens_num_threads(), floor,
           openblas_get_corename(), coretype ? "OPENBLAS_CORETYPE=" : "chosen by OpenBLAS for this CPU",
           coretype ? coretype : "");
    printf("| workload | backend | median ms | min ms | max ms | peak RSS MiB | GFLOP/s | x floor |\n");
    printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");

    double *t = calloc((size_t)runs + 3, sizeof *t);
    lens_model *m = NULL;
    int load_runs = runs < 5 ? runs : 5;
    /* load: processing in this process (no cache), the first load that writes the
     * processed-weights cache entry, then loads that map it */
    char *cache_env = getenv("LENS_CACHE_DIR") ? strdup(getenv("LENS_CACHE_DIR")) : NULL;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0) setenv("LENS_CACHE_DIR", "none", 1);
        else if (cache_env) setenv("LENS_CACHE_DIR", cache_env, 1);
        else unsetenv("LENS_CACHE_DIR");
        for (int r = pass ? -1 : 0; r < load_runs; r++) {
            double t0 = now();
            lens_model *mm = lens_model_load(dir, &p, &err);
            double dt = now() - t0;
            if (!mm) { fprintf(stderr, "%s\n", err.msg); return 1; }
            backend_name = lens_model_device(mm);
            if (r >= 0) t[r] = dt;
            else printf("| %-31s | %s | %8.1f | %8s | %8s | %8.0f | %7s | %5s |\n", "load, first (process + write)",
                        backend_name, dt * 1e3, "—", "—", peak_rss_mib(), "—", "—");
            if (m) lens_model_free(m);
            m = mm;
        }
        row(pass ? "load from the weights cache" : "load, processing (no cache)", summarize(t, load_runs), 0, floor);
    }
    free(cache_env);
    const lens_config *c = lens_model_config(m);

    double fwd = 0, rwc = 0, fwd_cpu = 0, rwc_cpu = 0;
    /* the seed's own tokens (prompts that share prefixes, as TransformerLens is
     * given), then the same runs computing every row */
    lens_tensor *seed = seed_tokens(m);
    if (!seed) return 1;
    int seed_rc =
        forward_workload(m, "seed forward", seed, false, true, READ_LAST, runs, t, floor, &fwd, &fwd_cpu) ||
        forward_workload(m, "seed run_with_cache", seed, true, true, READ_LAST, runs, t, floor, &rwc, &rwc_cpu) ||
        forward_workload(m, "seed run_with_cache, all logits", seed, true, true, READ_ALL, runs, t, floor, NULL, NULL) ||
        forward_workload(m, "seed forward, every row", seed, false, false, READ_LAST, runs, t, floor, NULL, NULL) ||
        forward_workload(m, "seed run_with_cache, every row", seed, true, false, READ_LAST, runs, t, floor, NULL, NULL);
    lens_tensor_free(seed);
    if (seed_rc) return 1;
    if (want("seed run_with_cache")) lazy_logits_check(m);
    if (fwd > 0 && rwc > 0)
        printf("\nseed run_with_cache / seed forward: %.2f wall, %.2f CPU time (medians: %.0f / %.0f ms CPU)\n\n",
               rwc / fwd, rwc_cpu / fwd_cpu, rwc_cpu * 1e3, fwd_cpu * 1e3);

    /* seed-pipeline */
    char *prompts[100], *corrupted[100];
    seed_prompts(prompts, false);
    seed_prompts(corrupted, true);
    lens_tensor *answers = seed_answers(m);
    for (int r = -1; want("seed-pipeline") && r < runs; r++) {
        double t0 = now();
        if (seed_pipeline(m, prompts, answers, &err)) { fprintf(stderr, "seed-pipeline: %s\n", err.msg); return 1; }
        if (r >= 0) t[r] = now() - t0;
    }
    if (want("seed-pipeline")) {
        lens_tensor *seed_ids = seed_tokens(m);
        int64_t rows = seed_ids ? rows_computed(seed_ids, true) : 1100;
        lens_tensor_free(seed_ids);
        row("seed-pipeline", summarize(t, runs), forward_flops(c, 100, 11, rows, true), floor);
    }
    bool sweep = want("patch resid_pre sweep"), attribution = want("attribution") || want("patch z by head sweep");
    if (!sweep && !attribution) goto done;

    /* resid_pre patching sweep of the seed batch: [n_layers x 11 positions] */
    lens_tensor *clean = lens_model_to_tokens(m, (const char *const *)prompts, 100, true, &err);
    lens_tensor *bad = lens_model_to_tokens(m, (const char *const *)corrupted, 100, true, &err);
    lens_run_options o = lens_run_options_default();
    lens_tensor *clean_logits, *bad_logits;
    lens_cache *clean_cache, *bad_cache;
    double plain = 1e30, plain_cpu = 1e30;
    for (int r = 0; r < 3; r++) {   /* one plain forward pass, for the ratio */
        lens_run_options f = lens_run_options_default();
        f.cache = false;
        lens_tensor *lg;
        double t0 = now(), c0 = cpu_now();
        lens_model_run(m, clean, &f, &lg, NULL, &err);
        double dt = now() - t0, dc = cpu_now() - c0;
        if (dt < plain) plain = dt;
        if (dc < plain_cpu) plain_cpu = dc;
        lens_tensor_free(lg);
    }
    if (lens_model_run(m, clean, &o, &clean_logits, &clean_cache, &err) ||
        lens_model_run(m, bad, &o, &bad_logits, &bad_cache, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    lens_metric *metric = lens_metric_normalized_logit_diff(m, answers, clean_logits, clean, bad_logits, bad, &err);
    int sweep_runs = runs < 3 ? runs : 3;
    int64_t cells = (int64_t)c->n_layers * clean->shape[1];
    double sweep_cpu[3] = {0, 0, 0};
    for (int r = 0; sweep && metric && r < sweep_runs; r++) {
        double t0 = now(), c0 = cpu_now();
        lens_tensor *map = lens_patch_sweep(m, bad, clean_cache, "resid_pre", metric, NULL, &err);
        t[r] = now() - t0;
        sweep_cpu[r] = cpu_now() - c0;
        if (!map) { fprintf(stderr, "patch sweep: %s\n", err.msg); return 1; }
        lens_tensor_free(map);
    }
    stats sw = {0, 0, 0};
    if (sweep) {
        sw = summarize(t, sweep_runs);
        row("patch resid_pre sweep", sw, 0, floor);
        stats per = {sw.median / (double)cells, sw.min / (double)cells, sw.max / (double)cells};
        row("patch per cell", per, 0, floor);
        printf("\npatching: %lld cells, %.1f ms per patched cell = %.2f x one plain seed forward pass (%.1f ms)\n",
               (long long)cells, per.median * 1e3, per.median / plain, plain * 1e3);
        double cell_cpu = sweep_cpu[0] / (double)cells;   /* CPU time (all threads): steadier under load */
        printf("patching, CPU time: %.1f ms per cell = %.2f x the plain forward's %.1f ms\n", cell_cpu * 1e3,
               cell_cpu / plain_cpu, plain_cpu * 1e3);
    }
    if (attribution && metric && attribution_workload(m, bad, clean_cache, metric, sw.median, runs, t, floor)) return 1;
    lens_metric_free(metric);
    lens_tensor_free(clean_logits); lens_tensor_free(bad_logits);
    lens_cache_free(clean_cache); lens_cache_free(bad_cache);
    lens_tensor_free(clean); lens_tensor_free(bad);
done:
    /* long last: the peak-memory column is the process's peak so far */
    lens_tensor *long_tokens = arbitrary_tokens(c, 8, 1024);
    int long_rc = forward_workload(m, "long run_with_cache", long_tokens, true, true, READ_ALL, runs, t, floor, NULL, NULL);
    lens_tensor_free(long_tokens);
    if (long_rc) return 1;
    lens_tensor_free(answers);
    for (int i = 0; i < 100; i++) { free(prompts[i]); free(corrupted[i]); }
    free(t);
    lens_model_free(m);
    return 0;
}
