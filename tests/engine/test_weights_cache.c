/* test_weights_cache.c — processed weights cached between processes
 * (engine/weights_cache.c): the first load writes an entry, later loads map it
 * and give exactly the numbers of a private load; another set of flags has its
 * own entry; a corrupt, truncated or stale entry is rebuilt; a write to a mapped
 * weight stays in this process; the embedding is not resident after a load (its
 * rows come back on demand); stale, abandoned and least recently used entries are
 * collected, never one that is mapped. The sharing between two processes is checked by
 * tests/python/test_weights_cache.py. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../harness.h"
#include "model_fixture.h"

static char cache_dir[256];
static lens_tensor *tokens;

/* The one entry file whose name starts with prefix (its path into out); how many match. */
static int entry_files(char *out, size_t size)
{
    DIR *d = opendir(cache_dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".safetensors") && !strstr(e->d_name, ".new")) {
            if (out) snprintf(out, size, "%s/%s", cache_dir, e->d_name);
            n++;
        }
    if (d) closedir(d);
    return n;
}

static void clear_cache(void)
{
    char p[512];
    while (entry_files(p, sizeof p) > 0) unlink(p);
}

static lens_model *load_with(const char *dir, lens_processing p, bool cached)
{
    if (!cached) setenv("LENS_CACHE_DIR", "none", 1);
    lens_error err;
    lens_model *m = lens_model_load(dir, &p, &err);
    if (!m) fprintf(stderr, "load: %s\n", err.msg);
    setenv("LENS_CACHE_DIR", cache_dir, 1);
    return m;
}

/* True when the weight's memory lies in a file mapping of path (/proc/self/maps). */
static bool mapped_from(const lens_model *m, const char *name, const char *path)
{
    lens_error err;
    lens_tensor *w = lens_model_weight(m, name, &err);
    if (!w) return false;
    uintptr_t a = (uintptr_t)lens_tensor_data(w);
    lens_tensor_free(w);
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    bool found = false;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char file[700] = "";
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %699s", &lo, &hi, file) >= 2 && a >= lo && a < hi)
            found = file[0] && !strcmp(file, path);
    }
    if (f) fclose(f);
    return found;
}

static const char *const weight_names[] = {
    "embed.W_E", "pos_embed.W_pos", "unembed.W_U", "unembed.b_U", "blocks.0.attn.W_Q", "blocks.0.attn.b_K",
    "blocks.1.attn.W_V", "blocks.1.attn.W_O", "blocks.0.attn.b_O", "blocks.1.mlp.W_in", "blocks.1.mlp.b_in",
    "blocks.0.mlp.W_out", "blocks.1.mlp.b_out",
};

/* Largest |difference| between the two models' weights and logits (0: identical). */
static double models_differ(const lens_model *a, const lens_model *b)
{
    double worst = 0;
    lens_error err;
    for (size_t i = 0; i < sizeof weight_names / sizeof *weight_names; i++) {
        lens_tensor *x = lens_model_weight(a, weight_names[i], &err), *y = lens_model_weight(b, weight_names[i], &err);
        double r = x && y ? tensor_rel_err(x, y) : INFINITY;
        if (!(r <= worst)) worst = r;
        lens_tensor_free(x);
        lens_tensor_free(y);
    }
    lens_run_options o = lens_run_options_default();
    o.cache = false;
    lens_tensor *la = NULL, *lb = NULL;
    if (lens_model_run(a, tokens, &o, &la, NULL, &err) || lens_model_run(b, tokens, &o, &lb, NULL, &err)) return INFINITY;
    double r = tensor_rel_err(la, lb);
    lens_tensor_free(la);
    lens_tensor_free(lb);
    return r > worst ? r : worst;
}

