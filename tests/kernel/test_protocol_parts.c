/* tests/kernel/test_protocol_parts.c — the connection file, history queries and
 * stream coalescing, each without sockets. */
#include <string.h>
#include <unistd.h>

#include "../harness.h"
#include "connection.h"
#include "history.h"
#include "stream.h"

static const char *good_conn =
    "{\"shell_port\": 5001, \"iopub_port\": 5002, \"stdin_port\": 5003, \"control_port\": 5004,"
    " \"hb_port\": 5005, \"ip\": \"127.0.0.1\", \"key\": \"abc\", \"transport\": \"tcp\","
    " \"signature_scheme\": \"hmac-sha256\", \"kernel_name\": \"lens\"}";

static void test_connection_file_is_parsed(void)
{
    connection c;
    lens_error err;
    CHECK(connection_parse(&c, good_conn, &err) == 0, "%s", err.msg);
    CHECK(c.ports[CONN_SHELL] == 5001 && c.ports[CONN_HB] == 5005, " ");
    CHECK(!strcmp(c.key, "abc") && !strcmp(c.digest, "sha256"), " ");
    char ep[128];
    CHECK(connection_endpoint(&c, CONN_IOPUB, ep, sizeof ep) == 0 && !strcmp(ep, "tcp://127.0.0.1:5002"), "%s", ep);
    connection_free(&c);
}

static void test_ipc_endpoints_join_ip_and_port(void)
{
    connection c;
    lens_error err;
    const char *j = "{\"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3, \"control_port\": 4,"
                    " \"hb_port\": 5, \"ip\": \"/tmp/kernel-x\", \"key\": \"\", \"transport\": \"ipc\","
                    " \"signature_scheme\": \"hmac-sha512\"}";
    CHECK(connection_parse(&c, j, &err) == 0, "%s", err.msg);
    char ep[128];
    connection_endpoint(&c, CONN_CONTROL, ep, sizeof ep);
    CHECK(!strcmp(ep, "ipc:///tmp/kernel-x-4"), "%s", ep);
    CHECK(!strcmp(c.digest, "sha512") && c.key[0] == 0, " ");
    connection_free(&c);
}

