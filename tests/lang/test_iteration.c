/* tests/lang/test_iteration.c — for loops and comprehensions walk their
 * iterable item by item (iterate.c): ranges are counted, lists read live,
 * iterators asked for each item; tqdm draws one display at 0 and updates it
 * in place as the loop body finishes each item. */
#include <string.h>

#include "cell_cases.h"

static void test_loops_walk_items_as_they_come(void)
{
    static const cell_case ok[] = {
        {"xs = [1, 2, 3]\nout = []\nfor x in xs:\n    out.append(x)\n    if x == 1:\n        xs.append(4)\nout", "[1, 2, 3, 4]"},
        {"n = 0\nfor i in range(10**12):\n    n += 1\n    if n == 5:\n        break\nn, i", "(5, 4)"},
        {"[(a, b) for a, b in {'x': 1, 'y': 2}.items()], [c for c in 'hé'], [k for k in {'p': 1}]", "([('x', 1), ('y', 2)], ['h', 'é'], ['p'])"},
        {"for q in 5:\n    pass", "ERROR TypeError: 'int' object is not iterable"},
        {"[q for q in None]", "ERROR TypeError: 'NoneType' object is not iterable"},
        {"for i in range(3):\n    pass\nelse:\n    i = -i\ni", "-2"},
        {NULL, NULL}};
    run_cases(ok);
}

typedef struct shown { char id[64]; bool update; char text[256]; } shown;
typedef struct displays { shown d[64]; int n; } displays;

static void on_display(void *ctx, const cJSON *bundle, const char *display_id, bool update)
{
    displays *ds = ctx;
    if (ds->n >= 64) return;
    shown *s = &ds->d[ds->n++];
    snprintf(s->id, sizeof s->id, "%s", display_id ? display_id : "");
    s->update = update;
    const cJSON *t = cJSON_GetObjectItem(bundle, "text/plain");
    snprintf(s->text, sizeof s->text, "%s", cJSON_IsString(t) ? t->valuestring : "");
}

static void on_stream(void *ctx, const char *name, const char *text) { (void)ctx; (void)name; (void)text; }

static int run_with_displays(lang_session *s, const char *code, displays *ds, cJSON **result)
{
    lang_output out = {ds, on_stream, on_display, NULL, NULL, NULL};
    lang_error err = {0};
    ds->n = 0;
    int rc = lang_execute(s, code, &out, result, &err);
    if (rc) fprintf(stderr, "  %s: %s\n", err.ename, err.evalue);
    lang_error_clear(&err);
    return rc;
}

static void test_tqdm_draws_a_bar_and_updates_it_in_place(void)
{
    lang_session *s = lang_session_new();
    displays ds;
    cJSON *r = NULL;
    CHECK(!run_with_displays(s, "from tqdm import tqdm\nseen = []\nfor i in tqdm(range(3), desc='layers'):\n    seen.append(i)", &ds, &r));
    /* shown at 0 when made (display_data), then the final state replaces it
     * (update_display_data, same display id); the updates between are
     * throttled to ten a second, and this loop is faster */
    CHECK(ds.n == 2, "%d displays", ds.n);
    CHECK(!ds.d[0].update && !strcmp(ds.d[0].text, "layers 0/3"), "%d %s", ds.d[0].update, ds.d[0].text);
    CHECK(ds.d[1].update && !strcmp(ds.d[1].text, "layers 3/3"), "%d %s", ds.d[1].update, ds.d[1].text);
    CHECK(ds.d[0].id[0] && !strcmp(ds.d[0].id, ds.d[1].id), "%s %s", ds.d[0].id, ds.d[1].id);
    cJSON_Delete(r);
    r = NULL;
    /* the bar moves while the loop runs: the body sees its count */
    CHECK(!run_with_displays(s, "bar = tqdm([10, 20, 30])\ncounts = []\nfor x in bar:\n    counts.append(bar.n)\ncounts, bar.n, len(bar)", &ds, &r));
    const cJSON *t = r ? cJSON_GetObjectItem(r, "text/plain") : NULL;
    CHECK(cJSON_IsString(t) && !strcmp(t->valuestring, "([0, 1, 2], 3, 3)"), "%s", cJSON_IsString(t) ? t->valuestring : "");
    CHECK(ds.n == 2 && !strcmp(ds.d[0].text, "0/3") && !strcmp(ds.d[1].text, "3/3"), "%d", ds.n);
    cJSON_Delete(r);
    r = NULL;
    /* leave=False clears it; list() drains it; a bar without an iterable moves by update() */
    CHECK(!run_with_displays(s, "xs = list(tqdm(range(4), leave=False))", &ds, &r));
    CHECK(ds.n == 2 && !strcmp(ds.d[0].text, "0/4") && ds.d[1].update && !strcmp(ds.d[1].text, ""), "%d %s", ds.n, ds.n > 1 ? ds.d[1].text : "");
    CHECK(!run_with_displays(s, "with tqdm(total=5, desc='steps') as p:\n    p.update(2)\n    p.update(3)", &ds, &r));
    CHECK(ds.n >= 2 && !strcmp(ds.d[0].text, "steps 0/5") && !strcmp(ds.d[ds.n - 1].text, "steps 5/5"), "%d", ds.n);
    lang_session_free(s);
}

int main(void)
{
    RUN(test_loops_walk_items_as_they_come);
    RUN(test_tqdm_draws_a_bar_and_updates_it_in_place);
    return harness_summary();
}
