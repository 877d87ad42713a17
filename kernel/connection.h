/* kernel/connection.h — the Jupyter connection file, parsed.
 *
 * A frontend starts the kernel with `-f FILE`: a JSON object naming the
 * transport (tcp or ipc), the ip, the five ports, the HMAC key and the
 * signature scheme. This module reads and validates it; it opens no socket.
 */
#ifndef LENS_CONNECTION_H
#define LENS_CONNECTION_H

#include <stddef.h>

#include "lens/error.h"

enum { CONN_SHELL, CONN_IOPUB, CONN_STDIN, CONN_CONTROL, CONN_HB, CONN_NPORTS };

typedef struct connection {
    char transport[8];        /* "tcp" or "ipc" */
    char ip[256];             /* tcp: an address; ipc: a path prefix */
    int ports[CONN_NPORTS];   /* indexed by CONN_* */
    char *key;                /* malloc'd; "" = no signing */
    char digest[32];          /* OpenSSL digest name from signature_scheme: "sha256", ... */
} connection;

/* The names of the ports as they appear in the file, indexed by CONN_*. */
extern const char *const connection_port_names[CONN_NPORTS];

/* Parses JSON text. Returns 0, or -1 with err saying which field is wrong. */
int connection_parse(connection *c, const char *json, lens_error *err);

/* Reads and parses a file. */
int connection_load(connection *c, const char *path, lens_error *err);

/* The ZeroMQ endpoint for one port: "tcp://ip:port" or "ipc://ip-port". */
int connection_endpoint(const connection *c, int which, char *buf, size_t size);

void connection_free(connection *c);

#endif
