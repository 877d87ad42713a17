/* test_safetensors.c — the safetensors reader and writer (engine/safetensors.c).
 *
 * Run without arguments: the tests. Two extra modes serve the Python interop test
 * (tests/python/test_safetensors_interop.py):
 *   test_safetensors --write-example PATH   writes the example file (example_write below)
 *   test_safetensors --dump PATH [--values] prints one line per entry, in file order:
 *       name <TAB> dtype <TAB> shape "2,3" <TAB> checksum (hex)
 *     where checksum = sum over i of bits(value_i) * (i + 1) mod 2^64, bits being the
 *     float32 bit pattern of lens_st_entry_read_f32 for float dtypes and the int64 value
 *     of lens_st_entry_tensor for integer dtypes (bool as 0 / 1); --values adds a line "= v0 v1 ..." of
 *     those numbers (hex float bits, or decimal integers).
 */
#include "lens/safetensors.h"
#include "lens/tensor_ops.h"

#include <cJSON.h>
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* CHECK(cond) without a message expands to an empty format string. */
#pragma GCC diagnostic ignored "-Wformat-zero-length"
#include "../harness.h"

#define FIXTURE "tests/fixtures/tiny-gpt2/model.safetensors"
#define F16_MODEL "models/lens-tinystories-16m/model.safetensors"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
    static char buf[8][512];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    return p;
}

static uint32_t f32_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, 4);
    return b;
}

/* Writes 8-byte length + header + data bytes as given (no padding added). */
static void write_raw(const char *path, const char *header, const void *data, size_t ndata)
{
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); exit(2); }
    uint64_t n = strlen(header);
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)(n >> (8 * i));
    fwrite(len, 1, 8, f);
    fwrite(header, 1, n, f);
    if (ndata) fwrite(data, 1, ndata, f);
    fclose(f);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); exit(2); }
    if (n) fwrite(data, 1, n, f);
    fclose(f);
}

static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(sz ? (size_t)sz : 1);
    *n = fread(b, 1, (size_t)sz, f);
    fclose(f);
    return b;
}

static bool file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Opens a file that must be rejected; checks the message names the file and
 * contains `word`. */
static void expect_rejected(const char *path, const char *word)
{
    lens_error err = {0};
    lens_safetensors *st = lens_safetensors_open(path, &err);
    CHECK(st == NULL, "%s was accepted (expected an error about '%s')", path, word);
    lens_safetensors_close(st);
    CHECK(strncmp(err.msg, path, strlen(path)) == 0, "message does not name the file: %s",
          err.msg);
    CHECK(strstr(err.msg, word) != NULL, "message lacks '%s': %s", word, err.msg);
}

/* A file with the given header and `ndata` zero bytes of data must be rejected. */
static void expect_header_rejected(const char *header, size_t ndata, const char *word)
{
    static unsigned char zeros[4096];
    const char *path = tmp_path("bad.safetensors");
    write_raw(path, header, zeros, ndata);
    expect_rejected(path, word);
}

/* ---- the example file (also read by the Python interop test) ------------- */

static int example_write(const char *path, lens_error *err)
{
    float m[12], t6[6], s12[12];
    for (int i = 0; i < 12; i++) m[i] = (float)i * 0.5f - 2.25f;
    for (int i = 0; i < 6; i++) t6[i] = (float)i + 0.125f;
    for (int i = 0; i < 12; i++) s12[i] = -(float)i;
    int64_t ids[5] = {-3, 0, 50256, (int64_t)1 << 40, INT64_MIN + 1};
    float three_half = 3.5f;

    lens_tensor *matrix = lens_tensor_from_f32(2, (int64_t[]){3, 4}, m);
    lens_tensor *base = lens_tensor_from_f32(2, (int64_t[]){2, 3}, t6);
    lens_tensor *transposed = lens_tensor_transpose(base, 0, 1, NULL);   /* [3, 2] view */
    lens_tensor *idt = lens_tensor_from_i64(1, (int64_t[]){5}, ids);
    lens_tensor *scalar = lens_tensor_from_f32(0, NULL, &three_half);
    lens_tensor *empty = lens_tensor_new(LENS_F32, 2, (int64_t[]){0, 4});
    lens_tensor *rows = lens_tensor_from_f32(2, (int64_t[]){4, 3}, s12);
    lens_tensor *slice = lens_tensor_narrow(rows, 0, 1, 2);                /* rows 1..2 */
    lens_tensor *cols = lens_tensor_narrow(rows, 1, 1, 2);                 /* columns 1..2 */
    /* given out of name order on purpose: the writer sorts */
    const char *names[] = {"b.matrix", "a.transposed", "c.ids", "d.scalar", "e.empty",
                           "f.slice", "g.columns"};
    const lens_tensor *ts[] = {matrix, transposed, idt, scalar, empty, slice, cols};
    int rc = lens_safetensors_write(path, 7, names, ts,
                                    "{\"format\": \"pt\", \"note\": \"caf\\u00e9 \\\"quoted\\\"\"}",
                                    err);
    lens_tensor_free(matrix); lens_tensor_free(base); lens_tensor_free(transposed);
    lens_tensor_free(idt); lens_tensor_free(scalar); lens_tensor_free(empty);
    lens_tensor_free(rows); lens_tensor_free(slice); lens_tensor_free(cols);
    return rc;
}

/* ---- the fixture ------------------------------------------------------- */

