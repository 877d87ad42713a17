/* kernel/handlers.c — what the kernel answers to each Jupyter message type.
 *
 * Owns: one function per request type, the busy/idle wrapping, the execute
 * flow (execute_input, outputs, execute_result / error, reply, history,
 * stop_on_error), the kernel's own errors (a request holding a NUL, an output
 * over the message limit) and the lang_output callbacks that turn the
 * interpreter's outputs into IOPub messages. Sockets and threads are
 * server.c's; the language is reached only through lang.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "figure.h"
#include "kernel.h"

static const char *str_field(const cJSON *o, const char *name, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static bool bool_field(const cJSON *o, const char *name, bool dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

/* Number of Unicode code points in s (UTF-8). */
static int utf8_length(const char *s)
{
    int n = 0;
    for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static cJSON *error_fields(cJSON *c, const lang_error *e)
{
    cJSON_AddStringToObject(c, "ename", e->ename);
    cJSON_AddStringToObject(c, "evalue", e->evalue ? e->evalue : "");
    cJSON *tb = cJSON_AddArrayToObject(c, "traceback");
    for (int i = 0; i < e->n_traceback; i++)
        cJSON_AddItemToArray(tb, cJSON_CreateString(e->traceback[i] ? e->traceback[i] : ""));
    return c;
}

/* An error raised by the kernel itself (not the language), with a one-line traceback. */
static void kernel_error(lang_error *e, const char *ename, const char *evalue)
{
    lang_error_clear(e);
    snprintf(e->ename, sizeof e->ename, "%s", ename);
    e->evalue = strdup(evalue);
    size_t n = strlen(ename) + strlen(evalue) + 3;
    e->traceback = malloc(sizeof *e->traceback);
    char *line = malloc(n);
    if (e->traceback && line) {
        snprintf(line, n, "%s: %s", ename, evalue);
        e->traceback[0] = line;
        e->n_traceback = 1;
    } else {
        free(line);
    }
}

/* ---- outputs of a running cell ---- */

static void out_stream(void *ctx, const char *name, const char *text)
{
    kernel *k = ctx;
    stream_buf_write(k->stream, !strcmp(name, "stderr") ? "stderr" : "stdout", text);
}

static void out_display(void *ctx, const cJSON *bundle, const char *display_id, bool update)
{
    kernel *k = ctx;
    if (update && !display_id) return; /* nothing to update */
    stream_buf_flush(k->stream);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddItemToObject(c, "data", cJSON_Duplicate(bundle, 1));
    cJSON_AddItemToObject(c, "metadata", cJSON_CreateObject());
    cJSON *transient = cJSON_AddObjectToObject(c, "transient");
    if (display_id) cJSON_AddStringToObject(transient, "display_id", display_id);
    kernel_publish(k, update ? "update_display_data" : "display_data", k->cur->header, c);
}

static void out_clear(void *ctx, bool wait)
{
    kernel *k = ctx;
    stream_buf_flush(k->stream);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddBoolToObject(c, "wait", wait);
    kernel_publish(k, "clear_output", k->cur->header, c);
}

static char *out_input(void *ctx, const char *prompt, bool password)
{
    return kernel_input(ctx, prompt, password);
}

static void out_page(void *ctx, const cJSON *bundle)
{
    kernel *k = ctx;
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "source", "page");
    cJSON_AddItemToObject(p, "data", cJSON_Duplicate(bundle, 1));
    cJSON_AddNumberToObject(p, "start", 0);
    cJSON_AddItemToArray(k->cur_payload, p);
}

/* ---- execute ---- */

static cJSON *user_expressions(kernel *k, const cJSON *exprs)
{
    cJSON *out = cJSON_CreateObject();
    const cJSON *e;
    cJSON_ArrayForEach(e, exprs)
    {
        if (!e->string) continue;
        cJSON *r = cJSON_CreateObject();
        cJSON *bundle = NULL;
        lang_error err;
        memset(&err, 0, sizeof err);
        if (cJSON_IsString(e) && lang_evaluate(k->lang, e->valuestring, &bundle, &err) == 0) {
            cJSON_AddStringToObject(r, "status", "ok");
            cJSON_AddItemToObject(r, "data", bundle ? bundle : cJSON_CreateObject());
            cJSON_AddItemToObject(r, "metadata", cJSON_CreateObject());
        } else {
            if (!cJSON_IsString(e)) {
                snprintf(err.ename, sizeof err.ename, "TypeError");
                err.evalue = strdup("user expression is not a string");
            }
            cJSON_AddStringToObject(r, "status", "error");
            error_fields(r, &err);
        }
        lang_error_clear(&err);
        cJSON_AddItemToObject(out, e->string, r);
    }
    return out;
}

