/* kernel/hf_download.c — Hugging Face Hub files into the Hugging Face cache
 * (the contract is in hf_download.h). */
#include "hf_download.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lens/model.h"

#define MAX_FILE_BYTES (1LL << 40)   /* no model file is a terabyte */

typedef struct file_meta {
    char commit[64];       /* X-Repo-Commit: 40 hex digits */
    char etag[80];         /* 64 hex: sha256 (LFS); 40 hex: git blob sha1 */
    long long size;        /* -1 when the server gave none */
    char location[2048];   /* a redirect's target */
    long status;
} file_meta;

static bool is_hex(const char *s, size_t len)
{
    if (strlen(s) != len) return false;
    for (size_t i = 0; i < len; i++)
        if (!isxdigit((unsigned char)s[i])) return false;
    return true;
}

/* "name: value\r\n" -> value copied into out when the name matches. */
static bool header_value(const char *line, size_t n, const char *name, char *out, size_t size)
{
    size_t len = strlen(name);
    if (n <= len || strncasecmp(line, name, len) != 0 || line[len] != ':') return false;
    const char *v = line + len + 1, *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t')) v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ')) end--;
    size_t vn = (size_t)(end - v);
    if (vn >= size) vn = size - 1;
    memcpy(out, v, vn);
    out[vn] = 0;
    return true;
}

/* An ETag as a bare hash: without W/ and quotes, lower case. */
static void normalize_etag(char *e)
{
    char *s = e;
    if (!strncmp(s, "W/", 2)) s += 2;
    if (*s == '"') s++;
    size_t n = strlen(s);
    if (n && s[n - 1] == '"') n--;
    memmove(e, s, n);
    e[n] = 0;
    for (char *p = e; *p; p++) *p = (char)tolower((unsigned char)*p);
}

typedef struct head_state {
    file_meta *m;
    char linked_etag[80], etag[80], linked_size[32], length[32];
} head_state;

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    head_state *h = ud;
    size_t n = size * nitems;
    if (n > 5 && !strncmp(buf, "HTTP/", 5)) {   /* a new response (after a redirect): start over */
        file_meta *m = h->m;
        memset(h, 0, sizeof *h);
        h->m = m;
        m->commit[0] = m->location[0] = 0;
    }
    header_value(buf, n, "X-Repo-Commit", h->m->commit, sizeof h->m->commit);
    header_value(buf, n, "X-Linked-Etag", h->linked_etag, sizeof h->linked_etag);
    header_value(buf, n, "ETag", h->etag, sizeof h->etag);
    header_value(buf, n, "X-Linked-Size", h->linked_size, sizeof h->linked_size);
    header_value(buf, n, "Content-Length", h->length, sizeof h->length);
    header_value(buf, n, "Location", h->m->location, sizeof h->m->location);
    return n;
}

static CURL *new_handle(const char *url, struct curl_slist **headers)
{
    CURL *c = curl_easy_init();
    if (!c) return NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "lens-download");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);     /* a stalled transfer fails after a minute */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    *headers = curl_slist_append(NULL, "Accept-Encoding: identity");
    const char *token = getenv("HF_TOKEN");
    if (token && *token) {
        char auth[4096];
        if (snprintf(auth, sizeof auth, "Authorization: Bearer %s", token) < (int)sizeof auth)
            *headers = curl_slist_append(*headers, auth);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *headers);
    return c;
}

/* HEAD url, following redirects within the same site only (a renamed
 * repository) and stopping at one to another site (the CDN of an LFS file),
 * whose headers carry the metadata. */
