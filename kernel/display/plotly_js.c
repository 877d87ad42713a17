/* kernel/display/plotly_js.c — finds plotly.js for the HTML fallback of
 * figures and caches it for the life of the process.
 *
 * Order: LENS_PLOTLY_JS (an http(s) URL, used as <script src>, or a file,
 * inlined); else plotly/package_data/plotly.min.js of a plotly Python package
 * in $VIRTUAL_ENV or the .venv of the project the binary sits in (found by
 * walking up from its directory); else PREFIX/share/lens/plotly.min.js beside
 * an installed PREFIX/bin/lens (make install copies it there); else the
 * package in ./.venv, ~/.local, /usr/local or /usr/lib/python3. Nothing is
 * run: the candidates are only looked at.
 *
 * Also owns the once-per-session rule for the inlined library (as plotly.py's
 * notebook renderer does with connected=False): the first figure's HTML of a
 * kernel process carries plotly.js, later figures draw with the page's copy.
 * When the cell whose output carried it runs again (its outputs are cleared),
 * that run carries it again. Does not own the HTML around it (figure_html.c). */
#include "figure.h"
#include "lens/file.h"

#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PLOTLY_REL "plotly/package_data/plotly.min.js"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static bool looked;
static char *code;
static size_t code_len;
static char *url;
static char path_used[PATH_MAX];
/* once per session: whether the inline library went out, in which cell */
static bool inline_sent;
static char sent_cell[128];
static char current_cell[128];

static bool try_file(const char *path)
{
    size_t n = 0;
    char *s = lens_read_file(path, "plotly.js", &n, NULL);
    if (!s) return false;
    code = s;
    code_len = n;
    snprintf(path_used, sizeof path_used, "%s", path);
    return true;
}

/* prefix/lib/python3.*\/site-packages/plotly/... for each match. */
static bool try_prefix(const char *prefix)
{
    if (!prefix || !*prefix) return false;
    char pattern[PATH_MAX];
    if (snprintf(pattern, sizeof pattern, "%s/lib/python3*/site-packages/" PLOTLY_REL, prefix) >=
        (int)sizeof pattern)
        return false;
    glob_t g;
    bool ok = false;
    if (glob(pattern, 0, NULL, &g) == 0) {
        for (size_t i = g.gl_pathc; i-- > 0 && !ok;) ok = try_file(g.gl_pathv[i]);
        globfree(&g);
    }
    return ok;
}

static void look(void)
{
    const char *env = getenv("LENS_PLOTLY_JS");
    if (env && *env) {
        if (strncmp(env, "http://", 7) == 0 || strncmp(env, "https://", 8) == 0) {
            url = strdup(env);
            return;
        }
        try_file(env);
        return;
    }
    if (try_prefix(getenv("VIRTUAL_ENV"))) return;
    /* The project's .venv beside the binary: build/lens, build/tests/x and
     * build/san/tests/x all sit a few directories below the repository. */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char installed[PATH_MAX + 32] = "";
        for (int up = 0; up < 4; up++) {
            char *slash = strrchr(exe, '/');
            if (!slash || slash == exe) break;
            *slash = '\0';
            if (up == 1)   /* exe is PREFIX for PREFIX/bin/lens */
                snprintf(installed, sizeof installed, "%s/share/lens/plotly.min.js", exe);
            char venv[PATH_MAX];
            if (snprintf(venv, sizeof venv, "%s/.venv", exe) < (int)sizeof venv && try_prefix(venv))
                return;
        }
        if (installed[0] && try_file(installed)) return;
    }
    if (try_prefix(".venv")) return;
    const char *home = getenv("HOME");
    if (home) {
        char local[PATH_MAX];
        if (snprintf(local, sizeof local, "%s/.local", home) < (int)sizeof local && try_prefix(local))
            return;
    }
    if (try_prefix("/usr/local")) return;
    if (try_file("/usr/lib/python3/dist-packages/" PLOTLY_REL)) return;
    try_file("/usr/share/javascript/plotly/plotly.min.js");
}

int display_plotly_js_source(const char **code_out, size_t *len_out, const char **url_out)
{
    pthread_mutex_lock(&lock);
    if (!looked) {
        look();
        looked = true;
    }
    int rc = -1;
    if (code_out) *code_out = NULL;
    if (len_out) *len_out = 0;
    if (url_out) *url_out = NULL;
    if (code) {
        if (code_out) *code_out = code;
        if (len_out) *len_out = code_len;
        rc = 0;
    } else if (url) {
        if (url_out) *url_out = url;
        rc = 0;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

const char *display_plotly_js_path(void) { return path_used; }

void display_plotly_js_reset(void)
{
    pthread_mutex_lock(&lock);
    free(code);
    free(url);
    code = url = NULL;
    code_len = 0;
    path_used[0] = '\0';
    looked = false;
    inline_sent = false;
    sent_cell[0] = current_cell[0] = '\0';
    pthread_mutex_unlock(&lock);
}

bool display_plotly_js_claim_inline(void)
{
    pthread_mutex_lock(&lock);
    bool first = !inline_sent;
    if (first) {
        inline_sent = true;
        snprintf(sent_cell, sizeof sent_cell, "%s", current_cell);
    }
    pthread_mutex_unlock(&lock);
    return first;
}

void display_plotly_js_cell_started(const char *cell_id)
{
    pthread_mutex_lock(&lock);
    snprintf(current_cell, sizeof current_cell, "%s", cell_id ? cell_id : "");
    /* the frontend clears this cell's outputs, the copy of plotly.js with them */
    if (inline_sent && sent_cell[0] && strcmp(sent_cell, current_cell) == 0) inline_sent = false;
    pthread_mutex_unlock(&lock);
}
