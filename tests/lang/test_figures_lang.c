/* tests/lang/test_figures_lang.c — figures, attention displays and progress
 * as the language produces them: cells run through lang_execute with an output
 * that records every display, then the bundles are checked (structure, values,
 * axis orientation, labels, hover names, exactly one display per call, HTML
 * escaping of hostile tokens), and bad arguments give clear errors that keep
 * the session's variables. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "lang.h"
#include "lang_internal.h"
#include "rich.h"

#define PLOTLY "application/vnd.plotly.v1+json"
#define MODEL "tests/fixtures/tiny-gpt2"

typedef struct rec {
    cJSON *bundles[64];
    char *ids[64];
    bool update[64];
    int n;
} rec;

static void rec_clear(rec *r)
{
    for (int i = 0; i < r->n; i++) { cJSON_Delete(r->bundles[i]); free(r->ids[i]); }
    r->n = 0;
}

static void rec_display(void *ctx, const cJSON *bundle, const char *id, bool update)
{
    rec *r = ctx;
    if (r->n == 64) return;
    r->bundles[r->n] = cJSON_Duplicate(bundle, 1);
    r->ids[r->n] = id ? strdup(id) : NULL;
    r->update[r->n++] = update;
}

static lang_session *S;
static rec R;
static cJSON *RESULT;
static lang_error ERR;

/* Runs a cell with a fresh record; returns 0 or -1 (ERR holds the error). */
static int run(const char *code)
{
    rec_clear(&R);
    cJSON_Delete(RESULT);
    RESULT = NULL;
    lang_error_clear(&ERR);
    lang_output out = {&R, NULL, rec_display, NULL, NULL, NULL};
    int rc = lang_execute(S, code, &out, &RESULT, &ERR);
    if (rc && getenv("HARNESS_VERBOSE")) fprintf(stderr, "    (cell error %s: %s)\n", ERR.ename, ERR.evalue);
    return rc;
}

static const char *result_text(void)
{
    const cJSON *t = cJSON_GetObjectItem(RESULT, "text/plain");
    return cJSON_IsString(t) ? t->valuestring : "";
}

static const cJSON *fig_of(int i) { return cJSON_GetObjectItem(R.bundles[i], PLOTLY); }
static const cJSON *at(const cJSON *o, const char *path)
{
    /* "layout.xaxis.title.text" or "data.0.y" */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok(buf, "."); tok && o; tok = strtok(NULL, "."))
        o = (tok[0] >= '0' && tok[0] <= '9') ? cJSON_GetArrayItem(o, atoi(tok)) : cJSON_GetObjectItem(o, tok);
    return o;
}
static const char *str_at(const cJSON *o, const char *path)
{
    const cJSON *s = at(o, path);
    return cJSON_IsString(s) ? s->valuestring : "";
}
static double num_at(const cJSON *o, const char *path)
{
    const cJSON *s = at(o, path);
    return cJSON_IsNumber(s) ? s->valuedouble : -12345;
}

static void test_line_bundle(void)
{
    CHECK(run("line([1, 2, 3], x=[0, 0.5, 1], hover_name=['a', 'b', '<c>'], title='T', labels={'x': 'X', 'y': 'Y'})") == 0);
    CHECK(R.n == 1, "%d displays", R.n);
    CHECK(RESULT == NULL, "a figure call as the last line is displayed once, not also as a result");
    const cJSON *f = fig_of(0);
    CHECK(f, "no plotly mime");
    CHECK(cJSON_GetObjectItem(R.bundles[0], "text/html") && cJSON_GetObjectItem(R.bundles[0], "text/plain"));
    CHECK(!strcmp(str_at(R.bundles[0], "text/plain"), "Figure: line, 3 points 'T'"), "%s", str_at(R.bundles[0], "text/plain"));
    CHECK(!strcmp(str_at(f, "data.0.type"), "scatter") && strstr(str_at(f, "data.0.mode"), "lines"));
    CHECK(num_at(f, "data.0.y.2") == 3 && num_at(f, "data.0.x.1") == 0.5);
    CHECK(!strcmp(str_at(f, "data.0.hovertext.2"), "<c>"));
    CHECK(strstr(str_at(f, "data.0.hovertemplate"), "%{hovertext}") != NULL);
    CHECK(!strcmp(str_at(f, "layout.title.text"), "T"));
    CHECK(!strcmp(str_at(f, "layout.xaxis.title.text"), "X") && !strcmp(str_at(f, "layout.yaxis.title.text"), "Y"));

    /* tensors, several lines, category x */
    CHECK(run("line(arange(6).reshape(2, 3) * 1.5, names=['clean', 'patched'])") == 0);
    f = fig_of(0);
    CHECK(R.n == 1 && cJSON_GetArraySize(at(f, "data")) == 2);
    CHECK(num_at(f, "data.1.y.0") == 4.5 && !strcmp(str_at(f, "data.1.name"), "patched"));
    CHECK(run("line([3, 1], x=['embed', '0_pre'])") == 0);
    f = fig_of(0);
    CHECK(!strcmp(str_at(f, "data.0.x.1"), "0_pre") && !strcmp(str_at(f, "layout.xaxis.type"), "category"));
}

