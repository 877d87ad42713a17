/* safetensors.c — reading and writing safetensors files (see lens/safetensors.h).
 *
 * Owns: mapping a file, validating its header completely (every field is checked
 * before any pointer into the data is formed), converting stored dtypes to the
 * engine's float32 / int64, and writing float32 / int64 tensors atomically
 * (path.tmp, then rename).
 *
 * Does not own: what the tensors mean (model.c maps names to weights).
 *
 * The file format: 8 bytes little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {"key": "string value"}}, then the data area; offsets are
 * relative to the start of the data area.
 */
#include "lens/safetensors.h"
#include "lens/checked.h"
#include "lens/file.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host (the file format is little-endian)"
#endif

#define ST_MAX_HEADER (100u * 1024u * 1024u)
/* Largest integer a JSON number (a double) holds exactly. */
#define ST_MAX_JSON_INT 9007199254740992.0

struct lens_safetensors {
    char *path;
    void *map;
    size_t map_size;
    int n;
    lens_st_entry *entries;   /* in header order */
    int *by_name;             /* indices into entries, sorted by name */
    char *metadata;           /* JSON text of __metadata__, "{}" when absent */
};

/* ---- dtypes ------------------------------------------------------------- */

static const struct { const char *name; lens_st_dtype dtype; size_t size; } st_dtypes[] = {
    {"F32", LENS_ST_F32, 4}, {"F16", LENS_ST_F16, 2}, {"BF16", LENS_ST_BF16, 2},
    {"F64", LENS_ST_F64, 8}, {"I64", LENS_ST_I64, 8}, {"I32", LENS_ST_I32, 4},
    {"I16", LENS_ST_I16, 2}, {"I8", LENS_ST_I8, 1},   {"U8", LENS_ST_U8, 1},
    {"BOOL", LENS_ST_BOOL, 1},
};
#define ST_NDTYPES ((int)(sizeof st_dtypes / sizeof st_dtypes[0]))

static int st_dtype_index(lens_st_dtype dt)
{
    for (int i = 0; i < ST_NDTYPES; i++)
        if (st_dtypes[i].dtype == dt) return i;
    return -1;
}

static size_t st_dtype_size(lens_st_dtype dt)
{
    int i = st_dtype_index(dt);
    return i < 0 ? 0 : st_dtypes[i].size;
}

static bool st_dtype_is_float(lens_st_dtype dt)
{
    return dt == LENS_ST_F32 || dt == LENS_ST_F16 || dt == LENS_ST_BF16 || dt == LENS_ST_F64;
}

/* ---- half-precision conversion ------------------------------------------ */

/* Exact IEEE binary16 -> binary32: normals rebias the exponent, subnormals are
 * normalised, inf stays inf, NaN keeps its sign and payload. */
static float st_f16_bits_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);
    } else if (mant == 0) {
        bits = sign;
    } else {
        /* subnormal: value = mant * 2^-24; shift until the implicit bit appears */
        int e = -1;
        do { mant <<= 1; e++; } while (!(mant & 0x400u));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static float st_f16_table[65536];
static pthread_once_t st_f16_once = PTHREAD_ONCE_INIT;

static void st_f16_table_init(void)
{
    for (uint32_t i = 0; i < 65536; i++) st_f16_table[i] = st_f16_bits_to_f32((uint16_t)i);
}

float lens_f16_to_f32(uint16_t bits)
{
    return st_f16_bits_to_f32(bits);
}

float lens_bf16_to_f32(uint16_t bits)
{
    uint32_t b = (uint32_t)bits << 16;
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

/* ---- opening ------------------------------------------------------------ */

static void st_free(lens_safetensors *st)
{
    if (!st) return;
    if (st->entries)
        for (int i = 0; i < st->n; i++) free((char *)st->entries[i].name);
    free(st->entries);
    free(st->by_name);
    free(st->metadata);
    if (st->map) munmap(st->map, st->map_size);
    free(st->path);
    free(st);
}

void lens_safetensors_close(lens_safetensors *st)
{
    st_free(st);
}

/* A JSON number that is a non-negative integer a double holds exactly. */
static bool st_json_uint(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v)) return false;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= ST_MAX_JSON_INT) || d != (double)(uint64_t)d) return false;
    *out = (uint64_t)d;
    return true;
}