static int head(const char *url, file_meta *m, lens_error *err)
{
    char cur[4096];
    snprintf(cur, sizeof cur, "%s", url);
    for (int hop = 0; hop < 6; hop++) {
        memset(m, 0, sizeof *m);
        head_state h = {.m = m};
        struct curl_slist *hdrs = NULL;
        CURL *c = new_handle(cur, &hdrs);
        if (!c) return lens_fail(err, "download: cannot start libcurl");
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
        CURLcode rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &m->status);
        curl_easy_cleanup(c);
        curl_slist_free_all(hdrs);
        if (rc != CURLE_OK) return lens_fail(err, "download: %s: %s", cur, curl_easy_strerror(rc));
        if (m->status >= 300 && m->status < 400 && m->location[0] == '/' && !m->commit[0]) {
            /* same site: scheme://host of cur + the new path */
            const char *p = strstr(cur, "://");
            const char *slash = p ? strchr(p + 3, '/') : NULL;
            size_t base = slash ? (size_t)(slash - cur) : strlen(cur);
            char next[4096];
            if (snprintf(next, sizeof next, "%.*s%s", (int)base, cur, m->location) >= (int)sizeof next)
                return lens_fail(err, "download: redirect too long");
            snprintf(cur, sizeof cur, "%s", next);
            continue;
        }
        if (m->status == 401 || m->status == 403)
            return lens_fail(err, "download: %s: HTTP %ld (a gated or private repository needs $HF_TOKEN)",
                             cur, m->status);
        if (m->status == 404) return lens_fail(err, "download: %s: not found (HTTP 404)", cur);
        if (m->status < 200 || m->status >= 400)
            return lens_fail(err, "download: %s: HTTP %ld from the server", cur, m->status);
        snprintf(m->etag, sizeof m->etag, "%s", h.linked_etag[0] ? h.linked_etag : h.etag);
        normalize_etag(m->etag);
        const char *sz = h.linked_size[0] ? h.linked_size : h.length;
        char *end = NULL;
        errno = 0;
        long long v = *sz ? strtoll(sz, &end, 10) : -1;
        m->size = (*sz && (errno || *end || v < 0 || v > MAX_FILE_BYTES)) ? -2 : v;
        if (m->size == -2) return lens_fail(err, "download: %s: bad size \"%s\"", cur, sz);
        if (!is_hex(m->commit, 40))
            return lens_fail(err, "download: %s: the server sent no commit (X-Repo-Commit); is "
                                  "$HF_ENDPOINT a Hugging Face Hub?", cur);
        if (!is_hex(m->etag, 64) && !is_hex(m->etag, 40))
            return lens_fail(err, "download: %s: the server sent no checksum (ETag \"%s\")", cur, m->etag);
        if (m->size < 0 && strlen(m->etag) == 40)   /* git's blob hash covers the size */
            return lens_fail(err, "download: %s: the server sent no size", cur);
        return 0;
    }
    return lens_fail(err, "download: %s: too many redirects", url);
}

typedef struct get_state {
    FILE *f;
    EVP_MD_CTX *md;
    long long got;
    bool write_failed;
} get_state;

static size_t on_body(char *buf, size_t size, size_t nitems, void *ud)
{
    get_state *g = ud;
    size_t n = size * nitems;
    if (fwrite(buf, 1, n, g->f) != n) {
        g->write_failed = true;
        return 0;
    }
    EVP_DigestUpdate(g->md, buf, n);
    g->got += (long long)n;
    return n;
}

static void hex(const unsigned char *d, unsigned n, char *out)
{
    for (unsigned i = 0; i < n; i++) snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* A digest over what the ETag names: sha256 of the bytes (64 hex digits) or
 * git's blob sha1, of "blob SIZE\0" then the bytes (40). */
static EVP_MD_CTX *start_digest(const file_meta *m)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool sha1 = strlen(m->etag) == 40;
    if (!md || !EVP_DigestInit_ex(md, sha1 ? EVP_sha1() : EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(md);
        return NULL;
    }
    if (sha1) {
        char pre[48];
        int n = snprintf(pre, sizeof pre, "blob %lld", m->size);
        EVP_DigestUpdate(md, pre, (size_t)n + 1);   /* with its NUL */
    }
    return md;
}

static bool digest_matches(EVP_MD_CTX *md, const char *etag)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    char h[2 * EVP_MAX_MD_SIZE + 1];
    if (!EVP_DigestFinal_ex(md, d, &n)) return false;
    hex(d, n, h);
    return strcmp(h, etag) == 0;
}

