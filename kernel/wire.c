/* kernel/wire.c — framing and signing of Jupyter messages.
 *
 * Owns: the HMAC (OpenSSL EVP_MAC, any digest the connection file names),
 * constant-time verification, the replay cache, header creation, and moving
 * frames through ZeroMQ. Knows nothing of message types beyond msg_type.
 * A bad message (no delimiter, bad signature, replay, malformed JSON) is
 * reported to the caller, who logs and drops it.
 */
#include "wire.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <uuid/uuid.h>
#include <zmq.h>

struct wire_ctx {
    EVP_MAC *mac;
    EVP_MAC_CTX *mac_tmpl; /* keyed once; duplicated per message */
    bool signing;
    char session[37];
    char username[64];

    pthread_mutex_t lock; /* guards the replay cache (shell and control threads) */
    struct replay_entry {
        uint64_t hash;
        char sig[129];
    } *replay;
    int replay_next, replay_count;
};

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

wire_ctx *wire_ctx_new(const char *key, const char *digest, lens_error *err)
{
    wire_ctx *w = calloc(1, sizeof *w);
    if (!w) {
        lens_fail(err, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&w->lock, NULL);
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, w->session);
    const char *user = getenv("USER");
    snprintf(w->username, sizeof w->username, "%s", user && *user ? user : "lens");
    w->signing = key && *key;
    if (w->signing) {
        w->replay = calloc(WIRE_REPLAY_CAPACITY, sizeof *w->replay);
        w->mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
        w->mac_tmpl = w->mac ? EVP_MAC_CTX_new(w->mac) : NULL;
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
            OSSL_PARAM_construct_end(),
        };
        if (!w->replay || !w->mac_tmpl ||
            !EVP_MAC_init(w->mac_tmpl, (const unsigned char *)key, strlen(key), params)) {
            lens_fail(err, "cannot set up HMAC with digest \"%s\"", digest ? digest : "(null)");
            wire_ctx_free(w);
            return NULL;
        }
    }
    return w;
}

void wire_ctx_free(wire_ctx *w)
{
    if (!w) return;
    EVP_MAC_CTX_free(w->mac_tmpl);
    EVP_MAC_free(w->mac);
    free(w->replay);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

const char *wire_session(const wire_ctx *w) { return w->session; }

void wire_sign(wire_ctx *w, const char *const parts[4], const size_t lens[4], char *out)
{
    out[0] = 0;
    if (!w->signing) return;
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(w->mac_tmpl);
    if (!c) return;
    unsigned char mac[EVP_MAX_MD_SIZE];
    size_t n = 0;
    int ok = 1;
    for (int i = 0; i < 4; i++) ok = ok && EVP_MAC_update(c, (const unsigned char *)parts[i], lens[i]);
    ok = ok && EVP_MAC_final(c, mac, &n, sizeof mac);
    EVP_MAC_CTX_free(c);
    if (!ok) return;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[2 * n] = 0;
}

static void format_iso8601(const struct timespec *ts, char *buf, size_t size)
{
    struct tm tm;
    gmtime_r(&ts->tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, size, "%s.%06ldZ", base, ts->tv_nsec / 1000);
}

void wire_now_iso8601(char *buf, size_t size)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    format_iso8601(&ts, buf, size);
}

cJSON *wire_header_new_dated(const wire_ctx *w, const char *msg_type, int64_t *date_us)
{
    uuid_t u;
    char id[37], date[40];
    uuid_generate_random(u);
    uuid_unparse_lower(u, id);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec -= ts.tv_nsec % 1000; /* the header says microseconds: so does *date_us */
    format_iso8601(&ts, date, sizeof date);
    if (date_us) *date_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "msg_id", id);
    cJSON_AddStringToObject(h, "session", w->session);
    cJSON_AddStringToObject(h, "username", w->username);
    cJSON_AddStringToObject(h, "date", date);
    cJSON_AddStringToObject(h, "msg_type", msg_type);
    cJSON_AddStringToObject(h, "version", WIRE_PROTOCOL_VERSION);
    return h;
}

cJSON *wire_header_new(const wire_ctx *w, const char *msg_type)
{
    return wire_header_new_dated(w, msg_type, NULL);
}

