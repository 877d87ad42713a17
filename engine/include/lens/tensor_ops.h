/* lens/tensor_ops.h — arithmetic, reductions, shape ops, linear algebra, creation
 * and printing over lens_tensor, with numpy/torch semantics.
 *
 *     lens_error err;
 *     lens_tensor *x = lens_randn(2, (int64_t[]){4, 8}, 0);           // [4, 8] float32
 *     lens_tensor *y = lens_binary(LENS_OP_MUL, x, x, &err);           // x * x
 *     lens_tensor *s = lens_reduce(LENS_RED_SUM, y, -1, false, &err);  // [4]
 *     lens_tensor *v, *i;
 *     lens_topk(s, 2, -1, true, &v, &i, &err);                         // [2], [2] int64
 *     char *text = lens_tensor_repr(v);                                // "tensor([...])"
 *     free(text);
 *     lens_tensor_free(v); lens_tensor_free(i); ...
 *
 * Conventions shared by every function here:
 * - Inputs may be any strided view (negative, zero or odd strides). Results are new
 *   contiguous tensors the caller frees with lens_tensor_free, except where a
 *   function says it returns a view (diagonal, expand).
 * - Failure returns NULL (or -1) and fills err with a message naming the shapes.
 * - Dims may be negative (counted from the end, like Python).
 * - dtypes: float32, int64 and bool, promoted as torch promotes them: anything
 *   involving float32 gives float32, else anything involving int64 gives int64
 *   (bool + int64 is int64), except true division, which gives float32.
 *   Comparisons give bool. Two bool operands stay bool for + (or), * (and),
 *   maximum, minimum and & | ^; - of a bool, and // % ** of two bools, fail with
 *   torch's message (LENS_ERR_DTYPE). Masks (where, masked_fill, masked_select)
 *   are bool tensors.
 * - Devices (lens/tensor.h): the inputs of one operation must be on one device,
 *   except 0-d host tensors (Python numbers), which join any device; otherwise it
 *   fails with torch's error, "Expected all tensors to be on the same device, but
 *   found at least two devices, sim and cpu!" (LENS_ERR_DEVICE). On a device:
 *   float32 elementwise ops (lens_binary, lens_unary), the reductions sum, mean,
 *   max, min and prod, softmax / log_softmax, float32 matmul and copies of views
 *   run through the backend and give device results. The others (int64
 *   elementwise and reductions, argmax, var, cumsum, topk, sort, argsort, einsum,
 *   cat, stack, gather, index_select, where, masked_fill, masked_select,
 *   tril/triu) compute on the host over an explicit download (lens_tensor_host)
 *   and return their results on the inputs' device, where torch keeps them.
 *   Only element access, item, repr and html give host values.
 */
#ifndef LENS_TENSOR_OPS_H
#define LENS_TENSOR_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "lens/error.h"
#include "lens/tensor.h"

/* ---- elementwise -------------------------------------------------------- */

typedef enum {
    LENS_OP_ADD, LENS_OP_SUB, LENS_OP_MUL,
    LENS_OP_DIV,        /* true division: always float32 */
    LENS_OP_FLOORDIV,   /* Python //: floor of the quotient; int64 for int64 inputs */
    LENS_OP_MOD,        /* Python %: result has the sign of the divisor */
    LENS_OP_POW,        /* int64 ** int64 stays int64 (negative exponent: error) */
    LENS_OP_EQ, LENS_OP_NE, LENS_OP_LT, LENS_OP_LE, LENS_OP_GT, LENS_OP_GE, /* bool */
    LENS_OP_MAXIMUM, LENS_OP_MINIMUM,  /* NaN propagates, like torch */
    LENS_OP_AND, LENS_OP_OR, LENS_OP_XOR  /* & | ^: logical on bool, bitwise on int64, refused on float32 */
} lens_binop;

/* a OP b with numpy broadcasting (shapes aligned at the right; size-1 dims stretch).
 * int64 // 0 and int64 % 0 fail with an error rather than crash. */
lens_tensor *lens_binary(lens_binop op, const lens_tensor *a, const lens_tensor *b, lens_error *err);

/* 0-d tensors for mixing Python numbers with tensors: t + 2.5 is
 * lens_binary(ADD, t, s = lens_scalar_f32(2.5)); int64 t + 2 stays int64 with lens_scalar_i64. */
