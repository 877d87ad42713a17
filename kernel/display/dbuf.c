/* kernel/display/dbuf.c — growable text buffer, HTML/script escaping, the
 * display error slot, number conversion and element ids (see dbuf.h). */
#include "dbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool dbuf_reserve(dbuf *b, size_t extra)
{
    if (b->failed) return false;
    if (extra > SIZE_MAX / 2 - b->len) { b->failed = true; return false; }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) { b->failed = true; return false; }
    b->data = p;
    b->cap = cap;
    return true;
}

void display_dbuf_append_n(dbuf *b, const char *s, size_t n)
{
    if (!s || !dbuf_reserve(b, n)) return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void display_dbuf_append(dbuf *b, const char *s)
{
    if (s) display_dbuf_append_n(b, s, strlen(s));
}

void display_dbuf_appendf(dbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !dbuf_reserve(b, (size_t)n)) return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void display_dbuf_append_html(dbuf *b, const char *s)
{
    if (!s) return;
    const char *run = s;
    for (const char *p = s; *p; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: continue;
        }
        display_dbuf_append_n(b, run, (size_t)(p - run));
        display_dbuf_append(b, rep);
        run = p + 1;
    }
    display_dbuf_append(b, run);
}

void display_dbuf_append_json_script(dbuf *b, const cJSON *value)
{
    char *json = value ? cJSON_PrintUnformatted(value) : NULL;
    if (!json) { b->failed = true; return; }
    const char *run = json;
    for (const char *p = json; *p; p++) {
        const unsigned char c = (unsigned char)*p;
        const char *rep = NULL;
        if (c == '<') rep = "\\u003c";
        else if (c == '>') rep = "\\u003e";
        else if (c == '&') rep = "\\u0026";
        else if (c == 0xE2 && (unsigned char)p[1] == 0x80 &&
                 ((unsigned char)p[2] == 0xA8 || (unsigned char)p[2] == 0xA9))
            rep = (unsigned char)p[2] == 0xA8 ? "\\u2028" : "\\u2029";
        if (!rep) continue;
        display_dbuf_append_n(b, run, (size_t)(p - run));
        display_dbuf_append(b, rep);
        if (c == 0xE2) p += 2;
        run = p + 1;
    }
    display_dbuf_append(b, run);
    free(json);
}

void display_dbuf_append_script_code(dbuf *b, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '<') continue;
        bool close = s[i + 1] == '/' && i + 7 < n && strncasecmp(s + i + 2, "script", 6) == 0;
        bool comment = s[i + 1] == '!' && i + 3 < n && s[i + 2] == '-' && s[i + 3] == '-';
        if (!close && !comment) continue;
        display_dbuf_append_n(b, s + run, i + 1 - run);
        display_dbuf_append(b, "\\");
        run = i + 1;
    }
    display_dbuf_append_n(b, s + run, n - run);
}

char *display_dbuf_take(dbuf *b)
{
    if (b->failed) { display_dbuf_free(b); return NULL; }
    char *s = b->data ? b->data : strdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return s;
}

void display_dbuf_free(dbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = false;
}

static _Thread_local char last_error[512];

const char *display_last_error(void) { return last_error; }

void display_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

double display_short_double(float f)
{
    char buf[32];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f) return d;
    }
    return (double)f;
}

cJSON *display_number(double v)
{
    if (!isfinite(v)) return cJSON_CreateNull();
    float f = (float)v;
    if ((double)f == v) return cJSON_CreateNumber(display_short_double(f));
    return cJSON_CreateNumber(v);
}

void display_format_float(char *buf, size_t size, double v)
{
    if (isnan(v)) snprintf(buf, size, "nan");
    else if (isinf(v)) snprintf(buf, size, v > 0 ? "inf" : "-inf");
    else if (v != 0 && (fabs(v) >= 1e5 || fabs(v) < 1e-3)) snprintf(buf, size, "%.3e", v);
    else snprintf(buf, size, "%.4f", v);
}

void display_new_id(char *buf, size_t size, const char *prefix)
{
    static _Atomic unsigned long counter;
    static _Atomic unsigned int salt;
    unsigned int s = salt;
    if (!s) {
        FILE *f = fopen("/dev/urandom", "rb");
        if (!f || fread(&s, sizeof s, 1, f) != 1)
            s = (unsigned int)time(NULL) ^ ((unsigned int)getpid() << 16);
        if (f) fclose(f);
        if (!s) s = 1;
        salt = s;
    }
    snprintf(buf, size, "%s-%08x-%lu", prefix, s, ++counter);
}