/* Records sig; returns true when it was already seen (a replay). */
static bool replay_seen(wire_ctx *w, const char *sig, size_t len)
{
    uint64_t h = fnv1a(sig, len);
    bool seen = false;
    pthread_mutex_lock(&w->lock);
    for (int i = 0; i < w->replay_count && !seen; i++)
        seen = w->replay[i].hash == h && !strncmp(w->replay[i].sig, sig, len) &&
               w->replay[i].sig[len] == 0;
    if (!seen) {
        struct replay_entry *e = &w->replay[w->replay_next];
        e->hash = h;
        memcpy(e->sig, sig, len);
        e->sig[len] = 0;
        w->replay_next = (w->replay_next + 1) % WIRE_REPLAY_CAPACITY;
        if (w->replay_count < WIRE_REPLAY_CAPACITY) w->replay_count++;
    }
    pthread_mutex_unlock(&w->lock);
    return seen;
}

static int blob_copy(wire_blob *dst, const wire_blob *src)
{
    dst->len = src->len;
    dst->data = malloc(src->len ? src->len : 1);
    if (!dst->data) return -1;
    if (src->len) memcpy(dst->data, src->data, src->len);
    return 0;
}

void wire_blobs_free(wire_blob *blobs, int n)
{
    if (!blobs) return;
    for (int i = 0; i < n; i++) free(blobs[i].data);
    free(blobs);
}

void wire_msg_clear(wire_msg *msg)
{
    wire_blobs_free(msg->ids, msg->n_ids);
    wire_blobs_free(msg->buffers, msg->n_buffers);
    cJSON_Delete(msg->header);
    cJSON_Delete(msg->parent);
    cJSON_Delete(msg->metadata);
    cJSON_Delete(msg->content);
    memset(msg, 0, sizeof *msg);
}

