/* lens/file.h — reading a whole file, and replacing a file safely.
 *
 * Owns: how lens touches paths a cell names. Reading takes regular files only.
 * Writing (save, save_html, every other writer) goes through lens_write_file:
 * the bytes go to a fresh temporary file created exclusively (O_EXCL, a random
 * name, mode 0644) in the target's directory, which is then renamed over the
 * target, so a reader never sees half a file and nothing is written through a
 * path someone else prepared. The target may be missing or a regular file; a
 * symbolic link, fifo, device, socket or directory there is refused (and left
 * untouched). Does not own: what is written (the callers' formats).
 *
 *     static int put(FILE *f, void *ctx, lens_error *e) { (void)e; return fputs(ctx, f) < 0 ? -1 : 0; }
 *     if (lens_write_file("out.html", "HTML file", put, "<p>hi</p>", &err)) ...
 */
#ifndef LENS_FILE_H
#define LENS_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "lens/error.h"

/* Reads a regular file into a malloc'd NUL-terminated buffer and sets *len. On
 * failure returns NULL with err (may be NULL) saying "cannot open <what> '<path>': ...".
 * Error messages never contain the file's bytes. */
char *lens_read_file(const char *path, const char *what, size_t *len, lens_error *err);

/* Replaces path with what write(f, ctx, e) produces (see above). write returns 0, or
 * -1 after filling e or with errno set. On any failure the target is as it was and
 * the temporary file is gone. what names the file in messages ("HTML file"). */
int lens_write_file(const char *path, const char *what,
                    int (*write)(FILE *f, void *ctx, lens_error *err), void *ctx, lens_error *err);

#endif