static void test_the_first_load_writes_an_entry_that_later_loads_map(void)
{
    clear_cache();
    lens_model *private = load_with(TINY_DIR, lens_processing_default(), false);
    CHECK(entry_files(NULL, 0) == 0, "no entry while the cache is off");
    lens_model *first = load_with(TINY_DIR, lens_processing_default(), true);
    char entry[512] = "";
    CHECK(entry_files(entry, sizeof entry) == 1, "one entry after the first load");
    lens_model *second = load_with(TINY_DIR, lens_processing_default(), true);
    CHECK(entry_files(NULL, 0) == 1);
    CHECK(private && first && second);
    if (private && first && second) {
        CHECK(!mapped_from(private, "embed.W_E", entry));
        CHECK(mapped_from(first, "embed.W_E", entry), "the writer maps its entry too");
        CHECK(mapped_from(second, "blocks.1.mlp.W_in", entry), "a later load maps the entry");
        CHECK(models_differ(private, first) == 0 && models_differ(private, second) == 0);
        CHECK(lens_model_processing(second)->fold_ln && !lens_model_processing(second)->refactor_factored_attn_matrices);
        lens_error err;
        lens_tensor *w = lens_model_weight(second, "blocks.0.ln1.w", &err);
        CHECK(!w && strstr(err.msg, "folded"), "fold_ln's absent weights stay absent");
        lens_tensor_free(w);
    }
    lens_model_free(private);
    lens_model_free(first);
    lens_model_free(second);
}

static void test_other_flags_have_their_own_entry(void)
{
    clear_cache();
    lens_processing refactor = lens_processing_default();
    refactor.refactor_factored_attn_matrices = true;
    lens_model *a = load_with(TINY_DIR, lens_processing_default(), true);
    lens_model *b = load_with(TINY_DIR, refactor, true);
    lens_model *c = load_with(TINY_DIR, lens_processing_none(), true);
    CHECK(entry_files(NULL, 0) == 3, "%d entries", entry_files(NULL, 0));
    lens_model *b2 = load_with(TINY_DIR, refactor, true), *bp = load_with(TINY_DIR, refactor, false);
    lens_model *c2 = load_with(TINY_DIR, lens_processing_none(), true), *cp = load_with(TINY_DIR, lens_processing_none(), false);
    CHECK(entry_files(NULL, 0) == 3);
    CHECK(b2 && bp && models_differ(b2, bp) == 0, "refactored");
    CHECK(c2 && cp && models_differ(c2, cp) == 0, "unprocessed");
    CHECK(c2 && lens_model_processing(c2)->fold_ln == false && lens_model_processing(b2)->refactor_factored_attn_matrices);
    lens_error err;
    lens_tensor *ln = c2 ? lens_model_weight(c2, "blocks.0.ln1.w", &err) : NULL;
    CHECK(ln != NULL, "unfolded LayerNorm weights come back from the entry");
    lens_tensor_free(ln);
    lens_model *all[] = {a, b, c, b2, bp, c2, cp};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) lens_model_free(all[i]);
}

/* Overwrites n bytes at offset (from the end when negative) of a file. */
static void scribble(const char *path, long offset, const char *bytes, size_t n)
{
    int fd = open(path, O_WRONLY);
    off_t at = offset >= 0 ? offset : lseek(fd, 0, SEEK_END) + offset;
    CHECK(fd >= 0 && pwrite(fd, bytes, n, at) == (ssize_t)n);
    if (fd >= 0) close(fd);
}

static void test_a_corrupt_or_truncated_entry_is_rebuilt(void)
{
    clear_cache();
    lens_model *private = load_with(TINY_DIR, lens_processing_default(), false);
    lens_model_free(load_with(TINY_DIR, lens_processing_default(), true));
    char entry[512];
    entry_files(entry, sizeof entry);
    struct stat before;
    stat(entry, &before);
    const char *cases[] = {"data bytes", "header", "truncated"};
    for (int i = 0; i < 3; i++) {
        if (i == 0) scribble(entry, -4096, "\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f", 8);
        if (i == 1) scribble(entry, 12, "{{{{", 4);
        if (i == 2) CHECK(truncate(entry, before.st_size / 2) == 0);
        lens_model *m = load_with(TINY_DIR, lens_processing_default(), true);
        CHECK(m && models_differ(private, m) == 0, "%s: numbers", cases[i]);
        CHECK(m && mapped_from(m, "embed.W_E", entry), "%s: the rebuilt entry is mapped", cases[i]);
        struct stat after;
        CHECK(stat(entry, &after) == 0 && after.st_size == before.st_size, "%s: rebuilt in full", cases[i]);
        lens_model_free(m);
    }
    CHECK(entry_files(NULL, 0) == 1);
    lens_model_free(private);
}

