/* file.c — lens_read_file (see lens/file.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lens/file.h"

/* Reads a whole file into a malloc'd NUL-terminated buffer. */
char *lens_read_file(const char *path, const char *what, size_t *len, lens_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        lens_fail(err, "cannot open %s '%s': %s", what, path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        lens_fail(err, "cannot read %s '%s': not a regular file", what, path);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        fclose(f);
        lens_fail(err, "out of memory reading %s '%s'", what, path);
        return NULL;
    }
    size_t got = fread(buf, 1, (size_t)st.st_size, f);
    int failed = ferror(f);
    fclose(f);
    if (failed || got != (size_t)st.st_size) {
        free(buf);
        lens_fail(err, "cannot read %s '%s': read error", what, path);
        return NULL;
    }
    buf[got] = 0;
    *len = got;
    return buf;
}
