/* lens/file.h — reading a whole file, with an error that names it. */
#ifndef LENS_FILE_H
#define LENS_FILE_H

#include <stddef.h>

#include "lens/error.h"

/* Reads a regular file into a malloc'd NUL-terminated buffer and sets *len. On
 * failure returns NULL with err (may be NULL) saying "cannot open <what> '<path>': ...". */
char *lens_read_file(const char *path, const char *what, size_t *len, lens_error *err);

#endif