static int copy_file(const char *from, const char *to)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    char buf[65536];
    size_t n;
    while (a && b && (n = fread(buf, 1, sizeof buf, a)) > 0) fwrite(buf, 1, n, b);
    int rc = a && b ? 0 : -1;
    if (a) fclose(a);
    if (b) fclose(b);
    return rc;
}

static void test_a_changed_source_makes_the_entry_stale(void)
{
    clear_cache();
    char dir[] = "/tmp/lens-source-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    const char *files[] = {"config.json", "model.safetensors", "vocab.json", "merges.txt"};
    char from[512], to[512];
    for (int i = 0; i < 4; i++) {
        snprintf(from, sizeof from, "%s/%s", TINY_DIR, files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        CHECK(copy_file(from, to) == 0);
    }
    lens_model *a = load_with(dir, lens_processing_default(), true);
    char entry[512];
    CHECK(entry_files(entry, sizeof entry) == 1);
    /* the source changes: same size, other values, a new mtime */
    snprintf(to, sizeof to, "%s/model.safetensors", dir);
    struct stat st;
    stat(to, &st);
    scribble(to, -64, "\x11\x22\x33\x44\x11\x22\x33\x44", 8);
    struct timespec times[2] = {st.st_atim, {st.st_mtim.tv_sec + 5, 0}};
    utimensat(AT_FDCWD, to, times, 0);
    lens_model *b = load_with(dir, lens_processing_default(), true), *bp = load_with(dir, lens_processing_default(), false);
    CHECK(b && bp && models_differ(b, bp) == 0, "the rebuilt entry holds the new weights");
    CHECK(a && b && models_differ(a, b) > 0, "and they differ from the old ones");
    CHECK(entry_files(NULL, 0) == 1, "the stale entry was replaced");
    lens_model_free(a);
    lens_model_free(b);
    lens_model_free(bp);
    for (int i = 0; i < 4; i++) {
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        unlink(to);
    }
    rmdir(dir);
}

static void test_a_write_to_a_mapped_weight_stays_in_this_process(void)
{
    clear_cache();
    lens_model_free(load_with(TINY_DIR, lens_processing_default(), true));
    lens_model *m = load_with(TINY_DIR, lens_processing_default(), true);
    lens_error err;
    lens_tensor *w = m ? lens_model_weight(m, "blocks.0.mlp.b_in", &err) : NULL;
    CHECK(w != NULL);
    if (w) {
        float old = lens_tensor_f32(w)[3];
        lens_tensor_f32(w)[3] = old + 1.0f;
        lens_model *other = load_with(TINY_DIR, lens_processing_default(), true);
        lens_tensor *v = other ? lens_model_weight(other, "blocks.0.mlp.b_in", &err) : NULL;
        CHECK(v && lens_tensor_f32(v)[3] == old, "another load sees the file's value");
        CHECK(lens_tensor_f32(w)[3] == old + 1.0f, "this model sees its write");
        lens_tensor_free(v);
        lens_model_free(other);
    }
    lens_tensor_free(w);
    lens_model_free(m);
}

/* Pages of the weight's memory mapped into this process now (/proc/self/pagemap's
 * present bit), and how many pages it spans. */
static long resident_pages(const lens_model *m, const char *name, long *pages)
{
    lens_error err;
    lens_tensor *w = lens_model_weight(m, name, &err);
    long page = sysconf(_SC_PAGESIZE), present = 0;
    *pages = 0;
    int fd = open("/proc/self/pagemap", O_RDONLY);
    if (w && fd >= 0) {
        uintptr_t lo = (uintptr_t)lens_tensor_data(w) / (uintptr_t)page;
        uintptr_t hi = ((uintptr_t)lens_tensor_data(w) + (uintptr_t)lens_tensor_numel(w) * 4 - 1) / (uintptr_t)page;
        for (uintptr_t p = lo; p <= hi; p++, (*pages)++) {
            uint64_t entry = 0;
            if (pread(fd, &entry, 8, (off_t)(p * 8)) == 8 && (entry >> 63)) present++;
        }
    }
    if (fd >= 0) close(fd);
    lens_tensor_free(w);
    return present;
}

static void test_the_embedding_is_not_resident_after_a_load(void)
{
    clear_cache();
    lens_model *private = load_with(TINY_DIR, lens_processing_default(), false);
    lens_model *first = load_with(TINY_DIR, lens_processing_default(), true);
    lens_model *second = load_with(TINY_DIR, lens_processing_default(), true);
    CHECK(private && first && second);
    if (!private || !first || !second) goto done;
    lens_model *loads[] = {first, second};
    for (int i = 0; i < 2; i++) {
        long pages, present = resident_pages(loads[i], "embed.W_E", &pages);
        /* at most the pages next to the weights around it */
        CHECK(pages > 100 && present * 100 <= pages, "%s load: %ld of W_E's %ld pages resident",
              i ? "second" : "first", present, pages);
        long u_pages, u_present = resident_pages(loads[i], "unembed.W_U", &u_pages);
        CHECK(u_pages > 100 && u_present == u_pages, "W_U is read whole by every run: %ld of %ld pages resident",
              u_present, u_pages);
    }
    /* a run brings back the pages of its tokens' rows only */
    lens_run_options o = lens_run_options_default();
    o.cache = false;
    lens_tensor *logits = NULL;
    lens_error err;
    CHECK(lens_model_run(second, tokens, &o, &logits, NULL, &err) == 0);
    lens_tensor_free(logits);
    long pages, present = resident_pages(second, "embed.W_E", &pages);
    CHECK(present > 0 && present * 10 < pages, "only the tokens' rows came in: %ld of %ld pages", present, pages);
    /* and every page comes back from the file with the same numbers */
    CHECK(models_differ(private, second) == 0);
done:
    lens_model_free(private);
    lens_model_free(first);
    lens_model_free(second);
}

/* ---- collection ------------------------------------------------------------- */

/* The cache entry the model's W_E is mapped from (/proc/self/maps), or "". */
static void entry_of(const lens_model *m, char *out, size_t size)
{
    out[0] = 0;
    lens_error err;
    lens_tensor *w = m ? lens_model_weight(m, "embed.W_E", &err) : NULL;
    if (!w) return;
    uintptr_t a = (uintptr_t)lens_tensor_data(w);
    lens_tensor_free(w);
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char file[700] = "";
        if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %699s", &lo, &hi, file) >= 2 && a >= lo && a < hi)
            snprintf(out, size, "%s", file);
    }
    if (f) fclose(f);
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Loads dir with flags through the cache, frees the model, and gives its entry. */
static void make_entry(const char *dir, lens_processing p, char *entry, size_t size)
{
    lens_model *m = load_with(dir, p, true);
    entry_of(m, entry, size);
    CHECK(m && exists(entry), "an entry for %s", dir);
    lens_model_free(m);
}

static void set_last_use(const char *path, time_t seconds_ago)
{
    struct timespec t[2] = {{time(NULL) - seconds_ago, 0}, {0, UTIME_OMIT}};
    CHECK(utimensat(AT_FDCWD, path, t, 0) == 0);
}

/* Five sets of processing flags, each with its own entry. */
static lens_processing flags_variant(int i)
{
    lens_processing p = lens_processing_none();
    p.fold_ln = i >= 1;
    p.center_writing_weights = i >= 2;
    p.center_unembed = i >= 3;
    p.fold_value_biases = i >= 4;
    return p;
}

/* A copy of the tiny model's files in a new folder (path into dir). */
static void copy_source(char *dir)
{
    CHECK(mkdtemp(dir) != NULL);
    const char *files[] = {"config.json", "model.safetensors", "vocab.json", "merges.txt"};
    char from[512], to[512];
    for (int i = 0; i < 4; i++) {
        snprintf(from, sizeof from, "%s/%s", TINY_DIR, files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        CHECK(copy_file(from, to) == 0);
    }
}

static void remove_source(const char *dir)
{
    const char *files[] = {"config.json", "model.safetensors", "vocab.json", "merges.txt"};
    char to[512];
    for (int i = 0; i < 4; i++) {
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        unlink(to);
    }
    rmdir(dir);
}

static void test_entries_of_a_removed_or_changed_source_are_collected(void)
{
    clear_cache();
    char gone[] = "/tmp/lens-source-XXXXXX", changed[] = "/tmp/lens-source-XXXXXX";
    copy_source(gone);
    copy_source(changed);
    char e_gone[512], e_changed[512], e_kept[512], e_new[512];
    make_entry(gone, lens_processing_default(), e_gone, sizeof e_gone);
    make_entry(changed, lens_processing_none(), e_changed, sizeof e_changed);
    make_entry(TINY_DIR, lens_processing_default(), e_kept, sizeof e_kept);
    remove_source(gone);
    char cfg[512];
    snprintf(cfg, sizeof cfg, "%s/config.json", changed);
    struct timespec later[2] = {{0, UTIME_OMIT}, {time(NULL) + 5, 0}};
    CHECK(utimensat(AT_FDCWD, cfg, later, 0) == 0);   /* config.json changed: a new mtime */
    CHECK(exists(e_gone) && exists(e_changed) && entry_files(NULL, 0) == 3);
    make_entry(TINY_DIR, lens_processing_none(), e_new, sizeof e_new);   /* writing an entry collects */
    CHECK(!exists(e_gone), "the entry of a removed source is collected");
    CHECK(!exists(e_changed), "the entry of a changed config.json is collected");
    CHECK(exists(e_kept) && exists(e_new), "fresh entries are kept");
    CHECK(entry_files(NULL, 0) == 2, "%d entries", entry_files(NULL, 0));
    remove_source(changed);
}

static void test_least_recently_used_entries_beyond_the_cap_are_collected(void)
{
    clear_cache();
    char e[5][512];
    make_entry(TINY_DIR, flags_variant(0), e[0], sizeof e[0]);
    struct stat st;
    CHECK(stat(e[0], &st) == 0);
    char cap[32];   /* room for two entries, not three */
    snprintf(cap, sizeof cap, "%lld", (long long)((st.st_size * 5 / 2) >> 20));
    setenv("LENS_CACHE_MAX_MB", cap, 1);
    make_entry(TINY_DIR, flags_variant(1), e[1], sizeof e[1]);
    CHECK(exists(e[0]) && exists(e[1]), "two entries fit");
    set_last_use(e[0], 3600);
    set_last_use(e[1], 60);
    make_entry(TINY_DIR, flags_variant(2), e[2], sizeof e[2]);
    CHECK(!exists(e[0]), "the least recently used entry is collected");
    CHECK(exists(e[1]) && exists(e[2]));

    /* an entry in use is kept even when it is the least recently used */
    lens_model *in_use = load_with(TINY_DIR, flags_variant(1), true);
    lens_model *private = load_with(TINY_DIR, flags_variant(1), false);
    set_last_use(e[1], 7200);
    make_entry(TINY_DIR, flags_variant(3), e[3], sizeof e[3]);
    CHECK(exists(e[1]), "a mapped entry is never collected");
    CHECK(!exists(e[2]), "the next least recently used one goes instead");
    CHECK(exists(e[3]));
    CHECK(in_use && private && models_differ(in_use, private) == 0, "the mapped entry reads as before");
    lens_model_free(in_use);
    lens_model_free(private);
    /* once unmapped, it is collected like any other */
    make_entry(TINY_DIR, flags_variant(4), e[4], sizeof e[4]);
    CHECK(!exists(e[1]) && exists(e[3]) && exists(e[4]), "%d entries", entry_files(NULL, 0));

    setenv("LENS_CACHE_MAX_MB", "0", 1);   /* 0: only the entries in use */
    lens_model *m = load_with(TINY_DIR, flags_variant(0), true), *mp = load_with(TINY_DIR, flags_variant(0), false);
    char e0[512];
    entry_of(m, e0, sizeof e0);
    CHECK(exists(e0) && entry_files(NULL, 0) == 1, "with a cap of 0 only the mapped entry stays");
    CHECK(m && mp && models_differ(m, mp) == 0);
    lens_model_free(m);
    lens_model_free(mp);
    unsetenv("LENS_CACHE_MAX_MB");
}

static void test_a_mapped_entry_of_a_removed_source_stays_readable(void)
{
    clear_cache();
    char dir[] = "/tmp/lens-source-XXXXXX";
    copy_source(dir);
    lens_model *mapped = load_with(dir, lens_processing_default(), true);
    lens_model *private = load_with(dir, lens_processing_default(), false);
    char entry[512], other[512];
    entry_of(mapped, entry, sizeof entry);
    remove_source(dir);
    make_entry(TINY_DIR, lens_processing_none(), other, sizeof other);
    CHECK(exists(entry), "a stale entry still mapped is kept");
    CHECK(mapped && private && models_differ(mapped, private) == 0, "and reads its weights as before");
    lens_model_free(mapped);
    unlink(other);
    make_entry(TINY_DIR, lens_processing_none(), other, sizeof other);
    CHECK(!exists(entry), "collected once no process maps it");
    lens_model_free(private);
}

static void test_abandoned_temporary_files_are_collected(void)
{
    clear_cache();
    char live[600], dead[600], old[600], foreign[600];
    snprintf(live, sizeof live, "%s/gpt2-0123456789abcdef.safetensors.%ld.new", cache_dir, (long)getpid());
    snprintf(dead, sizeof dead, "%s/gpt2-0123456789abcdef.safetensors.2147483646.new", cache_dir);
    snprintf(old, sizeof old, "%s/gpt2-fedcba9876543210.safetensors.%ld.new", cache_dir, (long)getpid());
    snprintf(foreign, sizeof foreign, "%s/notes.txt.1.new", cache_dir);
    const char *files[] = {live, dead, old, foreign};
    for (int i = 0; i < 4; i++) {
        FILE *f = fopen(files[i], "w");
        CHECK(f != NULL);
        if (f) fclose(f);
    }
    struct timespec two_days[2] = {{time(NULL) - 2 * 86400, 0}, {time(NULL) - 2 * 86400, 0}};
    CHECK(utimensat(AT_FDCWD, old, two_days, 0) == 0);
    char e[512];
    make_entry(TINY_DIR, lens_processing_default(), e, sizeof e);
    CHECK(exists(live), "a temporary file of a live writer is kept");
    CHECK(!exists(dead), "a temporary file whose writer is gone is collected");
    CHECK(!exists(old), "a temporary file over a day old is collected");
    CHECK(exists(foreign), "files that are not the cache's are left alone");
    unlink(live);
    unlink(foreign);
}

int main(void)
{
    snprintf(cache_dir, sizeof cache_dir, "/tmp/lens-weights-cache-XXXXXX");
    if (!mkdtemp(cache_dir)) { perror("mkdtemp"); return 1; }
    setenv("LENS_CACHE_DIR", cache_dir, 1);
    lens_error err;
    lens_safetensors *ref = lens_safetensors_open(TINY_REF, &err);
    if (!ref) { fprintf(stderr, "%s\n", err.msg); return 1; }
    tokens = fixture_tensor(ref, "tokens");
    RUN(test_the_first_load_writes_an_entry_that_later_loads_map);
    RUN(test_other_flags_have_their_own_entry);
    RUN(test_a_corrupt_or_truncated_entry_is_rebuilt);
    RUN(test_a_changed_source_makes_the_entry_stale);
    RUN(test_a_write_to_a_mapped_weight_stays_in_this_process);
    RUN(test_the_embedding_is_not_resident_after_a_load);
    RUN(test_entries_of_a_removed_or_changed_source_are_collected);
    RUN(test_least_recently_used_entries_beyond_the_cap_are_collected);
    RUN(test_a_mapped_entry_of_a_removed_source_stays_readable);
    RUN(test_abandoned_temporary_files_are_collected);
    clear_cache();
    rmdir(cache_dir);
    lens_tensor_free(tokens);
    lens_safetensors_close(ref);
    return harness_summary();
}
