/* peak_memory.c — `lens-bench-memory MODEL_DIR`: the peak memory of the seed
 * run_with_cache, each measurement in a fresh process (a child forked before
 * anything is loaded), as bench/transformerlens_bench.py --peak measures
 * TransformerLens's: the process's VmHWM (resident memory, file pages mapped
 * included) after
 *   - a load that processes the weights without the weights cache, and nothing else;
 *   - a load (from the weights cache when its entry exists, else processing and
 *     writing it) and one seed run_with_cache of the tokenized seed prompts with
 *     logits[:, -1] read, results kept;
 *   - then a second run while the first's results are alive (a re-run cell).
 * With where the memory is at the end of the run: weights mapped (file pages
 * resident), anonymous memory, the activation cache's own size.
 *
 * Owns: the measurement processes and the table they print.
 * Does not own: the workloads' timing (bench.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lens/model.h"
#include "lens/tensor_ops.h"
#include "seed_batch.h"

/* A "Key:   N kB" field of a /proc/self file, in MiB (-1 when absent). */
static double proc_mib(const char *file, const char *key)
{
    FILE *f = fopen(file, "r");
    char line[256];
    size_t klen = strlen(key);
    double mib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, klen) && line[klen] == ':') {
            mib = strtod(line + klen + 1, NULL) / 1024.0;
            break;
        }
    if (f) fclose(f);
    return mib;
}

static double peak_mib(void) { return proc_mib("/proc/self/status", "VmHWM"); }

static lens_tensor *seed_tokens(const lens_model *m, lens_error *err) { return seed_batch_tokens(m, false, err); }

static double cache_mib(const lens_cache *c)
{
    double bytes = 0;
    for (int i = 0; i < lens_cache_count(c); i++) bytes += 4.0 * (double)lens_tensor_numel(lens_cache_at(c, i));
    return bytes / (1024.0 * 1024.0);
}

/* Runs the seed once and reads logits[:, -1]; the results stay with the caller. */
static int seed_run(const lens_model *m, const lens_tensor *tokens, lens_tensor **logits, lens_cache **cache,
                    lens_error *err)
{
    lens_run_options o = lens_run_options_default();
    if (lens_model_run(m, tokens, &o, logits, cache, err)) return -1;
    lens_tensor *last = lens_tensor_select(*logits, 1, (*logits)->shape[1] - 1);
    volatile float sink = last ? lens_tensor_f32(last)[0] : 0;
    (void)sink;
    lens_tensor_free(last);
    return 0;
}

/* The measurements, one per child process: 0 the processing load alone, 1 load +
 * run + re-run. Prints its rows; returns the exit status. */
static int measure(const char *dir, int which)
{
    lens_error err;
    lens_processing p = lens_processing_default();
    if (which == 0) setenv("LENS_CACHE_DIR", "none", 1);
    lens_model *m = lens_model_load(dir, &p, &err);
    if (!m) { fprintf(stderr, "%s\n", err.msg); return 1; }
    if (which == 0) {
        printf("| peak memory, load with processing (no weights cache) | %.0f |\n", peak_mib());
        lens_model_free(m);
        return 0;
    }
    double after_load = proc_mib("/proc/self/status", "VmRSS");
    lens_tensor *tokens = seed_tokens(m, &err), *logits = NULL, *again = NULL;
    lens_cache *cache = NULL, *cache2 = NULL;
    if (!tokens || seed_run(m, tokens, &logits, &cache, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    double one = peak_mib(), rss = proc_mib("/proc/self/smaps_rollup", "Rss");
    double anon = proc_mib("/proc/self/smaps_rollup", "Anonymous"), activations = cache_mib(cache);
    if (seed_run(m, tokens, &again, &cache2, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
    lens_tensor_free(logits);
    lens_cache_free(cache);
    double rerun = peak_mib();
    printf("| peak memory, seed run_with_cache | %.0f |\n", one);
    printf("| peak memory, seed run_with_cache, re-run cell | %.0f |\n", rerun);
    printf("| resident after the load | %.0f |\n", after_load);
    printf("| after the run: file pages mapped (weights, binary) | %.0f |\n", rss - anon);
    printf("| after the run: anonymous memory | %.0f |\n", anon);
    printf("| activation cache | %.0f |\n", activations);
    lens_tensor_free(again);
    lens_cache_free(cache2);
    lens_tensor_free(tokens);
    lens_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    lens_exec_with_passive_threads(argv);   /* as the lens program does */
    if (argc < 2) {
        fprintf(stderr, "usage: lens-bench-memory MODEL_DIR\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("lens peak memory (VmHWM of a fresh process each), %d threads\n", lens_num_threads());
    printf("| measure | MiB |\n| --- | ---: |\n");
    int failed = 0;
    for (int which = 0; which < 2; which++) {
        pid_t pid = fork();
        if (pid == 0) _exit(measure(argv[1], which));
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) failed = 1;
    }
    return failed;
}
