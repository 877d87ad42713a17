/* kernel/peer_monitor.c — logs ZeroMQ's peer events on shell, control and stdin
 * (peer_monitor.h). Owns one inproc PAIR socket per watched socket, connected to
 * that socket's zmq_socket_monitor endpoint, and the thread that reads them; does
 * not own the watched sockets or decide anything about messages (server.c, wire.c).
 *
 * Why: a frame over ZMQ_MAXMSGSIZE makes libzmq's decoder fail with EMSGSIZE
 * while it reads the frame's size, and the engine then closes the connection;
 * nothing reaches the socket's reader, and the only trace is the monitor's
 * ZMQ_EVENT_DISCONNECTED. That event does not say why (a peer that simply
 * closed its connection gives the same one), so the log line names both causes. */
#include "peer_monitor.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#define MONITOR_MAX 4
#define MONITOR_EVENTS \
    (ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | \
     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

struct peer_monitor {
    void *pair[MONITOR_MAX];
    char name[MONITOR_MAX][16];
    int n;
    size_t max_message;
    pthread_t thread;
    bool started;
};

/* One monitor event: a 6-byte frame (16-bit event, 32-bit value, host order) and
 * the endpoint as a second frame. Returns -1 when the socket failed (ETERM). */
static int read_event(void *pair, uint16_t *event, uint32_t *value, char *endpoint, size_t size)
{
    zmq_msg_t part;
    zmq_msg_init(&part);
    if (zmq_msg_recv(&part, pair, ZMQ_DONTWAIT) < 0) { zmq_msg_close(&part); return -1; }
    bool ok = zmq_msg_size(&part) >= 6;
    if (ok) {
        const unsigned char *d = zmq_msg_data(&part);
        memcpy(event, d, sizeof *event);
        memcpy(value, d + 2, sizeof *value);
    }
    bool more = zmq_msg_more(&part);
    zmq_msg_close(&part);
    endpoint[0] = 0;
    while (more) {
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, pair, 0) < 0) { zmq_msg_close(&part); return -1; }
        size_t n = zmq_msg_size(&part);
        if (!endpoint[0] && size) {
            if (n >= size) n = size - 1;
            memcpy(endpoint, zmq_msg_data(&part), n);
            endpoint[n] = 0;
        }
        more = zmq_msg_more(&part);
        zmq_msg_close(&part);
    }
    return ok ? 0 : 1;
}

static void log_event(const peer_monitor *m, int i, uint16_t event, uint32_t value, const char *endpoint)
{
    if (event == ZMQ_EVENT_DISCONNECTED)
        fprintf(stderr, "lens kernel: %s: a peer disconnected from %s: it closed its connection, or sent a "
                "frame over the %.1f MiB message limit (LENS_MAX_MESSAGE), which ZeroMQ refuses unread\n",
                m->name[i], endpoint, m->max_message / 1048576.0);
    else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        fprintf(stderr, "lens kernel: %s: a peer on %s broke the ZeroMQ protocol (ZMTP error 0x%x); "
                "it was disconnected\n", m->name[i], endpoint, (unsigned)value);
    else if (event & (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH))
        fprintf(stderr, "lens kernel: %s: a peer's ZeroMQ handshake on %s failed (%s)\n", m->name[i], endpoint,
                event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "authentication" : zmq_strerror((int)value));
}

static void *monitor_main(void *arg)
{
    peer_monitor *m = arg;
    for (;;) {
        zmq_pollitem_t items[MONITOR_MAX];
        for (int i = 0; i < m->n; i++) items[i] = (zmq_pollitem_t){m->pair[i], 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(items, m->n, -1);
        if (rc < 0) {
            if (errno == EINTR) continue;
            break; /* ETERM: the context is shutting down */
        }
        bool failed = false;
        for (int i = 0; i < m->n && !failed; i++) {
            if (!(items[i].revents & ZMQ_POLLIN)) continue;
            uint16_t event = 0;
            uint32_t value = 0;
            char endpoint[256];
            int got = read_event(m->pair[i], &event, &value, endpoint, sizeof endpoint);
            if (got < 0 && errno != EAGAIN && errno != EINTR) failed = true;
            else if (got == 0) log_event(m, i, event, value, endpoint);
        }
        if (failed) break;
    }
    for (int i = 0; i < m->n; i++) zmq_close(m->pair[i]);
    return NULL;
}

peer_monitor *peer_monitor_start(void *zctx, void *const sockets[], const char *const names[], int n,
                                 size_t max_message, lens_error *err)
{
    if (n < 0 || n > MONITOR_MAX) { lens_fail(err, "peer monitor: %d sockets (at most %d)", n, MONITOR_MAX); return NULL; }
    peer_monitor *m = calloc(1, sizeof *m);
    if (!m) { lens_fail(err, "out of memory"); return NULL; }
    m->max_message = max_message;
    for (int i = 0; i < n; i++) {
        char ep[64];
        snprintf(ep, sizeof ep, "inproc://lens-monitor-%p-%d", (void *)m, i);
        snprintf(m->name[i], sizeof m->name[i], "%s", names[i]);
        void *pair = NULL;
        if (zmq_socket_monitor(sockets[i], ep, MONITOR_EVENTS) || !(pair = zmq_socket(zctx, ZMQ_PAIR)) ||
            zmq_connect(pair, ep)) {
            lens_fail(err, "cannot monitor the %s socket: %s", names[i], zmq_strerror(errno));
            if (pair) zmq_close(pair);
            peer_monitor_stop(m);   /* the thread is not running: closes the pairs so far */
            return NULL;
        }
        int linger = 0;
        zmq_setsockopt(pair, ZMQ_LINGER, &linger, sizeof linger);
        m->pair[m->n++] = pair;
    }
    if (pthread_create(&m->thread, NULL, monitor_main, m)) {
        lens_fail(err, "cannot start the peer monitor thread");
        peer_monitor_stop(m);
        return NULL;
    }
    m->started = true;
    return m;
}

void peer_monitor_stop(peer_monitor *m)
{
    if (!m) return;
    if (m->started) pthread_join(m->thread, NULL);
    else for (int i = 0; i < m->n; i++) zmq_close(m->pair[i]);
    free(m);
}