static void test_safetensors_opens_the_tiny_gpt2_fixture(void)
{
    lens_error err = {0};
    lens_safetensors *st = lens_safetensors_open(FIXTURE, &err);
    CHECK(st != NULL, "%s", err.msg);
    if (!st) return;
    CHECK(lens_safetensors_count(st) == 28, "count %d", lens_safetensors_count(st));
    CHECK(strcmp(lens_safetensors_metadata(st), "{\"format\":\"pt\"}") == 0, "metadata %s",
          lens_safetensors_metadata(st));
    const lens_st_entry *e0 = lens_safetensors_entry(st, 0);
    CHECK(e0 && strcmp(e0->name, "transformer.h.0.attn.c_attn.bias") == 0, "first %s",
          e0 ? e0->name : "(none)");
    CHECK(lens_safetensors_entry(st, 28) == NULL && lens_safetensors_entry(st, -1) == NULL);

    struct { const char *name; int ndim; int64_t d0, d1; } want[] = {
        {"transformer.wte.weight", 2, 50257, 64},
        {"transformer.wpe.weight", 2, 128, 64},
        {"transformer.h.0.attn.c_attn.weight", 2, 64, 192},
        {"transformer.h.1.attn.c_attn.bias", 1, 192, 0},
        {"transformer.h.1.mlp.c_fc.weight", 2, 64, 256},
        {"transformer.h.1.mlp.c_proj.weight", 2, 256, 64},
        {"transformer.ln_f.weight", 1, 64, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const lens_st_entry *e = lens_safetensors_find(st, want[i].name);
        CHECK(e != NULL, "missing %s", want[i].name);
        if (!e) continue;
        CHECK(e->dtype == LENS_ST_F32 && e->ndim == want[i].ndim && e->shape[0] == want[i].d0 &&
                  (want[i].ndim == 1 || e->shape[1] == want[i].d1),
              "%s: dtype %d shape [%" PRId64 ", ...]", want[i].name, e->dtype, e->shape[0]);
        CHECK(e->nbytes == (size_t)(want[i].d0 * (want[i].ndim == 2 ? want[i].d1 : 1) * 4));
    }
    CHECK(lens_safetensors_find(st, "lm_head.weight") == NULL, "lm_head is tied and absent");
    CHECK(lens_safetensors_find(st, "") == NULL && lens_safetensors_find(st, NULL) == NULL);
    /* every entry is found under its own name */
    for (int i = 0; i < lens_safetensors_count(st); i++) {
        const lens_st_entry *e = lens_safetensors_entry(st, i);
        CHECK(lens_safetensors_find(st, e->name) == e, "find(%s)", e->name);
    }
    lens_safetensors_close(st);
}

static void test_safetensors_fixture_values_have_the_documented_statistics(void)
{
    /* The fixture's README: weights ~N(0, 0.2), LayerNorm weights 1 + 0.2 N(0,1). */
    lens_error err = {0};
    lens_safetensors *st = lens_safetensors_open(FIXTURE, &err);
    CHECK(st != NULL, "%s", err.msg);
    if (!st) return;
    lens_tensor *wte = lens_st_entry_tensor(lens_safetensors_find(st, "transformer.wte.weight"), &err);
    CHECK(wte && wte->dtype == LENS_F32 && wte->ndim == 2 && wte->shape[0] == 50257);
    if (wte) {
        const float *v = lens_tensor_f32(wte);
        int64_t n = lens_tensor_numel(wte);
        double s = 0, s2 = 0;
        for (int64_t i = 0; i < n; i++) { s += v[i]; s2 += (double)v[i] * v[i]; }
        double mean = s / n, sd = sqrt(s2 / n - mean * mean);
        CHECK(fabs(mean) < 0.01 && fabs(sd - 0.2) < 0.01, "wte mean %g sd %g", mean, sd);
    }
    const lens_st_entry *ln = lens_safetensors_find(st, "transformer.h.0.ln_1.weight");
    float lnv[64];
    CHECK(lens_st_entry_read_f32(ln, lnv, 64, &err) == 0, "%s", err.msg);
    double s = 0;
    for (int i = 0; i < 64; i++) s += lnv[i];
    CHECK(fabs(s / 64 - 1.0) < 0.1, "ln_1 weight mean %g", s / 64);
    /* read_f32 agrees with the tensor path, and checks the buffer size */
    lens_tensor *lt = lens_st_entry_tensor(ln, &err);
    CHECK(lt && memcmp(lens_tensor_f32(lt), lnv, sizeof lnv) == 0);
    CHECK(lens_st_entry_read_f32(ln, lnv, 63, &err) == -1 && strstr(err.msg, "64 elements"),
          "%s", err.msg);
    lens_tensor_free(lt);
    lens_tensor_free(wte);
    lens_safetensors_close(st);
}

static void test_safetensors_loads_the_trained_f16_model(void)
{
    if (harness_small("the trained model's F16 weights")) return;
    lens_error err = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    lens_safetensors *st = lens_safetensors_open(F16_MODEL, &err);
    CHECK(st != NULL, "%s", err.msg);
    if (!st) return;
    int64_t total = 0, nonfinite = 0;
    for (int i = 0; i < lens_safetensors_count(st); i++) {
        const lens_st_entry *e = lens_safetensors_entry(st, i);
        CHECK(e->dtype == LENS_ST_F16, "%s is %s", e->name, lens_st_dtype_name(e->dtype));
        lens_tensor *t = lens_st_entry_tensor(e, &err);
        CHECK(t != NULL, "%s", err.msg);
        if (!t) continue;
        const float *v = lens_tensor_f32(t);
        int64_t n = lens_tensor_numel(t);
        for (int64_t k = 0; k < n; k++) nonfinite += !isfinite(v[k]);
        total += n;
        lens_tensor_free(t);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    CHECK(nonfinite == 0, "%" PRId64 " non-finite weights", nonfinite);
    CHECK(total > 15000000, "only %" PRId64 " weights", total);
    if (getenv("HARNESS_VERBOSE"))
        fprintf(stderr, "  %s: %" PRId64 " F16 weights converted in %.1f ms\n", F16_MODEL, total, ms);
    lens_safetensors_close(st);
}

/* ---- conversions ------------------------------------------------------- */

/* Independent decoding of binary16 from its definition, in double arithmetic. */
static double f16_reference(uint16_t h)
{
    int sign = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return sign ? -v : v;
}

static void test_f16_conversion_matches_known_bit_patterns(void)
{
    CHECK(lens_f16_to_f32(0x3C00) == 1.0f);
    CHECK(lens_f16_to_f32(0xC000) == -2.0f);
    CHECK(lens_f16_to_f32(0x7C00) == INFINITY && lens_f16_to_f32(0xFC00) == -INFINITY);
    CHECK(lens_f16_to_f32(0x0001) == ldexpf(1.0f, -24), "smallest subnormal");
    CHECK(lens_f16_to_f32(0x03FF) == 1023 * ldexpf(1.0f, -24), "largest subnormal");
    CHECK(lens_f16_to_f32(0x0400) == ldexpf(1.0f, -14), "smallest normal");
    CHECK(lens_f16_to_f32(0x7BFF) == 65504.0f, "largest normal");
    CHECK(lens_f16_to_f32(0x3555) == 0.333251953125f);
    CHECK(f32_bits(lens_f16_to_f32(0x8000)) == 0x80000000u, "negative zero keeps its sign");
    CHECK(isnan(lens_f16_to_f32(0x7E00)) && isnan(lens_f16_to_f32(0xFC01)));
    CHECK(f32_bits(lens_f16_to_f32(0x7E00)) == 0x7FC00000u, "quiet NaN payload");
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        double want = f16_reference((uint16_t)h);
        float got = lens_f16_to_f32((uint16_t)h);
        if (isnan(want) ? !isnan(got) : ((double)got != want || !signbit(got) != !signbit(want)))
            bad++;
    }
    CHECK(bad == 0, "%d of 65536 F16 patterns decode wrongly", bad);
}

static void test_bf16_conversion_matches_known_bit_patterns(void)
{
    CHECK(lens_bf16_to_f32(0x3F80) == 1.0f);
    CHECK(lens_bf16_to_f32(0xC000) == -2.0f);
    CHECK(lens_bf16_to_f32(0x7F80) == INFINITY && lens_bf16_to_f32(0xFF80) == -INFINITY);
    CHECK(lens_bf16_to_f32(0x0001) == ldexpf(1.0f, -133), "smallest subnormal");
    CHECK(lens_bf16_to_f32(0x3EAB) == 0.333984375f);
    CHECK(isnan(lens_bf16_to_f32(0x7FC0)));
}

static void test_safetensors_converts_every_dtype(void)
{
    unsigned char data[256];
    size_t off = 0;
#define PUT(type, ...) do { type v_[] = {__VA_ARGS__}; memcpy(data + off, v_, sizeof v_); off += sizeof v_; } while (0)
    PUT(double, 0.1, -1e300, 1.5);                                     /* 0..24 */
    PUT(uint16_t, 0x3C00, 0xC000, 0x7C00, 0x0001);                       /* 24..32 */
    PUT(uint16_t, 0x3F80, 0xC000, 0x7F80, 0x0001);                       /* 32..40 */
    PUT(int64_t, -5, (int64_t)1 << 40, INT64_MAX);                     /* 40..64 */
    PUT(int32_t, -7, 2147483647);                                      /* 64..72 */
    PUT(int16_t, -32768, 300);                                         /* 72..76 */
    PUT(int8_t, -128, 127);                                            /* 76..78 */
    PUT(uint8_t, 255, 0);                                              /* 78..80 */
    PUT(uint8_t, 0, 1, 2);                                             /* 80..83 */
#undef PUT
    const char *header =
        "{\"f64\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]},"
        "\"f16\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[24,32]},"
        "\"bf16\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[32,40]},"
        "\"i64\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[40,64]},"
        "\"i32\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[64,72]},"
        "\"i16\":{\"dtype\":\"I16\",\"shape\":[2],\"data_offsets\":[72,76]},"
        "\"i8\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[76,78]},"
        "\"u8\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[78,80]},"
        "\"bool\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[80,83]}}";
    const char *path = tmp_path("dtypes.safetensors");
    write_raw(path, header, data, off);
    lens_error err = {0};
    lens_safetensors *st = lens_safetensors_open(path, &err);
    CHECK(st != NULL, "%s", err.msg);
    if (!st) return;
    CHECK(lens_safetensors_count(st) == 9);

    struct { const char *name; lens_st_dtype dt; float f[4]; int64_t i[4]; int n; } want[] = {
        {"f64", LENS_ST_F64, {0.1f, -INFINITY, 1.5f}, {0}, 3},
        {"f16", LENS_ST_F16, {1.0f, -2.0f, INFINITY, 5.9604644775390625e-8f}, {0}, 4},
        {"bf16", LENS_ST_BF16, {1.0f, -2.0f, INFINITY, 9.183549615799121e-41f}, {0}, 4},
        {"i64", LENS_ST_I64, {-5.0f, 1099511627776.0f, 9223372036854775807.0f},
         {-5, (int64_t)1 << 40, INT64_MAX}, 3},
        {"i32", LENS_ST_I32, {-7.0f, 2147483647.0f}, {-7, 2147483647}, 2},
        {"i16", LENS_ST_I16, {-32768.0f, 300.0f}, {-32768, 300}, 2},
        {"i8", LENS_ST_I8, {-128.0f, 127.0f}, {-128, 127}, 2},
        {"u8", LENS_ST_U8, {255.0f, 0.0f}, {255, 0}, 2},
        {"bool", LENS_ST_BOOL, {0.0f, 1.0f, 1.0f}, {0, 1, 1}, 3},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        const lens_st_entry *e = lens_safetensors_find(st, want[k].name);
        CHECK(e && e->dtype == want[k].dt, "%s", want[k].name);
        if (!e) continue;
        CHECK(strcasecmp(lens_st_dtype_name(e->dtype), want[k].name) == 0, "%s named %s",
              want[k].name, lens_st_dtype_name(e->dtype));
        float f[4];
        CHECK(lens_st_entry_read_f32(e, f, (size_t)want[k].n, &err) == 0, "%s", err.msg);
        for (int i = 0; i < want[k].n; i++)
            CHECK(f32_bits(f[i]) == f32_bits(want[k].f[i]), "%s[%d]: %.9g, want %.9g",
                  want[k].name, i, f[i], want[k].f[i]);
        lens_tensor *t = lens_st_entry_tensor(e, &err);
        CHECK(t != NULL, "%s", err.msg);
        if (!t) continue;
        CHECK(lens_tensor_numel(t) == want[k].n);
        bool is_float = want[k].dt == LENS_ST_F64 || want[k].dt == LENS_ST_F16 ||
                        want[k].dt == LENS_ST_BF16;
        lens_dtype want_dt = is_float ? LENS_F32 : want[k].dt == LENS_ST_BOOL ? LENS_BOOL : LENS_I64;
        CHECK(t->dtype == want_dt, "%s tensor dtype", want[k].name);
        for (int i = 0; i < want[k].n; i++) {
            if (want_dt == LENS_BOOL)
                CHECK(lens_tensor_bool(t)[i] == want[k].i[i], "%s[%d] = %d", want[k].name, i, lens_tensor_bool(t)[i]);
            else if (is_float)
                CHECK(f32_bits(lens_tensor_f32(t)[i]) == f32_bits(want[k].f[i]), "%s[%d]",
                      want[k].name, i);
            else
                CHECK(lens_tensor_i64(t)[i] == want[k].i[i], "%s[%d] = %" PRId64, want[k].name,
                      i, lens_tensor_i64(t)[i]);
        }
        lens_tensor_free(t);
    }
    const lens_st_entry *f16 = lens_safetensors_find(st, "f16");
    CHECK(f16 && f16->ndim == 2 && f16->shape[0] == 2 && f16->shape[1] == 2 && f16->nbytes == 8);
    lens_safetensors_close(st);
}

static void test_safetensors_reads_data_at_unaligned_offsets(void)
{
    unsigned char data[16] = {0};
    float a[2] = {1.25f, -3.5f};
    uint16_t h = 0xC000;
    memcpy(data + 1, a, 8);   /* F32 at offset 1 */
    memcpy(data + 9, &h, 2);  /* F16 at offset 9 */
    const char *path = tmp_path("unaligned.safetensors");
    write_raw(path,
              "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[1,9]},"
              "\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[9,11]}}   ",
              data, 16);
    lens_error err = {0};
    lens_safetensors *st = lens_safetensors_open(path, &err);
    CHECK(st != NULL, "%s", err.msg);
    if (!st) return;
    float out[2];
    CHECK(lens_st_entry_read_f32(lens_safetensors_find(st, "a"), out, 2, &err) == 0);
    CHECK(out[0] == 1.25f && out[1] == -3.5f, "%g %g", out[0], out[1]);
    CHECK(lens_st_entry_read_f32(lens_safetensors_find(st, "h"), out, 1, &err) == 0);
    CHECK(out[0] == -2.0f, "%g", out[0]);
    lens_safetensors_close(st);
}

/* ---- writing ----------------------------------------------------------- */

static void test_safetensors_round_trips_written_tensors_exactly(void)
{
    const char *path = tmp_path("example.safetensors");
    lens_error err = {0};
    CHECK(example_write(path, &err) == 0, "%s", err.msg);
    CHECK(!file_exists(tmp_path("example.safetensors.tmp")), "temporary file left behind");
    lens_safetensors *st = lens_safetensors_open(path, &err);
    CHECK(st != NULL, "%s", err.msg);
    if (!st) return;
    const char *names[] = {"a.transposed", "b.matrix", "c.ids", "d.scalar", "e.empty",
                           "f.slice", "g.columns"};
    CHECK(lens_safetensors_count(st) == 7);
    for (int i = 0; i < 7 && i < lens_safetensors_count(st); i++)
        CHECK(strcmp(lens_safetensors_entry(st, i)->name, names[i]) == 0, "entry %d is %s", i,
              lens_safetensors_entry(st, i)->name);

    lens_tensor *t = lens_st_entry_tensor(lens_safetensors_find(st, "a.transposed"), &err);
    CHECK(t && t->ndim == 2 && t->shape[0] == 3 && t->shape[1] == 2);
    if (t) {
        /* element [r][c] of the transpose is base[c][r] = c * 3 + r + 0.125 */
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 2; c++)
                CHECK(lens_tensor_f32(t)[r * 2 + c] == (float)(c * 3 + r) + 0.125f, "[%d][%d]", r, c);
    }
    lens_tensor_free(t);
    t = lens_st_entry_tensor(lens_safetensors_find(st, "b.matrix"), &err);
    CHECK(t && t->ndim == 2 && t->shape[0] == 3 && t->shape[1] == 4);
    for (int i = 0; t && i < 12; i++)
        CHECK(lens_tensor_f32(t)[i] == (float)i * 0.5f - 2.25f, "matrix[%d]", i);
    lens_tensor_free(t);
    t = lens_st_entry_tensor(lens_safetensors_find(st, "c.ids"), &err);
    int64_t ids[5] = {-3, 0, 50256, (int64_t)1 << 40, INT64_MIN + 1};
    CHECK(t && t->dtype == LENS_I64 && lens_tensor_numel(t) == 5 &&
          memcmp(lens_tensor_i64(t), ids, sizeof ids) == 0);
    lens_tensor_free(t);
    t = lens_st_entry_tensor(lens_safetensors_find(st, "d.scalar"), &err);
    CHECK(t && t->ndim == 0 && lens_tensor_numel(t) == 1 && lens_tensor_f32(t)[0] == 3.5f);
    lens_tensor_free(t);
    t = lens_st_entry_tensor(lens_safetensors_find(st, "e.empty"), &err);
    CHECK(t && t->ndim == 2 && t->shape[0] == 0 && t->shape[1] == 4 && lens_tensor_numel(t) == 0);
    lens_tensor_free(t);
    t = lens_st_entry_tensor(lens_safetensors_find(st, "f.slice"), &err);
    CHECK(t && t->shape[0] == 2 && t->shape[1] == 3);
    for (int i = 0; t && i < 6; i++) CHECK(lens_tensor_f32(t)[i] == -(float)(i + 3), "slice[%d]", i);
    lens_tensor_free(t);
    t = lens_st_entry_tensor(lens_safetensors_find(st, "g.columns"), &err);
    CHECK(t && t->shape[0] == 4 && t->shape[1] == 2);
    for (int r = 0; t && r < 4; r++)
        for (int c = 0; c < 2; c++)
            CHECK(lens_tensor_f32(t)[r * 2 + c] == -(float)(r * 3 + c + 1), "columns[%d][%d]", r, c);
    lens_tensor_free(t);

    cJSON *meta = cJSON_Parse(lens_safetensors_metadata(st));
    cJSON *note = cJSON_GetObjectItemCaseSensitive(meta, "note");
    CHECK(cJSON_IsString(note) && strcmp(note->valuestring, "caf\xc3\xa9 \"quoted\"") == 0,
          "metadata %s", lens_safetensors_metadata(st));
    CHECK(cJSON_GetArraySize(meta) == 2);
    cJSON_Delete(meta);
    lens_safetensors_close(st);
}

