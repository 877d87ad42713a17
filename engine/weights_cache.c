/* weights_cache.c — processed weights shared between processes: the first
 * load of a model with given processing flags writes its processed weights to
 * a safetensors file in the user's cache folder; later loads map that file, so
 * N kernels with the same model share one copy in the page cache.
 *
 * An entry is named by the source file's path and the flags; its metadata holds
 * the source's identity (path, size, mtime, inode, device, and the same for
 * config.json), the flags, the format version and a checksum of the tensor
 * bytes. A load checks all of them: a stale entry (source changed) or a corrupt
 * one (bad header, wrong shapes, checksum mismatch) is rebuilt. Entries are
 * written under a temporary name and renamed into place (atomic). The mapping is
 * private and writable: reads share the page cache, a write to a weight copies
 * only the page written, in this process. The embeddings (W_E, W_pos) are not
 * mapped in: a run reads only its tokens' rows, whose pages come in one at a
 * time (they are checked through pread, and the writer drops its large page-cache
 * folios of them).
 *
 * Folder: $LENS_CACHE_DIR, else $XDG_CACHE_HOME/lens, else ~/.cache/lens;
 * LENS_CACHE_DIR=none turns the cache off. A mapping holds a shared lock on its
 * entry and a load marks the entry used; after each new entry is written,
 * weights_cache_collect.c removes stale and least recently used unmapped ones.
 *
 * Owns: the cache files and the mapping of one (released with the last weight).
 * Does not own: loading and processing the source (model_load.c, process.c),
 * removing entries (weights_cache_collect.c). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lens/safetensors.h"
#include "model_internal.h"
#include "weights_cache_internal.h"

#define CACHE_FORMAT LENS_WEIGHTS_CACHE_FORMAT

/* ---- the list of weights -------------------------------------------------- */

#define LAYER_WEIGHTS 16
static const char *const layer_names[LAYER_WEIGHTS] = {
    "ln1_w", "ln1_b", "W_Q", "W_K", "W_V", "b_Q", "b_K", "b_V",
    "W_O", "b_O", "ln2_w", "ln2_b", "W_in", "b_in", "W_out", "b_out",
};
_Static_assert(sizeof(lens_layer) == LAYER_WEIGHTS * sizeof(lens_tensor *), "lens_layer is its 16 weights in this order");

#define GLOBAL_WEIGHTS 6
static const char *const global_names[GLOBAL_WEIGHTS] = {"W_E", "W_pos", "W_Ut", "b_U", "lnf_w", "lnf_b"};

static lens_tensor **global_slot(lens_model *m, int i)
{
    lens_tensor **slots[GLOBAL_WEIGHTS] = {&m->W_E, &m->W_pos, &m->W_Ut, &m->b_U, &m->lnf_w, &m->lnf_b};
    return slots[i];
}

/* Every weight slot of a model with its cache name. */
typedef struct slot_list {
    int n;
    lens_tensor ***slots;
    char (*names)[48];
} slot_list;

static bool slots_of(lens_model *m, slot_list *sl)
{
    int cap = GLOBAL_WEIGHTS + LAYER_WEIGHTS * m->cfg.n_layers;
    sl->n = 0;
    sl->slots = malloc((size_t)cap * sizeof *sl->slots);
    sl->names = malloc((size_t)cap * sizeof *sl->names);
    if (!sl->slots || !sl->names) { free(sl->slots); free(sl->names); return false; }
    for (int i = 0; i < GLOBAL_WEIGHTS; i++, sl->n++) {
        sl->slots[sl->n] = global_slot(m, i);
        snprintf(sl->names[sl->n], 48, "%s", global_names[i]);
    }
    for (int l = 0; l < m->cfg.n_layers; l++)
        for (int i = 0; i < LAYER_WEIGHTS; i++, sl->n++) {
            sl->slots[sl->n] = (lens_tensor **)&m->layers[l] + i;
            snprintf(sl->names[sl->n], 48, "blocks.%d.%s", l, layer_names[i]);
        }
    return true;
}

static void slots_free(slot_list *sl)
{
    free(sl->slots);
    free(sl->names);
}