lens_tensor *lens_scalar_f32(double v);
lens_tensor *lens_scalar_i64(int64_t v);
/* Conveniences: t OP v and v OP t (scalar_left) without building the 0-d tensor yourself.
 * v_is_int: the number was a Python int (so int64 tensors stay int64). */
lens_tensor *lens_binary_scalar(lens_binop op, const lens_tensor *t, double v, bool v_is_int,
                                bool scalar_left, lens_error *err);

typedef enum {
    LENS_OP_NEG, LENS_OP_ABS,           /* keep int64; refused on bool, like torch */
    LENS_OP_EXP, LENS_OP_LOG, LENS_OP_SQRT, LENS_OP_TANH,
    LENS_OP_SIN, LENS_OP_COS, LENS_OP_SIGMOID, LENS_OP_RELU,
    LENS_OP_FLOOR, LENS_OP_CEIL, LENS_OP_ROUND,   /* keep dtype */
    LENS_OP_SIGN,                       /* keeps dtype */
    LENS_OP_NOT                         /* ~: logical on bool, bitwise on int64, TypeError on float32 */
} lens_unop;

/* Elementwise f(t). EXP..SIGMOID give float32 (ints and bools are converted); RELU keeps
 * dtype. NEG, ABS, RELU, FLOOR, CEIL, ROUND of a bool fail with torch's message. */
lens_tensor *lens_unary(lens_unop op, const lens_tensor *t, lens_error *err);

/* cond ? a : b, all three broadcast together; cond must be bool; dtype promoted from a and b. */
lens_tensor *lens_where(const lens_tensor *cond, const lens_tensor *a, const lens_tensor *b,
                        lens_error *err);
/* Copy of t with value (converted to t's dtype) wherever the bool mask (broadcast to t's
 * shape) is true; a mask of another dtype fails with torch's message. */
lens_tensor *lens_masked_fill(const lens_tensor *t, const lens_tensor *mask, double value,
                              lens_error *err);
/* Copy converted to dt (float -> int64 truncates toward zero, to bool is nonzero, like torch). */
lens_tensor *lens_tensor_to_dtype(const lens_tensor *t, lens_dtype dt);
/* Shape that a and b broadcast to, into out (LENS_MAX_DIMS); returns ndim or -1 + err. */
int lens_broadcast_shape(int na, const int64_t *sa, int nb, const int64_t *sb, int64_t *out,
                         lens_error *err);

/* ---- reductions --------------------------------------------------------- */

typedef enum {
    LENS_RED_SUM,   /* int64 stays int64 */
    LENS_RED_MEAN,  /* float32 */
    LENS_RED_MAX, LENS_RED_MIN,          /* keep dtype; NaN propagates */
    LENS_RED_ARGMAX, LENS_RED_ARGMIN,    /* int64; first occurrence wins */
    LENS_RED_PROD,  /* keeps dtype */
    LENS_RED_VAR, LENS_RED_STD,          /* float32, unbiased (divides by n - 1), like torch */
    LENS_RED_ANY, LENS_RED_ALL           /* bool, over nonzero-ness */
} lens_reduce_op;
/* Of a bool tensor (torch): sum, prod and cumsum count in int64; max, min, any and
 * all give bool; mean, var, std, argmax and argmin fail (LENS_ERR_DTYPE). */

/* Reduce over one dim (negative allowed); keepdim keeps it as size 1.
 * MAX/MIN/ARGMAX/ARGMIN of an empty dim fail; SUM of empty is 0, MEAN is NaN. */
lens_tensor *lens_reduce(lens_reduce_op op, const lens_tensor *t, int dim, bool keepdim,
                         lens_error *err);
/* Reduce over several dims at once (ndims dims, no repeats); ndims == 0 means all dims.
 * ARGMAX/ARGMIN accept only one dim here, or all (then the index is into the flattened tensor). */
lens_tensor *lens_reduce_dims(lens_reduce_op op, const lens_tensor *t, int ndims, const int *dims,
                              bool keepdim, lens_error *err);
