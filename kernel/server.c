/* kernel/server.c — the kernel's sockets and threads.
 *
 * Owns: binding the five sockets exactly to the connection file's transport,
 * ip and ports (with the message size limit, LENS_MAX_MESSAGE, set on them);
 * warnings about an unsafe connection file; the heartbeat echo thread; the
 * control thread (so interrupt and shutdown are answered while a cell runs);
 * the shell loop on the main thread, with its queue of requests read ahead and
 * the stop_on_error decision (abort_rule.h); the stdin round trip for input()
 * and discarding stdin messages nobody waits for; SIGINT and SIGTERM; the
 * shared IOPub socket and outputs too large to send; starting and stopping the
 * peer monitor that logs disconnects (peer_monitor.h: frames over the limit);
 * orderly shutdown, removing ipc socket files. What each message means is handlers.c's business.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "kernel.h"
#include "peer_monitor.h"

#define WAKE_ENDPOINT_FMT "inproc://lens-wake-%p"

static kernel *the_kernel; /* for the SIGINT handler */
static volatile sig_atomic_t got_sigterm;

static void on_sigint(int sig)
{
    (void)sig;
    if (the_kernel) the_kernel->interrupted = 1;
    lang_interrupt();
}

/* SIGTERM: stop like a shutdown_request, so sockets (and ipc files) are
 * cleaned up. Only async-signal-safe work here: flags and a pipe write. */
static void on_sigterm(int sig)
{
    (void)sig;
    if (!the_kernel) _exit(143);
    got_sigterm = 1;
    atomic_store(&the_kernel->shutting_down, true);
    the_kernel->interrupted = 1;
    lang_interrupt();
    int saved = errno;
    ssize_t w = write(the_kernel->term_pipe[1], "t", 1);
    (void)w;
    errno = saved;
}

static void log_drop(const char *channel, const lens_error *err)
{
    fprintf(stderr, "lens kernel: dropped a message on %s: %s\n", channel, err->msg);
}

/* A message that would exceed the limit: logged; on the main thread, during a
 * request, also kept so that request's reply says so. */
static void note_too_large(kernel *k, const char *msg_type, size_t size)
{
    char what[256];
    snprintf(what, sizeof what, "%s message of %.1f MiB exceeds the %.1f MiB message limit "
             "(LENS_MAX_MESSAGE); it was not sent", msg_type, size / 1048576.0,
             wire_max_message(k->wire) / 1048576.0);
    fprintf(stderr, "lens kernel: a %s\n", what);
    if (pthread_equal(pthread_self(), k->main_thread) && k->cur && !k->output_refused[0])
        snprintf(k->output_refused, sizeof k->output_refused, "a %s", what);
}

int kernel_publish(kernel *k, const char *msg_type, const cJSON *parent, cJSON *content)
{
    char topic[128];
    snprintf(topic, sizeof topic, "kernel.%s.%s", wire_session(k->wire), msg_type);
    wire_blob id = {(unsigned char *)topic, strlen(topic)};
    wire_sent sent = {0, 0};
    pthread_mutex_lock(&k->iopub_lock);
    int rc = wire_send_dated(k->iopub, k->wire, &id, 1, msg_type, parent, NULL, content, &sent);
    pthread_mutex_unlock(&k->iopub_lock);
    if (rc == WIRE_TOO_LARGE)
        note_too_large(k, msg_type, sent.size);
    else if (rc)
        fprintf(stderr, "lens kernel: cannot publish %s: %s\n", msg_type, zmq_strerror(errno));
    return rc;
}

void kernel_status(kernel *k, const char *state, const cJSON *parent)
{
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "execution_state", state);
    kernel_publish(k, "status", parent, c);
}