static void handle_execute(kernel *k, void *sock, const wire_msg *req)
{
    const cJSON *c = req->content;
    const char *code = str_field(c, "code", "");
    bool silent = bool_field(c, "silent", false);
    bool store_history = !silent && bool_field(c, "store_history", true);
    bool stop_on_error = bool_field(c, "stop_on_error", true);

    if (store_history) k->execution_count++;
    int count = k->execution_count;
    if (!silent) {
        cJSON *in = cJSON_CreateObject();
        cJSON_AddStringToObject(in, "code", code);
        cJSON_AddNumberToObject(in, "execution_count", count);
        kernel_publish(k, "execute_input", req->header, in);
    }
    if (store_history) history_add(k->hist, count, code);

    /* rerunning the cell that carried plotly.js (JupyterLab's cellId) sends it again */
    display_plotly_js_cell_started(str_field(req->metadata, "cellId", ""));
    k->cur = req;
    k->interrupted = 0;
    k->cur_allow_stdin = bool_field(c, "allow_stdin", false);
    k->cur_payload = cJSON_CreateArray();
    lang_output out = {.ctx = k, .input = out_input, .page = out_page};
    if (!silent) {
        out.stream = out_stream;
        out.display = out_display;
        out.clear_output = out_clear;
    }
    cJSON *result = NULL;
    lang_error err;
    memset(&err, 0, sizeof err);
    k->output_refused[0] = 0;
    int rc;
    if (req->content_has_nul) {
        /* the code string would end at the NUL: run none of it */
        kernel_error(&err, "ValueError", "the request contains a NUL character (\\u0000), which a "
                                         "cell cannot hold; nothing was run");
        rc = -1;
    } else {
        rc = lang_execute(k->lang, code, &out, &result, &err);
        if (rc == 0 && lang_exit_requested(k->lang)) {
            /* exit / quit: jupyter console's ask_exit payload ends the session */
            cJSON *ask = cJSON_CreateObject();
            cJSON_AddStringToObject(ask, "source", "ask_exit");
            cJSON_AddBoolToObject(ask, "keepkernel", false);
            cJSON_AddItemToArray(k->cur_payload, ask);
        }
    }
    stream_buf_flush(k->stream);

    cJSON *reply = cJSON_CreateObject();
    if (rc == 0) {
        if (result && !silent) {
            const cJSON *text = cJSON_GetObjectItemCaseSensitive(result, "text/plain");
            if (store_history && cJSON_IsString(text))
                history_set_output(k->hist, count, text->valuestring);
            cJSON *r = cJSON_CreateObject();
            cJSON_AddNumberToObject(r, "execution_count", count);
            cJSON_AddItemToObject(r, "data", result);
            result = NULL;
            cJSON_AddItemToObject(r, "metadata", cJSON_CreateObject());
            kernel_publish(k, "execute_result", req->header, r);
        }
    }
    if (rc == 0 && k->output_refused[0]) {
        /* an output could not be sent: the cell ran, but its reply must say so */
        kernel_error(&err, "OutputTooLarge", k->output_refused);
        rc = -1;
    }
    if (rc == 0) {
        cJSON_AddStringToObject(reply, "status", "ok");
        cJSON_AddNumberToObject(reply, "execution_count", count);
        cJSON_AddItemToObject(reply, "payload", k->cur_payload);
        k->cur_payload = NULL;
        const cJSON *ue = cJSON_GetObjectItemCaseSensitive(c, "user_expressions");
        cJSON_AddItemToObject(reply, "user_expressions", user_expressions(k, ue));
    } else {
        if (!err.ename[0]) snprintf(err.ename, sizeof err.ename, "Error");
        if (!silent) kernel_publish(k, "error", req->header, error_fields(cJSON_CreateObject(), &err));
        cJSON_AddStringToObject(reply, "status", "error");
        cJSON_AddNumberToObject(reply, "execution_count", count);
        error_fields(reply, &err);
        cJSON_AddItemToObject(reply, "payload", cJSON_CreateArray());
        cJSON_AddItemToObject(reply, "user_expressions", cJSON_CreateObject());
    }
    cJSON_Delete(result);
    cJSON_Delete(k->cur_payload);
    k->cur_payload = NULL;
    k->cur = NULL;
    lang_error_clear(&err);
    if (rc != 0 && stop_on_error && !silent) {
        /* Requests read before the reply leaves, and those whose date shows
         * they were sent before it, are aborted (abort_rule.h says why). */
        kernel_take_waiting(k);
        const cJSON *session = cJSON_GetObjectItemCaseSensitive(req->header, "session");
        int64_t sent_us = abort_now_us(); /* replaced by the reply's own date */
        kernel_reply_dated(k, sock, req, "execute_reply", reply, &sent_us);
        abort_rule_arm(k->aborts, cJSON_IsString(session) ? session->valuestring : NULL, sent_us);
    } else {
        kernel_reply(k, sock, req, "execute_reply", reply);
    }
    k->interrupted = 0;
}