/* Whether path holds exactly the blob m describes. */
static bool blob_is_valid(const char *path, const file_meta *m)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    EVP_MD_CTX *md = start_digest(m);
    char buf[1 << 16];
    size_t n;
    long long got = 0;
    while (md && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        EVP_DigestUpdate(md, buf, n);
        got += (long long)n;
    }
    bool ok = md && !ferror(f) && got == m->size && digest_matches(md, m->etag);
    EVP_MD_CTX_free(md);
    fclose(f);
    return ok;
}

/* GET url into blob (through blob.incomplete), checked against m. */
static int fetch_blob(const char *url, const char *name, const file_meta *m, const char *blob, lens_error *err)
{
    char part[PATH_MAX];
    if (snprintf(part, sizeof part, "%s.incomplete", blob) >= (int)sizeof part)
        return lens_fail(err, "download: path too long");
    get_state g = {.f = fopen(part, "wb"), .md = start_digest(m)};
    if (!g.f || !g.md) {
        if (g.f) fclose(g.f);
        EVP_MD_CTX_free(g.md);
        unlink(part);
        return lens_fail(err, "download: cannot write %s: %s", part, strerror(errno));
    }
    struct curl_slist *hdrs = NULL;
    CURL *c = new_handle(url, &hdrs);
    long status = 0;
    CURLcode rc = CURLE_FAILED_INIT;
    if (c) {
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &g);
        rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
    }
    curl_slist_free_all(hdrs);
    bool closed = fclose(g.f) == 0;
    int ret = 0;
    if (g.write_failed || !closed)
        ret = lens_fail(err, "download: cannot write %s: %s", part, strerror(errno));
    else if (rc != CURLE_OK)
        ret = lens_fail(err, "download: %s: %s after %lld of %lld bytes", name, curl_easy_strerror(rc),
                        g.got, m->size);
    else if (status != 200)
        ret = lens_fail(err, "download: %s: HTTP %ld from the server", name, status);
    else if (m->size >= 0 && g.got != m->size)
        ret = lens_fail(err, "download: %s: got %lld bytes, expected %lld (the transfer was cut short)",
                        name, g.got, m->size);
    else if (!digest_matches(g.md, m->etag))
        ret = lens_fail(err, "download: %s: checksum mismatch (expected %s %s); the file was discarded",
                        name, strlen(m->etag) == 40 ? "git sha1" : "sha256", m->etag);
    EVP_MD_CTX_free(g.md);
    if (ret == 0 && rename(part, blob) != 0)
        ret = lens_fail(err, "download: cannot rename %s: %s", part, strerror(errno));
    if (ret != 0) unlink(part);
    return ret;
}

static int make_dirs(const char *path, lens_error *err)
{
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) return lens_fail(err, "download: path too long");
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0755) != 0 && errno != EEXIST) return lens_fail(err, "download: cannot create %s: %s", p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) return lens_fail(err, "download: cannot create %s: %s", p, strerror(errno));
    return 0;
}

/* path -> target, replacing what is there in one step (symlink, rename). */
static int link_atomically(const char *target, const char *path, lens_error *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.lens-tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return lens_fail(err, "download: path too long");
    unlink(tmp);
    if (symlink(target, tmp) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return lens_fail(err, "download: cannot link %s: %s", path, strerror(e));
    }
    return 0;
}

static int write_ref(const char *path, const char *commit, lens_error *err)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.lens-tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return lens_fail(err, "download: path too long");
    FILE *f = fopen(tmp, "w");
    bool ok = f && fputs(commit, f) >= 0;
    ok = (f && fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return lens_fail(err, "download: cannot write %s", path);
    }
    return 0;
}

enum { MAX_FILES = 16 };

