/* weights_cache_collect.c — keeping the processed-weights cache folder small:
 * after a new entry is written, entries nobody can use any more and then the
 * least recently used ones are removed.
 *
 * An entry is stale when a source file it was made from (its metadata's
 * "source": the weights' and config.json's identities) is gone or changed, when
 * it has another format, or when its header cannot be read (a header that reads
 * but does not check out is rebuilt by the next load). A writer's temporary
 * file ("ENTRY.PID.new") is left over when its process is gone or it is over a
 * day old. Then the entries in use count against $LENS_CACHE_MAX_MB (MiB;
 * default 10240; 0 keeps only the entries in use) first, and the others, newest
 * use first (a load sets the entry's access time), are kept while they fit; the
 * rest are removed.
 *
 * An entry a process has mapped is never removed: every mapping holds a shared
 * flock on its entry (weights_cache.c), and removal takes the exclusive lock
 * without waiting, unlinks under it, or skips the entry. (Unlinking a mapped file
 * would be safe for its mapper on Linux, whose pages stay until it unmaps them,
 * but the space would not come back and later loads could not share those pages.)
 *
 * Owns: removing files from the cache folder.
 * Does not own: writing, checking or mapping entries (weights_cache.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "weights_cache_internal.h"

#define DEFAULT_CAP_MIB 10240
#define TEMP_MAX_AGE_S (24 * 3600)

/* The size cap in bytes: $LENS_CACHE_MAX_MB when it is a whole number of MiB. */
static uint64_t size_cap(void)
{
    const char *env = getenv("LENS_CACHE_MAX_MB");
    uint64_t mib = DEFAULT_CAP_MIB;
    if (env && *env) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(env, &end, 10);
        if (!errno && !*end && env[0] != '-' && v <= UINT64_MAX >> 20) mib = v;
    }
    return mib << 20;
}

/* True when an identity string ("path|size|mtime|inode|device") still describes
 * its file: the path is what precedes the last four fields. */
static bool identity_holds(const char *identity, size_t len)
{
    size_t bars = 0, at = len;
    while (at > 0 && bars < 4)
        if (identity[--at] == '|') bars++;
    if (bars < 4 || at == 0 || at >= PATH_MAX) return false;
    char path[PATH_MAX], now[2 * PATH_MAX + 128];
    memcpy(path, identity, at);
    path[at] = 0;
    return lens_wc_file_identity(path, now, sizeof now) && strlen(now) == len && !memcmp(now, identity, len);
}

/* True when the source ("weights identity;config identity") still holds. A path
 * may contain ';', so every split is tried. */
static bool source_holds(const char *source)
{
    size_t n = strlen(source);
    for (const char *semi = strchr(source, ';'); semi; semi = strchr(semi + 1, ';'))
        if (identity_holds(source, (size_t)(semi - source)) &&
            identity_holds(semi + 1, n - (size_t)(semi - source) - 1))
            return true;
    return false;
}

#define MAX_HEADER ((uint64_t)100 << 20)

/* The entry's JSON header (malloc'd), read without touching its access time,
 * which records its last use; NULL when it cannot be read. */
static char *read_header(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOATIME);
    if (fd < 0 && errno == EPERM) fd = open(path, O_RDONLY | O_CLOEXEC);   /* not the owner */
    if (fd < 0) return NULL;
    unsigned char len[8];
    struct stat st;
    char *json = NULL;
    if (pread(fd, len, 8, 0) == 8 && fstat(fd, &st) == 0) {
        uint64_t n = 0;
        for (int i = 7; i >= 0; i--) n = (n << 8) | len[i];
        if (n <= MAX_HEADER && st.st_size >= 8 && n <= (uint64_t)st.st_size - 8 && (json = malloc((size_t)n + 1))) {
            if (pread(fd, json, (size_t)n, 8) == (ssize_t)n) json[n] = 0;
            else {
                free(json);
                json = NULL;
            }
        }
    }
    close(fd);
    return json;
}

static bool entry_is_fresh(const char *path)
{
    char *json = read_header(path);
    char fmt[64], source[2 * PATH_MAX + 256];
    bool fresh = json && lens_wc_metadata_value(json, "format", fmt, sizeof fmt) &&
                 !strcmp(fmt, LENS_WEIGHTS_CACHE_FORMAT) &&
                 lens_wc_metadata_value(json, "source", source, sizeof source);
    if (fresh) {
        lens_wc_json_unescape(source);
        fresh = source_holds(source);
    }
    free(json);
    return fresh;
}

/* True when a process holds the entry mapped (a shared lock on it). */
static bool is_mapped(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool mapped = flock(fd, LOCK_EX | LOCK_NB) != 0;
    close(fd);   /* drops the lock */
    return mapped;
}