void handlers_abort_execute(kernel *k, void *sock, const wire_msg *req)
{
    kernel_status(k, "busy", req->header);
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddStringToObject(reply, "status", "aborted");
    cJSON_AddNumberToObject(reply, "execution_count", k->execution_count);
    cJSON_AddItemToObject(reply, "user_expressions", cJSON_CreateObject());
    cJSON_AddItemToObject(reply, "payload", cJSON_CreateArray());
    kernel_reply(k, sock, req, "execute_reply", reply);
    kernel_status(k, "idle", req->header);
}

/* ---- the other requests ---- */

static void handle_kernel_info(kernel *k, void *sock, const wire_msg *req)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "status", "ok");
    cJSON_AddStringToObject(c, "protocol_version", WIRE_PROTOCOL_VERSION);
    cJSON_AddStringToObject(c, "implementation", "lens");
    cJSON_AddStringToObject(c, "implementation_version", KERNEL_VERSION);
    cJSON *li = cJSON_AddObjectToObject(c, "language_info");
    cJSON_AddStringToObject(li, "name", "lens");
    cJSON_AddStringToObject(li, "version", KERNEL_VERSION);
    cJSON_AddStringToObject(li, "mimetype", "text/x-python");
    cJSON_AddStringToObject(li, "file_extension", ".lens");
    cJSON_AddStringToObject(li, "pygments_lexer", "python");
    cJSON_AddStringToObject(li, "codemirror_mode", "python");
    cJSON_AddStringToObject(c, "banner",
                            "lens " KERNEL_VERSION " — mechanistic interpretability of GPT-2 models.\n"
                            "Type help(name) or name? for documentation.");
    cJSON_AddBoolToObject(c, "debugger", false);
    cJSON *links = cJSON_AddArrayToObject(c, "help_links");
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "text", "TransformerLens documentation");
    cJSON_AddStringToObject(l, "url", "https://transformerlensorg.github.io/TransformerLens/");
    cJSON_AddItemToArray(links, l);
    kernel_reply(k, sock, req, "kernel_info_reply", c);
}

static void handle_complete(kernel *k, void *sock, const wire_msg *req)
{
    const char *code = str_field(req->content, "code", "");
    const cJSON *cp = cJSON_GetObjectItemCaseSensitive(req->content, "cursor_pos");
    int len = utf8_length(code);
    int cursor = cJSON_IsNumber(cp) ? cp->valueint : len;
    if (cursor < 0 || cursor > len) cursor = len;
    char **matches = NULL;
    int start = cursor, end = cursor;
    int n = lang_complete(k->lang, code, cursor, &matches, &start, &end);
    cJSON *c = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(c, "matches");
    for (int i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, cJSON_CreateString(matches[i]));
        free(matches[i]);
    }
    free(matches);
    if (n <= 0) start = end = cursor;
    cJSON_AddNumberToObject(c, "cursor_start", start);
    cJSON_AddNumberToObject(c, "cursor_end", end);
    cJSON_AddItemToObject(c, "metadata", cJSON_CreateObject());
    cJSON_AddStringToObject(c, "status", "ok");
    kernel_reply(k, sock, req, "complete_reply", c);
}

static void handle_inspect(kernel *k, void *sock, const wire_msg *req)
{
    const char *code = str_field(req->content, "code", "");
    const cJSON *cp = cJSON_GetObjectItemCaseSensitive(req->content, "cursor_pos");
    const cJSON *dl = cJSON_GetObjectItemCaseSensitive(req->content, "detail_level");
    int len = utf8_length(code);
    int cursor = cJSON_IsNumber(cp) ? cp->valueint : len;
    if (cursor < 0 || cursor > len) cursor = len;
    cJSON *bundle = lang_inspect(k->lang, code, cursor, cJSON_IsNumber(dl) ? dl->valueint : 0);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "status", "ok");
    cJSON_AddBoolToObject(c, "found", bundle != NULL);
    cJSON_AddItemToObject(c, "data", bundle ? bundle : cJSON_CreateObject());
    cJSON_AddItemToObject(c, "metadata", cJSON_CreateObject());
    kernel_reply(k, sock, req, "inspect_reply", c);
}