static cJSON *parse_object(const wire_blob *b)
{
    cJSON *j = cJSON_ParseWithLength((const char *)b->data, b->len);
    if (j && !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

int wire_parse(wire_ctx *w, const wire_blob *frames, int n_frames, wire_msg *msg, lens_error *err)
{
    memset(msg, 0, sizeof *msg);
    int d = -1;
    for (int i = 0; i < n_frames; i++)
        if (frames[i].len == strlen(WIRE_DELIM) && !memcmp(frames[i].data, WIRE_DELIM, frames[i].len)) {
            d = i;
            break;
        }
    if (d < 0) return lens_fail(err, "no <IDS|MSG> delimiter among %d frames", n_frames);
    if (n_frames - d - 1 < 5)
        return lens_fail(err, "%d frames after the delimiter, need at least 5", n_frames - d - 1);
    const wire_blob *sig = &frames[d + 1], *parts = &frames[d + 2];

    if (w->signing) {
        const char *p[4];
        size_t l[4];
        for (int i = 0; i < 4; i++) {
            p[i] = (const char *)parts[i].data;
            l[i] = parts[i].len;
        }
        char expect[129];
        wire_sign(w, p, l, expect);
        size_t n = strlen(expect);
        if (!n || sig->len != n || CRYPTO_memcmp(expect, sig->data, n))
            return lens_fail(err, "bad signature");
        if (replay_seen(w, (const char *)sig->data, n))
            return lens_fail(err, "replayed signature");
    }

    msg->header = parse_object(&parts[0]);
    msg->parent = parse_object(&parts[1]);
    msg->metadata = parse_object(&parts[2]);
    msg->content = parse_object(&parts[3]);
    const cJSON *mt = msg->header ? cJSON_GetObjectItemCaseSensitive(msg->header, "msg_type") : NULL;
    if (!msg->header || !msg->parent || !msg->metadata || !msg->content) {
        wire_msg_clear(msg);
        return lens_fail(err, "a header, parent_header, metadata or content frame is not a JSON object");
    }
    if (!cJSON_IsString(mt)) {
        wire_msg_clear(msg);
        return lens_fail(err, "header has no string msg_type");
    }
    msg->msg_type = mt->valuestring;

    msg->n_ids = d;
    msg->n_buffers = n_frames - d - 6;
    msg->ids = calloc(d ? d : 1, sizeof *msg->ids);
    msg->buffers = calloc(msg->n_buffers ? msg->n_buffers : 1, sizeof *msg->buffers);
    bool ok = msg->ids && msg->buffers;
    for (int i = 0; ok && i < d; i++) ok = !blob_copy(&msg->ids[i], &frames[i]);
    for (int i = 0; ok && i < msg->n_buffers; i++) ok = !blob_copy(&msg->buffers[i], &frames[d + 6 + i]);
    if (!ok) {
        wire_msg_clear(msg);
        return lens_fail(err, "out of memory");
    }
    return 0;
}

static cJSON *empty_object(void) { return cJSON_CreateObject(); }

wire_blob *wire_serialize(wire_ctx *w, const wire_blob *ids, int n_ids, const cJSON *header,
                          const cJSON *parent, const cJSON *metadata, const cJSON *content,
                          int *n_frames)
{
    int n = n_ids + 6;
    wire_blob *f = calloc(n, sizeof *f);
    if (!f) return NULL;
    cJSON *tmp_parent = parent ? NULL : empty_object();
    cJSON *tmp_meta = metadata ? NULL : empty_object();
    cJSON *tmp_content = content ? NULL : empty_object();
    const cJSON *objs[4] = {header, parent ? parent : tmp_parent, metadata ? metadata : tmp_meta,
                            content ? content : tmp_content};
    bool ok = true;
    for (int i = 0; ok && i < n_ids; i++) ok = !blob_copy(&f[i], &ids[i]);
    const wire_blob delim = {(unsigned char *)WIRE_DELIM, strlen(WIRE_DELIM)};
    ok = ok && !blob_copy(&f[n_ids], &delim);
    for (int i = 0; ok && i < 4; i++) {
        char *s = cJSON_PrintUnformatted(objs[i]);
        ok = s != NULL;
        if (ok) {
            f[n_ids + 2 + i].data = (unsigned char *)s;
            f[n_ids + 2 + i].len = strlen(s);
        }
    }
    cJSON_Delete(tmp_parent);
    cJSON_Delete(tmp_meta);
    cJSON_Delete(tmp_content);
    if (ok) {
        const char *p[4];
        size_t l[4];
        for (int i = 0; i < 4; i++) {
            p[i] = (const char *)f[n_ids + 2 + i].data;
            l[i] = f[n_ids + 2 + i].len;
        }
        char sig[129];
        wire_sign(w, p, l, sig);
        wire_blob s = {(unsigned char *)sig, strlen(sig)};
        ok = !blob_copy(&f[n_ids + 1], &s);
    }
    if (!ok) {
        wire_blobs_free(f, n);
        return NULL;
    }
    *n_frames = n;
    return f;
}

int wire_recv(void *sock, wire_ctx *w, wire_msg *msg, int flags, lens_error *err)
{
    wire_blob *frames = NULL;
    int n = 0, cap = 0, more = 1, rc = 0;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, n ? 0 : flags) < 0) {
            int e = errno;
            zmq_msg_close(&part);
            wire_blobs_free(frames, n);
            errno = e;
            return -1;
        }
        more = zmq_msg_more(&part);
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            wire_blob *nf = realloc(frames, cap * sizeof *frames);
            if (!nf) {
                zmq_msg_close(&part);
                rc = 1;
                lens_fail(err, "out of memory");
                /* drain the rest of this message */
                while (more) {
                    zmq_msg_init(&part);
                    if (zmq_msg_recv(&part, sock, 0) < 0) break;
                    more = zmq_msg_more(&part);
                    zmq_msg_close(&part);
                }
                break;
            }
            frames = nf;
        }
        wire_blob src = {zmq_msg_data(&part), zmq_msg_size(&part)};
        if (blob_copy(&frames[n], &src)) {
            zmq_msg_close(&part);
            wire_blobs_free(frames, n);
            return lens_fail(err, "out of memory"), 1;
        }
        n++;
        zmq_msg_close(&part);
    }
    if (rc == 0 && wire_parse(w, frames, n, msg, err)) rc = 1;
    wire_blobs_free(frames, n);
    return rc;
}

int wire_send(void *sock, wire_ctx *w, const wire_blob *ids, int n_ids, const char *msg_type,
              const cJSON *parent, const cJSON *metadata, cJSON *content)
{
    return wire_send_dated(sock, w, ids, n_ids, msg_type, parent, metadata, content, NULL);
}

int wire_send_dated(void *sock, wire_ctx *w, const wire_blob *ids, int n_ids, const char *msg_type,
                    const cJSON *parent, const cJSON *metadata, cJSON *content, int64_t *date_us)
{
    cJSON *header = wire_header_new_dated(w, msg_type, date_us);
    int n = 0;
    wire_blob *f = wire_serialize(w, ids, n_ids, header, parent, metadata, content, &n);
    cJSON_Delete(header);
    cJSON_Delete(content);
    if (!f) return -1;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++)
        if (zmq_send(sock, f[i].data, f[i].len, i + 1 < n ? ZMQ_SNDMORE : 0) < 0) rc = -1;
    wire_blobs_free(f, n);
    return rc;
}
