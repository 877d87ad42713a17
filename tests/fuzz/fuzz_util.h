/* tests/fuzz/fuzz_util.h — what the libFuzzer targets share: a private temporary
 * directory for inputs that the code under test reads from a path, splitting an
 * input into length-prefixed parts, and the per-input limits for code that runs
 * cells (a small memory limit, and a watchdog that interrupts a cell running
 * longer than a second). */
#ifndef LENS_FUZZ_UTIL_H
#define LENS_FUZZ_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A directory of this process's own (removed by nobody: the OS cleans /tmp).
 * Making it also turns the processed-weights cache off (LENS_CACHE_DIR=none):
 * an input loads its model through the loader itself, and nothing a target
 * does writes outside this directory (with the cache on, each config.json
 * fuzz_config writes made the user's cache entry stale and rewrote 26 MB). */
static inline const char *fuzz_dir(void)
{
    static char dir[64];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/lens-fuzz-XXXXXX");
        if (!mkdtemp(dir)) { perror("mkdtemp"); abort(); }
        setenv("LENS_CACHE_DIR", "none", 1);
    }
    return dir;
}

/* Writes n bytes to <fuzz_dir>/name and returns the path (static buffer per call site). */
static inline const char *fuzz_file(char *path, size_t size, const char *name, const void *data, size_t n)
{
    snprintf(path, size, "%s/%s", fuzz_dir(), name);
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); abort(); }
    if (n && fwrite(data, 1, n, f) != n) abort();
    fclose(f);
    return path;
}

/* A NUL-terminated copy. */
static inline char *fuzz_cstr(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    if (!s) abort();
    memcpy(s, data, n);
    s[n] = 0;
    return s;
}

/* Takes a part: 2-byte little-endian length, then that many bytes (or what is left). */
static inline size_t fuzz_take(const uint8_t **data, size_t *size, const uint8_t **part)
{
    if (*size < 2) { *part = *data; size_t n = *size; *data += n; *size = 0; return n; }
    size_t n = (size_t)(*data)[0] | (size_t)(*data)[1] << 8;
    *data += 2; *size -= 2;
    if (n > *size) n = *size;
    *part = *data;
    *data += n; *size -= n;
    return n;
}

/* ---- per-input time limit for cells ---- */

void lang_interrupt(void);

static _Atomic int64_t fuzz_deadline_ms;   /* 0: no input running */

static inline int64_t fuzz_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *fuzz_watchdog(void *arg)
{
    (void)arg;
    for (;;) {
        usleep(50 * 1000);
        int64_t d = atomic_load(&fuzz_deadline_ms);
        if (d && fuzz_now_ms() > d) lang_interrupt();
    }
    return NULL;
}

static void fuzz_start_watchdog(void)
{
    pthread_t th;
    if (pthread_create(&th, NULL, fuzz_watchdog, NULL) == 0) pthread_detach(th);
}

/* Each input that runs cells calls fuzz_arm(ms) before and fuzz_disarm() after; a
 * cell still running after ms milliseconds is interrupted (KeyboardInterrupt). */
static inline void fuzz_arm(int64_t ms)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fuzz_start_watchdog);
    atomic_store(&fuzz_deadline_ms, fuzz_now_ms() + ms);
}

static inline void fuzz_disarm(void) { atomic_store(&fuzz_deadline_ms, 0); }

#endif
