/* kernel/stream.h — coalescing of stdout/stderr text into few stream messages.
 *
 * A loop of prints must not flood IOPub: text is buffered and handed to the
 * flush callback at most every `interval_ms` (a background thread flushes a
 * buffer that has waited that long), when it grows past `max_bytes`, when the
 * stream name changes, and whenever the owner calls stream_buf_flush (before
 * any other output, and at the end of a cell).
 */
#ifndef LENS_STREAM_H
#define LENS_STREAM_H

#include <stddef.h>

/* Called with the stream buffer's lock held; text is NUL-terminated. */
typedef void (*stream_flush_fn)(void *ctx, const char *name, const char *text);

typedef struct stream_buf stream_buf;

/* Starts the background flusher thread. Returns NULL when out of resources. */
stream_buf *stream_buf_new(stream_flush_fn flush, void *ctx, int interval_ms, size_t max_bytes);

/* Stops the thread (flushing what is left) and frees. */
void stream_buf_free(stream_buf *s);

/* name is "stdout" or "stderr". */
void stream_buf_write(stream_buf *s, const char *name, const char *text);

void stream_buf_flush(stream_buf *s);

#endif