/* Reduce over every element to a 0-d tensor (torch's t.sum(), t.argmax() over the flat tensor). */
lens_tensor *lens_reduce_all(lens_reduce_op op, const lens_tensor *t, lens_error *err);
/* torch.max(t, dim) / torch.min(t, dim): values and int64 indices (either out may be NULL). */
int lens_max_dim(const lens_tensor *t, int dim, bool keepdim, bool largest,
                 lens_tensor **values, lens_tensor **indices, lens_error *err);
/* Cumulative sum along dim (int64 stays int64). */
lens_tensor *lens_cumsum(const lens_tensor *t, int dim, lens_error *err);

/* Softmax / log-softmax along dim (float32, numerically stable). */
lens_tensor *lens_softmax(const lens_tensor *t, int dim, lens_error *err);
lens_tensor *lens_log_softmax(const lens_tensor *t, int dim, lens_error *err);

/* k largest (or smallest) along dim, sorted (largest: descending); ties go to the lower
 * index first. values keep t's dtype, indices are int64 (bool fails, as torch). Either out may be NULL. */
int lens_topk(const lens_tensor *t, int64_t k, int dim, bool largest,
              lens_tensor **values, lens_tensor **indices, lens_error *err);
/* Stable sort along dim (equal elements keep their order). Either out may be NULL. */
int lens_sort(const lens_tensor *t, int dim, bool descending,
              lens_tensor **values, lens_tensor **indices, lens_error *err);
lens_tensor *lens_argsort(const lens_tensor *t, int dim, bool descending, lens_error *err);

/* ---- shape ops ---------------------------------------------------------- */

/* Merges dims start..end (inclusive, negative allowed) into one; a 0-d tensor gives [1].
 * A view when strides allow it, else a copy (like reshape). */
lens_tensor *lens_tensor_flatten(const lens_tensor *t, int start, int end, lens_error *err);
/* Concatenates n tensors along an existing dim; shapes must match elsewhere. dtype promoted. */
lens_tensor *lens_cat(int n, const lens_tensor *const *ts, int dim, lens_error *err);
/* Stacks n same-shape tensors along a new dim (dim in [-(ndim+1), ndim]). */
lens_tensor *lens_stack(int n, const lens_tensor *const *ts, int dim, lens_error *err);
/* View of t broadcast to shape (torch expand: new leading dims; -1 keeps a size;
 * size-1 dims stretch with stride 0). Writing into the result is not meaningful. */
lens_tensor *lens_tensor_expand(const lens_tensor *t, int ndim, const int64_t *shape,
                                lens_error *err);
/* torch.diagonal: view of the diagonal at offset (>0 above) of dims d1 and d2, which are
 * removed; the diagonal becomes the last dim. */
lens_tensor *lens_tensor_diagonal(const lens_tensor *t, int64_t offset, int d1, int d2,
                                  lens_error *err);
/* Copies with elements above (tril) / below (triu) diagonal k of the last two dims zeroed. */
lens_tensor *lens_tril(const lens_tensor *t, int64_t k, lens_error *err);
lens_tensor *lens_triu(const lens_tensor *t, int64_t k, lens_error *err);
/* Advanced indexing along one dim: t[..., idx, ...] with idx an int64 tensor of any shape
 * (negative entries count from the end). Result shape: t.shape[:dim] + idx.shape +
 * t.shape[dim+1:] (numpy take). With dim 0 this is t[idx]. */
lens_tensor *lens_index_select(const lens_tensor *t, int dim, const lens_tensor *idx,
                               lens_error *err);
/* torch.gather: out[i][j][k] = t[i][idx[i][j][k]][k] for dim 1; idx has t's ndim and
 * sizes <= t's in the other dims; result has idx's shape. */
lens_tensor *lens_gather(const lens_tensor *t, int dim, const lens_tensor *idx, lens_error *err);
/* t[mask] for a bool mask of t's shape: the selected elements, 1-d, in row-major order. */
lens_tensor *lens_masked_select(const lens_tensor *t, const lens_tensor *mask, lens_error *err);
/* Writes value (broadcast to the view's shape, dtype converted) into dst, which may be a
 * view (t[1:3] = x). */
int lens_tensor_assign(lens_tensor *dst, const lens_tensor *value, lens_error *err);

/* ---- linear algebra ----------------------------------------------------- */