/* Validates one header entry and fills e (name excluded). begin/end are offsets
 * in the data area of data_size bytes. */
static int st_parse_entry(const char *path, const cJSON *item, size_t data_size,
                          lens_st_entry *e, uint64_t *begin_out, uint64_t *end_out,
                          lens_error *err)
{
    const char *name = item->string;
    if (!cJSON_IsObject(item))
        return lens_fail(err, "%s: tensor '%.200s' is not a JSON object", path, name);

    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(item, "dtype");
    if (!cJSON_IsString(dt))
        return lens_fail(err, "%s: tensor '%.200s' has no \"dtype\" string", path, name);
    int di = -1;
    for (int i = 0; i < ST_NDTYPES; i++)
        if (strcmp(dt->valuestring, st_dtypes[i].name) == 0) di = i;
    if (di < 0)
        return lens_fail(err,
                         "%s: tensor '%.200s' has unknown dtype '%.40s' (supported: F32, F16, "
                         "BF16, F64, I64, I32, I16, I8, U8, BOOL)",
                         path, name, dt->valuestring);
    e->dtype = st_dtypes[di].dtype;
    size_t esize = st_dtypes[di].size;

    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(item, "shape");
    if (!cJSON_IsArray(shape))
        return lens_fail(err, "%s: tensor '%.200s' has no \"shape\" array", path, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > LENS_MAX_DIMS)
        return lens_fail(err, "%s: tensor '%.200s' has %d dimensions (at most %d supported)",
                         path, name, ndim, LENS_MAX_DIMS);
    e->ndim = ndim;
    int d = 0;
    for (const cJSON *s = shape->child; s; s = s->next, d++) {
        uint64_t v;
        if (!st_json_uint(s, &v))
            return lens_fail(err,
                             "%s: tensor '%.200s' shape dimension %d is not a non-negative "
                             "integer",
                             path, name, d);
        e->shape[d] = (int64_t)v;   /* v <= 2^53 (st_json_uint) */
    }
    /* Every dim counts, even beside a 0: a [0, 2^40, 2^40] tensor could not be
     * reduced or reshaped without wrapping. */
    int64_t numel;
    lens_error why;
    if (lens_shape_numel(ndim, e->shape, &numel, &why) < 0)
        return lens_fail_kind(err, LENS_ERR_TOO_LARGE, "%s: tensor '%.200s': %s", path, name, why.msg);
    size_t nbytes = (size_t)numel * esize;   /* <= 2^60 * 8 */
    e->nbytes = nbytes;

    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(item, "data_offsets");
    uint64_t begin, end;
    if (!cJSON_IsArray(offs) || cJSON_GetArraySize(offs) != 2 ||
        !st_json_uint(offs->child, &begin) || !st_json_uint(offs->child->next, &end))
        return lens_fail(err,
                         "%s: tensor '%.200s' needs \"data_offsets\": [begin, end] with "
                         "non-negative integers",
                         path, name);
    if (begin > end)
        return lens_fail(err,
                         "%s: tensor '%.200s' data_offsets [%" PRIu64 ", %" PRIu64
                         "] begin after end",
                         path, name, begin, end);
    if (end > data_size)
        return lens_fail(err,
                         "%s: tensor '%.200s' data_offsets [%" PRIu64 ", %" PRIu64
                         "] exceed the data area (%zu bytes)",
                         path, name, begin, end, data_size);
    if (end - begin != nbytes) {
        char sbuf[160];
        return lens_fail(err,
                         "%s: tensor '%.200s' of dtype %s and shape %s needs %zu bytes but "
                         "data_offsets [%" PRIu64 ", %" PRIu64 "] span %" PRIu64 " bytes",
                         path, name, st_dtypes[di].name,
                         lens_shape_str(e->ndim, e->shape, sbuf, sizeof sbuf), nbytes, begin,
                         end, end - begin);
    }
    *begin_out = begin;
    *end_out = end;
    return 0;
}