static void handle_is_complete(kernel *k, void *sock, const wire_msg *req)
{
    char indent[64] = "";
    const char *status = lang_is_complete(str_field(req->content, "code", ""), indent, sizeof indent);
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "status", status ? status : "unknown");
    if (status && !strcmp(status, "incomplete")) cJSON_AddStringToObject(c, "indent", indent);
    kernel_reply(k, sock, req, "is_complete_reply", c);
}

static void handle_history(kernel *k, void *sock, const wire_msg *req)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "status", "ok");
    cJSON_AddItemToObject(c, "history", history_query(k->hist, req->content));
    kernel_reply(k, sock, req, "history_reply", c);
}

static void handle_comm_info(kernel *k, void *sock, const wire_msg *req)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "status", "ok");
    cJSON_AddItemToObject(c, "comms", cJSON_CreateObject());
    kernel_reply(k, sock, req, "comm_info_reply", c);
}

/* lens has no comm targets: every comm_open is closed at once. */
static void handle_comm_open(kernel *k, void *sock, const wire_msg *req)
{
    (void)sock;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "comm_id", str_field(req->content, "comm_id", ""));
    cJSON_AddItemToObject(c, "data", cJSON_CreateObject());
    kernel_publish(k, "comm_close", req->header, c);
}

static void handle_comm_ignored(kernel *k, void *sock, const wire_msg *req)
{
    (void)k, (void)sock, (void)req;
}

static void handle_shutdown(kernel *k, void *sock, const wire_msg *req)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "status", "ok");
    cJSON_AddBoolToObject(c, "restart", bool_field(req->content, "restart", false));
    kernel_reply(k, sock, req, "shutdown_reply", c);
    kernel_request_shutdown(k);
}

static void handle_interrupt(kernel *k, void *sock, const wire_msg *req)
{
    k->interrupted = 1;
    lang_interrupt();
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "status", "ok");
    kernel_reply(k, sock, req, "interrupt_reply", c);
}

static void handle_connect(kernel *k, void *sock, const wire_msg *req)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "status", "ok");
    for (int i = 0; i < CONN_NPORTS; i++)
        cJSON_AddNumberToObject(c, connection_port_names[i], k->conn.ports[i]);
    kernel_reply(k, sock, req, "connect_reply", c);
}

/* ---- dispatch ---- */

static const struct handler {
    const char *msg_type;
    void (*fn)(kernel *k, void *sock, const wire_msg *req);
    bool on_control; /* also answered on the control channel (thread-safe) */
    bool on_shell;
} handlers[] = {
    {"kernel_info_request", handle_kernel_info, true, true},
    {"execute_request", handle_execute, false, true},
    {"complete_request", handle_complete, false, true},
    {"inspect_request", handle_inspect, false, true},
    {"is_complete_request", handle_is_complete, false, true},
    {"history_request", handle_history, false, true},
    {"comm_info_request", handle_comm_info, true, true},
    {"comm_open", handle_comm_open, false, true},
    {"comm_msg", handle_comm_ignored, false, true},
    {"comm_close", handle_comm_ignored, false, true},
    {"shutdown_request", handle_shutdown, true, true},
    {"interrupt_request", handle_interrupt, true, false},
    {"connect_request", handle_connect, true, true},
};

void handlers_dispatch(kernel *k, int channel, void *sock, const wire_msg *req)
{
    const struct handler *h = NULL;
    for (size_t i = 0; i < sizeof handlers / sizeof *handlers; i++)
        if (!strcmp(handlers[i].msg_type, req->msg_type)) h = &handlers[i];
    bool allowed = h && (channel == CHANNEL_CONTROL ? h->on_control : h->on_shell);
    if (!allowed) {
        fprintf(stderr, "lens kernel: ignored %s on %s\n", req->msg_type,
                channel == CHANNEL_CONTROL ? "control" : "shell");
        return;
    }
    kernel_status(k, "busy", req->header);
    h->fn(k, sock, req);
    kernel_status(k, "idle", req->header);
}