static void test_safetensors_writer_pads_the_header_and_packs_data_in_name_order(void)
{
    const char *path = tmp_path("layout.safetensors");
    lens_error err = {0};
    CHECK(example_write(path, &err) == 0, "%s", err.msg);
    size_t n = 0;
    unsigned char *b = read_file(path, &n);
    CHECK(b && n > 8);
    if (!b || n <= 8) { free(b); return; }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | b[i];
    CHECK(hlen % 8 == 0 && hlen <= n - 8, "header length %" PRIu64, hlen);
    if (hlen % 8 || hlen > n - 8) { free(b); return; }
    char *text = calloc(hlen + 1, 1);
    memcpy(text, b + 8, hlen);
    size_t used = strlen(text);
    while (used > 0 && text[used - 1] == ' ') used--;
    CHECK(text[used - 1] == '}' && hlen - used < 8, "header is padded with < 8 spaces");
    cJSON *root = cJSON_Parse(text);
    CHECK(root && cJSON_IsObject(root));
    const char *prev = "";
    uint64_t expect_begin = 0;
    for (cJSON *it = root ? root->child : NULL; it; it = it->next) {
        if (strcmp(it->string, "__metadata__") == 0) continue;
        CHECK(strcmp(prev, it->string) < 0, "%s after %s", it->string, prev);
        prev = it->string;
        cJSON *offs = cJSON_GetObjectItem(it, "data_offsets");
        CHECK((uint64_t)cJSON_GetArrayItem(offs, 0)->valuedouble == expect_begin, "%s", it->string);
        expect_begin = (uint64_t)cJSON_GetArrayItem(offs, 1)->valuedouble;
    }
    CHECK(expect_begin == n - 8 - hlen, "data area %zu bytes, entries end at %" PRIu64,
          (size_t)(n - 8 - hlen), expect_begin);
    cJSON_Delete(root);
    free(text);
    free(b);
}

