/* kernel/lang/arith.c — the operators on values: checked 64-bit integer and
 * float arithmetic with Python's floor division and modulo, bitwise and shift
 * operators, sequence concatenation and repetition, str %, dict |.
 *
 * Owns: binary_op, unary_op.
 * Does not own: comparison (compare.c, eval.c), operators of registered types
 * (their lang_type hooks). */
#include "value.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ast.h"
#include "lens/checked.h"
#include "lens/memory.h"
#include "value_internal.h"

static value *int_pow(interp *I, int64_t base, int64_t e)
{
    if (e < 0) {
        if (base == 0) return lang_raise(I, "ZeroDivisionError", "0.0 cannot be raised to a negative power");
        return v_float(pow((double)base, (double)e));
    }
    int64_t r = 1;
    while (e > 0) {
        if (e & 1) {
            if (__builtin_mul_overflow(r, base, &r)) goto overflow;
        }
        e >>= 1;
        if (e && __builtin_mul_overflow(base, base, &base)) goto overflow;
    }
    return v_int(r);
overflow:
    return lang_raise(I, "OverflowError", "integer result too large (lens integers are 64-bit; use a float)");
}

static value *number_op(interp *I, int op, value *a, value *b)
{
    bool fl = a->type == V_FLOAT || b->type == V_FLOAT;
    if (op == OP_DIV) {
        double y = lang_num_as_double(b);
        if (y == 0) return lang_raise(I, "ZeroDivisionError", "division by zero");
        return v_float(lang_num_as_double(a) / y);
    }
    if (fl) {
        double x = lang_num_as_double(a), y = lang_num_as_double(b);
        switch (op) {
        case OP_ADD: return v_float(x + y);
        case OP_SUB: return v_float(x - y);
        case OP_MUL: return v_float(x * y);
        case OP_FLOORDIV:
            if (y == 0) return lang_raise(I, "ZeroDivisionError", "float floor division by zero");
            return v_float(floor(x / y));
        case OP_MOD: {
            if (y == 0) return lang_raise(I, "ZeroDivisionError", "float modulo");
            double m = fmod(x, y);
            if (m != 0 && ((m < 0) != (y < 0))) m += y;
            return v_float(m);
        }
        case OP_POW:
            if (x == 0 && y < 0) return lang_raise(I, "ZeroDivisionError", "0.0 cannot be raised to a negative power");
            if (x < 0 && y != floor(y)) return lang_raise(I, "ValueError", "negative number cannot be raised to a fractional power (complex numbers are not supported)");
            return v_float(pow(x, y));
        default: break;
        }
        return NULL;
    }
    int64_t x = lang_num_as_int(a), y = lang_num_as_int(b), r;
    switch (op) {
    case OP_ADD: if (__builtin_add_overflow(x, y, &r)) goto overflow; return v_int(r);
    case OP_SUB: if (__builtin_sub_overflow(x, y, &r)) goto overflow; return v_int(r);
    case OP_MUL: if (__builtin_mul_overflow(x, y, &r)) goto overflow; return v_int(r);
    case OP_FLOORDIV: case OP_MOD: {
        if (y == 0) return lang_raise(I, "ZeroDivisionError", "integer division or modulo by zero");
        if (y == -1) { if (op == OP_MOD) return v_int(0); if (x == INT64_MIN) goto overflow; }
        int64_t q = x / y, m = x % y;
        if (m != 0 && ((m < 0) != (y < 0))) { q--; m += y; }
        return v_int(op == OP_FLOORDIV ? q : m);
    }
    case OP_POW: return int_pow(I, x, y);
    case OP_AND: return a->type == V_BOOL && b->type == V_BOOL ? v_bool(x & y) : v_int(x & y);
    case OP_OR: return a->type == V_BOOL && b->type == V_BOOL ? v_bool(x | y) : v_int(x | y);
    case OP_XOR: return a->type == V_BOOL && b->type == V_BOOL ? v_bool(x ^ y) : v_int(x ^ y);
    case OP_LSHIFT: {
        if (y < 0) return lang_raise(I, "ValueError", "negative shift count");
        if (x == 0) return v_int(0);
        /* x * 2**y must fit: shift the magnitude as unsigned, then check */
        if (y == 63 && x == -1) return v_int(INT64_MIN);
        if (y >= 63) goto overflow;
        int64_t p = (int64_t)1 << y;
        if (__builtin_mul_overflow(x, p, &r)) goto overflow;
        return v_int(r);
    }
    case OP_RSHIFT:
        if (y < 0) return lang_raise(I, "ValueError", "negative shift count");
        return v_int(y >= 64 ? (x < 0 ? -1 : 0) : x >> y);
    default: return NULL;
    }
overflow:
    return lang_raise(I, "OverflowError", "integer result too large (lens integers are 64-bit; use a float)");
}

