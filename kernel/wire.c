/* kernel/wire.c — framing and signing of Jupyter messages.
 *
 * Owns: the HMAC (OpenSSL EVP_MAC, any digest the connection file names),
 * constant-time verification, the lifetime replay record, header creation,
 * the message size limit (checked on frames where ZeroMQ holds them, before
 * any copy, and on outgoing JSON before it is printed), UTF-8 and JSON
 * validation of the four signed parts, and moving frames through ZeroMQ.
 * Knows nothing of message types beyond msg_type. A bad message (no
 * delimiter, bad signature, replay, too large, malformed) is reported to the
 * caller, who logs and drops it.
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
    size_t max_message; /* bytes: a larger message is neither received nor sent */
    char session[37];
    char username[64];

    /* Every signature accepted in this process's life, as a 64-bit fingerprint
     * (the HMAC's first 8 bytes: keyed, so no one without the key can aim at
     * a slot) in an open-addressing set kept at most half full: 16 bytes per
     * message at most. Only messages whose signature verified get in. */
    pthread_mutex_t lock; /* guards the set (shell, control and stdin threads) */
    uint64_t *seen;
    size_t seen_cap, seen_count; /* cap is a power of two; 0 marks an empty slot */
};

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
    w->max_message = WIRE_DEFAULT_MAX_MESSAGE;
    w->signing = key && *key;
    if (w->signing) {
        w->seen_cap = 1024;
        w->seen = calloc(w->seen_cap, sizeof *w->seen);
        w->mac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
        w->mac_tmpl = w->mac ? EVP_MAC_CTX_new(w->mac) : NULL;
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0),
            OSSL_PARAM_construct_end(),
        };
        if (!w->seen || !w->mac_tmpl ||
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
    free(w->seen);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

const char *wire_session(const wire_ctx *w) { return w->session; }

void wire_set_max_message(wire_ctx *w, size_t bytes)
{
    w->max_message = bytes < 1024 ? 1024 : bytes > WIRE_MAX_MAX_MESSAGE ? WIRE_MAX_MAX_MESSAGE : bytes;
}

size_t wire_max_message(const wire_ctx *w) { return w->max_message; }

int wire_parse_size(const char *text, size_t *bytes)
{
    if (!text || !*text) return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text || text[0] == '-') return -1;
    unsigned long long mult = 1;
    if (*end == 'k' || *end == 'K') mult = 1ull << 10;
    else if (*end == 'm' || *end == 'M') mult = 1ull << 20;
    else if (*end == 'g' || *end == 'G') mult = 1ull << 30;
    else if (*end) return -1;
    if (mult > 1 && end[1] && strcmp(end + 1, "iB") && strcmp(end + 1, "B")) return -1;
    if (v > SIZE_MAX / mult) return -1;
    *bytes = (size_t)(v * mult);
    return 0;
}

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

static uint64_t fingerprint(const char *hex_sig)
{
    uint64_t v = 0;
    for (int i = 0; i < 16 && hex_sig[i]; i++) {
        char c = hex_sig[i];
        v = v << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return v ? v : 1;
}

static void seen_put(uint64_t *slots, size_t cap, uint64_t f)
{
    size_t i = (size_t)(f ^ f >> 29) & (cap - 1);
    while (slots[i] && slots[i] != f) i = (i + 1) & (cap - 1);
    slots[i] = f;
}

/* Records a verified signature; returns true when it was already seen (a
 * replay). When the set cannot grow, the message is refused (never forgotten). */
static bool replay_seen(wire_ctx *w, const char *hex_sig, bool *out_of_memory)
{
    uint64_t f = fingerprint(hex_sig);
    bool seen = false;
    *out_of_memory = false;
    pthread_mutex_lock(&w->lock);
    size_t i = (size_t)(f ^ f >> 29) & (w->seen_cap - 1);
    while (w->seen[i] && w->seen[i] != f) i = (i + 1) & (w->seen_cap - 1);
    seen = w->seen[i] == f;
    if (!seen && (w->seen_count + 1) * 2 > w->seen_cap) {
        size_t cap = w->seen_cap * 2;
        uint64_t *grown = cap > SIZE_MAX / sizeof *grown ? NULL : calloc(cap, sizeof *grown);
        if (!grown) {
            *out_of_memory = true;
        } else {
            for (size_t k = 0; k < w->seen_cap; k++)
                if (w->seen[k]) seen_put(grown, cap, w->seen[k]);
            free(w->seen);
            w->seen = grown;
            w->seen_cap = cap;
        }
    }
    if (!seen && !*out_of_memory) {
        seen_put(w->seen, w->seen_cap, f);
        w->seen_count++;
    }
    pthread_mutex_unlock(&w->lock);
    return seen;
}

size_t wire_replay_count(wire_ctx *w)
{
    pthread_mutex_lock(&w->lock);
    size_t n = w->seen_count;
    pthread_mutex_unlock(&w->lock);
    return n;
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

/* Whether JSON text holds a NUL character: a raw 0 byte, or a \u0000 escape
 * inside a string (cJSON would keep it, and every C string would end there). */
static bool json_has_nul(const unsigned char *p, size_t n)
{
    bool in_string = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == 0) return true;
        if (!in_string) {
            in_string = c == '"';
        } else if (c == '"') {
            in_string = false;
        } else if (c == '\\' && i + 1 < n) {
            if (p[i + 1] == 'u' && i + 5 < n && !memcmp(p + i + 2, "0000", 4)) return true;
            i++; /* the escaped character */
        }
    }
    return false;
}