/* Unlinks path unless a process holds it mapped (a shared lock). */
static bool remove_unless_mapped(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool removed = false;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        /* the name may have been replaced by a new entry since it was opened */
        struct stat a, b;
        removed = fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev &&
                  unlink(path) == 0;
    }
    close(fd);
    return removed;
}

/* "NAME-<16 hex digits>.safetensors", as weights_cache.c names entries. */
static bool is_entry_name(const char *name)
{
    size_t n = strlen(name), ext = strlen(".safetensors");
    if (n < ext + 17 || strcmp(name + n - ext, ".safetensors")) return false;
    const char *hex = name + n - ext - 16;
    if (hex[-1] != '-') return false;
    for (int i = 0; i < 16; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f'))) return false;
    return true;
}

/* A writer's temporary file, "ENTRY.PID.new", that nobody will finish: its
 * process is gone, or it is over a day old. */
static bool is_abandoned_temp(const char *name, const struct stat *st)
{
    size_t n = strlen(name);
    if (n < 5 || strcmp(name + n - 4, ".new")) return false;
    const char *dot = name + n - 4, *p = dot;
    while (p > name && p[-1] >= '0' && p[-1] <= '9') p--;
    if (p == dot || p == name || p[-1] != '.') return false;
    char prefix[NAME_MAX + 1];
    size_t len = (size_t)(p - 1 - name);
    if (len >= sizeof prefix) return false;
    memcpy(prefix, name, len);
    prefix[len] = 0;
    if (!is_entry_name(prefix)) return false;
    long pid = strtol(p, NULL, 10);
    bool gone = pid <= 0 || pid > INT_MAX || (kill((pid_t)pid, 0) && errno == ESRCH);
    return gone || time(NULL) - st->st_mtime > TEMP_MAX_AGE_S;
}

typedef struct kept_entry {
    char name[NAME_MAX + 1];
    struct timespec used;
    uint64_t bytes;
    bool mapped;
} kept_entry;

static int newest_use_first(const void *a, const void *b)
{
    const struct timespec *x = &((const kept_entry *)a)->used, *y = &((const kept_entry *)b)->used;
    if (x->tv_sec != y->tv_sec) return x->tv_sec < y->tv_sec ? 1 : -1;
    return x->tv_nsec < y->tv_nsec ? 1 : x->tv_nsec > y->tv_nsec ? -1 : 0;
}

int lens_weights_cache_collect(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    kept_entry *kept = NULL;
    size_t n_kept = 0, cap_kept = 0;
    int removed = 0;
    struct dirent *e;
    char path[PATH_MAX + NAME_MAX + 2];
    while ((e = readdir(d))) {
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path) continue;
        if (lstat(path, &st) || !S_ISREG(st.st_mode)) continue;
        if (is_abandoned_temp(e->d_name, &st)) {
            removed += unlink(path) == 0;
            continue;
        }
        if (!is_entry_name(e->d_name)) continue;   /* not ours */
        if (!entry_is_fresh(path)) {
            removed += remove_unless_mapped(path);
            continue;
        }
        if (n_kept == cap_kept) {
            size_t grown = cap_kept ? 2 * cap_kept : 16;
            kept_entry *k = grown < SIZE_MAX / sizeof *kept ? realloc(kept, grown * sizeof *kept) : NULL;
            if (!k) continue;   /* out of memory: this entry is simply kept */
            kept = k;
            cap_kept = grown;
        }
        snprintf(kept[n_kept].name, sizeof kept[n_kept].name, "%s", e->d_name);
        kept[n_kept].used = st.st_atim;
        kept[n_kept].bytes = (uint64_t)st.st_size;
        kept[n_kept].mapped = is_mapped(path);
        n_kept++;
    }
    closedir(d);
    if (n_kept) qsort(kept, n_kept, sizeof *kept, newest_use_first);
    /* the mapped entries stay and take their space first; then newest use first */
    uint64_t cap = size_cap(), total = 0;
    for (size_t i = 0; i < n_kept; i++)
        if (kept[i].mapped) total = total + kept[i].bytes >= total ? total + kept[i].bytes : UINT64_MAX;
    for (size_t i = 0; i < n_kept; i++) {
        if (kept[i].mapped) continue;
        if (total + kept[i].bytes <= cap && total + kept[i].bytes >= total) {
            total += kept[i].bytes;
            continue;
        }
        snprintf(path, sizeof path, "%s/%s", dir, kept[i].name);
        if (remove_unless_mapped(path)) removed++;
        else total = total + kept[i].bytes >= total ? total + kept[i].bytes : UINT64_MAX;   /* mapped since */
    }
    free(kept);
    return removed;
}
