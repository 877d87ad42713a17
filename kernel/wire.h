/* kernel/wire.h — Jupyter messages on the wire: framing and signing.
 *
 * A message travels as ZeroMQ frames
 *   [identities..., "<IDS|MSG>", signature, header, parent_header, metadata, content, buffers...]
 * where signature is the lowercase hex HMAC (digest from the connection file's
 * signature_scheme) of the four JSON frames exactly as sent. An empty key means
 * no signing and no checking. A wire_ctx holds the key, this process's session
 * id and the record of every signature accepted so far, which rejects replays
 * for the whole life of the process (8-byte fingerprints, at most 16 bytes of
 * memory per message).
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
#define WIRE_DEFAULT_MAX_MESSAGE ((size_t)256 << 20) /* LENS_MAX_MESSAGE's default */
#define WIRE_MAX_MAX_MESSAGE ((size_t)2047 << 20)      /* cJSON prints at most 2 GiB */
#define WIRE_MAX_FRAMES 4096
#define WIRE_TOO_LARGE (-2) /* wire_send: the message would exceed the limit */

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
    bool content_has_nul; /* a string in content holds a NUL (C strings there are cut short) */
} wire_msg;

typedef struct wire_ctx wire_ctx;

/* key may be "" (no signing); digest is an OpenSSL digest name ("sha256").
 * Returns NULL with err filled when the digest is unknown. */
wire_ctx *wire_ctx_new(const char *key, const char *digest, lens_error *err);
void wire_ctx_free(wire_ctx *w);

/* This process's session id (a UUID, new per start). */
const char *wire_session(const wire_ctx *w);

/* How many signatures the replay record holds. */
size_t wire_replay_count(wire_ctx *w);

/* The largest message (all frames together) received or sent, in bytes;
 * clamped to 1 KiB .. WIRE_MAX_MAX_MESSAGE. */
void wire_set_max_message(wire_ctx *w, size_t bytes);
size_t wire_max_message(const wire_ctx *w);
/* Parses a size such as "268435456", "256M", "256MiB", "1G", "64k". Returns 0 or -1. */
int wire_parse_size(const char *text, size_t *bytes);

/* The length cJSON_PrintUnformatted would give (an upper bound within a few
 * bytes per number), computed without printing and without recursion. */
size_t wire_json_size(const cJSON *j);

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

/* Receives one multipart message from sock and parses it, reading the frames
 * where ZeroMQ holds them (no copy before the checks). A message over the
 * size limit or with more than WIRE_MAX_FRAMES frames is dropped. Returns 0; 1 when a
 * message arrived but was dropped (err says why); -1 on a socket error
 * (errno set, e.g. ETERM when the context shuts down). flags: 0 or ZMQ_DONTWAIT
 * (then -1 with errno EAGAIN when nothing is waiting). */
int wire_recv(void *sock, wire_ctx *w, wire_msg *msg, int flags, lens_error *err);

/* Sends a new message of msg_type with parent (a request's header, or NULL)
 * to the given identities. content is consumed (deleted), metadata is not.
 * Returns 0 or -1 on a socket error. */
int wire_send(void *sock, wire_ctx *w, const wire_blob *ids, int n_ids, const char *msg_type,
              const cJSON *parent, const cJSON *metadata, cJSON *content);
/* What wire_send_dated reports about a message it sent or refused. */
typedef struct wire_sent {
    int64_t date_us; /* the header's date, µs since the epoch */
    size_t size;     /* the JSON parts' size in bytes (an upper bound within a few bytes) */
} wire_sent;
/* The same, filling *sent (may be NULL). Returns 0, -1 on a socket error, or
 * WIRE_TOO_LARGE when the message would exceed the limit (nothing is sent). */
int wire_send_dated(void *sock, wire_ctx *w, const wire_blob *ids, int n_ids, const char *msg_type,
                    const cJSON *parent, const cJSON *metadata, cJSON *content, wire_sent *sent);

#endif