static void test_safetensors_writer_replaces_an_existing_file(void)
{
    const char *path = tmp_path("replace.safetensors");
    lens_error err = {0};
    float one = 1.0f, two = 2.0f;
    lens_tensor *a = lens_tensor_from_f32(1, (int64_t[]){1}, &one);
    lens_tensor *b = lens_tensor_from_f32(1, (int64_t[]){1}, &two);
    const char *na[] = {"x"}, *nb[] = {"y"};
    CHECK(lens_safetensors_write(path, 1, na, (const lens_tensor *const[]){a}, NULL, &err) == 0);
    CHECK(lens_safetensors_write(path, 1, nb, (const lens_tensor *const[]){b}, "{}", &err) == 0);
    lens_safetensors *st = lens_safetensors_open(path, &err);
    CHECK(st && lens_safetensors_count(st) == 1 && lens_safetensors_find(st, "y") &&
          !lens_safetensors_find(st, "x"));
    CHECK(st && strcmp(lens_safetensors_metadata(st), "{}") == 0);
    lens_safetensors_close(st);
    /* no tensors at all is a valid file */
    CHECK(lens_safetensors_write(path, 0, NULL, NULL, NULL, &err) == 0, "%s", err.msg);
    st = lens_safetensors_open(path, &err);
    CHECK(st && lens_safetensors_count(st) == 0, "%s", err.msg);
    lens_safetensors_close(st);
    lens_tensor_free(a);
    lens_tensor_free(b);
}