static void test_display_rule(void)
{
    /* assignment: shown once, kept in the variable */
    CHECK(run("fig = imshow([[1, -2], [3, 4]], title='h')") == 0);
    CHECK(R.n == 1 && RESULT == NULL);
    /* a later cell: the variable as the last expression is the result */
    CHECK(run("fig") == 0);
    CHECK(R.n == 0 && RESULT && cJSON_GetObjectItem(RESULT, PLOTLY), "displays %d", R.n);
    CHECK(!strcmp(result_text(), "Figure: heatmap 2×2 'h'"), "%s", result_text());
    /* fig.show() displays it again */
    CHECK(run("fig.show()") == 0);
    CHECK(R.n == 1 && RESULT == NULL);
    /* not the last statement: still shown, once */
    CHECK(run("bar([1, 2])\nx = 1") == 0);
    CHECK(R.n == 1 && fig_of(0));
    /* several figures in one cell, the last one also the last expression */
    CHECK(run("a = line([1, 2])\nb = scatter([1, 2], [3, 4])\nb") == 0);
    CHECK(R.n == 2 && RESULT == NULL, "%d displays", R.n);
    /* show=False only returns the figure */
    CHECK(run("g = line([1, 2], show=False)") == 0);
    CHECK(R.n == 0);
    CHECK(run("g") == 0);
    CHECK(R.n == 0 && RESULT && cJSON_GetObjectItem(RESULT, PLOTLY));
    CHECK(run("type(g)") == 0 && strstr(result_text(), "Figure"), "%s", result_text());
}

static void test_imshow_bundle(void)
{
    CHECK(run("imshow(tensor([[1.0, 2.0, 3.0], [-4.0, 5.0, 6.0]]), labels={'x': 'Head', 'y': 'Layer'}, "
              "x=['H0', 'H1', 'H2'], y=['L0', 'L1'], title='Heads')") == 0);
    const cJSON *f = fig_of(0);
    CHECK(R.n == 1 && f);
    CHECK(!strcmp(str_at(f, "data.0.type"), "heatmap"));
    CHECK(num_at(f, "data.0.z.0.2") == 3 && num_at(f, "data.0.z.1.0") == -4, "first row first");
    CHECK(!strcmp(str_at(f, "layout.yaxis.autorange"), "reversed"), "row 0 at the top");
    CHECK(!strcmp(str_at(f, "data.0.x.1"), "H1") && !strcmp(str_at(f, "data.0.y.1"), "L1"));
    CHECK(!strcmp(str_at(f, "layout.xaxis.title.text"), "Head") && !strcmp(str_at(f, "layout.yaxis.title.text"), "Layer"));
    CHECK(num_at(f, "layout.coloraxis.cmid") == 0 && num_at(f, "layout.coloraxis.cmax") == 6 && num_at(f, "layout.coloraxis.cmin") == -6);
    CHECK(!strcmp(str_at(f, "layout.coloraxis.colorscale.0.1"), "rgb(103,0,31)"), "RdBu starts red");
    CHECK(run("imshow([[1, 2]], zmin=-1, zmax=3, color_continuous_midpoint=0.0, color_continuous_scale='RdBu')") == 0);
    f = fig_of(0);
    CHECK(num_at(f, "layout.coloraxis.cmin") == -1 && num_at(f, "layout.coloraxis.cmax") == 3);
}