/* Frees every weight of the model and empties its slots. */
static void drop_weights(const slot_list *sl)
{
    for (int i = 0; i < sl->n; i++) {
        lens_tensor_free(*sl->slots[i]);
        *sl->slots[i] = NULL;
    }
}

/* ---- identity, names, checksum -------------------------------------------- */

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* Checksum of a weight's bytes: four multiply-mix lanes over 64-bit words, 32
 * bytes at a time, then the tail byte by byte. */
static void lanes_start(uint64_t lane[4], uint64_t h)
{
    lane[0] = h;
    lane[1] = h ^ 0x9e3779b97f4a7c15ull;
    lane[2] = h + 0x632be59bd9b4e019ull;
    lane[3] = ~h;
}

static void mix_blocks(uint64_t lane[4], const unsigned char *p, size_t blocks)
{
    for (size_t b = 0; b < blocks; b++)
        for (int k = 0; k < 4; k++) {
            uint64_t w;
            memcpy(&w, p + b * 32 + (size_t)k * 8, 8);
            lane[k] = (lane[k] ^ w) * 0xff51afd7ed558ccdull;
            lane[k] ^= lane[k] >> 29;
        }
}

static uint64_t mix_end(uint64_t lane[4], const unsigned char *tail, size_t tail_n, size_t n)
{
    for (size_t i = 0; i < tail_n; i++) lane[0] = (lane[0] ^ tail[i]) * 1099511628211ull;
    return (lane[0] ^ (lane[1] * 3) ^ (lane[2] * 5) ^ (lane[3] * 7)) + n;
}

static uint64_t checksum_bytes(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t lane[4];
    lanes_start(lane, h);
    mix_blocks(lane, p, n / 32);
    return mix_end(lane, p + n / 32 * 32, n % 32, n);
}

#define READ_CHUNK ((size_t)1 << 20)   /* a multiple of 32 */

/* The same checksum of n bytes at offset in fd, read with pread: nothing gets
 * mapped into this process. False when the file cannot be read. */
static bool checksum_file_bytes(uint64_t h, int fd, off_t offset, size_t n, uint64_t *out)
{
    unsigned char *buf = malloc(READ_CHUNK);
    if (!buf) return false;
    uint64_t lane[4];
    lanes_start(lane, h);
    size_t done = 0;
    bool ok = true;
    while (ok && done < n) {
        size_t want = n - done < READ_CHUNK ? n - done : READ_CHUNK, got = 0;
        while (ok && got < want) {
            ssize_t r = pread(fd, buf + got, want - got, offset + (off_t)(done + got));
            if (r < 0 && errno == EINTR) continue;
            ok = r > 0;
            if (ok) got += (size_t)r;
        }
        if (!ok) break;
        mix_blocks(lane, buf, want / 32);
        if (done + want == n) *out = mix_end(lane, buf + want / 32 * 32, want % 32, n);
        done += want;
    }
    if (ok && n == 0) *out = mix_end(lane, NULL, 0, 0);
    free(buf);
    return ok;
}

/* Whether a weight is read by rows (the embeddings): in a mapped entry such a
 * weight is checked through pread and its pages come in only as rows are read. */
static bool read_by_rows(const char *name) { return !strcmp(name, "W_E") || !strcmp(name, "W_pos"); }

/* The checksum of every weight, in slot order. fd >= 0: the weights are views of
 * that mapped entry and those read by rows are read from the file instead.
 * False when the file cannot be read. */
static bool weights_checksum(const slot_list *sl, int fd, uint64_t *out)
{
    uint64_t h = 0x243f6a8885a308d3ull;
    for (int i = 0; i < sl->n; i++) {
        const lens_tensor *w = *sl->slots[i];
        size_t n = w ? (size_t)lens_tensor_numel(w) * 4 : 0;
        if (!w) h = h * 31 + 7;
        else if (fd >= 0 && read_by_rows(sl->names[i])) {
            if (!checksum_file_bytes(h, fd, (off_t)w->offset * 4, n, &h)) return false;
        } else h = checksum_bytes(h, lens_tensor_data(w), n);
    }
    *out = h;
    return true;
}