static void write_expect_failure(const char *meta, const char *const *names, int n,
                                 const char *word)
{
    const char *path = tmp_path("refused.safetensors");
    unlink(path);
    float v = 1.0f;
    lens_tensor *t = lens_tensor_from_f32(1, (int64_t[]){1}, &v);
    const lens_tensor *ts[2] = {t, t};
    lens_error err = {0};
    CHECK(lens_safetensors_write(path, n, names, ts, meta, &err) == -1, "accepted (%s)", word);
    CHECK(strstr(err.msg, word) != NULL, "message lacks '%s': %s", word, err.msg);
    CHECK(strstr(err.msg, path) != NULL, "message lacks the path: %s", err.msg);
    CHECK(!file_exists(path) && !file_exists(tmp_path("refused.safetensors.tmp")),
          "a file was left behind");
    lens_tensor_free(t);
}

static void test_safetensors_writer_rejects_metadata_that_is_not_an_object_of_strings(void)
{
    const char *one[] = {"w"};
    write_expect_failure("[\"a\"]", one, 1, "object of strings");
    write_expect_failure("{\"a\": 1}", one, 1, "not a string");
    write_expect_failure("{\"a\": {\"b\": \"c\"}}", one, 1, "not a string");
    write_expect_failure("{not json", one, 1, "not valid JSON");
}

static void test_safetensors_writer_rejects_duplicate_and_reserved_names(void)
{
    const char *dup[] = {"w", "w"};
    write_expect_failure(NULL, dup, 2, "given twice");
    const char *reserved[] = {"__metadata__"};
    write_expect_failure(NULL, reserved, 1, "cannot be a tensor name");
}

static void test_safetensors_writer_reports_an_unwritable_path(void)
{
    lens_error err = {0};
    float v = 1.0f;
    lens_tensor *t = lens_tensor_from_f32(1, (int64_t[]){1}, &v);
    const char *names[] = {"w"};
    const char *path = tmp_path("no-such-dir/x.safetensors");
    CHECK(lens_safetensors_write(path, 1, names, (const lens_tensor *const[]){t}, NULL, &err) == -1);
    CHECK(strstr(err.msg, "cannot create") && strstr(err.msg, "No such file"), "%s", err.msg);
    lens_tensor_free(t);
}

/* ---- rejected files ---------------------------------------------------- */

static void test_safetensors_rejects_a_missing_file_and_a_directory(void)
{
    expect_rejected(tmp_path("does-not-exist.safetensors"), "cannot open");
    expect_rejected(tmpdir, "not a regular file");
}

static void test_safetensors_rejects_an_empty_file(void)
{
    const char *path = tmp_path("empty.safetensors");
    write_bytes(path, "", 0);
    expect_rejected(path, "0 bytes, too small");
}

static void test_safetensors_rejects_a_truncated_length_field(void)
{
    const char *path = tmp_path("short.safetensors");
    write_bytes(path, "\x10\x00\x00", 3);
    expect_rejected(path, "truncated");
}