typedef struct { uint64_t begin, end; int index; } st_span;

static int st_span_cmp(const void *a, const void *b)
{
    const st_span *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static int st_name_cmp(const void *a, const void *b, void *ctx)
{
    const lens_st_entry *entries = ctx;
    return strcmp(entries[*(const int *)a].name, entries[*(const int *)b].name);
}

static int st_check_metadata(const char *what, const cJSON *meta, lens_error *err)
{
    if (!cJSON_IsObject(meta))
        return lens_fail(err, "%s: __metadata__ must be a JSON object of strings", what);
    for (const cJSON *m = meta->child; m; m = m->next)
        if (!cJSON_IsString(m))
            return lens_fail(err,
                             "%s: __metadata__ value '%.200s' is not a string (metadata must "
                             "be an object of strings)",
                             what, m->string);
    return 0;
}

/* Parses and validates the header text; fills st's entries and metadata. */
static int st_parse_header(lens_safetensors *st, const char *text, size_t hlen,
                           const unsigned char *data, size_t data_size, lens_error *err)
{
    const char *path = st->path;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, hlen, &end, 0);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t pos = (at && at >= text && at <= text + hlen) ? (size_t)(at - text) : 0;
        return lens_fail(err, "%s: header is not valid JSON (error near byte %zu of %zu)", path,
                         pos, hlen);
    }
    int rc = -1;
    st_span *spans = NULL;
    for (const char *p = end; p && p < text + hlen; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            lens_fail(err, "%s: unexpected bytes after the JSON header (at byte %zu of %zu)",
                      path, (size_t)(p - text), hlen);
            goto done;
        }
    if (!cJSON_IsObject(root)) {
        lens_fail(err, "%s: header is JSON but not an object of tensors", path);
        goto done;
    }

    int n = 0;
    for (const cJSON *it = root->child; it; it = it->next) {
        if (!it->string) { lens_fail(err, "%s: header entry without a name", path); goto done; }
        if (strcmp(it->string, "__metadata__") != 0) n++;
    }
    st->entries = calloc(n ? (size_t)n : 1, sizeof *st->entries);
    st->by_name = calloc(n ? (size_t)n : 1, sizeof *st->by_name);
    spans = calloc(n ? (size_t)n : 1, sizeof *spans);
    if (!st->entries || !st->by_name || !spans) {
        lens_fail_kind(err, LENS_ERR_MEMORY, "%s: out of memory reading the header", path);
        goto done;
    }

    bool have_meta = false;
    for (const cJSON *it = root->child; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) {
            if (have_meta) {
                lens_fail(err, "%s: __metadata__ appears twice", path);
                goto done;
            }
            have_meta = true;
            if (st_check_metadata(path, it, err) < 0) goto done;
            st->metadata = cJSON_PrintUnformatted(it);
            if (!st->metadata) { lens_fail_kind(err, LENS_ERR_MEMORY, "%s: out of memory", path); goto done; }
            continue;
        }
        lens_st_entry *e = &st->entries[st->n];
        uint64_t b = 0, en = 0;
        if (st_parse_entry(path, it, data_size, e, &b, &en, err) < 0) goto done;
        e->name = strdup(it->string);
        if (!e->name) { lens_fail_kind(err, LENS_ERR_MEMORY, "%s: out of memory", path); goto done; }
        e->data = data + b;
        spans[st->n] = (st_span){b, en, st->n};
        st->by_name[st->n] = st->n;
        st->n++;
    }
    if (!st->metadata && !(st->metadata = strdup("{}"))) {
        lens_fail_kind(err, LENS_ERR_MEMORY, "%s: out of memory", path);
        goto done;
    }

    /* Names must be unique (JSON allows repeated keys). */
    qsort_r(st->by_name, (size_t)st->n, sizeof *st->by_name, st_name_cmp, st->entries);
    for (int i = 1; i < st->n; i++)
        if (strcmp(st->entries[st->by_name[i]].name, st->entries[st->by_name[i - 1]].name) == 0) {
            lens_fail(err, "%s: tensor '%.200s' appears twice in the header", path,
                      st->entries[st->by_name[i]].name);
            goto done;
        }

    /* Entries must not share bytes (empty tensors occupy none). */
    qsort(spans, (size_t)st->n, sizeof *spans, st_span_cmp);
    int prev = -1;
    for (int i = 0; i < st->n; i++) {
        if (spans[i].begin == spans[i].end) continue;
        if (prev >= 0 && spans[prev].end > spans[i].begin) {
            lens_fail(err,
                      "%s: tensors '%.200s' [%" PRIu64 ", %" PRIu64 "] and '%.200s' [%" PRIu64
                      ", %" PRIu64 "] overlap in the data area",
                      path, st->entries[spans[prev].index].name, spans[prev].begin,
                      spans[prev].end, st->entries[spans[i].index].name, spans[i].begin,
                      spans[i].end);
            goto done;
        }
        prev = i;
    }
    rc = 0;