bool lens_wc_file_identity(const char *path, char *out, size_t size)
{
    struct stat st;
    char real[PATH_MAX];
    if (!realpath(path, real) || stat(real, &st)) return false;
    snprintf(out, size, "%s|%lld|%lld.%09ld|%llu|%llu", real, (long long)st.st_size, (long long)st.st_mtim.tv_sec,
             st.st_mtim.tv_nsec, (unsigned long long)st.st_ino, (unsigned long long)st.st_dev);
    return true;
}

static void flags_string(const lens_processing *p, char *out, size_t size)
{
    snprintf(out, size, "fold_ln=%d,center_writing_weights=%d,center_unembed=%d,fold_value_biases=%d,"
             "refactor_factored_attn_matrices=%d", p->fold_ln, p->center_writing_weights, p->center_unembed,
             p->fold_value_biases, p->refactor_factored_attn_matrices);
}

bool lens_weights_cache_dir(char *out, size_t size)
{
    const char *env = getenv("LENS_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (env && !strcmp(env, "none")) return false;
    if (env && *env) snprintf(out, size, "%s", env);
    else if (xdg && *xdg) snprintf(out, size, "%s/lens", xdg);
    else if (home && *home) snprintf(out, size, "%s/.cache/lens", home);
    else return false;
    return true;
}

/* mkdir -p; true when the folder exists afterwards. */
static bool make_dirs(const char *dir)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", dir);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0755) && errno != EEXIST) return false;
            *s = '/';
        }
    if (mkdir(p, 0755) && errno != EEXIST) return false;
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

typedef struct entry_key {
    char path[PATH_MAX + 128];   /* the cache file */
    char source[2 * PATH_MAX + 256];   /* identity of model.safetensors and config.json */
    char flags[256];
} entry_key;

