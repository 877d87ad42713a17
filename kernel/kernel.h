/* kernel/kernel.h — the state of a running Jupyter kernel, shared by the
 * server (sockets, threads: server.c) and the message handlers (handlers.c).
 *
 * Threads: the main thread owns shell, stdin and the language session; the
 * control thread owns control; the heartbeat thread owns hb; IOPub is one PUB
 * socket used by every thread under iopub_lock (a ZeroMQ socket may move
 * between threads only across a full memory barrier, which the mutex gives).
 */
#ifndef LENS_KERNEL_H
#define LENS_KERNEL_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <cjson/cJSON.h>

#include "abort_rule.h"
#include "connection.h"
#include "history.h"
#include "lang.h"
#include "stream.h"
#include "wire.h"

#define KERNEL_VERSION "0.1.0"

enum { CHANNEL_SHELL, CHANNEL_CONTROL };

typedef struct kernel {
    connection conn;
    wire_ctx *wire;
    void *zctx;
    void *shell, *stdin_sock, *wake_main; /* main thread */
    void *control, *wake_ctl;             /* control thread */
    void *hb;                             /* heartbeat thread */
    void *iopub;                          /* any thread, under iopub_lock */
    pthread_mutex_t iopub_lock;
    pthread_t hb_thread, control_thread;
    bool hb_started, control_started;
    struct peer_monitor *peers;           /* logs disconnects on shell, control, stdin */

    pthread_t main_thread;
    int term_pipe[2];   /* SIGTERM's handler writes here to wake the shell loop */
    bool term_pipe_open;
    bool bound_ipc[CONN_NPORTS]; /* ipc files this kernel created */

    atomic_bool shutting_down;
    volatile sig_atomic_t interrupted; /* set by SIGINT / interrupt_request */

    /* Main thread only. */
    lang_session *lang;
    history *hist;
    stream_buf *stream;
    int execution_count;

    /* The execute_request being run (main thread), for output callbacks. */
    const wire_msg *cur;   /* NULL between requests */
    bool cur_allow_stdin;
    cJSON *cur_payload;    /* page payloads collected for the reply */
    char output_refused[320]; /* an output of the current request too large to send, or "" */

    /* Shell requests read ahead of the loop (kernel_take_waiting), in order. */
    struct pending_msg {
        wire_msg msg;
        int64_t received_us;
    } *pending;
    int pending_head, n_pending, cap_pending;
    abort_rule *aborts; /* stop_on_error: which execute_requests are aborted */
} kernel;

/* server.c */
int kernel_open(kernel *k, const char *connection_file, lens_error *err);
int kernel_run(kernel *k);   /* the shell loop; returns when shut down */
void kernel_close(kernel *k);
/* Publishes on IOPub; content is consumed. Safe from any thread. Returns 0,
 * WIRE_TOO_LARGE (logged, and noted in output_refused when on the main thread
 * during a request) or -1. */
int kernel_publish(kernel *k, const char *msg_type, const cJSON *parent, cJSON *content);
void kernel_status(kernel *k, const char *state, const cJSON *parent);
/* Replies to req on the socket it came from; content is consumed. A reply too
 * large to send is replaced by an error reply (ename OutputTooLarge) naming its size. */
void kernel_reply(kernel *k, void *sock, const wire_msg *req, const char *msg_type, cJSON *content);
/* The same; *date_us gets the date in the reply's header (the kernel's clock
 * just before it was sent). */
void kernel_reply_dated(kernel *k, void *sock, const wire_msg *req, const char *msg_type,
                        cJSON *content, int64_t *date_us);
/* Sends input_request on stdin for the current execute_request and waits for
 * the input_reply. Returns a malloc'd line, or NULL when input is not allowed,
 * interrupted or the kernel shuts down. Main thread only. */
char *kernel_input(kernel *k, const char *prompt, bool password);
/* Asks the shell loop to stop (from the control thread). */
void kernel_request_shutdown(kernel *k);
/* After an error with stop_on_error, just before its execute_reply is sent:
 * reads every request already waiting on shell into the pending queue (each
 * was sent before the reply, which abort_rule's arrival proof relies on). The
 * shell loop handles pending requests before it reads the socket again. */
void kernel_take_waiting(kernel *k);

/* handlers.c */
/* Handles one request from shell or control, wrapped in busy/idle. Unknown
 * types are logged and ignored. */
void handlers_dispatch(kernel *k, int channel, void *sock, const wire_msg *req);
/* The reply to an execute_request that is aborted. */
void handlers_abort_execute(kernel *k, void *sock, const wire_msg *req);

#endif