static void test_safetensors_rejects_header_length_larger_than_the_file(void)
{
    const char *path = tmp_path("long.safetensors");
    unsigned char b[20] = {200, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    write_bytes(path, b, sizeof b);
    expect_rejected(path, "the header length in the first 8 bytes exceeds the file (12 bytes");
    unsigned char huge[12] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
    write_bytes(path, huge, sizeof huge);
    expect_rejected(path, "exceeds the file");
}

static void test_safetensors_rejects_a_header_over_100_mb(void)
{
    const char *path = tmp_path("huge.safetensors");
    uint64_t hlen = 101u * 1024 * 1024;
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(hlen >> (8 * i));
    write_bytes(path, b, 8);
    CHECK(truncate(path, (off_t)(8 + hlen)) == 0);   /* sparse: no real disk use */
    expect_rejected(path, "100 MB");
    unlink(path);
}

static void test_safetensors_rejects_a_header_that_is_not_json(void)
{
    expect_header_rejected("{\"a\": {\"dtype\": \"F32\",", 0, "not valid JSON");
    expect_header_rejected("hello world", 0, "not valid JSON");
    expect_header_rejected("{}   xyz", 0, "unexpected bytes after the JSON header");
    const char *path = tmp_path("zerolen.safetensors");
    write_bytes(path, "\0\0\0\0\0\0\0\0", 8);
    expect_rejected(path, "too small for a JSON object");
}

static void test_safetensors_rejects_header_json_that_is_not_an_object(void)
{
    expect_header_rejected("[1, 2, 3]", 0, "not an object");
    expect_header_rejected("\"text\"", 0, "not an object");
    expect_header_rejected("{\"w\": [1, 2]}", 0, "'w' is not a JSON object");
}

static void test_safetensors_rejects_an_unknown_dtype(void)
{
    expect_header_rejected("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}",
                           2, "unknown dtype 'F8_E4M3'");
    expect_header_rejected("{\"w\":{\"dtype\":3,\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
                           "no \"dtype\"");
}

static void test_safetensors_rejects_shape_that_disagrees_with_byte_size(void)
{
    expect_header_rejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}",
                           16, "shape [2, 3] needs 24 bytes but data_offsets [0, 16] span 16");
}

static void test_safetensors_rejects_negative_or_fractional_shape(void)
{
    expect_header_rejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
                           "shape dimension 0 is not a non-negative integer");
    expect_header_rejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,2.5],\"data_offsets\":[0,4]}}",
                           4, "shape dimension 1 is not a non-negative integer");
    expect_header_rejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}",
                           4, "non-negative integer");
    expect_header_rejected("{\"w\":{\"dtype\":\"F32\",\"shape\":3,\"data_offsets\":[0,4]}}", 4,
                           "no \"shape\" array");
}

static void test_safetensors_rejects_too_many_dimensions(void)
{
    expect_header_rejected(
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
        "9 dimensions");
}

static void test_safetensors_rejects_offset_past_end(void)
{
    const char *path = tmp_path("x.safetensors");
    static unsigned char zeros[128];
    write_raw(path, "{\"wte\":{\"dtype\":\"F32\",\"shape\":[10,10],\"data_offsets\":[0,400]}}",
              zeros, sizeof zeros);
    lens_error err = {0};
    CHECK(lens_safetensors_open(path, &err) == NULL);
    char want[600];
    snprintf(want, sizeof want,
             "%s: tensor 'wte' data_offsets [0, 400] exceed the data area (128 bytes)", path);
    CHECK(strcmp(err.msg, want) == 0, "got: %s", err.msg);
}

static void test_safetensors_rejects_begin_after_end(void)
{
    expect_header_rejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", 8,
                           "[8, 4] begin after end");
}

static void test_safetensors_rejects_malformed_data_offsets(void)
{
    expect_header_rejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "data_offsets");
    expect_header_rejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
                           "data_offsets");
    expect_header_rejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 8,
                           "data_offsets");
    expect_header_rejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4,
                           "data_offsets");
    expect_header_rejected(
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,1e300]}}", 4, "data_offsets");
}

static void test_safetensors_rejects_overlapping_entries(void)
{
    expect_header_rejected("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                           12, "tensors 'a' [0, 8] and 'b' [4, 12] overlap");
    /* listed in the other order, and identical ranges */
    expect_header_rejected("{\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                           "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                           8, "overlap");
}

static void test_safetensors_accepts_adjacent_and_empty_entries(void)
{
    const char *path = tmp_path("adjacent.safetensors");
    static unsigned char zeros[16];
    write_raw(path, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    "\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[4,4]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
              zeros, 16);
    lens_error err = {0};
    lens_safetensors *st = lens_safetensors_open(path, &err);
    CHECK(st && lens_safetensors_count(st) == 3, "%s", err.msg);
    lens_safetensors_close(st);
}

static void test_safetensors_rejects_numel_overflow(void)
{
    expect_header_rejected(
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,0]}}",
        0, "shape [4294967296, 4294967296, 16] has more than 2^60 elements");
    expect_header_rejected(
        "{\"w\":{\"dtype\":\"F64\",\"shape\":[2147483648,2147483648],\"data_offsets\":[0,0]}}", 0,
        "shape [2147483648, 2147483648] has more than 2^60 elements");
    /* A zero dimension does not excuse the others: an empty [2^32, 2^32, 0] tensor
     * could not be reduced or reshaped without the element counts wrapping. */
    expect_header_rejected(
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,0],\"data_offsets\":[0,0]}}",
        0, "tensor 'w': tensor too large: shape [4294967296, 4294967296, 0]");
    /* An empty tensor with reasonable dims is fine. */
    const char *path = tmp_path("zero.safetensors");
    write_raw(path,
              "{\"w\":{\"dtype\":\"F32\",\"shape\":[1048576,1048576,0],\"data_offsets\":[0,0]}}",
              NULL, 0);
    lens_error err = {0};
    lens_safetensors *st = lens_safetensors_open(path, &err);
    CHECK(st && lens_safetensors_entry(st, 0)->nbytes == 0, "%s", err.msg);
    lens_safetensors_close(st);
}

/* Opening any readable file that is not safetensors must not show its bytes: not
 * as text, and not as the header length its first 8 bytes decode to. */