static bool entry_key_of(const lens_model *m, const char *weights_path, const lens_processing *p, entry_key *k)
{
    char dir[PATH_MAX], w[PATH_MAX + 96], c[PATH_MAX + 96], cfg[PATH_MAX + 16], real[PATH_MAX];
    if (!lens_weights_cache_dir(dir, sizeof dir)) return false;
    snprintf(cfg, sizeof cfg, "%s/config.json", m->path);
    if (!lens_wc_file_identity(weights_path, w, sizeof w) || !lens_wc_file_identity(cfg, c, sizeof c) ||
        !realpath(weights_path, real))
        return false;
    snprintf(k->source, sizeof k->source, "%s;%s", w, c);
    flags_string(p, k->flags, sizeof k->flags);
    char named[PATH_MAX + 300];
    snprintf(named, sizeof named, "%s;%s", real, k->flags);
    char base[64];
    snprintf(base, sizeof base, "%.40s", m->cfg.name);
    for (char *s = base; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            *s = '_';
    snprintf(k->path, sizeof k->path, "%s/%s-%016" PRIx64 ".safetensors", dir, base, fnv1a(named));
    return true;
}

/* ---- reading an entry ------------------------------------------------------ */

/* ctx: the entry's descriptor + 1, which holds the shared lock that keeps
 * collection (weights_cache_collect.c) away from a mapped entry. */
static void unmap_file(void *data, size_t nbytes, void *ctx)
{
    munmap(data, nbytes);
    close((int)((intptr_t)ctx - 1));
}

/* The page range [first, last) of a weight's memory: inward (only pages the
 * weight has to itself) or outward. False when empty. */
static bool page_range(const lens_tensor *w, bool inward, uintptr_t *first, uintptr_t *last)
{
    long page = sysconf(_SC_PAGESIZE);
    if (!w || page <= 0) return false;
    uintptr_t p = (uintptr_t)page, lo = (uintptr_t)lens_tensor_data(w), hi = lo + (uintptr_t)lens_tensor_numel(w) * 4;
    *first = inward ? (lo + p - 1) / p * p : lo / p * p;
    *last = inward ? hi / p * p : (hi + p - 1) / p * p;
    return *last > *first;
}

/* A weight read by rows (the embeddings read only their tokens' rows): its pages
 * come in one at a time as rows are read (4 KiB pages, no read-ahead: a large
 * page-cache folio would otherwise map up to 2 MiB of rows per token). */
static void advise_rows_only(const lens_tensor *w)
{
    uintptr_t first, last;
    if (!page_range(w, true, &first, &last)) return;
    madvise((void *)first, last - first, MADV_NOHUGEPAGE);
    madvise((void *)first, last - first, MADV_RANDOM);
}

/* A weight every run reads whole: mapped in now, read-only (populating a writable
 * private mapping would copy every page). */
static void populate(const lens_tensor *w)
{
#ifdef MADV_POPULATE_READ
    uintptr_t first, last;
    if (page_range(w, false, &first, &last)) madvise((void *)first, last - first, MADV_POPULATE_READ);
#else
    (void)w;   /* the checksum reads it in */
#endif
}

/* The expected shape of a weight slot, from the config (ndim 0: the slot is
 * absent after fold_ln and must be absent from the file too). */
static int expected_shape(const lens_config *c, const char *name, int64_t *shape)
{
    int64_t d = c->d_model, f = c->d_mlp, V = c->d_vocab;
    const char *w = strncmp(name, "blocks.", 7) ? name : strchr(name + 7, '.') + 1;
    static const struct { const char *n; int nd; char a, b; } table[] = {
        {"W_E", 2, 'V', 'd'}, {"W_pos", 2, 'c', 'd'}, {"W_Ut", 2, 'V', 'd'}, {"b_U", 1, 'V', 0},
        {"lnf_w", 1, 'd', 0}, {"lnf_b", 1, 'd', 0}, {"ln1_w", 1, 'd', 0}, {"ln1_b", 1, 'd', 0},
        {"W_Q", 2, 'd', 'd'}, {"W_K", 2, 'd', 'd'}, {"W_V", 2, 'd', 'd'}, {"b_Q", 1, 'd', 0},
        {"b_K", 1, 'd', 0}, {"b_V", 1, 'd', 0}, {"W_O", 2, 'd', 'd'}, {"b_O", 1, 'd', 0},
        {"ln2_w", 1, 'd', 0}, {"ln2_b", 1, 'd', 0}, {"W_in", 2, 'd', 'f'}, {"b_in", 1, 'f', 0},
        {"W_out", 2, 'f', 'd'}, {"b_out", 1, 'd', 0},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        if (strcmp(table[i].n, w)) continue;
        char dims[2] = {table[i].a, table[i].b};
        for (int k = 0; k < table[i].nd; k++)
            shape[k] = dims[k] == 'V' ? V : dims[k] == 'd' ? d : dims[k] == 'f' ? f : c->n_ctx;
        return table[i].nd;
    }
    return -1;
}

bool lens_wc_metadata_value(const char *json, const char *key, char *out, size_t size)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *s = strstr(json, pat);
    if (!s) return false;
    s += strlen(pat);
    size_t n = 0;
    for (; s[n] && s[n] != '"'; n++)
        if (s[n] == '\\' && s[n + 1]) n++;
    if (!s[n] || n >= size) return false;
    memcpy(out, s, n);
    out[n] = 0;
    return true;
}

/* JSON string escaping for the metadata (paths may hold quotes or backslashes). */
static void json_escape(const char *s, char *out, size_t size)
{
    size_t o = 0;
    for (; *s && o + 7 < size; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') { out[o++] = '\\'; out[o++] = (char)ch; }
        else if (ch < 0x20) o += (size_t)snprintf(out + o, size - o, "\\u%04x", ch);
        else out[o++] = (char)ch;
    }
    out[o] = 0;
}

void lens_wc_json_unescape(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '\\' && s[1] == 'u' && s[2] && s[3] && s[4] && s[5]) {
            char hex[5] = {s[2], s[3], s[4], s[5], 0};
            *o++ = (char)strtol(hex, NULL, 16);
            s += 5;
        } else if (*s == '\\' && s[1]) *o++ = *++s;
        else *o++ = *s;
    }
    *o = 0;
}

/* Maps the entry's tensors into the model's (empty) weight slots. Returns 0, or
 * -1 when the entry is missing, stale or corrupt (the model is left empty). */