void kernel_reply_dated(kernel *k, void *sock, const wire_msg *req, const char *msg_type,
                        cJSON *content, int64_t *date_us)
{
    const cJSON *count = cJSON_GetObjectItemCaseSensitive(content, "execution_count");
    double execution_count = cJSON_IsNumber(count) ? count->valuedouble : -1;
    wire_sent sent = {0, 0};
    int rc = wire_send_dated(sock, k->wire, req->ids, req->n_ids, msg_type, req->header, NULL, content,
                             &sent);
    if (rc == WIRE_TOO_LARGE) {
        /* the reply itself is too large: the request gets a small error reply instead */
        char what[256];
        snprintf(what, sizeof what, "the %s of %.1f MiB exceeds the %.1f MiB message limit "
                 "(LENS_MAX_MESSAGE)", msg_type, sent.size / 1048576.0,
                 wire_max_message(k->wire) / 1048576.0);
        fprintf(stderr, "lens kernel: %s\n", what);
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "status", "error");
        if (execution_count >= 0) cJSON_AddNumberToObject(c, "execution_count", execution_count);
        cJSON_AddStringToObject(c, "ename", "OutputTooLarge");
        cJSON_AddStringToObject(c, "evalue", what);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(c, "traceback"), cJSON_CreateString(what));
        cJSON_AddItemToObject(c, "payload", cJSON_CreateArray());
        cJSON_AddItemToObject(c, "user_expressions", cJSON_CreateObject());
        rc = wire_send_dated(sock, k->wire, req->ids, req->n_ids, msg_type, req->header, NULL, c, &sent);
    }
    if (date_us) *date_us = sent.date_us;
    if (rc) fprintf(stderr, "lens kernel: cannot send %s: %s\n", msg_type, zmq_strerror(errno));
}

void kernel_reply(kernel *k, void *sock, const wire_msg *req, const char *msg_type, cJSON *content)
{
    kernel_reply_dated(k, sock, req, msg_type, content, NULL);
}

/* ---- heartbeat: echo every message back to its sender ---- */
static void *heartbeat_main(void *arg)
{
    kernel *k = arg;
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, k->hb, 0) < 0) {
            zmq_msg_close(&part);
            if (errno == EINTR) continue;
            break; /* ETERM: shutting down */
        }
        int more = zmq_msg_more(&part);
        zmq_msg_send(&part, k->hb, more ? ZMQ_SNDMORE : 0);
        zmq_msg_close(&part);
    }
    zmq_close(k->hb);
    return NULL;
}

/* ---- control: interrupt, shutdown and kernel_info while a cell runs ---- */
static void *control_main(void *arg)
{
    kernel *k = arg;
    while (!atomic_load(&k->shutting_down)) {
        /* wake up now and then to notice a shutdown decided elsewhere */
        zmq_pollitem_t item = {k->control, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, 100);
        if (n < 0 && errno != EINTR) break;
        if (n <= 0) continue;
        wire_msg msg;
        lens_error err;
        int rc = wire_recv(k->control, k->wire, &msg, ZMQ_DONTWAIT, &err);
        if (rc < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (rc > 0) {
            log_drop("control", &err);
            continue;
        }
        handlers_dispatch(k, CHANNEL_CONTROL, k->control, &msg);
        wire_msg_clear(&msg);
    }
    zmq_close(k->control);
    zmq_close(k->wake_ctl);
    return NULL;
}

void kernel_request_shutdown(kernel *k)
{
    atomic_store(&k->shutting_down, true);
    k->interrupted = 1;
    lang_interrupt();
    /* only the control thread calls this; wake_ctl is its socket */
    if (pthread_equal(pthread_self(), k->control_thread))
        zmq_send(k->wake_ctl, "x", 1, ZMQ_DONTWAIT);
}

/* ---- stdin: input() ---- */
char *kernel_input(kernel *k, const char *prompt, bool password)
{
    if (!k->cur || !k->cur_allow_stdin) return NULL;
    stream_buf_flush(k->stream);
    /* drop stale replies to an earlier, abandoned request */
    for (;;) {
        wire_msg stale;
        lens_error err;
        int rc = wire_recv(k->stdin_sock, k->wire, &stale, ZMQ_DONTWAIT, &err);
        if (rc < 0) break;
        if (rc == 0) wire_msg_clear(&stale);
    }
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "prompt", prompt ? prompt : "");
    cJSON_AddBoolToObject(c, "password", password);
    if (wire_send(k->stdin_sock, k->wire, k->cur->ids, k->cur->n_ids, "input_request",
                  k->cur->header, NULL, c))
        return NULL;
    while (!k->interrupted && !atomic_load(&k->shutting_down)) {
        zmq_pollitem_t item = {k->stdin_sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, 100);
        if (n < 0 && errno != EINTR) return NULL;
        if (n <= 0) continue;
        wire_msg m;
        lens_error err;
        int rc = wire_recv(k->stdin_sock, k->wire, &m, ZMQ_DONTWAIT, &err);
        if (rc < 0) continue;
        if (rc > 0) {
            log_drop("stdin", &err);
            continue;
        }
        char *line = NULL;
        if (!strcmp(m.msg_type, "input_reply")) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(m.content, "value");
            line = strdup(cJSON_IsString(v) ? v->valuestring : "");
        } else {
            fprintf(stderr, "lens kernel: ignored %s on stdin\n", m.msg_type);
        }
        wire_msg_clear(&m);
        if (line) return line;
    }
    return NULL;
}

