/* tests/harness.h — the tiny assertion harness every C test program uses.
 *
 * A test program defines test functions, lists them in main with RUN(fn), and
 * ends with `return harness_summary();`, which prints "N passed, N failed" and
 * returns non-zero on any failure. A test passes when none of its CHECKs failed.
 */
#ifndef LENS_TEST_HARNESS_H
#define LENS_TEST_HARNESS_H

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static int harness_passed, harness_failed, harness_current_failed;
static const char *harness_current;

/* The optional message of a CHECK. Deliberately without a format attribute, so a
 * CHECK may omit its message (an empty format) and pass values that may be NULL. */
static inline void harness_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            harness_current_failed++;                                             \
            fprintf(stderr, "  FAIL %s (%s:%d): %s: ", harness_current, __FILE__, \
                    __LINE__, #cond);                                             \
            harness_note("" __VA_ARGS__);                                         \
            fprintf(stderr, "\n");                                                \
        }                                                                         \
    } while (0)

/* Relative closeness of two float arrays: max |a-b| / max(max|b|, floor). */
static inline double harness_rel_err(const float *a, const float *b, long n, double floor_)
{
    double maxdiff = 0, maxref = floor_;
    for (long i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= maxdiff)) maxdiff = d; /* NaN propagates as a failure */
        if (fabs((double)b[i]) > maxref) maxref = fabs((double)b[i]);
    }
    return maxdiff / maxref;
}

#define CHECK_CLOSE(a, b, n, tol, what)                                           \
    do {                                                                          \
        double rel_ = harness_rel_err((a), (b), (n), 1e-6);                       \
        CHECK(rel_ <= (tol), "%s: relative error %.3g > %.1g", (what), rel_,      \
              (double)(tol));                                                     \
    } while (0)

#define RUN(fn)                                                                   \
    do {                                                                          \
        harness_current = #fn;                                                    \
        harness_current_failed = 0;                                               \
        fn();                                                                     \
        if (harness_current_failed) {                                             \
            harness_failed++;                                                     \
            fprintf(stderr, "FAILED %s\n", #fn);                                  \
        } else {                                                                  \
            harness_passed++;                                                     \
            if (getenv("HARNESS_VERBOSE")) fprintf(stderr, "ok %s\n", #fn);       \
        }                                                                         \
    } while (0)

/* LENS_TEST_SMALL=1 (`make valgrind` sets it): tests leave out their largest
 * workloads, the runs of the trained model (models/lens-tinystories-16m, 16M
 * parameters), whose code paths the tiny fixture model also runs. A test that
 * leaves something out calls this, which says so on stderr and returns true. */
static inline bool harness_small(const char *what)
{
    const char *v = getenv("LENS_TEST_SMALL");
    if (!v || !*v || !strcmp(v, "0")) return false;
    fprintf(stderr, "  %s: LENS_TEST_SMALL: left out %s\n", harness_current, what);
    return true;
}

static inline int harness_summary(void)
{
    printf("%d passed, %d failed\n", harness_passed, harness_failed);
    return harness_failed ? 1 : 0;
}

#endif