static void test_scatter_bar(void)
{
    CHECK(run("scatter(arange(3), tensor([4.0, 5.0, 6.0]), color=[0.1, 0.2, 0.3], hover_name=['p', 'q', 'r'], "
              "xaxis='clean', yaxis='patched', caxis='layer', title='S')") == 0);
    const cJSON *f = fig_of(0);
    CHECK(R.n == 1 && f);
    CHECK(!strcmp(str_at(f, "data.0.mode"), "markers") && num_at(f, "data.0.y.1") == 5 && num_at(f, "data.0.x.2") == 2);
    CHECK(!strcmp(str_at(f, "layout.xaxis.title.text"), "clean") && !strcmp(str_at(f, "layout.yaxis.title.text"), "patched"));
    CHECK(!strcmp(str_at(f, "layout.coloraxis.colorbar.title.text"), "layer"));
    CHECK(!strcmp(str_at(f, "data.0.hovertext.0"), "p"));
    CHECK(run("bar([1.0, -2.0, 3.0], x=['embed', 'L0', 'L1'], title='B')") == 0);
    f = fig_of(0);
    CHECK(R.n == 1 && !strcmp(str_at(f, "data.0.type"), "bar") && !strcmp(str_at(f, "data.0.x.2"), "L1"));
    CHECK(num_at(f, "data.0.y.1") == -2);
}

static void expect_error(const char *code, const char *ename, const char *words)
{
    CHECK(run(code) == -1, "%s: no error", code);
    CHECK(!strcmp(ERR.ename, ename), "%s: %s instead of %s", code, ERR.ename, ename);
    CHECK(ERR.evalue && strstr(ERR.evalue, words), "%s: message '%s' lacks '%s'", code, ERR.evalue, words);
}

static void test_errors_keep_state(void)
{
    CHECK(run("kept = 41") == 0);
    expect_error("kept = 42\nimshow([1, 2, 3])", "ValueError", "2-d");
    expect_error("imshow(zeros(2, 2, 2))", "ValueError", "2-d");
    expect_error("line([[[1]]])", "ValueError", "1-d or 2-d");
    expect_error("line([1, 2], hover_name=['a'])", "ValueError", "1 hover names for 2");
    expect_error("line([1, 2], x=[1, 2, 3])", "ValueError", "3 x values for 2 points");
    expect_error("line([1, 2], labels='x')", "TypeError", "labels as a dict");
    expect_error("line([1, 2], bogus=1)", "TypeError", "bogus");
    expect_error("line([])", "ValueError", "empty");
    expect_error("scatter([1, 2], [1])", "ValueError", "2 x values and 1 y values");
    expect_error("imshow([[1, 2]], x=['a'])", "ValueError", "1 x labels for 2");
    expect_error("imshow([[1, 2]], color_continuous_scale='Viridis')", "ValueError", "RdBu");
    expect_error("imshow([[0, 0]], zmin=1, zmax=1)", "ValueError", "colour range");
    expect_error("save_html(3, '/tmp/x.html')", "TypeError", "figure");
    expect_error("save_html(line([1], show=False), '/nonexistent-dir/x.html')", "OSError", "nonexistent");
    CHECK(run("kept") == 0 && !strcmp(result_text(), "42"), "%s", result_text());
    CHECK(R.n == 0, "a failed figure call displays nothing");
}

/* ---- with a model ------------------------------------------------------------ */

static cJSON *attention_data(const cJSON *bundle)
{
    const char *html = str_at(bundle, "text/html");
    /* the data object follows the script's closing "\n})(" */
    for (const char *p = strstr(html, "\n})("); p; p = strstr(p + 1, "\n})("))
        if (p[4] == '{') return cJSON_ParseWithOpts(p + 4, NULL, 0);
    return NULL;
}

static double cell_number(const char *code)
{
    if (run(code)) return -999;
    return atof(result_text());
}

static void test_progress_on_load(void)
{
    CHECK(run("model = load('" MODEL "')") == 0);
    CHECK(R.n == 2, "%d displays", R.n);
    if (R.n != 2) return;
    CHECK(R.ids[0] && R.ids[1] && !strcmp(R.ids[0], R.ids[1]), "one display id");
    CHECK(!R.update[0] && R.update[1], "display, then update_display_data");
    CHECK(strstr(str_at(R.bundles[0], "text/plain"), "loading") != NULL);
    CHECK(strstr(str_at(R.bundles[1], "text/plain"), "loaded tiny-gpt2: 2 layers") != NULL, "%s", str_at(R.bundles[1], "text/plain"));
    expect_error("load('/nonexistent/model')", "OSError", "nonexistent");
    CHECK(R.n == 2 && R.update[1] && !strcmp(str_at(R.bundles[1], "text/plain"), ""), "the bar is cleared on failure");
}

