/* kernel/connection.c — reads and validates a Jupyter connection file.
 *
 * Owns: parsing transport, ip, the five ports, key and signature_scheme, and
 * building ZeroMQ endpoints from them. Every problem is reported with the
 * field's name; nothing here touches sockets.
 */
#include "connection.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

const char *const connection_port_names[CONN_NPORTS] = {
    "shell_port", "iopub_port", "stdin_port", "control_port", "hb_port",
};

/* Digests the protocol allows as "hmac-<name>", all known to OpenSSL. */
static const char *const allowed_digests[] = {"sha256", "sha1", "sha224", "sha384", "sha512", "md5"};

int connection_parse(connection *c, const char *json, lens_error *err)
{
    memset(c, 0, sizeof *c);
    cJSON *root = cJSON_Parse(json);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return lens_fail(err, "connection file: not a JSON object");
    }
    int rc = -1;

    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "transport");
    const char *transport = cJSON_IsString(t) ? t->valuestring : (t ? NULL : "tcp");
    if (!transport || (strcmp(transport, "tcp") && strcmp(transport, "ipc"))) {
        lens_fail(err, "connection file: transport must be \"tcp\" or \"ipc\"");
        goto out;
    }
    snprintf(c->transport, sizeof c->transport, "%s", transport);

    const cJSON *ip = cJSON_GetObjectItemCaseSensitive(root, "ip");
    if (!cJSON_IsString(ip) || !ip->valuestring[0] || strlen(ip->valuestring) >= sizeof c->ip) {
        lens_fail(err, "connection file: ip must be a non-empty string");
        goto out;
    }
    snprintf(c->ip, sizeof c->ip, "%s", ip->valuestring);

    for (int i = 0; i < CONN_NPORTS; i++) {
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, connection_port_names[i]);
        if (!cJSON_IsNumber(p) || p->valuedouble < 1 || p->valuedouble > 65535 ||
            p->valuedouble != (double)(int)p->valuedouble) {
            lens_fail(err, "connection file: %s must be an integer in 1..65535",
                      connection_port_names[i]);
            goto out;
        }
        c->ports[i] = p->valueint;
    }

    const cJSON *key = cJSON_GetObjectItemCaseSensitive(root, "key");
    if (key && !cJSON_IsString(key)) {
        lens_fail(err, "connection file: key must be a string");
        goto out;
    }
    c->key = strdup(key ? key->valuestring : "");
    if (!c->key) {
        lens_fail(err, "connection file: out of memory");
        goto out;
    }

    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(root, "signature_scheme");
    const char *scheme = cJSON_IsString(sc) ? sc->valuestring : (sc ? NULL : "hmac-sha256");
    if (!scheme || strncmp(scheme, "hmac-", 5)) {
        lens_fail(err, "connection file: signature_scheme must look like \"hmac-sha256\"");
        goto out;
    }
    for (size_t i = 0; i < sizeof allowed_digests / sizeof *allowed_digests; i++)
        if (!strcmp(scheme + 5, allowed_digests[i]))
            snprintf(c->digest, sizeof c->digest, "%s", allowed_digests[i]);
    if (!c->digest[0]) {
        lens_fail(err, "connection file: unsupported signature_scheme \"%s\" (use hmac-sha256, "
                       "hmac-sha1, hmac-sha224, hmac-sha384, hmac-sha512 or hmac-md5)", scheme);
        goto out;
    }
    rc = 0;
out:
    cJSON_Delete(root);
    if (rc) connection_free(c);
    return rc;
}

int connection_load(connection *c, const char *path, lens_error *err)
{
    memset(c, 0, sizeof *c);
    FILE *f = fopen(path, "rb");
    if (!f) return lens_fail(err, "cannot open connection file %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (1u << 20)) {
                free(buf);
                fclose(f);
                return lens_fail(err, "connection file %s is larger than 1 MiB", path);
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return lens_fail(err, "connection file %s: out of memory", path);
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, 4096, f);
        len += n;
        if (n < 4096) break;
    }
    fclose(f);
    buf[len] = 0;
    int rc = connection_parse(c, buf, err);
    free(buf);
    if (rc) lens_fail_context(err, "%s", path);
    return rc;
}

int connection_endpoint(const connection *c, int which, char *buf, size_t size)
{
    int n = !strcmp(c->transport, "ipc")
                ? snprintf(buf, size, "ipc://%s-%d", c->ip, c->ports[which])
                : snprintf(buf, size, "tcp://%s:%d", c->ip, c->ports[which]);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

void connection_free(connection *c)
{
    free(c->key);
    c->key = NULL;
}