/* Whether bytes are well-formed UTF-8 (no overlongs, surrogates or code
 * points past U+10FFFF), as JSON text must be. */
static bool valid_utf8(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int len = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (!len || i + (size_t)len > n) return false;
        for (int k = 1; k < len; k++)
            if ((p[i + k] & 0xC0) != 0x80) return false;
        if (c == 0xE0 && p[i + 1] < 0xA0) return false; /* overlong */
        if (c == 0xED && p[i + 1] > 0x9F) return false; /* surrogate */
        if (c == 0xF0 && p[i + 1] < 0x90) return false; /* overlong */
        if (c == 0xF4 && p[i + 1] > 0x8F) return false; /* past U+10FFFF */
        i += (size_t)len;
    }
    return true;
}

static cJSON *parse_object(const wire_blob *b)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts((const char *)b->data, b->len, &end, 0);
    if (!j) return NULL;
    /* the whole frame must be the object: only whitespace may follow it */
    const char *stop = (const char *)b->data + b->len;
    while (end && end < stop && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')) end++;
    if (!cJSON_IsObject(j) || end != stop) {
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
        bool oom = false;
        if (replay_seen(w, expect, &oom)) return lens_fail(err, "replayed signature");
        if (oom) return lens_fail(err, "out of memory for the replay record");
    }

    static const char *const part_names[4] = {"header", "parent_header", "metadata", "content"};
    for (int i = 0; i < 4; i++)
        if (!valid_utf8(parts[i].data, parts[i].len))
            return lens_fail(err, "the %s frame is not valid UTF-8", part_names[i]);
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
    msg->content_has_nul = json_has_nul(parts[3].data, parts[3].len);

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

/* Grows a zmq_msg_t array; the messages move with zmq_msg_move. */
static zmq_msg_t *grow_parts(zmq_msg_t *parts, int n, int *cap)
{
    int ncap = *cap ? 2 * *cap : 16;
    zmq_msg_t *np = calloc((size_t)ncap, sizeof *np);
    if (!np) return NULL;
    for (int i = 0; i < n; i++) {
        zmq_msg_init(&np[i]);
        zmq_msg_move(&np[i], &parts[i]);
        zmq_msg_close(&parts[i]);
    }
    free(parts);
    *cap = ncap;
    return np;
}

int wire_recv(void *sock, wire_ctx *w, wire_msg *msg, int flags, lens_error *err)
{
    memset(msg, 0, sizeof *msg);
    zmq_msg_t *parts = NULL;
    int n = 0, cap = 0, rc = 0, seen = 0;
    size_t total = 0;
    bool more = true;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, seen ? 0 : flags) < 0) {
            int e = errno;
            zmq_msg_close(&part);
            for (int i = 0; i < n; i++) zmq_msg_close(&parts[i]);
            free(parts);
            errno = e;
            return -1;
        }
        seen++;
        more = zmq_msg_more(&part);
        size_t len = zmq_msg_size(&part);
        /* Frames are kept as ZeroMQ received them: nothing is copied before the
         * size, the frame count and the signature are checked. */
        if (rc == 0 && len > w->max_message - total) {
            rc = 1;
            lens_fail(err, "a message larger than the %zu-byte limit (LENS_MAX_MESSAGE)", w->max_message);
        } else if (rc == 0 && n == WIRE_MAX_FRAMES) {
            rc = 1;
            lens_fail(err, "a message of more than %d frames", WIRE_MAX_FRAMES);
        } else if (rc == 0 && n == cap) {
            zmq_msg_t *np = grow_parts(parts, n, &cap);
            if (!np) {
                rc = 1;
                lens_fail(err, "out of memory");
            } else {
                parts = np;
            }
        }
        if (rc == 0) {
            zmq_msg_init(&parts[n]);
            zmq_msg_move(&parts[n], &part);
            n++;
            total += len;
        }
        zmq_msg_close(&part);
    }
    if (rc == 0) {
        wire_blob *views = calloc(n ? (size_t)n : 1, sizeof *views);
        if (!views) {
            rc = 1;
            lens_fail(err, "out of memory");
        } else {
            for (int i = 0; i < n; i++) {
                views[i].data = zmq_msg_data(&parts[i]);
                views[i].len = zmq_msg_size(&parts[i]);
            }
            if (wire_parse(w, views, n, msg, err)) rc = 1;
            free(views);
        }
    }
    for (int i = 0; i < n; i++) zmq_msg_close(&parts[i]);
    free(parts);
    return rc;
}

