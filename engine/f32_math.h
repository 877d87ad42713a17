/* f32_math.h — internal to the engine: the float32 value of one elementwise
 * operation, shared by the host tensor ops (tensor_ops_elementwise.c) and the
 * backends' general operations (backend_cpu_general.c), so a tensor gets the same
 * bits on every device.
 *
 * Owns: the scalar semantics of lens_binop and lens_unop on float32 (Python's
 * float divmod for // and %, NaN propagation of maximum/minimum, torch's round
 * half to even). Does not own: dtypes, broadcasting or iteration. */
#ifndef LENS_F32_MATH_H
#define LENS_F32_MATH_H

#include <math.h>

#include "lens/tensor_ops.h"

/* x op y; comparisons and logical ops give 1.0f / 0.0f. */
static inline float lens_f32_binop(lens_binop op, float x, float y)
{
    switch (op) {
    case LENS_OP_ADD: return x + y;
    case LENS_OP_SUB: return x - y;
    case LENS_OP_MUL: return x * y;
    case LENS_OP_DIV: return x / y;
    case LENS_OP_FLOORDIV:
    case LENS_OP_MOD: {
        /* Python's float divmod. */
        if (y == 0) return op == LENS_OP_MOD ? NAN : x / y;
        float m = fmodf(x, y);
        float q = (x - m) / y;
        if (m != 0) {
            if ((y < 0) != (m < 0)) { m += y; q -= 1; }
        } else m = copysignf(0, y);
        if (op == LENS_OP_MOD) return m;
        float fq = floorf(q);
        if (q - fq > 0.5f) fq += 1;
        return q == 0 ? copysignf(0, x / y) : fq;
    }
    case LENS_OP_POW: return powf(x, y);
    case LENS_OP_EQ: return x == y;
    case LENS_OP_NE: return x != y;
    case LENS_OP_LT: return x < y;
    case LENS_OP_LE: return x <= y;
    case LENS_OP_GT: return x > y;
    case LENS_OP_GE: return x >= y;
    case LENS_OP_MAXIMUM: return (isnan(x) || isnan(y)) ? NAN : (x > y ? x : y);
    case LENS_OP_MINIMUM: return (isnan(x) || isnan(y)) ? NAN : (x < y ? x : y);
    case LENS_OP_AND: return x != 0 && y != 0;
    case LENS_OP_OR: return x != 0 || y != 0;
    case LENS_OP_XOR: return (x != 0) != (y != 0);
    }
    return 0;
}

static inline float lens_sigmoidf(float x) { return x >= 0 ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x)); }

/* op(x); NOT gives 1.0f / 0.0f. */
static inline float lens_f32_unop(lens_unop op, float x)
{
    switch (op) {
    case LENS_OP_NEG: return -x;
    case LENS_OP_ABS: return fabsf(x);
    case LENS_OP_EXP: return expf(x);
    case LENS_OP_LOG: return logf(x);
    case LENS_OP_SQRT: return sqrtf(x);
    case LENS_OP_TANH: return tanhf(x);
    case LENS_OP_SIN: return sinf(x);
    case LENS_OP_COS: return cosf(x);
    case LENS_OP_SIGMOID: return lens_sigmoidf(x);
    case LENS_OP_RELU: return isnan(x) ? x : (x > 0 ? x : 0);
    case LENS_OP_FLOOR: return floorf(x);
    case LENS_OP_CEIL: return ceilf(x);
    case LENS_OP_ROUND: return nearbyintf(x);   /* half to even, like torch */
    case LENS_OP_SIGN: return isnan(x) ? x : (float)((x > 0) - (x < 0));
    case LENS_OP_NOT: return x == 0;
    }
    return x;
}

#endif
