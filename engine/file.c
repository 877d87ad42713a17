/* file.c — lens_read_file and lens_write_file (see lens/file.h).
 * Owns: the checks on paths that cells name (regular files only, no writing
 * through links) and the exclusive temporary file + rename. Does not own the
 * file formats. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
        lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory reading %s '%s'", what, path);
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

static const char *kind_of(mode_t m)
{
    if (S_ISLNK(m)) return "a symbolic link";
    if (S_ISDIR(m)) return "a directory";
    if (S_ISFIFO(m)) return "a fifo";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m) || S_ISBLK(m)) return "a device";
    return "not a regular file";
}

/* The target must be missing or a regular file (lstat: a link is not followed). */
static int check_target(const char *path, const char *what, lens_error *err)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return 0;
        return lens_fail(err, "cannot write %s '%s': %s", what, path, strerror(errno));
    }
    if (S_ISREG(st.st_mode)) return 0;
    return lens_fail(err, "cannot write %s '%s': it is %s; lens only replaces regular files",
                     what, path, kind_of(st.st_mode));
}

int lens_write_file(const char *path, const char *what,
                    int (*write)(FILE *f, void *ctx, lens_error *err), void *ctx, lens_error *err)
{
    if (!path || !*path) return lens_fail(err, "cannot write %s: no file name", what);
    size_t plen = strlen(path);
    if (path[plen - 1] == '/') return lens_fail(err, "cannot write %s '%s': it names a directory", what, path);
    if (check_target(path, what, err)) return -1;
    /* "<dir>/.<name>.XXXXXX" beside the target, so the rename stays on one file system. */
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
    char *tmp = malloc(plen + 16);
    if (!tmp) return lens_fail_kind(err, LENS_ERR_MEMORY, "out of memory writing %s '%s'", what, path);
    snprintf(tmp, plen + 16, "%.*s.%s.XXXXXX", (int)dlen, path, path + dlen);
    int fd = mkstemp(tmp);   /* O_CREAT | O_EXCL, mode 0600, random suffix */
    if (fd < 0) {
        lens_fail(err, "cannot write %s '%s': cannot create a file in its directory: %s",
                  what, path, strerror(errno));
        free(tmp);
        return -1;
    }
    int rc = fchmod(fd, 0644);
    FILE *f = rc == 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        lens_fail(err, "cannot write %s '%s': %s", what, path, strerror(errno));
        close(fd);
        goto fail;
    }
    lens_error inner = {0};
    errno = 0;
    rc = write(f, ctx, &inner);
    int saved = errno;
    if (fclose(f) != 0 && rc == 0) { rc = -1; saved = errno; }
    if (rc) {
        if (inner.msg[0]) lens_fail_kind(err, inner.kind, "cannot write %s '%s': %s", what, path, inner.msg);
        else lens_fail(err, "cannot write %s '%s': %s", what, path, saved ? strerror(saved) : "write failed");
        goto fail;
    }
    /* Checked again just before the rename: a link or fifo planted meanwhile is
     * refused. (rename itself replaces a link, never writes through it.) */
    if (check_target(path, what, err)) goto fail;
    if (rename(tmp, path) != 0) {
        lens_fail(err, "cannot write %s '%s': %s", what, path, strerror(errno));
        goto fail;
    }
    free(tmp);
    return 0;
fail:
    unlink(tmp);
    free(tmp);
    return -1;
}
