/* kernel/wire.h — Jupyter messages on the wire: framing and signing.
 *
 * A message travels as ZeroMQ frames
 *   [identities..., "<IDS|MSG>", signature, header, parent_header, metadata, content, buffers...]
 * where signature is the lowercase hex HMAC (digest from the connection file's
 * signature_scheme) of the four JSON frames exactly as sent. An empty key means
 * no signing and no checking. A wire_ctx holds the key, this process's session
 * id and a bounded cache of recently seen signatures that rejects replays.
 *
 * wire_parse/wire_serialize work on plain byte frames (the unit tests use them);
 * wire_recv/wire_send move those frames through a ZeroMQ socket.
 */
#ifndef LENS_WIRE_H
#define LENS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "lens/error.h"

#define WIRE_DELIM "<IDS|MSG>"
#define WIRE_PROTOCOL_VERSION "5.3"
#define WIRE_REPLAY_CAPACITY 4096

typedef struct wire_blob {
    unsigned char *data; /* malloc'd (may be NULL when len is 0) */
    size_t len;
} wire_blob;

typedef struct wire_msg {
    wire_blob *ids;    /* routing identities, or the IOPub topic */
    int n_ids;
    cJSON *header;     /* always an object with a string msg_type */
    cJSON *parent;     /* object, {} when none */
    cJSON *metadata;   /* object */
    cJSON *content;    /* object */
    wire_blob *buffers;
    int n_buffers;
    const char *msg_type; /* points into header */
} wire_msg;

typedef struct wire_ctx wire_ctx;

/* key may be "" (no signing); digest is an OpenSSL digest name ("sha256").
 * Returns NULL with err filled when the digest is unknown. */
wire_ctx *wire_ctx_new(const char *key, const char *digest, lens_error *err);
void wire_ctx_free(wire_ctx *w);

/* This process's session id (a UUID, new per start). */
const char *wire_session(const wire_ctx *w);

/* Lowercase hex HMAC of the concatenated parts into out (at least 129 bytes).
 * With an empty key, out is "". */
void wire_sign(wire_ctx *w, const char *const parts[4], const size_t lens[4], char *out);

/* A fresh header object: msg_id, session, username, date, msg_type, version. */
cJSON *wire_header_new(const wire_ctx *w, const char *msg_type);
/* The same, and the header's date as µs since the epoch into *date_us (if not NULL). */
cJSON *wire_header_new_dated(const wire_ctx *w, const char *msg_type, int64_t *date_us);

/* The current time as ISO 8601 with microseconds and Z, into buf (>= 32 bytes). */
void wire_now_iso8601(char *buf, size_t size);

/* Splits frames into a message, checks the signature and the replay cache.
 * Returns 0, or -1 with err saying why the message is dropped. The frames
 * stay owned by the caller (their bytes are copied). */
int wire_parse(wire_ctx *w, const wire_blob *frames, int n_frames, wire_msg *msg,
               lens_error *err);

/* The frames for a message with these parts (parent/metadata may be NULL for
 * {}). Returns a malloc'd array of *n_frames blobs (free with wire_blobs_free). */
wire_blob *wire_serialize(wire_ctx *w, const wire_blob *ids, int n_ids, const cJSON *header,
                          const cJSON *parent, const cJSON *metadata, const cJSON *content,
                          int *n_frames);

void wire_blobs_free(wire_blob *blobs, int n);
void wire_msg_clear(wire_msg *msg);

/* Receives one multipart message from sock and parses it. Returns 0; 1 when a
 * message arrived but was dropped (err says why); -1 on a socket error
 * (errno set, e.g. ETERM when the context shuts down). flags: 0 or ZMQ_DONTWAIT
 * (then -1 with errno EAGAIN when nothing is waiting). */
int wire_recv(void *sock, wire_ctx *w, wire_msg *msg, int flags, lens_error *err);

/* Sends a new message of msg_type with parent (a request's header, or NULL)
 * to the given identities. content is consumed (deleted), metadata is not.
 * Returns 0 or -1 on a socket error. */
int wire_send(void *sock, wire_ctx *w, const wire_blob *ids, int n_ids, const char *msg_type,
              const cJSON *parent, const cJSON *metadata, cJSON *content);
/* The same, and the new header's date (µs since the epoch) into *date_us. */
int wire_send_dated(void *sock, wire_ctx *w, const wire_blob *ids, int n_ids, const char *msg_type,
                    const cJSON *parent, const cJSON *metadata, cJSON *content, int64_t *date_us);

#endif