done:
    free(spans);
    cJSON_Delete(root);
    return rc;
}

lens_safetensors *lens_safetensors_open(const char *path, lens_error *err)
{
    if (!path) { lens_fail(err, "safetensors: no path given"); return NULL; }
    lens_safetensors *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        lens_fail_kind(err, LENS_ERR_MEMORY, "%s: out of memory", path);
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        lens_fail(err, "%s: cannot open: %s", path, strerror(errno));
        st_free(st);
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        lens_fail(err, "%s: cannot stat: %s", path, strerror(errno));
        goto fail_fd;
    }
    if (!S_ISREG(sb.st_mode)) {
        lens_fail(err, "%s: not a regular file", path);
        goto fail_fd;
    }
    size_t size = (size_t)sb.st_size;
    if (size < 8) {
        lens_fail(err,
                  "%s: file is %zu bytes, too small for a safetensors file (empty or "
                  "truncated; at least an 8-byte header length is needed)",
                  path, size);
        goto fail_fd;
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        lens_fail(err, "%s: cannot map the file: %s", path, strerror(errno));
        goto fail_fd;
    }
    close(fd);
    st->map = map;
    st->map_size = size;

    const unsigned char *bytes = map;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | bytes[i];
    /* The length's value is not shown: for a file that is not safetensors it is the
     * file's first 8 bytes. */
    if (hlen > size - 8) {
        lens_fail(err,
                  "%s: the header length in the first 8 bytes exceeds the file (%zu bytes after "
                  "the length field); the file is truncated or not safetensors",
                  path, size - 8);
        goto fail;
    }
    if (hlen > ST_MAX_HEADER) {
        lens_fail(err, "%s: the header length in the first 8 bytes is over the 100 MB limit; "
                       "the file is not safetensors", path);
        goto fail;
    }
    if (hlen < 2) {
        lens_fail(err, "%s: header length %" PRIu64 " is too small for a JSON object", path,
                  hlen);
        goto fail;
    }
    const unsigned char *data = bytes + 8 + hlen;
    if (st_parse_header(st, (const char *)bytes + 8, (size_t)hlen, data, size - 8 - hlen, err) < 0)
        goto fail;
    return st;

fail_fd:
    close(fd);
fail:
    st_free(st);
    return NULL;
}

/* ---- lookup ------------------------------------------------------------- */

int lens_safetensors_count(const lens_safetensors *st)
{
    return st ? st->n : 0;
}

const lens_st_entry *lens_safetensors_entry(const lens_safetensors *st, int i)
{
    if (!st || i < 0 || i >= st->n) return NULL;
    return &st->entries[i];
}