int hf_download(const char *repo_id, const char *revision, const char *const *files, int n,
                char *snapshot, size_t size, lens_error *err)
{
    if (n <= 0 || n > MAX_FILES) return lens_fail(err, "download: between 1 and %d files", MAX_FILES);
    if (!*revision) return lens_fail(err, "download: empty revision");
    for (const char *p = revision; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-", *p))
            return lens_fail(err, "download: bad revision \"%s\"", revision);
    const char *endpoint = getenv("HF_ENDPOINT");
    if (!endpoint || !*endpoint) endpoint = "https://huggingface.co";
    size_t elen = strlen(endpoint);
    while (elen > 0 && endpoint[elen - 1] == '/') elen--;
    char hub[PATH_MAX], repo_dir[PATH_MAX], folder[512];
    lens_hf_hub_dir(hub, sizeof hub);
    /* the cache folder: models--ORG--NAME */
    size_t fl = (size_t)snprintf(folder, sizeof folder, "models");
    for (const char *r = repo_id; *r && fl + 3 < sizeof folder; r++) {
        if (r == repo_id || *r == '/') {
            folder[fl++] = '-';
            folder[fl++] = '-';
        }
        if (*r != '/') folder[fl++] = *r;
    }
    folder[fl] = 0;
    if (snprintf(repo_dir, sizeof repo_dir, "%s/%s", hub, folder) >= (int)sizeof repo_dir)
        return lens_fail(err, "download: cache path too long");
    char blobs[PATH_MAX + 8];
    snprintf(blobs, sizeof blobs, "%s/blobs", repo_dir);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) return lens_fail(err, "download: cannot start libcurl");
    int rc = make_dirs(blobs, err);

    /* 1: every blob, verified; nothing visible to a loader yet */
    file_meta meta[MAX_FILES];
    for (int i = 0; rc == 0 && i < n; i++) {
        char url[4096];
        if (snprintf(url, sizeof url, "%.*s/%s/resolve/%s/%s", (int)elen, endpoint, repo_id, revision,
                     files[i]) >= (int)sizeof url) {
            rc = lens_fail(err, "download: URL too long");
            break;
        }
        if ((rc = head(url, &meta[i], err)) != 0) break;
        if (i > 0 && strcmp(meta[i].commit, meta[0].commit) != 0) {
            rc = lens_fail(err, "download: the repository changed during the download; run it again");
            break;
        }
        char blob[PATH_MAX + 96];
        snprintf(blob, sizeof blob, "%s/%s", blobs, meta[i].etag);
        if (blob_is_valid(blob, &meta[i])) {
            fprintf(stderr, "%s: already in the cache\n", files[i]);
            continue;
        }
        if (meta[i].size >= 0)
            fprintf(stderr, "downloading %s (%.1f MB)\n", files[i], (double)meta[i].size / 1e6);
        else
            fprintf(stderr, "downloading %s\n", files[i]);
        rc = fetch_blob(url, files[i], &meta[i], blob, err);
    }

    /* 2: the snapshot's links, then the ref */
    char snap[PATH_MAX + 128];
    if (rc == 0) {
        snprintf(snap, sizeof snap, "%s/snapshots/%s", repo_dir, meta[0].commit);
        rc = make_dirs(snap, err);
    }
    for (int i = 0; rc == 0 && i < n; i++) {
        char target[256], path[PATH_MAX + 256];
        snprintf(target, sizeof target, "../../blobs/%s", meta[i].etag);
        snprintf(path, sizeof path, "%s/%s", snap, files[i]);
        rc = link_atomically(target, path, err);
    }
    if (rc == 0) {
        char refs[PATH_MAX + 8], ref[PATH_MAX + 128];
        snprintf(refs, sizeof refs, "%s/refs", repo_dir);
        snprintf(ref, sizeof ref, "%s/%s", refs, revision);
        rc = make_dirs(refs, err);
        if (rc == 0) rc = write_ref(ref, meta[0].commit, err);
    }
    if (rc == 0) snprintf(snapshot, size, "%s", snap);
    curl_global_cleanup();
    return rc;
}
