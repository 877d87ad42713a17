/* kernel/stream.c — buffers stream text and flushes it on time, size or demand.
 *
 * Owns: one text buffer with its stream name, a mutex, and a flusher thread
 * that sleeps on a condition variable until the oldest buffered text is
 * interval_ms old. Knows nothing of messages: the callback publishes.
 */
#include "stream.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct stream_buf {
    stream_flush_fn flush;
    void *ctx;
    int interval_ms;
    size_t max_bytes;

    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool stop;

    char name[8];
    char *text;
    size_t len, cap;
    struct timespec since; /* when the oldest buffered text arrived (CLOCK_MONOTONIC) */
};

static void flush_locked(stream_buf *s)
{
    if (!s->len) return;
    s->text[s->len] = 0;
    s->flush(s->ctx, s->name, s->text);
    s->len = 0;
}

static struct timespec deadline_of(const stream_buf *s)
{
    struct timespec d = s->since;
    d.tv_nsec += (long)s->interval_ms * 1000000L;
    d.tv_sec += d.tv_nsec / 1000000000L;
    d.tv_nsec %= 1000000000L;
    return d;
}

static bool reached(struct timespec d)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > d.tv_sec || (now.tv_sec == d.tv_sec && now.tv_nsec >= d.tv_nsec);
}

static void *flusher(void *arg)
{
    stream_buf *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->stop) {
        if (!s->len) {
            pthread_cond_wait(&s->cond, &s->lock);
            continue;
        }
        struct timespec d = deadline_of(s);
        if (reached(d)) {
            flush_locked(s);
            continue;
        }
        pthread_cond_timedwait(&s->cond, &s->lock, &d);
    }
    flush_locked(s);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

stream_buf *stream_buf_new(stream_flush_fn flush, void *ctx, int interval_ms, size_t max_bytes)
{
    stream_buf *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->flush = flush;
    s->ctx = ctx;
    s->interval_ms = interval_ms;
    s->max_bytes = max_bytes;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->thread, NULL, flusher, s)) {
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    return s;
}

void stream_buf_free(stream_buf *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cond);
    pthread_mutex_destroy(&s->lock);
    free(s->text);
    free(s);
}

void stream_buf_write(stream_buf *s, const char *name, const char *text)
{
    size_t n = strlen(text);
    if (!n) return;
    pthread_mutex_lock(&s->lock);
    if (s->len && (strcmp(s->name, name) || s->len + n > s->max_bytes)) flush_locked(s);
    if (s->len + n + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n + 1) cap *= 2;
        char *nt = realloc(s->text, cap);
        if (!nt) { /* cannot buffer: send what we have, then this text alone */
            flush_locked(s);
            s->flush(s->ctx, name, text);
            pthread_mutex_unlock(&s->lock);
            return;
        }
        s->text = nt;
        s->cap = cap;
    }
    bool was_empty = s->len == 0;
    snprintf(s->name, sizeof s->name, "%s", name);
    memcpy(s->text + s->len, text, n);
    s->len += n;
    if (s->len >= s->max_bytes) {
        flush_locked(s);
    } else if (was_empty) {
        clock_gettime(CLOCK_MONOTONIC, &s->since);
        pthread_cond_signal(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
}

void stream_buf_flush(stream_buf *s)
{
    pthread_mutex_lock(&s->lock);
    flush_locked(s);
    pthread_mutex_unlock(&s->lock);
}