const lens_st_entry *lens_safetensors_find(const lens_safetensors *st, const char *name)
{
    if (!st || !name) return NULL;
    int lo = 0, hi = st->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const lens_st_entry *e = &st->entries[st->by_name[mid]];
        int c = strcmp(name, e->name);
        if (c == 0) return e;
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

const char *lens_safetensors_metadata(const lens_safetensors *st)
{
    return st ? st->metadata : "{}";
}

const char *lens_st_dtype_name(lens_st_dtype dt)
{
    int i = st_dtype_index(dt);
    return i < 0 ? "?" : st_dtypes[i].name;
}

/* ---- conversion --------------------------------------------------------- */

static size_t st_entry_numel(const lens_st_entry *e)
{
    size_t es = st_dtype_size(e->dtype);
    return es ? e->nbytes / es : 0;
}

/* Loops read the mapping through memcpy: it may be unaligned, and compilers turn
 * these into plain (vectorisable) loads. */
#define ST_CONVERT(TYPE, OUT_T, src, out, n)                                    \
    do {                                                                        \
        const unsigned char *s_ = (src);                                        \
        for (size_t i_ = 0; i_ < (n); i_++) {                                   \
            TYPE v_;                                                            \
            memcpy(&v_, s_ + i_ * sizeof(TYPE), sizeof(TYPE));                  \
            (out)[i_] = (OUT_T)v_;                                              \
        }                                                                       \
    } while (0)

static void st_to_f32(const lens_st_entry *e, float *out, size_t n)
{
    const unsigned char *s = e->data;
    switch (e->dtype) {
    case LENS_ST_F32:
        if (n) memcpy(out, s, n * sizeof(float));
        break;
    case LENS_ST_F16:
        pthread_once(&st_f16_once, st_f16_table_init);
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            out[i] = st_f16_table[h];
        }
        break;
    case LENS_ST_BF16:
        for (size_t i = 0; i < n; i++) {
            uint16_t h;
            memcpy(&h, s + 2 * i, 2);
            uint32_t b = (uint32_t)h << 16;
            memcpy(&out[i], &b, 4);
        }
        break;
    case LENS_ST_F64: ST_CONVERT(double, float, s, out, n); break;
    case LENS_ST_I64: ST_CONVERT(int64_t, float, s, out, n); break;
    case LENS_ST_I32: ST_CONVERT(int32_t, float, s, out, n); break;
    case LENS_ST_I16: ST_CONVERT(int16_t, float, s, out, n); break;
    case LENS_ST_I8: ST_CONVERT(int8_t, float, s, out, n); break;
    case LENS_ST_U8: ST_CONVERT(uint8_t, float, s, out, n); break;
    case LENS_ST_BOOL:
        for (size_t i = 0; i < n; i++) out[i] = s[i] ? 1.0f : 0.0f;
        break;
    }
}

static void st_to_i64(const lens_st_entry *e, int64_t *out, size_t n)
{
    const unsigned char *s = e->data;
    switch (e->dtype) {
    case LENS_ST_I64:
        if (n) memcpy(out, s, n * sizeof(int64_t));
        break;
    case LENS_ST_I32: ST_CONVERT(int32_t, int64_t, s, out, n); break;
    case LENS_ST_I16: ST_CONVERT(int16_t, int64_t, s, out, n); break;
    case LENS_ST_I8: ST_CONVERT(int8_t, int64_t, s, out, n); break;
    case LENS_ST_U8: ST_CONVERT(uint8_t, int64_t, s, out, n); break;
    case LENS_ST_BOOL:
        for (size_t i = 0; i < n; i++) out[i] = s[i] ? 1 : 0;
        break;
    default: break; /* float dtypes never come here */
    }
}

int lens_st_entry_read_f32(const lens_st_entry *e, float *out, size_t numel, lens_error *err)
{
    if (!e) return lens_fail(err, "safetensors: no entry given");
    size_t n = st_entry_numel(e);
    if (numel != n)
        return lens_fail(err, "tensor '%.200s' has %zu elements but the buffer holds %zu",
                         e->name, n, numel);
    if (n && !out) return lens_fail(err, "tensor '%.200s': no output buffer", e->name);
    st_to_f32(e, out, n);
    return 0;
}

