/* kernel/cmd_run.c — `lens run FILE.lens` / `lens run -`: runs a whole program
 * with the notebook's interpreter, statement by statement. Each top-level
 * expression statement's value is printed (its text/plain, like a cell's
 * result), print() goes to stdout; an error prints its traceback to stderr,
 * located as `File "NAME", line N, column C` (NAME: the file, or <stdin>),
 * and the exit status is 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "lang/lang.h"
#include "lang/lang_internal.h"

static void on_stream(void *ctx, const char *name, const char *text)
{
    (void)ctx;
    FILE *f = !strcmp(name, "stderr") ? stderr : stdout;
    fputs(text, f);
    fflush(f);
}

static void on_display(void *ctx, const cJSON *bundle, const char *display_id, bool update)
{
    (void)ctx; (void)display_id; (void)update;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(bundle, "text/plain");
    if (cJSON_IsString(t)) printf("%s\n", t->valuestring);
}

static void on_page(void *ctx, const cJSON *bundle)
{
    on_display(ctx, bundle, NULL, false);
}

static char *on_input(void *ctx, const char *prompt, bool password)
{
    (void)ctx; (void)password;
    fputs(prompt, stdout);
    fflush(stdout);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) { free(line); return NULL; }
    if (n && line[n - 1] == '\n') line[n - 1] = 0;
    return line;
}

static void show(void *ctx, const cJSON *bundle) { on_display(ctx, bundle, NULL, false); }

static char *read_all(FILE *f)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0) {
            char *b = realloc(buf, cap * 2);
            if (!b) { free(buf); return NULL; }
            buf = b;
            cap *= 2;
        }
    }
    buf[n] = 0;
    if (strlen(buf) != n) { free(buf); return NULL; }   /* NUL bytes: not a text program */
    return buf;
}

int cmd_run(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: lens run FILE.lens   (or - to read the program from stdin)\n");
        return 2;
    }
    FILE *f = strcmp(argv[1], "-") ? fopen(argv[1], "rb") : stdin;
    if (!f) { perror(argv[1]); return 2; }
    char *code = read_all(f);
    if (f != stdin) fclose(f);
    if (!code) { fprintf(stderr, "lens run: cannot read %s as text\n", argv[1]); return 2; }
    lang_session *s = lang_session_new();
    if (!s) { free(code); fprintf(stderr, "lens run: out of memory\n"); return 2; }
    lang_output out = {NULL, on_stream, on_display, NULL, on_input, on_page};
    lang_error err;
    memset(&err, 0, sizeof err);
    int rc = lang_run_program(s, code, &out, show, NULL, &err);
    fflush(stdout);
    if (rc) {
        const char *file = strcmp(argv[1], "-") ? argv[1] : "<stdin>";
        for (int i = 0; i < err.n_traceback; i++) {
            int line, col, used = 0;
            /* the session says where in its "cell"; here the cell is the file. What
             * follows the position (", in outer", a note on an earlier cell) stays. */
            if (sscanf(err.traceback[i], "  Cell line %d, column %d%n", &line, &col, &used) == 2 && used > 0)
                fprintf(stderr, "  File \"%s\", line %d, column %d%s\n", file, line, col, err.traceback[i] + used);
            else
                fprintf(stderr, "%s\n", err.traceback[i]);
        }
        lang_error_clear(&err);
    }
    lang_session_free(s);
    free(code);
    return rc ? 1 : 0;
}