/* torch.matmul: 1-d x 1-d is a dot product (0-d); 1-d operands get a dim prepended
 * (left) or appended (right) that is removed afterwards; batch dims broadcast.
 * float32 via BLAS sgemm; int64 x int64 gives int64 by a plain loop. */
lens_tensor *lens_matmul(const lens_tensor *a, const lens_tensor *b, lens_error *err);
/* einsum with an explicit "->" output (possibly empty: a 0-d result). Two spellings:
 *   classic:  "bd,bd->b", "ij,jk->ik", "bhqd,bhkd->bhqk" (one letter per index);
 *   named:    "batch d_model, batch d_model -> batch" (words separated by spaces, operands
 *             by commas), as fancy_einsum writes it.
 * A spec is read as named when some term has several words, or when reading each term
 * one letter per index does not match the operands' ranks. Indices absent from the
 * output are summed; an index repeated within one operand takes its diagonal ("ii->i"),
 * and an index may not repeat in the output. "..." is not
 * supported. Two operands are contracted with one batched matmul. */
lens_tensor *lens_einsum(const char *spec, int n, const lens_tensor *const *ts, lens_error *err);

/* ---- creation ----------------------------------------------------------- */

/* arange(start, stop, step) in dt; size ceil((stop - start) / step); step 0 is an error.
 * The language picks LENS_I64 when all arguments were ints, LENS_F32 otherwise. */
lens_tensor *lens_arange(double start, double stop, double step, lens_dtype dt, lens_error *err);
lens_tensor *lens_full(lens_dtype dt, int ndim, const int64_t *shape, double value,
                       lens_error *err);
lens_tensor *lens_zeros(lens_dtype dt, int ndim, const int64_t *shape, lens_error *err);
lens_tensor *lens_ones(lens_dtype dt, int ndim, const int64_t *shape, lens_error *err);
/* steps evenly spaced float32 values from start to end inclusive (torch.linspace). */
lens_tensor *lens_linspace(double start, double end, int64_t steps, lens_error *err);
/* Deterministic pseudo-random tensors: a xoshiro256** generator seeded through splitmix64
 * from seed, so the same seed gives the same tensor on every machine (not torch's stream).
 * randn: standard normal float32 (Box-Muller); rand: uniform [0, 1) float32;
 * randint: int64 uniform in [low, high). */
lens_tensor *lens_randn(int ndim, const int64_t *shape, uint64_t seed);
lens_tensor *lens_rand(int ndim, const int64_t *shape, uint64_t seed);
lens_tensor *lens_randint(int64_t low, int64_t high, int ndim, const int64_t *shape,
                          uint64_t seed, lens_error *err);
/* Identity matrix [n, n] (float32). */
lens_tensor *lens_eye(int64_t n, lens_error *err);

/* ---- element access ----------------------------------------------------- */

/* Element at a full index (ndim entries, each in range; not checked) as a double. */
double lens_tensor_get_f64(const lens_tensor *t, const int64_t *idx);
/* Element at a full index, int64 (floats truncated). */
int64_t lens_tensor_get_i64(const lens_tensor *t, const int64_t *idx);
/* The element of a one-element tensor (any ndim), like torch's item(); -1 + err otherwise. */
int lens_tensor_item(const lens_tensor *t, double *out, lens_error *err);
/* Element at flat row-major position i (0 <= i < numel) of any view. */
double lens_tensor_flat_f64(const lens_tensor *t, int64_t i);

/* ---- printing ----------------------------------------------------------- */

/* torch-like text, malloc'd (caller frees):
 *   tensor([[ 1.0000, -2.5000],
 *           [ 3.0000,  4.0000]])
 * floats with 4 decimals, or scientific (1.2346e+08) when the largest magnitude is
 * >= 1e8 or the smallest nonzero one < 1e-4; floats that are all integers print as
 * "1., 2."; ints plain. More than 1000 elements: 3 edge items per dim with "...",
 * as torch prints them. 0-d: tensor(1.5000). */
char *lens_tensor_repr(const lens_tensor *t);
/* HTML table for a 0-d, 1-d or 2-d tensor (row and column indices as headers; large
 * ones summarised like the repr); NULL for higher ranks (use the repr). Caller frees. */
char *lens_tensor_html(const lens_tensor *t);

#endif