/* Reads and drops every message waiting on stdin, unparsed: stdin carries
 * only input_reply, and only while input() waits for one. */
static void discard_stdin(kernel *k)
{
    int dropped = 0;
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        int got = zmq_msg_recv(&part, k->stdin_sock, ZMQ_DONTWAIT);
        bool last = got >= 0 && !zmq_msg_more(&part);
        zmq_msg_close(&part);
        if (got < 0) break;
        if (last) dropped++;
    }
    if (dropped)
        fprintf(stderr, "lens kernel: discarded %d message(s) on stdin: no input() was waiting\n", dropped);
}

/* ---- shell loop ---- */

/* The header's session and date strings, or NULL. */
static const char *header_str(const wire_msg *m, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(m->header, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Reads one shell message without waiting: 0 with *m filled and stamped; 1 when
 * nothing (more) is waiting or the socket failed; dropped messages are logged
 * and skipped. */
static int read_shell(kernel *k, struct pending_msg *m)
{
    for (;;) {
        lens_error err;
        int rc = wire_recv(k->shell, k->wire, &m->msg, ZMQ_DONTWAIT, &err);
        if (rc < 0) {
            if (errno == EINTR) continue;
            return 1; /* EAGAIN: nothing is waiting */
        }
        if (rc > 0) {
            log_drop("shell", &err);
            continue;
        }
        m->received_us = abort_now_us();
        abort_rule_observe(k->aborts, header_str(&m->msg, "session"), header_str(&m->msg, "date"),
                           m->received_us);
        return 0;
    }
}

void kernel_take_waiting(kernel *k)
{
    struct pending_msg m;
    while (read_shell(k, &m) == 0) {
        if (k->pending_head + k->n_pending == k->cap_pending && k->pending_head) {
            /* slide the queue to the front before growing it */
            memmove(k->pending, k->pending + k->pending_head, k->n_pending * sizeof *k->pending);
            k->pending_head = 0;
        }
        if (k->n_pending == k->cap_pending) {
            size_t cap = k->cap_pending ? 2 * (size_t)k->cap_pending : 16;
            struct pending_msg *q = cap > INT_MAX / sizeof *q ? NULL : realloc(k->pending, cap * sizeof *q);
            if (!q) {
                fprintf(stderr, "lens kernel: out of memory; dropped a waiting %s\n", m.msg.msg_type);
                wire_msg_clear(&m.msg);
                continue;
            }
            k->pending = q;
            k->cap_pending = (int)cap;
        }
        k->pending[k->pending_head + k->n_pending++] = m;
    }
}

/* Handles one shell request: aborted by stop_on_error, or dispatched. */
static void handle_shell(kernel *k, struct pending_msg *m)
{
    if (!strcmp(m->msg.msg_type, "execute_request") &&
        abort_rule_should_abort(k->aborts, header_str(&m->msg, "session"),
                                header_str(&m->msg, "date"), m->received_us))
        handlers_abort_execute(k, k->shell, &m->msg);
    else
        handlers_dispatch(k, CHANNEL_SHELL, k->shell, &m->msg);
    wire_msg_clear(&m->msg);
}

int kernel_run(kernel *k)
{
    while (!atomic_load(&k->shutting_down)) {
        if (k->n_pending) {
            struct pending_msg m = k->pending[k->pending_head++];
            if (--k->n_pending == 0) k->pending_head = 0;
            handle_shell(k, &m);
            continue;
        }
        zmq_pollitem_t items[4] = {{k->shell, 0, ZMQ_POLLIN, 0},
                                   {k->wake_main, 0, ZMQ_POLLIN, 0},
                                   {k->stdin_sock, 0, ZMQ_POLLIN, 0},
                                   {NULL, k->term_pipe[0], ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, 4, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "lens kernel: poll failed: %s\n", zmq_strerror(errno));
            return 1;
        }
        if (items[1].revents & ZMQ_POLLIN) break;
        if (items[3].revents & ZMQ_POLLIN) break;
        if (items[2].revents & ZMQ_POLLIN) discard_stdin(k);
        if (!(items[0].revents & ZMQ_POLLIN)) continue;
        struct pending_msg m;
        if (read_shell(k, &m) == 0) handle_shell(k, &m);
    }
    if (got_sigterm) fprintf(stderr, "lens kernel: SIGTERM: shut down\n");
    return 0;
}

/* ---- start and stop ---- */
static void *open_bound(kernel *k, int type, int which, lens_error *err)
{
    char ep[512];
    void *s = zmq_socket(k->zctx, type);
    if (!s) {
        lens_fail(err, "cannot create a socket: %s", zmq_strerror(errno));
        return NULL;
    }
    int linger = 1000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    if (type == ZMQ_ROUTER) {
        int on = 1; /* a reconnecting client may reuse its identity */
        zmq_setsockopt(s, ZMQ_ROUTER_HANDOVER, &on, sizeof on);
        /* ZeroMQ drops a peer that announces a larger frame before reading it */
        int64_t max = (int64_t)wire_max_message(k->wire);
        zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max);
    }
    if (which == CONN_STDIN) {
        int hwm = 8; /* stdin holds few messages while a cell runs; the rest wait in the peer */
        zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    }
    if (connection_endpoint(&k->conn, which, ep, sizeof ep) || zmq_bind(s, ep)) {
        lens_fail(err, "cannot bind %s to %s: %s", connection_port_names[which], ep,
                  zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    if (!strcmp(k->conn.transport, "ipc")) k->bound_ipc[which] = true;
    return s;
}

/* ipc endpoints are files: remove the ones this kernel bound. */
static void remove_ipc_files(kernel *k)
{
    for (int i = 0; i < CONN_NPORTS; i++) {
        char ep[512];
        if (!k->bound_ipc[i] || connection_endpoint(&k->conn, i, ep, sizeof ep)) continue;
        if (unlink(ep + strlen("ipc://")) && errno != ENOENT)
            fprintf(stderr, "lens kernel: cannot remove %s: %s\n", ep + 6, strerror(errno));
        k->bound_ipc[i] = false;
    }
}

/* Warnings about a connection that others on this machine could use. */
static void warn_about_connection(const kernel *k, const char *file)
{
    struct stat st;
    if (!stat(file, &st) && (st.st_mode & (S_IRGRP | S_IROTH)))
        fprintf(stderr, "lens kernel: warning: the connection file %s is readable by %s (mode %03o); "
                "anyone who can read its key can run code in this kernel (chmod 600 it)\n",
                file, (st.st_mode & S_IROTH) ? "every user" : "its group", (unsigned)(st.st_mode & 0777));
    if (!k->conn.key[0])
        fprintf(stderr, "lens kernel: warning: the connection file has an empty key: messages are not "
                "signed, so anyone who can reach the ports can run code in this kernel\n");
}

/* LENS_MAX_MESSAGE: the frame limit (default 256 MiB). */
static void apply_message_limit(kernel *k)
{
    const char *env = getenv("LENS_MAX_MESSAGE");
    size_t bytes;
    if (!env || !*env) return;
    if (wire_parse_size(env, &bytes)) {
        fprintf(stderr, "lens kernel: warning: LENS_MAX_MESSAGE=\"%s\" is not a size (e.g. 268435456, "
                "256M, 1G); using %zu bytes\n", env, wire_max_message(k->wire));
        return;
    }
    wire_set_max_message(k->wire, bytes);
}

static void free_output(kernel *k)
{
    stream_buf_free(k->stream);
    k->stream = NULL;
    lang_session_free(k->lang);
    k->lang = NULL;
    history_free(k->hist);
    k->hist = NULL;
    for (int i = 0; i < k->n_pending; i++) wire_msg_clear(&k->pending[k->pending_head + i].msg);
    free(k->pending);
    k->pending = NULL;
    k->n_pending = k->pending_head = k->cap_pending = 0;
    abort_rule_free(k->aborts);
    k->aborts = NULL;
}

/* stream text leaves as one stream message for the current request */
static void publish_stream(void *ctx, const char *name, const char *text)
{
    kernel *k = ctx;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "name", name);
    cJSON_AddStringToObject(c, "text", text);
    kernel_publish(k, "stream", k->cur ? k->cur->header : NULL, c);
}

int kernel_open(kernel *k, const char *connection_file, lens_error *err)
{
    memset(k, 0, sizeof *k);
    pthread_mutex_init(&k->iopub_lock, NULL);
    if (connection_load(&k->conn, connection_file, err)) return -1;
    k->wire = wire_ctx_new(k->conn.key, k->conn.digest, err);
    if (!k->wire) return -1;
    warn_about_connection(k, connection_file);
    apply_message_limit(k);
    k->main_thread = pthread_self();
    if (pipe(k->term_pipe)) return lens_fail(err, "cannot create a pipe: %s", strerror(errno));
    k->term_pipe_open = true;
    k->zctx = zmq_ctx_new();
    if (!k->zctx) return lens_fail(err, "cannot create a ZeroMQ context");

    k->shell = open_bound(k, ZMQ_ROUTER, CONN_SHELL, err);
    k->control = k->shell ? open_bound(k, ZMQ_ROUTER, CONN_CONTROL, err) : NULL;
    k->stdin_sock = k->control ? open_bound(k, ZMQ_ROUTER, CONN_STDIN, err) : NULL;
    k->iopub = k->stdin_sock ? open_bound(k, ZMQ_PUB, CONN_IOPUB, err) : NULL;
    k->hb = k->iopub ? open_bound(k, ZMQ_ROUTER, CONN_HB, err) : NULL;
    if (!k->hb) return -1;

    char wake_ep[64];
    snprintf(wake_ep, sizeof wake_ep, WAKE_ENDPOINT_FMT, (void *)k);
    k->wake_main = zmq_socket(k->zctx, ZMQ_PAIR);
    k->wake_ctl = zmq_socket(k->zctx, ZMQ_PAIR);
    if (!k->wake_main || !k->wake_ctl || zmq_bind(k->wake_main, wake_ep) ||
        zmq_connect(k->wake_ctl, wake_ep))
        return lens_fail(err, "cannot create the internal wake-up socket: %s", zmq_strerror(errno));

    k->lang = lang_session_new();
    k->hist = history_new();
    k->stream = stream_buf_new(publish_stream, k, 50, 64 * 1024);
    k->aborts = abort_rule_new();
    if (!k->lang || !k->hist || !k->stream || !k->aborts) return lens_fail(err, "out of memory");

    kernel_status(k, "starting", NULL);

    /* helper threads never take SIGINT: it interrupts the main thread's work */
    the_kernel = k;
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    void *const watched[] = {k->shell, k->control, k->stdin_sock};
    static const char *const watched_names[] = {"shell", "control", "stdin"};
    k->peers = peer_monitor_start(k->zctx, watched, watched_names, 3, wire_max_message(k->wire), err);
    if (!k->peers) {
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return -1;
    }
    int e1 = pthread_create(&k->hb_thread, NULL, heartbeat_main, k);
    k->hb_started = !e1;
    int e2 = e1 ? -1 : pthread_create(&k->control_thread, NULL, control_main, k);
    k->control_started = !e2;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e1 || e2) return lens_fail(err, "cannot start the kernel threads");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_sigterm;
    sigaction(SIGTERM, &sa, NULL);
    return 0;
}

void kernel_close(kernel *k)
{
    if (k->stream) stream_buf_flush(k->stream);
    /* the control thread finishes its message (its idle status included) and
     * sees the flag; then the heartbeat thread's recv returns ETERM */
    atomic_store(&k->shutting_down, true);
    if (k->control_started) pthread_join(k->control_thread, NULL);
    if (k->zctx) zmq_ctx_shutdown(k->zctx);
    if (k->hb_started) pthread_join(k->hb_thread, NULL);
    peer_monitor_stop(k->peers);
    k->peers = NULL;
    if (!k->control_started) {
        if (k->control) zmq_close(k->control);
        if (k->wake_ctl) zmq_close(k->wake_ctl);
    }
    if (!k->hb_started && k->hb) zmq_close(k->hb);
    void *mine[] = {k->shell, k->stdin_sock, k->wake_main, k->iopub};
    for (size_t i = 0; i < sizeof mine / sizeof *mine; i++)
        if (mine[i]) zmq_close(mine[i]);
    if (k->zctx) zmq_ctx_term(k->zctx);
    remove_ipc_files(k);
    free_output(k);
    wire_ctx_free(k->wire);
    connection_free(&k->conn);
    pthread_mutex_destroy(&k->iopub_lock);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    the_kernel = NULL;
    if (k->term_pipe_open) {
        close(k->term_pipe[0]);
        close(k->term_pipe[1]);
        k->term_pipe_open = false;
    }
}

int cmd_kernel(int argc, char **argv)
{
    const char *file = NULL;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-f") || !strcmp(argv[i], "--connection-file")) && i + 1 < argc)
            file = argv[++i];
        else if (!strncmp(argv[i], "--connection-file=", 18))
            file = argv[i] + 18;
    }
    if (!file) {
        fprintf(stderr, "usage: lens kernel -f CONNECTION_FILE\n");
        return 2;
    }
    kernel k;
    lens_error err;
    if (kernel_open(&k, file, &err)) {
        fprintf(stderr, "lens kernel: %s\n", err.msg);
        kernel_close(&k);
        return 1;
    }
    int rc = kernel_run(&k);
    kernel_close(&k);
    return rc;
}
