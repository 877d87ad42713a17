/* weights_cache_internal.h — what the processed-weights cache's two files share:
 * weights_cache.c (writing, checking and mapping entries) and
 * weights_cache_collect.c (removing stale and least-recently-used entries). */
#ifndef LENS_WEIGHTS_CACHE_INTERNAL_H
#define LENS_WEIGHTS_CACHE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#define LENS_WEIGHTS_CACHE_FORMAT "lens-processed-weights-1"

/* "realpath|size|mtime|inode|device" of a file, or false when it cannot be read. */
bool lens_wc_file_identity(const char *path, char *out, size_t size);
/* The value of key in an entry's metadata (a JSON object of strings), still
 * escaped; false when absent or longer than size. */
bool lens_wc_metadata_value(const char *json, const char *key, char *out, size_t size);
void lens_wc_json_unescape(char *s);

/* Removes from the cache folder: entries whose source files are gone or changed,
 * entries of another format or that cannot be read, writers' temporary files left
 * behind, and then the least recently used entries while the folder holds more
 * than the size cap ($LENS_CACHE_MAX_MB, default 10240). Never an entry that a
 * process has mapped (each mapping holds a shared lock on its entry). Best
 * effort: errors leave files in place. Returns how many files it removed. */
int lens_weights_cache_collect(const char *dir);

#endif