static void test_safetensors_errors_never_echo_file_contents(void)
{
    const char *path = tmp_path("secret.txt");
    const char *text = "SECRETPASSWORD=hunter2\n";
    write_bytes(path, text, strlen(text));
    uint64_t as_length = 0;
    memcpy(&as_length, text, 8);
    char number[32];
    snprintf(number, sizeof number, "%" PRIu64, as_length);
    lens_error err = {0};
    CHECK(!lens_safetensors_open(path, &err));
    CHECK(!strstr(err.msg, "SECRET") && !strstr(err.msg, "hunter2") && !strstr(err.msg, number),
          "echoes the file: %s", err.msg);
    CHECK(strstr(err.msg, "not safetensors"), "%s", err.msg);
    unsigned char b[8 + 16] = {16, 0, 0, 0, 0, 0, 0, 0};
    memcpy(b + 8, "hunter2 password", 16);
    write_bytes(path, b, sizeof b);
    CHECK(!lens_safetensors_open(path, &err));
    CHECK(!strstr(err.msg, "hunter2") && strstr(err.msg, "header is not valid JSON (error near byte 0 of 16)"),
          "%s", err.msg);
}

static void test_safetensors_rejects_metadata_that_is_not_an_object_of_strings(void)
{
    expect_header_rejected("{\"__metadata__\": [\"x\"]}", 0, "__metadata__ must be a JSON object");
    expect_header_rejected("{\"__metadata__\": {\"format\": 1}}", 0,
                           "__metadata__ value 'format' is not a string");
    expect_header_rejected("{\"__metadata__\": {}, \"__metadata__\": {}}", 0, "appears twice");
}

static void test_safetensors_rejects_a_name_given_twice(void)
{
    expect_header_rejected("{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                           "\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}",
                           2, "tensor 'w' appears twice");
}

/* ---- never crash ------------------------------------------------------- */

static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Whether an accepted entry really lies inside the file at the offsets its header
 * gives (read here independently), holding the file's bytes. */
static bool entry_inside_file(const lens_st_entry *e, const unsigned char *file, size_t size)
{
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | file[i];
    if (hlen > size - 8) return false;
    cJSON *root = cJSON_ParseWithLength((const char *)file + 8, (size_t)hlen);
    cJSON *offs = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, e->name),
                                                   "data_offsets");
    bool ok = cJSON_GetArraySize(offs) == 2;
    if (ok) {
        double b = cJSON_GetArrayItem(offs, 0)->valuedouble;
        double en = cJSON_GetArrayItem(offs, 1)->valuedouble;
        ok = b >= 0 && en - b == (double)e->nbytes && 8 + (double)hlen + en <= (double)size &&
             (e->nbytes == 0 || memcmp(e->data, file + 8 + hlen + (size_t)b, e->nbytes) == 0);
    }
    cJSON_Delete(root);
    return ok;
}

/* Opens path and, when it opens, checks and converts every entry both ways. Returns
 * 1 if it opened, 0 if rejected with a message naming the file, -1 otherwise. */
static int open_and_touch(const char *path, const unsigned char *file, size_t size)
{
    lens_error err = {0};
    lens_safetensors *st = lens_safetensors_open(path, &err);
    if (!st) return strncmp(err.msg, path, strlen(path)) == 0 && strlen(err.msg) > strlen(path) + 5 ? 0 : -1;
    for (int i = 0; i < lens_safetensors_count(st); i++) {
        const lens_st_entry *e = lens_safetensors_entry(st, i);
        if (!entry_inside_file(e, file, size)) {
            lens_safetensors_close(st);
            return -2;
        }
        lens_tensor *t = lens_st_entry_tensor(e, &err);
        if (t) {
            int64_t n = lens_tensor_numel(t);
            float *buf = malloc((size_t)(n ? n : 1) * sizeof(float));
            if (buf) lens_st_entry_read_f32(e, buf, (size_t)n, &err);
            free(buf);
        }
        lens_tensor_free(t);
    }
    (void)strlen(lens_safetensors_metadata(st));
    lens_safetensors_close(st);
    return 1;
}

static void test_safetensors_survives_thousands_of_corrupted_files(void)
{
    /* a small valid file with every kind of field */
    unsigned char data[48];
    for (int i = 0; i < 48; i++) data[i] = (unsigned char)(i * 37 + 11);
    const char *header =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"a\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[8,20]},"
        "\"c\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[20,36]},"
        "\"d\":{\"dtype\":\"BF16\",\"shape\":[4],\"data_offsets\":[36,44]},"
        "\"e\":{\"dtype\":\"U8\",\"shape\":[],\"data_offsets\":[44,45]}}";
    const char *orig_path = tmp_path("mut-orig.safetensors");
    write_raw(orig_path, header, data, sizeof data);
    size_t n = 0;
    unsigned char *orig = read_file(orig_path, &n);
    CHECK(open_and_touch(orig_path, orig, n) == 1, "the unmutated file must open");
    unsigned char *buf = malloc(n);
    const char *path = tmp_path("mut.safetensors");
    int opened = 0, rejected = 0, bad_message = 0, misplaced = 0, variants = 0;
    static const unsigned char interesting[] = {'"', '[', ']', '{', '}', ',', ':', '-', '0',
                                                '9', 'e', '.', ' ', 0, 0xff, 0x80};
    /* every truncation */
    for (size_t len = 0; len < n; len++) {
        write_bytes(path, orig, len);
        int r = open_and_touch(path, orig, len);
        opened += r == 1; rejected += r == 0; bad_message += r == -1; misplaced += r == -2; variants++;
    }
    /* every byte flipped, and every byte replaced by a character that matters to JSON */
    uint32_t seed = 12345;
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) {
            memcpy(buf, orig, n);
            buf[i] = k == 0 ? (unsigned char)~buf[i]
                   : k == 1 ? (unsigned char)(buf[i] ^ 1)
                            : interesting[lcg(&seed) % sizeof interesting];
            write_bytes(path, buf, n);
            int r = open_and_touch(path, buf, n);
            opened += r == 1; rejected += r == 0; bad_message += r == -1; misplaced += r == -2; variants++;
        }
    }
    /* several random bytes at once, then a random truncation */
    for (int v = 0; v < 2000; v++) {
        memcpy(buf, orig, n);
        int changes = 1 + (int)(lcg(&seed) % 4);
        for (int c = 0; c < changes; c++) {
            size_t at = lcg(&seed) % n;
            buf[at] = (lcg(&seed) & 1) ? interesting[lcg(&seed) % sizeof interesting]
                                       : (unsigned char)lcg(&seed);
        }
        size_t len = (v % 5 == 0) ? lcg(&seed) % (n + 1) : n;
        write_bytes(path, buf, len);
        int r = open_and_touch(path, buf, len);
        opened += r == 1; rejected += r == 0; bad_message += r == -1; misplaced += r == -2; variants++;
    }
    CHECK(variants > 3000, "%d variants", variants);
    CHECK(bad_message == 0, "%d rejections without a message naming the file", bad_message);
    CHECK(misplaced == 0, "%d accepted files with an entry outside its stated bytes", misplaced);
    if (getenv("HARNESS_VERBOSE"))
        fprintf(stderr, "  %d variants: %d opened, %d rejected\n", variants, opened, rejected);
    /* data-area mutations keep the file valid; header ones mostly do not */
    CHECK(opened > 100 && rejected > 1000, "opened %d, rejected %d", opened, rejected);
    free(buf);
    free(orig);
}

