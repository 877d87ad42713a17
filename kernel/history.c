/* kernel/history.c — in-memory input history and the history_request queries.
 *
 * Owns: the list of (line, input, output) of this process, and tail / range /
 * search selection. search matches the whole input against a glob pattern
 * (fnmatch), like IPython's history search.
 */
#include "history.h"

#include <fnmatch.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    int line;
    char *input;
    char *output; /* NULL when the execution had no result */
};

struct history {
    struct entry *e;
    int n, cap;
};

history *history_new(void) { return calloc(1, sizeof(history)); }

void history_free(history *h)
{
    if (!h) return;
    for (int i = 0; i < h->n; i++) {
        free(h->e[i].input);
        free(h->e[i].output);
    }
    free(h->e);
    free(h);
}

void history_add(history *h, int line, const char *input)
{
    if (h->n == h->cap) {
        int cap = h->cap ? h->cap * 2 : 64;
        struct entry *ne = realloc(h->e, cap * sizeof *ne);
        if (!ne) return; /* history is best effort */
        h->e = ne;
        h->cap = cap;
    }
    char *copy = strdup(input ? input : "");
    if (!copy) return;
    h->e[h->n++] = (struct entry){line, copy, NULL};
}

void history_set_output(history *h, int line, const char *output)
{
    for (int i = h->n - 1; i >= 0; i--)
        if (h->e[i].line == line) {
            free(h->e[i].output);
            h->e[i].output = output ? strdup(output) : NULL;
            return;
        }
}

static cJSON *entry_json(const struct entry *e, bool output)
{
    cJSON *a = cJSON_CreateArray();
    cJSON_AddItemToArray(a, cJSON_CreateNumber(HISTORY_SESSION));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(e->line));
    if (output) {
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(pair, cJSON_CreateString(e->input));
        cJSON_AddItemToArray(pair, e->output ? cJSON_CreateString(e->output) : cJSON_CreateNull());
        cJSON_AddItemToArray(a, pair);
    } else {
        cJSON_AddItemToArray(a, cJSON_CreateString(e->input));
    }
    return a;
}

static int get_int(const cJSON *req, const char *name, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);
    return cJSON_IsNumber(v) ? v->valueint : dflt;
}

cJSON *history_query(const history *h, const cJSON *req)
{
    cJSON *out = cJSON_CreateArray();
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "hist_access_type");
    const char *kind = cJSON_IsString(t) ? t->valuestring : "";
    bool output = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "output"));
    /* selected[i]: entry i goes into the reply */
    bool *sel = calloc(h->n ? h->n : 1, sizeof *sel);
    if (!sel) return out;

    if (!strcmp(kind, "tail")) {
        int n = get_int(req, "n", 10);
        for (int i = h->n - 1, k = 0; i >= 0 && k < n; i--, k++) sel[i] = true;
    } else if (!strcmp(kind, "range")) {
        /* session 0 or negative means this session (counted back from it) */
        int session = get_int(req, "session", 0);
        if (session == HISTORY_SESSION || session <= 0) {
            int start = get_int(req, "start", 0), stop = get_int(req, "stop", -1);
            for (int i = 0; i < h->n; i++)
                sel[i] = h->e[i].line >= start && (stop < 0 || h->e[i].line < stop);
        }
    } else if (!strcmp(kind, "search")) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(req, "pattern");
        const char *pattern = cJSON_IsString(p) && p->valuestring[0] ? p->valuestring : "*";
        bool unique = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(req, "unique"));
        int n = get_int(req, "n", 0); /* 0: all matches */
        int k = 0;
        for (int i = h->n - 1; i >= 0 && (n <= 0 || k < n); i--) {
            if (fnmatch(pattern, h->e[i].input, 0) != 0) continue;
            bool dup = false;
            for (int j = i + 1; unique && j < h->n && !dup; j++)
                dup = sel[j] && !strcmp(h->e[j].input, h->e[i].input);
            if (dup) continue;
            sel[i] = true;
            k++;
        }
    }
    for (int i = 0; i < h->n; i++)
        if (sel[i]) cJSON_AddItemToArray(out, entry_json(&h->e[i], output));
    free(sel);
    return out;
}