static value *seq_repeat(interp *I, value *seq, int64_t n)
{
    if (n < 0) n = 0;
    /* an empty sequence stays empty however many times it is repeated */
    if ((seq->type == V_STR ? seq->u.str.len : seq->u.list.n) == 0) n = 0;
    if (seq->type == V_STR) {
        size_t len = seq->u.str.len, total;
        if (!lens_mul_size(len, (size_t)n, &total) || total >= SIZE_MAX / 2)
            return lang_raise(I, "MemoryError", "a string of %zu * %lld bytes is too large", len, (long long)n);
        if (!lang_mem_take(total + 1, "a string")) return lang_mem_raise(I);   /* checked before malloc */
        lens_mem_release(total + 1);                                  /* v_str_take counts it */
        char *s = malloc(total + 1);
        if (!s) return lang_raise(I, "MemoryError", "out of memory");
        for (int64_t i = 0; i < n; i++) memcpy(s + (size_t)i * len, seq->u.str.s, len);
        s[len * (size_t)n] = 0;
        return v_str_take(s, len * (size_t)n);
    }
    size_t len = seq->u.list.n, total;
    if (!lens_mul_size(len, (size_t)n, &total) || total > SIZE_MAX / sizeof(value *))
        return lang_raise(I, "MemoryError", "a %s of %zu * %lld items is too large", lang_type_name(seq), len, (long long)n);
    value *r = seq->type == V_LIST ? v_list(total) : v_tuple(total);
    if (!r) return lang_mem_raise(I);
    for (int64_t i = 0; i < n; i++)
        for (size_t j = 0; j < len; j++) {
            if (((size_t)i * len + j) % 4096 == 4095 && lang_check_interrupt(I)) { lang_decref(r); return NULL; }
            if (seq->type == V_LIST) r->u.list.items[r->u.list.n++] = lang_incref(seq->u.list.items[j]);
            else lang_tuple_set(r, (size_t)i * len + j, lang_incref(seq->u.list.items[j]));
        }
    return r;
}

char *lang_percent_format(interp *I, const char *fmt, size_t n, value *args);   /* methods.c */

value *lang_binary_op(interp *I, int op, value *a, value *b)
{
    if (lang_is_number(a) && lang_is_number(b) && op != OP_MATMUL) {
        if ((op == OP_AND || op == OP_OR || op == OP_XOR || op == OP_LSHIFT || op == OP_RSHIFT) &&
            (a->type == V_FLOAT || b->type == V_FLOAT))
            goto unsupported;
        value *r = number_op(I, op, a, b);
        if (!r && !I->error) return lang_raise(I, "MemoryError", "out of memory");
        return r;
    }
    const lang_type *ta = lang_type_of(a), *tb = lang_type_of(b);
    if (ta && ta->binary) return ta->binary(I, op, a, b);
    if (tb && tb->binary) return tb->binary(I, op, a, b);
    if (op == OP_ADD && a->type == b->type) {
        if (a->type == V_STR) {
            size_t n = a->u.str.len + b->u.str.len;
            if (!lang_mem_take(n + 1, "a string")) return lang_mem_raise(I);   /* checked before malloc */
            lens_mem_release(n + 1);                                  /* v_str_take counts it */
            char *s = malloc(n + 1);
            if (!s) return lang_raise(I, "MemoryError", "out of memory");
            memcpy(s, a->u.str.s, a->u.str.len);
            memcpy(s + a->u.str.len, b->u.str.s, b->u.str.len + 1);
            return v_str_take(s, n);
        }
        if (a->type == V_LIST || a->type == V_TUPLE) {
            size_t n = a->u.list.n + b->u.list.n;
            value *r = a->type == V_LIST ? v_list(n) : v_tuple(n);
            if (!r) return lang_mem_raise(I);
            for (size_t i = 0; i < n; i++) {
                value *x = lang_incref(i < a->u.list.n ? a->u.list.items[i] : b->u.list.items[i - a->u.list.n]);
                if (a->type == V_LIST) r->u.list.items[r->u.list.n++] = x;
                else lang_tuple_set(r, i, x);
            }
            return r;
        }
    }
    if (op == OP_MUL) {
        value *seq = (a->type == V_STR || a->type == V_LIST || a->type == V_TUPLE) ? a : b;
        value *cnt = seq == a ? b : a;
        if ((seq->type == V_STR || seq->type == V_LIST || seq->type == V_TUPLE) &&
            (cnt->type == V_INT || cnt->type == V_BOOL))
            return seq_repeat(I, seq, lang_num_as_int(cnt));
    }
    if (op == OP_MOD && a->type == V_STR) {
        char *s = lang_percent_format(I, a->u.str.s, a->u.str.len, b);
        return s ? v_str_take(s, strlen(s)) : NULL;
    }
    if (op == OP_OR && a->type == V_DICT && b->type == V_DICT) {
        value *r = v_dict();
        if (!r) return lang_raise(I, "MemoryError", "out of memory");
        for (int k = 0; k < 2; k++) {
            size_t i = 0;
            value *key, *val;
            while (lang_dict_next((k ? b : a)->u.d, &i, &key, &val)) lang_dict_set(I, r->u.d, key, val);
        }
        return r;
    }
unsupported:
    return lang_raise(I, "TypeError", "unsupported operand type(s) for %s: '%s' and '%s'",
                      lang_binop_symbol(op), lang_type_name(a), lang_type_name(b));
}

value *lang_unary_op(interp *I, int op, value *a)
{
    if (op == 'n') {
        int t = lang_truthy(I, a);
        return t < 0 ? NULL : v_bool(!t);
    }
    const lang_type *t = lang_type_of(a);
    if (t && t->unary) return t->unary(I, op, a);
    if (a->type == V_FLOAT) {
        if (op == '-') return v_float(-a->u.f);
        if (op == '+') return v_float(a->u.f);
    } else if (a->type == V_INT || a->type == V_BOOL) {
        int64_t x = lang_num_as_int(a);
        if (op == '-') {
            if (x == INT64_MIN) return lang_raise(I, "OverflowError", "integer result too large");
            return v_int(-x);
        }
        if (op == '+') return v_int(x);
        if (op == '~') return v_int(~x);
    }
    return lang_raise(I, "TypeError", "bad operand type for unary %c: '%s'", op, lang_type_name(a));
}