static void test_progress_throttle(void)
{
    rec_clear(&R);
    lang_output out = {&R, NULL, rec_display, NULL, NULL, NULL};
    interp *I = &S->I;
    I->out = &out;
    lang_progress p = {0};
    for (long i = 0; i <= 100000; i++) lang_progress_update(I, &p, "sweep", i, 100000, NULL);
    lang_progress_end(I, &p, "done <ok>");
    I->out = NULL;
    CHECK(R.n >= 3 && R.n <= 20, "%d updates for 100001 steps", R.n);
    CHECK(!R.update[0] && R.update[R.n - 1]);
    CHECK(!strcmp(str_at(R.bundles[R.n - 2], "text/plain"), "sweep 100000/100000"), "%s", str_at(R.bundles[R.n - 2], "text/plain"));
    CHECK(strstr(str_at(R.bundles[R.n - 1], "text/html"), "done &lt;ok&gt;") != NULL);
    for (int i = 1; i < R.n; i++) CHECK(!strcmp(R.ids[i], R.ids[0]));
    /* a second bar gets its own id */
    char first[64];
    snprintf(first, sizeof first, "%s", R.ids[0]);
    rec_clear(&R);
    I->out = &out;
    lang_progress q = {0};
    lang_progress_update(I, &q, "x", 0, -1, NULL);
    I->out = NULL;
    CHECK(R.n == 1 && strcmp(R.ids[0], first) != 0);
    CHECK(!strcmp(str_at(R.bundles[0], "text/plain"), "x"), "%s", str_at(R.bundles[0], "text/plain"));
}

static void test_attention(void)
{
    CHECK(run("tokens = model.to_tokens(['When John and Mary went to', 'So Mary is a nice person'])\n"
              "logits, cache = model.run_with_cache(tokens)") == 0);
    CHECK(run("(cache.tokens == tokens).all().item() == 1") == 0 && !strcmp(result_text(), "True"), "%s", result_text());
    /* flat indices from topk over [layers * heads], as in the seed */
    CHECK(run("scores = arange(8) * 1.0\ntop = topk(scores, 3).indices\n"
              "attention_patterns(cache, heads=top, tokens=tokens[0], title='Top 3 <heads>')") == 0);
    CHECK(R.n == 1 && RESULT == NULL, "%d displays", R.n);
    const char *plain = str_at(R.bundles[0], "text/plain");
    CHECK(strstr(plain, "3 heads") && strstr(plain, "L1H3, L1H2, L1H1"), "%s", plain);
    const char *html = str_at(R.bundles[0], "text/html");
    CHECK(strstr(html, "Top 3 &lt;heads&gt;") != NULL, "title escaped");
    cJSON *d = attention_data(R.bundles[0]);
    CHECK(d != NULL, "no script data");
    CHECK(!strcmp(str_at(d, "labels.0"), "L1H3") && !strcmp(str_at(d, "tokens.1"), "When"), "%s %s", str_at(d, "labels.0"), str_at(d, "tokens.1"));
    double got = num_at(d, "att.1.5.2");   /* head L1H2, query 5, key 2 */
    cJSON_Delete(d);
    double want = cell_number("cache['pattern', 1][0, 2, 5, 2].item()");
    CHECK(fabs(got - want) < 1e-3, "pattern %g vs cache %g", got, want);

    /* default tokens: the cache's, for `prompt`; pairs and strings */
    CHECK(run("view = attention_patterns(cache, [(0, 1), 'L1H0', '0.3'], prompt=1)") == 0);
    CHECK(R.n == 1);
    d = attention_data(R.bundles[0]);
    CHECK(!strcmp(str_at(d, "labels.0"), "L0H1") && !strcmp(str_at(d, "labels.1"), "L1H0") && !strcmp(str_at(d, "labels.2"), "L0H3"));
    CHECK(!strcmp(str_at(d, "tokens.2"), " Mary"), "%s", str_at(d, "tokens.2"));
    got = num_at(d, "att.0.4.1");
    cJSON_Delete(d);
    want = cell_number("cache['pattern', 0][1, 1, 4, 1].item()");
    CHECK(fabs(got - want) < 1e-3, "pattern %g vs cache %g", got, want);
    CHECK(run("view") == 0 && R.n == 0 && RESULT && cJSON_GetObjectItem(RESULT, "text/html"));
    CHECK(run("attention_patterns(cache, (1, 2))") == 0 && R.n == 1 && strstr(str_at(R.bundles[0], "text/plain"), "L1H2"));

    /* the grid view */
    CHECK(run("attention_heads(cache, heads=[0, 7])") == 0);
    CHECK(R.n == 1 && strstr(str_at(R.bundles[0], "text/plain"), "Attention heads"), "%s", R.n ? str_at(R.bundles[0], "text/plain") : "");

    /* hostile token strings are escaped everywhere in the HTML */
    CHECK(run("attention_patterns(cache, [0], tokens=['<|endoftext|>', '</script><b>x</b>', '\"q\" & \\'a\\'', "
              "'\\n', '<img src=x onerror=alert(1)>', ' caf\\u00e9', ' \\u2028'])") == 0);
    html = R.n ? str_at(R.bundles[0], "text/html") : "";
    CHECK(!strstr(html, "<b>x</b>") && !strstr(html, "<img src") && !strstr(html, "</script><b>"), "raw token markup in the HTML");
    CHECK(strstr(html, "&lt;img src=x") != NULL, "the static fallback shows the token text");
    d = R.n ? attention_data(R.bundles[0]) : NULL;
    CHECK(d && !strcmp(str_at(d, "tokens.1"), "</script><b>x</b>"), "the script data keeps the text exactly");
    cJSON_Delete(d);

    /* save_html of an attention view */
    char path[] = "/tmp/lens-attn-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    char code[256];
    snprintf(code, sizeof code, "view.write_html('%s')", path);
    CHECK(run(code) == 0);
    FILE *f = fopen(path, "r");
    char buf[256] = {0};
    if (f) { CHECK(fread(buf, 1, sizeof buf - 1, f) > 0); fclose(f); }
    CHECK(strstr(buf, "<!DOCTYPE html>") != NULL);
    unlink(path);
}