/* ---- modes for the Python interop test ---------------------------------- */

static int dump(const char *path, bool values)
{
    lens_error err;
    lens_safetensors *st = lens_safetensors_open(path, &err);
    if (!st) { fprintf(stderr, "%s\n", err.msg); return 1; }
    for (int i = 0; i < lens_safetensors_count(st); i++) {
        const lens_st_entry *e = lens_safetensors_entry(st, i);
        lens_tensor *t = lens_st_entry_tensor(e, &err);
        if (t && t->dtype == LENS_BOOL) {   /* dumped as the integers 0 and 1 */
            lens_tensor *wide = lens_tensor_to_dtype(t, LENS_I64);
            lens_tensor_free(t);
            t = wide;
        }
        if (!t) { fprintf(stderr, "%s\n", err.msg); lens_safetensors_close(st); return 1; }
        int64_t n = lens_tensor_numel(t);
        printf("%s\t%s\t", e->name, lens_st_dtype_name(e->dtype));
        for (int d = 0; d < e->ndim; d++) printf(d ? ",%" PRId64 : "%" PRId64, e->shape[d]);
        uint64_t sum = 0;
        bool fl = t->dtype == LENS_F32;
        float *f = NULL;
        if (fl) {
            f = malloc((size_t)(n ? n : 1) * sizeof *f);
            if (!f || lens_st_entry_read_f32(e, f, (size_t)n, &err) < 0) {
                fprintf(stderr, "%s\n", err.msg);
                return 1;
            }
        }
        for (int64_t k = 0; k < n; k++) {
            uint64_t v = fl ? f32_bits(f[k]) : (uint64_t)lens_tensor_i64(t)[k];
            sum += v * (uint64_t)(k + 1);
        }
        printf("\t%016" PRIx64 "\n", sum);
        if (values) {
            printf("=");
            for (int64_t k = 0; k < n; k++) {
                if (fl) printf(" %08" PRIx32, f32_bits(f[k]));
                else printf(" %" PRId64, lens_tensor_i64(t)[k]);
            }
            printf("\n");
        }
        free(f);
        lens_tensor_free(t);
    }
    lens_safetensors_close(st);
    return 0;
}

static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            unlink(tmp_path(de->d_name));
    closedir(d);
    rmdir(tmpdir);
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--write-example") == 0) {
        lens_error err;
        if (example_write(argv[2], &err) < 0) { fprintf(stderr, "%s\n", err.msg); return 1; }
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "--dump") == 0)
        return dump(argv[2], argc >= 4 && strcmp(argv[3], "--values") == 0);

    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmpdir, sizeof tmpdir, "%s/lens-st-XXXXXX", base);
    if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 2; }

    RUN(test_safetensors_opens_the_tiny_gpt2_fixture);
    RUN(test_safetensors_fixture_values_have_the_documented_statistics);
    RUN(test_safetensors_loads_the_trained_f16_model);
    RUN(test_f16_conversion_matches_known_bit_patterns);
    RUN(test_bf16_conversion_matches_known_bit_patterns);
    RUN(test_safetensors_converts_every_dtype);
    RUN(test_safetensors_reads_data_at_unaligned_offsets);
    RUN(test_safetensors_round_trips_written_tensors_exactly);
    RUN(test_safetensors_writer_pads_the_header_and_packs_data_in_name_order);
    RUN(test_safetensors_writer_replaces_an_existing_file);
    RUN(test_safetensors_writer_rejects_metadata_that_is_not_an_object_of_strings);
    RUN(test_safetensors_writer_rejects_duplicate_and_reserved_names);
    RUN(test_safetensors_writer_reports_an_unwritable_path);
    RUN(test_safetensors_rejects_a_missing_file_and_a_directory);
    RUN(test_safetensors_rejects_an_empty_file);
    RUN(test_safetensors_rejects_a_truncated_length_field);
    RUN(test_safetensors_rejects_header_length_larger_than_the_file);
    RUN(test_safetensors_rejects_a_header_over_100_mb);
    RUN(test_safetensors_rejects_a_header_that_is_not_json);
    RUN(test_safetensors_rejects_header_json_that_is_not_an_object);
    RUN(test_safetensors_rejects_an_unknown_dtype);
    RUN(test_safetensors_rejects_shape_that_disagrees_with_byte_size);
    RUN(test_safetensors_rejects_negative_or_fractional_shape);
    RUN(test_safetensors_rejects_too_many_dimensions);
    RUN(test_safetensors_rejects_offset_past_end);
    RUN(test_safetensors_rejects_begin_after_end);
    RUN(test_safetensors_rejects_malformed_data_offsets);
    RUN(test_safetensors_rejects_overlapping_entries);
    RUN(test_safetensors_accepts_adjacent_and_empty_entries);
    RUN(test_safetensors_rejects_numel_overflow);
    RUN(test_safetensors_errors_never_echo_file_contents);
    RUN(test_safetensors_rejects_metadata_that_is_not_an_object_of_strings);
    RUN(test_safetensors_rejects_a_name_given_twice);
    RUN(test_safetensors_survives_thousands_of_corrupted_files);

    remove_tmpdir();
    return harness_summary();
}