/* The length of cJSON_PrintUnformatted(j) without printing it (numbers are
 * counted at their longest form, so this is an upper bound within a few bytes
 * per number). Walks with an explicit stack: no recursion on nested values. */
static size_t json_string_size(const char *s)
{
    size_t n = 2;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\' || *p == '\b' || *p == '\f' || *p == '\n' || *p == '\r' || *p == '\t')
            n += 2;
        else if (*p < 32)
            n += 6;
        else
            n += 1;
    }
    return n;
}

static size_t json_number_size(const cJSON *j)
{
    char buf[64];
    double d = j->valuedouble;
    if (d != d || d > 1e308 || d < -1e308) return 4; /* null */
    if (d == (double)j->valueint) return (size_t)snprintf(buf, sizeof buf, "%d", j->valueint);
    /* as cJSON prints: 15 digits when they read back as the same double, else 17 */
    int n = snprintf(buf, sizeof buf, "%1.15g", d);
    if (strtod(buf, NULL) == d) return (size_t)n;
    return (size_t)snprintf(buf, sizeof buf, "%1.17g", d);
}

size_t wire_json_size(const cJSON *root)
{
    if (!root) return 4;
    size_t total = 0, depth = 0, cap = 64;
    const cJSON **stack = malloc(cap * sizeof *stack);
    if (!stack) return SIZE_MAX;
    const cJSON *j = root;
    for (;;) {
        if (j->string && depth > 0) total += json_string_size(j->string) + 1; /* "key": */
        if (cJSON_IsObject(j) || cJSON_IsArray(j)) {
            total += 2;
            if (j->child) {
                if (depth == cap) {
                    const cJSON **ns = cap > SIZE_MAX / 2 / sizeof *ns ? NULL : realloc(stack, 2 * cap * sizeof *ns);
                    if (!ns) {
                        free(stack);
                        return SIZE_MAX;
                    }
                    stack = ns;
                    cap *= 2;
                }
                stack[depth++] = j;
                j = j->child;
                continue;
            }
        } else if (cJSON_IsString(j)) {
            total += json_string_size(j->valuestring ? j->valuestring : "");
        } else if (cJSON_IsNumber(j)) {
            total += json_number_size(j);
        } else if (cJSON_IsRaw(j)) {
            total += j->valuestring ? strlen(j->valuestring) : 0;
        } else if (cJSON_IsFalse(j)) {
            total += 5;
        } else {
            total += 4; /* true, null */
        }
        /* next sibling, or climb */
        while (depth > 0 && !j->next) j = stack[--depth];
        if (depth == 0) break;
        j = j->next;
        total += 1; /* comma */
    }
    free(stack);
    return total;
}

int wire_send(void *sock, wire_ctx *w, const wire_blob *ids, int n_ids, const char *msg_type,
              const cJSON *parent, const cJSON *metadata, cJSON *content)
{
    return wire_send_dated(sock, w, ids, n_ids, msg_type, parent, metadata, content, NULL);
}

int wire_send_dated(void *sock, wire_ctx *w, const wire_blob *ids, int n_ids, const char *msg_type,
                    const cJSON *parent, const cJSON *metadata, cJSON *content, wire_sent *sent)
{
    cJSON *header = wire_header_new_dated(w, msg_type, sent ? &sent->date_us : NULL);
    size_t size = wire_json_size(header) + wire_json_size(parent) + wire_json_size(metadata) +
                  wire_json_size(content);
    if (sent) sent->size = size;
    if (size > w->max_message) {
        cJSON_Delete(header);
        cJSON_Delete(content);
        return WIRE_TOO_LARGE;
    }
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
