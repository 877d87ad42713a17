/* bench.c — the engine benchmarks (`make bench`): load, seed, seed-forward,
 * long, and this machine's sgemm rate as the floor. Links the engine only (no
 * ZeroMQ), so it runs on any machine that builds liblens. Prints one markdown
 * table: workload, backend, median/min/max, peak memory, GFLOP/s, ratio to the
 * sgemm floor. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "lens/model.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
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

/* GFLOP/s of a large sgemm on this machine: the floor every workload is compared to. */
static double sgemm_rate(void)
{
    int M = 1100, K = 768, N = 3072;
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
    return 2.0 * M * K * N / best / 1e9;
}

/* FLOPs of a forward pass (matmuls and attention) for B x P tokens. */
static double forward_flops(const lens_config *c, int64_t B, int64_t P, bool logits)
{
    double M = (double)(B * P), d = c->d_model, f = c->d_mlp;
    double per_layer = 2 * M * d * (3 * d) + 2 * M * d * d + 2 * M * d * f * 2 + 2.0 * 2 * B * P * P * d;
    return per_layer * c->n_layers + (logits ? 2 * M * d * c->d_vocab : 0);
}

static void row(const char *name, stats s, double flops, double floor_gflops)
{
    double gf = flops / s.median / 1e9;
    double floor_s = flops / (floor_gflops * 1e9);
    printf("| %-22s | cpu | %8.1f | %8.1f | %8.1f | %8.0f | %7.1f | %5.2f |\n", name, s.median * 1e3,
           s.min * 1e3, s.max * 1e3, peak_rss_mib(), flops ? gf : 0, flops ? s.median / floor_s : 0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: lens-bench MODEL_DIR [runs]\n");
        return 2;
    }
    const char *dir = argv[1];
    int runs = argc > 2 ? atoi(argv[2]) : 10;
    if (runs < 1) runs = 1;
    lens_error err;
    lens_processing p = lens_processing_default();
    double floor = sgemm_rate();
    printf("threads %d, sgemm floor %.1f GFLOP/s\n\n", lens_num_threads(), floor);
    printf("| workload | backend | median ms | min ms | max ms | peak RSS MiB | GFLOP/s | x floor |\n");
    printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");

    double *t = calloc((size_t)runs + 3, sizeof *t);
    lens_model *m = NULL;
    int load_runs = runs < 5 ? runs : 5;
    for (int r = 0; r < load_runs; r++) {
        double t0 = now();
        lens_model *mm = lens_model_load(dir, &p, &err);
        t[r] = now() - t0;
        if (!mm) { fprintf(stderr, "%s\n", err.msg); return 1; }
        if (m) lens_model_free(m);
        m = mm;
    }
    row("load (default proc.)", summarize(t, load_runs), 0, floor);
    const lens_config *c = lens_model_config(m);

    struct { const char *name; int64_t B, P; bool cache; } w[] = {
        {"seed forward", 100, 11, false},
        {"seed run_with_cache", 100, 11, true},
        {"long run_with_cache", 8, 1024, true},
    };
    for (size_t k = 0; k < sizeof w / sizeof *w; k++) {
        if (w[k].P > c->n_ctx) continue;
        lens_tensor *tokens = lens_tensor_new_v(LENS_I64, 2, w[k].B, w[k].P);
        for (int64_t i = 0; i < w[k].B * w[k].P; i++) lens_tensor_i64(tokens)[i] = (i * 7919) % c->d_vocab;
        lens_run_options o = lens_run_options_default();
        o.cache = w[k].cache;
        int n = w[k].P > 100 ? (runs < 3 ? runs : 3) : runs;
        for (int r = -1; r < n; r++) {
            lens_tensor *logits = NULL;
            lens_cache *cache = NULL;
            double t0 = now();
            if (lens_model_run(m, tokens, &o, &logits, w[k].cache ? &cache : NULL, &err)) {
                fprintf(stderr, "%s: %s\n", w[k].name, err.msg);
                return 1;
            }
            double dt = now() - t0;
            if (r >= 0) t[r] = dt;
            lens_tensor_free(logits);
            lens_cache_free(cache);
        }
        row(w[k].name, summarize(t, n), forward_flops(c, w[k].B, w[k].P, true), floor);
        lens_tensor_free(tokens);
    }
    free(t);
    lens_model_free(m);
    return 0;
}