lens_tensor *lens_st_entry_tensor(const lens_st_entry *e, lens_error *err)
{
    if (!e) { lens_fail(err, "safetensors: no entry given"); return NULL; }
    bool fl = st_dtype_is_float(e->dtype);
    lens_dtype dt = fl ? LENS_F32 : e->dtype == LENS_ST_BOOL ? LENS_BOOL : LENS_I64;
    lens_tensor *t = lens_tensor_new(dt, e->ndim, e->shape);
    if (!t) {
        lens_fail_kind(err, LENS_ERR_MEMORY, "tensor '%.200s': out of memory (%zu bytes stored)", e->name, e->nbytes);
        return NULL;
    }
    size_t n = st_entry_numel(e);
    if (fl) st_to_f32(e, lens_tensor_f32(t), n);
    else if (dt == LENS_BOOL) for (size_t i = 0; i < n; i++) lens_tensor_bool(t)[i] = ((const unsigned char *)e->data)[i] != 0;
    else st_to_i64(e, lens_tensor_i64(t), n);
    return t;
}

/* ---- writing ------------------------------------------------------------ */

static int st_write_name_cmp(const void *a, const void *b, void *ctx)
{
    const char *const *names = ctx;
    return strcmp(names[*(const int *)a], names[*(const int *)b]);
}

static cJSON *st_raw_u64(uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, v);
    return cJSON_CreateRaw(buf);
}

/* The header JSON (unpadded) for tensors in the given order; NULL on failure. */
static char *st_build_header(const char *path, int n, const int *order, const char *const *names,
                             const lens_tensor *const *tensors, const char *metadata_json,
                             lens_error *err)
{
    cJSON *root = cJSON_CreateObject();
    char *text = NULL;
    if (!root) goto oom;
    if (metadata_json) {
        cJSON *meta = cJSON_Parse(metadata_json);
        if (!meta) {
            lens_fail(err, "%s: metadata is not valid JSON (it must be an object of strings)",
                      path);
            goto fail;
        }
        if (st_check_metadata(path, meta, err) < 0) { cJSON_Delete(meta); goto fail; }
        cJSON_AddItemToObject(root, "__metadata__", meta);
    }
    uint64_t offset = 0;
    for (int k = 0; k < n; k++) {
        int i = order[k];
        const lens_tensor *t = tensors[i];
        cJSON *ent = cJSON_CreateObject();
        if (!ent) goto oom;
        cJSON_AddItemToObject(root, names[i], ent);
        if (!cJSON_AddStringToObject(ent, "dtype", t->dtype == LENS_F32 ? "F32" : t->dtype == LENS_BOOL ? "BOOL" : "I64"))
            goto oom;
        cJSON *shape = cJSON_AddArrayToObject(ent, "shape");
        if (!shape) goto oom;
        for (int d = 0; d < t->ndim; d++) {
            cJSON *v = st_raw_u64((uint64_t)t->shape[d]);
            if (!v) goto oom;
            cJSON_AddItemToArray(shape, v);
        }
        uint64_t nbytes = (uint64_t)lens_tensor_numel(t) * lens_dtype_size(t->dtype);
        cJSON *offs = cJSON_AddArrayToObject(ent, "data_offsets");
        cJSON *b = st_raw_u64(offset), *e = st_raw_u64(offset + nbytes);
        if (!offs || !b || !e) { cJSON_Delete(b); cJSON_Delete(e); goto oom; }
        cJSON_AddItemToArray(offs, b);
        cJSON_AddItemToArray(offs, e);
        offset += nbytes;
    }
    text = cJSON_PrintUnformatted(root);
    if (!text) goto oom;
    cJSON_Delete(root);
    return text;
oom:
    lens_fail_kind(err, LENS_ERR_MEMORY, "%s: out of memory building the header", path);
fail:
    cJSON_Delete(root);
    return NULL;
}

static int st_write_all(FILE *f, const void *p, size_t n)
{
    return n == 0 || fwrite(p, 1, n, f) == n ? 0 : -1;
}

typedef struct {
    const char *header;
    size_t hlen, padded;
    int n;
    const int *order;
    const char *const *names;
    const lens_tensor *const *tensors;
} st_write_ctx;