static int map_entry(lens_model *m, const slot_list *sl, const entry_key *k)
{
    lens_error err;
    lens_safetensors *st = lens_safetensors_open(k->path, &err);
    if (!st) return -1;
    const char *meta = lens_safetensors_metadata(st);
    char fmt[64], source[sizeof k->source], flags[sizeof k->flags], sum[32];
    int rc = -1;
    lens_tensor *file = NULL;
    if (!lens_wc_metadata_value(meta, "format", fmt, sizeof fmt) || strcmp(fmt, CACHE_FORMAT) ||
        !lens_wc_metadata_value(meta, "source", source, sizeof source) ||
        !lens_wc_metadata_value(meta, "flags", flags, sizeof flags) ||
        !lens_wc_metadata_value(meta, "checksum", sum, sizeof sum))
        goto done;
    lens_wc_json_unescape(source);
    if (strcmp(source, k->source) || strcmp(flags, k->flags)) goto done;   /* stale */

    int fd = open(k->path, O_RDONLY | O_CLOEXEC);
    struct stat fs;
    if (fd < 0) goto done;
    /* held while mapped; refused only while a collector is removing the entry (a
     * folder without locks maps without one) */
    bool being_removed = flock(fd, LOCK_SH | LOCK_NB) && errno == EWOULDBLOCK;
    if (being_removed || fstat(fd, &fs) || fs.st_size < 8) { close(fd); goto done; }
    size_t size = (size_t)fs.st_size;
    /* Read-only while populated and checked, then writable: a later write copies
     * just its page. */
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) { close(fd); goto done; }
    int64_t nfloats = (int64_t)(size / 4);
    file = lens_tensor_wrap(LENS_F32, 1, &nfloats, map, unmap_file, (void *)(intptr_t)(fd + 1));
    if (!file) { munmap(map, size); close(fd); goto done; }
    /* last use, for collecting the least recently used entries (set explicitly:
     * mounts with noatime or relatime do not keep it) */
    futimens(fd, (const struct timespec[2]){{0, UTIME_NOW}, {0, UTIME_OMIT}});
    file->storage->nbytes = size;
    uint64_t header;   /* read, not mapped in: the embedding may start on the same pages */
    if (pread(fd, &header, 8, 0) != 8) goto done;
    /* the data area starts at the lowest entry (the writer packs them from offset 0) */
    const char *lowest = NULL;
    for (int i = 0; i < lens_safetensors_count(st); i++) {
        const lens_st_entry *e = lens_safetensors_entry(st, i);
        if (!lowest || (const char *)e->data < lowest) lowest = e->data;
    }
    if (header > size - 8 || (8 + header) % 4) goto done;

    int present = 0;
    for (int i = 0; i < sl->n; i++) {
        int64_t shape[2];
        int nd = expected_shape(&m->cfg, sl->names[i], shape);
        const lens_st_entry *e = lens_safetensors_find(st, sl->names[i]);
        if (!e) continue;   /* absent after fold_ln */
        present++;
        bool ok = nd == e->ndim && e->dtype == LENS_ST_F32;
        for (int d = 0; ok && d < nd; d++) ok = e->shape[d] == shape[d];
        size_t off = 8 + (size_t)header + (size_t)((const char *)e->data - lowest);
        if (!ok || off % 4 || off > size || e->nbytes > size - off) goto done;
        int64_t strides[2] = {nd == 2 ? shape[1] : 1, 1};
        if (!(*sl->slots[i] = lens_tensor_view(file, nd, shape, strides, (int64_t)(off / 4)))) goto done;
    }
    if (present != lens_safetensors_count(st) || !m->W_E || !m->W_pos || !m->W_Ut || !m->b_U) goto done;
    for (int i = 0; i < sl->n; i++)
        if (read_by_rows(sl->names[i])) advise_rows_only(*sl->slots[i]);
        else populate(*sl->slots[i]);
    /* the embeddings are checked through pread, without read-ahead (see advise_rows_only) */
    posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
    uint64_t checksum;
    if (!weights_checksum(sl, fd, &checksum)) goto done;
    char want[32];
    snprintf(want, sizeof want, "%016" PRIx64, checksum);
    if (strcmp(want, sum)) goto done;   /* corrupt bytes */
    rc = mprotect(map, size, PROT_READ | PROT_WRITE) ? -1 : 0;