static void test_bad_connection_files_name_the_field(void)
{
    struct { const char *json, *field; } cases[] = {
        {"not json", "JSON"},
        {"[1]", "JSON"},
        {"{\"transport\": \"udp\", \"ip\": \"x\"}", "transport"},
        {"{\"ip\": 3}", "ip"},
        {"{\"ip\": \"127.0.0.1\", \"shell_port\": \"5001\"}", "shell_port"},
        {"{\"ip\": \"127.0.0.1\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3,"
         " \"control_port\": 4, \"hb_port\": 70000}", "hb_port"},
        {"{\"ip\": \"127.0.0.1\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3,"
         " \"control_port\": 4, \"hb_port\": 5, \"key\": 7}", "key"},
        {"{\"ip\": \"127.0.0.1\", \"shell_port\": 1, \"iopub_port\": 2, \"stdin_port\": 3,"
         " \"control_port\": 4, \"hb_port\": 5, \"key\": \"k\", \"signature_scheme\": \"hmac-whirl\"}",
         "signature_scheme"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        connection c;
        lens_error err;
        CHECK(connection_parse(&c, cases[i].json, &err) != 0, "accepted %s", cases[i].json);
        CHECK(strstr(err.msg, cases[i].field) != NULL, "'%s' does not name %s", err.msg, cases[i].field);
        CHECK(c.key == NULL, " ");
    }
    connection c;
    lens_error err;
    CHECK(connection_load(&c, "/nonexistent/kernel.json", &err) != 0, " ");
    CHECK(strstr(err.msg, "/nonexistent/kernel.json") != NULL, "%s", err.msg);
}

static cJSON *query(history *h, const char *json)
{
    cJSON *req = cJSON_Parse(json);
    cJSON *r = history_query(h, req);
    cJSON_Delete(req);
    return r;
}

static void test_history_tail_range_and_search(void)
{
    history *h = history_new();
    const char *inputs[] = {"1+2", "x = 1", "1+2", "print(x)", "10*2"};
    for (int i = 0; i < 5; i++) history_add(h, i + 1, inputs[i]);
    history_set_output(h, 5, "20");

    cJSON *r = query(h, "{\"hist_access_type\": \"tail\", \"n\": 2, \"output\": false}");
    CHECK(cJSON_GetArraySize(r) == 2, " ");
    CHECK(cJSON_GetArrayItem(cJSON_GetArrayItem(r, 0), 1)->valueint == 4, " ");
    CHECK(!strcmp(cJSON_GetArrayItem(cJSON_GetArrayItem(r, 1), 2)->valuestring, "10*2"), " ");
    cJSON_Delete(r);

    r = query(h, "{\"hist_access_type\": \"tail\", \"n\": 1, \"output\": true}");
    cJSON *pair = cJSON_GetArrayItem(cJSON_GetArrayItem(r, 0), 2);
    CHECK(cJSON_IsArray(pair) && !strcmp(cJSON_GetArrayItem(pair, 1)->valuestring, "20"), " ");
    cJSON_Delete(r);

    r = query(h, "{\"hist_access_type\": \"range\", \"session\": 1, \"start\": 2, \"stop\": 4}");
    CHECK(cJSON_GetArraySize(r) == 2, " ");
    CHECK(cJSON_GetArrayItem(cJSON_GetArrayItem(r, 0), 1)->valueint == 2, " ");
    cJSON_Delete(r);

    r = query(h, "{\"hist_access_type\": \"search\", \"pattern\": \"1?2*\"}");
    CHECK(cJSON_GetArraySize(r) == 2, "%d", cJSON_GetArraySize(r));
    cJSON_Delete(r);
    r = query(h, "{\"hist_access_type\": \"search\", \"pattern\": \"1?2*\", \"unique\": true}");
    CHECK(cJSON_GetArraySize(r) == 1, " ");
    CHECK(cJSON_GetArrayItem(cJSON_GetArrayItem(r, 0), 1)->valueint == 3, "the latest is kept");
    cJSON_Delete(r);
    r = query(h, "{\"hist_access_type\": \"search\", \"pattern\": \"*\", \"n\": 3}");
    CHECK(cJSON_GetArraySize(r) == 3, " ");
    cJSON_Delete(r);
    r = query(h, "{\"hist_access_type\": \"bogus\"}");
    CHECK(cJSON_IsArray(r) && cJSON_GetArraySize(r) == 0, " ");
    cJSON_Delete(r);
    history_free(h);
}

struct flushed {
    int calls;
    char text[8192];
    char names[64];
};

static void on_flush(void *ctx, const char *name, const char *text)
{
    struct flushed *f = ctx;
    if (f->calls < 60) f->names[f->calls] = name[3]; /* 'o'ut or 'e'rr */
    f->calls++;
    strncat(f->text, text, sizeof f->text - strlen(f->text) - 1);
}

static void test_stream_coalesces_small_writes(void)
{
    struct flushed f = {0};
    stream_buf *s = stream_buf_new(on_flush, &f, 50, 1 << 16);
    for (int i = 0; i < 100; i++) stream_buf_write(s, "stdout", "ab");
    stream_buf_flush(s);
    CHECK(f.calls == 1, "%d flushes", f.calls);
    CHECK(strlen(f.text) == 200, " ");
    stream_buf_free(s);
}

static void test_stream_flushes_on_name_change_and_size(void)
{
    struct flushed f = {0};
    stream_buf *s = stream_buf_new(on_flush, &f, 1000, 8);
    stream_buf_write(s, "stdout", "a");
    stream_buf_write(s, "stderr", "b");
    CHECK(f.calls == 1 && f.names[0] == 'o', " ");
    stream_buf_write(s, "stderr", "0123456789");
    CHECK(f.calls == 3, "%d", f.calls); /* "b", then the oversized write alone */
    stream_buf_free(s); /* flushes what is left */
    CHECK(!strcmp(f.text, "ab0123456789"), "%s", f.text);
}

static void test_stream_flushes_on_time(void)
{
    struct flushed f = {0};
    stream_buf *s = stream_buf_new(on_flush, &f, 20, 1 << 16);
    stream_buf_write(s, "stdout", "late");
    for (int i = 0; i < 100 && f.calls == 0; i++) usleep(5000);
    CHECK(f.calls == 1, "the flusher thread did not flush");
    stream_buf_free(s);
}

int main(void)
{
    RUN(test_connection_file_is_parsed);
    RUN(test_ipc_endpoints_join_ip_and_port);
    RUN(test_bad_connection_files_name_the_field);
    RUN(test_history_tail_range_and_search);
    RUN(test_stream_coalesces_small_writes);
    RUN(test_stream_flushes_on_name_change_and_size);
    RUN(test_stream_flushes_on_time);
    return harness_summary();
}