static void test_attention_errors(void)
{
    CHECK(run("kept = 7") == 0);
    expect_error("kept = 8\nattention_patterns(cache, ['L99H0'])", "ValueError", "'L99H0' is not in the model: it has 2 layers of 4 heads");
    expect_error("attention_patterns(cache, [8])", "ValueError", "8 (a flat index");
    expect_error("attention_patterns(cache, [(0, 4)])", "ValueError", "(0, 4)");
    expect_error("attention_patterns(cache, ['head nine'])", "ValueError", "is not a head");
    expect_error("attention_patterns(cache, [])", "ValueError", "no heads");
    expect_error("attention_patterns(cache, [1.5])", "TypeError", "a head is");
    expect_error("attention_patterns(tokens, [0])", "TypeError", "ActivationCache");
    expect_error("attention_patterns(cache, [0], prompt=2)", "IndexError", "prompt 2");
    expect_error("attention_patterns(cache, [0], tokens=['a', 'b'])", "ValueError", "2 tokens given");
    expect_error("attention_patterns(cache)", "TypeError", "attention_patterns() missing required argument 'heads'");
    CHECK(run("kept") == 0 && !strcmp(result_text(), "8"));
    CHECK(R.n == 0);
}

static void test_save_html_figure(void)
{
    char path[] = "/tmp/lens-fig-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    char code[256];
    snprintf(code, sizeof code, "save_html(line([1, 2], show=False, title='saved'), '%s')", path);
    CHECK(run(code) == 0 && R.n == 0);
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 16);
    if (f && buf) { CHECK(fread(buf, 1, (1 << 16) - 1, f) > 0); fclose(f); }
    CHECK(buf && strstr(buf, "<!DOCTYPE html>") && strstr(buf, "saved"));
    free(buf);
    unlink(path);
}

int main(void)
{
    S = lang_session_new();
    if (!S) return 1;
    RUN(test_line_bundle);
    RUN(test_display_rule);
    RUN(test_imshow_bundle);
    RUN(test_scatter_bar);
    RUN(test_errors_keep_state);
    RUN(test_save_html_figure);
    RUN(test_progress_on_load);
    RUN(test_progress_throttle);
    RUN(test_attention);
    RUN(test_attention_errors);
    rec_clear(&R);
    cJSON_Delete(RESULT);
    lang_error_clear(&ERR);
    lang_session_free(S);
    return harness_summary();
}