done:
    if (rc) drop_weights(sl);
    lens_tensor_free(file);   /* the views keep the mapping */
    lens_safetensors_close(st);
    return rc;
}

/* The new entry's pages of a weight read by rows leave the page cache (written
 * back first): the writer left them as large folios, which a read of one row
 * would map whole; read again later they come one page at a time. */
static void evict_written_rows(const char *path, const lens_tensor *w)
{
    int fd = w ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    if (fd < 0) return;
    off_t off = (off_t)w->offset * 4, len = (off_t)lens_tensor_numel(w) * 4;
    sync_file_range(fd, off, len, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    posix_fadvise(fd, off, len, POSIX_FADV_DONTNEED);
    close(fd);
}

/* ---- the two entry points ---------------------------------------------------- */

int lens_weights_cache_load(lens_model *m, const char *weights_path, const lens_processing *p)
{
    entry_key k;
    if (!entry_key_of(m, weights_path, p, &k)) return -1;
    m->layers = calloc((size_t)m->cfg.n_layers, sizeof *m->layers);
    slot_list sl;
    if (!m->layers || !slots_of(m, &sl)) { free(m->layers); m->layers = NULL; return -1; }
    int rc = map_entry(m, &sl, &k);
    slots_free(&sl);
    if (rc) {
        free(m->layers);
        m->layers = NULL;
        return -1;
    }
    m->proc = *p;
    return 0;
}

int lens_weights_cache_store(lens_model *m, const char *weights_path, const lens_processing *p)
{
    entry_key k;
    char dir[PATH_MAX];
    if (!entry_key_of(m, weights_path, p, &k) || !lens_weights_cache_dir(dir, sizeof dir) || !make_dirs(dir))
        return -1;
    slot_list sl;
    if (!slots_of(m, &sl)) return -1;
    const char **wnames = calloc((size_t)sl.n, sizeof *wnames);
    const lens_tensor **wt = calloc((size_t)sl.n, sizeof *wt);
    size_t esc_size = 2 * sizeof k.source, meta_size = esc_size + 512;
    char *esc = malloc(esc_size), *meta = malloc(meta_size), tmp[sizeof k.path + 64];
    int rc = -1, count = 0;
    if (!wnames || !wt || !esc || !meta) goto done;
    for (int i = 0; i < sl.n; i++)
        if (*sl.slots[i]) { wnames[count] = sl.names[i]; wt[count++] = *sl.slots[i]; }
    json_escape(k.source, esc, esc_size);
    uint64_t checksum = 0;
    weights_checksum(&sl, -1, &checksum);   /* from memory: cannot fail */
    snprintf(meta, meta_size, "{\"format\":\"%s\",\"source\":\"%s\",\"flags\":\"%s\",\"checksum\":\"%016" PRIx64 "\"}",
             CACHE_FORMAT, esc, k.flags, checksum);
    snprintf(tmp, sizeof tmp, "%s.%ld.new", k.path, (long)getpid());
    lens_error err;
    if (lens_safetensors_write(tmp, count, wnames, wt, meta, &err) == 0 && rename(tmp, k.path) == 0) rc = 0;
    else unlink(tmp);
done:
    free(wnames);
    free(wt);
    free(esc);
    free(meta);
    if (rc) { slots_free(&sl); return -1; }
    /* from now on this process shares the file's pages too */
    lens_model *mapped = calloc(1, sizeof *mapped);
    if (mapped) {
        mapped->cfg = m->cfg;
        snprintf(mapped->path, sizeof mapped->path, "%s", m->path);
    }
    if (mapped && lens_weights_cache_load(mapped, weights_path, p) == 0) {
        drop_weights(&sl);
        free(m->layers);
        m->layers = mapped->layers;
        for (int i = 0; i < GLOBAL_WEIGHTS; i++) *global_slot(m, i) = *global_slot(mapped, i);
        evict_written_rows(k.path, m->W_E);
        evict_written_rows(k.path, m->W_pos);
    }
    free(mapped);
    slots_free(&sl);
    lens_weights_cache_collect(dir);   /* the folder grew: stale and least recently used entries go */
    return 0;
}