/* The file's bytes: length, padded header, tensors in name order. */
static int st_write_body(FILE *f, void *ctx, lens_error *err)
{
    const st_write_ctx *w = ctx;
    unsigned char lenbuf[8];
    for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)((uint64_t)w->padded >> (8 * i));
    int rc = st_write_all(f, lenbuf, 8);
    rc |= st_write_all(f, w->header, w->hlen);
    for (size_t i = w->hlen; i < w->padded && rc == 0; i++) rc |= fputc(' ', f) == EOF ? -1 : 0;
    for (int k = 0; k < w->n && rc == 0; k++) {
        const lens_tensor *t = w->tensors[w->order[k]];
        lens_tensor *c = lens_tensor_contiguous(t);
        if (!c) {
            lens_fail_alloc(err);
            return lens_fail_context(err, "copying tensor '%.200s'", w->names[w->order[k]]);
        }
        rc |= st_write_all(f, lens_tensor_data(c), (size_t)lens_tensor_numel(c) * lens_dtype_size(c->dtype));
        lens_tensor_free(c);
    }
    return rc;
}

int lens_safetensors_write(const char *path, int n, const char *const *names,
                           const lens_tensor *const *tensors, const char *metadata_json,
                           lens_error *err)
{
    if (!path) return lens_fail(err, "safetensors: no path given");
    if (n < 0 || (n > 0 && (!names || !tensors)))
        return lens_fail(err, "%s: no tensors or names given", path);
    bool on_device = false;
    for (int i = 0; i < n; i++) {
        if (!names[i]) return lens_fail(err, "%s: tensor %d has no name", path, i);
        if (strcmp(names[i], "__metadata__") == 0)
            return lens_fail(err, "%s: '__metadata__' cannot be a tensor name", path);
        const lens_tensor *t = tensors[i];
        if (!t) return lens_fail(err, "%s: tensor '%.200s' is missing", path, names[i]);
        if (t->dtype != LENS_F32 && t->dtype != LENS_I64 && t->dtype != LENS_BOOL)
            return lens_fail(err, "%s: tensor '%.200s' has an unsupported dtype", path, names[i]);
        if (!t->storage) return lens_fail(err, "%s: tensor '%.200s' has no storage", path, names[i]);
        if (!lens_tensor_on_host(t)) on_device = true;
    }
    if (on_device) {   /* device tensors are saved from their explicit downloads */
        lens_tensor **host = calloc((size_t)n, sizeof *host);
        if (!host) return lens_fail_kind(err, LENS_ERR_MEMORY, "%s: out of memory", path);
        int rc = 0;
        for (int i = 0; i < n && !rc; i++)
            if (!(host[i] = lens_tensor_host(tensors[i], err))) rc = lens_fail_context(err, "%s: tensor '%.200s'", path, names[i]);
        if (!rc) rc = lens_safetensors_write(path, n, names, (const lens_tensor *const *)host, metadata_json, err);
        for (int i = 0; i < n; i++) lens_tensor_free(host[i]);
        free(host);
        return rc;
    }

    int *order = malloc((n ? (size_t)n : 1) * sizeof *order);
    if (!order) return lens_fail_kind(err, LENS_ERR_MEMORY, "%s: out of memory", path);
    for (int i = 0; i < n; i++) order[i] = i;
    qsort_r(order, (size_t)n, sizeof *order, st_write_name_cmp, (void *)names);
    for (int k = 1; k < n; k++)
        if (strcmp(names[order[k]], names[order[k - 1]]) == 0) {
            lens_fail(err, "%s: tensor name '%.200s' is given twice", path, names[order[k]]);
            free(order);
            return -1;
        }

    char *header = st_build_header(path, n, order, names, tensors, metadata_json, err);
    if (!header) { free(order); return -1; }
    size_t hlen = strlen(header);
    size_t padded = (hlen + 7) / 8 * 8;

    st_write_ctx w = {header, hlen, padded, n, order, names, tensors};
    int rc = lens_write_file(path, "safetensors file", st_write_body, &w, err);
    free(header);
    free(order);
    return rc ? -1 : 0;
}
