/* kernel/peer_monitor.h — the kernel log's view of peers on shell, control and
 * stdin. ZeroMQ drops a peer that announces a frame over the socket's
 * ZMQ_MAXMSGSIZE (LENS_MAX_MESSAGE) before reading it, and tells the socket
 * nothing but a disconnect event on its monitor; this watches those events and
 * logs each disconnect and failed handshake. Owns the monitor sockets and their
 * thread; does not own the monitored sockets (server.c). */
#ifndef LENS_PEER_MONITOR_H
#define LENS_PEER_MONITOR_H

#include <stddef.h>

#include "lens/error.h"

typedef struct peer_monitor peer_monitor;

/* Starts watching n sockets (names[i] says which, in the log) of the ZeroMQ
 * context zctx. Call from the thread that owns the sockets, before they are
 * used elsewhere. max_message is the limit the log line names. */
peer_monitor *peer_monitor_start(void *zctx, void *const sockets[], const char *const names[], int n,
                                 size_t max_message, lens_error *err);

/* Stops the thread and frees everything; call after zmq_ctx_shutdown(zctx) (the
 * thread ends on ETERM) and before zmq_ctx_term. NULL is fine. */
void peer_monitor_stop(peer_monitor *m);

#endif
