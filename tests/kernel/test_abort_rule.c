/* tests/kernel/test_abort_rule.c — the stop_on_error rule without sockets:
 * date parsing against known epoch instants, and the abort decision for
 * clients whose clock agrees with the kernel's, runs ahead, or lags. */
#include <string.h>

#include "../harness.h"
#include "abort_rule.h"

/* 2024-01-02T03:04:05Z is 1704164645 s after the epoch (date -u -d ... +%s). */
#define T0 1704164645000000LL

static void test_dates_parse_to_epoch_microseconds(void)
{
    int64_t us = 0, unit = 0;
    CHECK(abort_parse_date("2024-01-02T03:04:05.123456Z", &us, &unit) == 0, " ");
    CHECK(us == T0 + 123456 && unit == 1, "%lld %lld", (long long)us, (long long)unit);
    CHECK(abort_parse_date("2024-01-02T03:04:05.123Z", &us, &unit) == 0, " ");
    CHECK(us == T0 + 123000 && unit == 1000, "%lld", (long long)us);
    CHECK(abort_parse_date("2024-01-02T03:04:05Z", &us, &unit) == 0 && us == T0 && unit == 1000000, " ");
    CHECK(abort_parse_date("2024-01-02T04:04:05.5+01:00", &us, &unit) == 0, " ");
    CHECK(us == T0 + 500000 && unit == 100000, "%lld", (long long)us);
    CHECK(abort_parse_date("2024-01-02T03:04:05.123456789-00:00", &us, &unit) == 0, " ");
    CHECK(us == T0 + 123456 && unit == 1, " ");
    CHECK(abort_parse_date("2024-01-02T03:04:05.123456", &us, &unit) == 0 && us == T0 + 123456, " ");
    CHECK(abort_parse_date("1970-01-01T00:00:00Z", &us, &unit) == 0 && us == 0, " ");
    const char *bad[] = {"", "2024", "2024-13-02T03:04:05Z", "2024-01-02 03:04", "yesterday",
                         "2024-01-02T03:04:05.Z", "2024-01-02T03:04:05Zjunk", "2024-01-02T03:04:05+1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(abort_parse_date(bad[i], &us, &unit) != 0, "accepted %s", bad[i]);
    CHECK(abort_parse_date(NULL, &us, &unit) != 0, " ");
}

static void test_now_is_the_wall_clock(void)
{
    int64_t a = abort_now_us();
    CHECK(a > T0, "%lld", (long long)a); /* after 2024 */
    CHECK(abort_now_us() >= a, " ");
}

/* A client with the kernel's clock (transit 200 µs): sent before the reply -> aborted,
 * sent after it -> runs, and the session is disarmed after that. */
static void test_agreeing_clock(void)
{
    abort_rule *r = abort_rule_new();
    abort_rule_observe(r, "s", "2024-01-02T03:04:05.000000Z", T0 + 200);
    abort_rule_arm(r, "s", T0 + 1000);
    /* made at +900 µs, read at +1500 µs (after the reply left): sent before it */
    abort_rule_observe(r, "s", "2024-01-02T03:04:05.000900Z", T0 + 1500);
    CHECK(abort_rule_should_abort(r, "s", "2024-01-02T03:04:05.000900Z", T0 + 1500), " ");
    /* another session is not affected */
    abort_rule_observe(r, "other", "2024-01-02T03:04:05.000900Z", T0 + 1500);
    CHECK(!abort_rule_should_abort(r, "other", "2024-01-02T03:04:05.000900Z", T0 + 1500), " ");
    /* made after the reply left: runs and disarms */
    abort_rule_observe(r, "s", "2024-01-02T03:04:05.001100Z", T0 + 1300);
    CHECK(!abort_rule_should_abort(r, "s", "2024-01-02T03:04:05.001100Z", T0 + 1300), " ");
    CHECK(!abort_rule_should_abort(r, "s", "2024-01-02T03:04:05.000100Z", T0 + 1600), "disarmed");
    abort_rule_free(r);
}

/* Read before the reply left: aborted whatever its date says, even without one. */
static void test_arrival_proof_needs_no_date(void)
{
    abort_rule *r = abort_rule_new();
    abort_rule_observe(r, "s", NULL, T0 + 10);
    abort_rule_arm(r, "s", T0 + 1000);
    CHECK(abort_rule_should_abort(r, "s", NULL, T0 + 10), " ");
    CHECK(abort_rule_should_abort(r, "s", "2030-01-01T00:00:00Z", T0 + 999), " ");
    /* no date, read after: runs */
    CHECK(!abort_rule_should_abort(r, "s", NULL, T0 + 2000), " ");
    abort_rule_free(r);
}

/* Millisecond dates (a browser) are taken at face value. */
static void test_millisecond_dates(void)
{
    abort_rule *r = abort_rule_new();
    abort_rule_observe(r, "s", "2024-01-02T03:04:05.000Z", T0 + 300);
    abort_rule_arm(r, "s", T0 + 5500);
    /* .005 is +5000 µs < +5500: sent before, even though the tick ends later */
    CHECK(abort_rule_should_abort(r, "s", "2024-01-02T03:04:05.005Z", T0 + 6000), " ");
    /* .006 is after the reply left: runs */
    CHECK(!abort_rule_should_abort(r, "s", "2024-01-02T03:04:05.006Z", T0 + 6500), " ");
    abort_rule_free(r);
}

/* A client whose clock is 5 s ahead: its dates are all "later"; the smallest
 * apparent transit (-5 s + 100 µs) brings them back. */
static void test_clock_ahead(void)
{
    abort_rule *r = abort_rule_new();
    abort_rule_observe(r, "s", "2024-01-02T03:04:10.000000Z", T0 + 100); /* true send T0 */
    abort_rule_arm(r, "s", T0 + 1000);
    /* sent at T0 + 500 (client clock T0 + 500 + skew), read after the reply */
    CHECK(abort_rule_should_abort(r, "s", "2024-01-02T03:04:10.000500Z", T0 + 1200), " ");
    /* sent at T0 + 2000: runs */
    CHECK(!abort_rule_should_abort(r, "s", "2024-01-02T03:04:10.002000Z", T0 + 2100), " ");
    abort_rule_free(r);
}

/* A client whose clock lags by 5 s: without the correction every request for
 * 5 s would look "before"; with it, one sent after the reply runs. */
static void test_clock_behind(void)
{
    abort_rule *r = abort_rule_new();
    abort_rule_observe(r, "s", "2024-01-02T03:04:00.000000Z", T0 + 100); /* true send T0 */
    abort_rule_arm(r, "s", T0 + 1000);
    CHECK(abort_rule_should_abort(r, "s", "2024-01-02T03:04:00.000500Z", T0 + 1200), " ");
    /* sent at T0 + 1500 (client clock T0 - 5 s + 1500) after seeing the reply */
    abort_rule_observe(r, "s", "2024-01-02T03:04:00.001500Z", T0 + 1600);
    CHECK(!abort_rule_should_abort(r, "s", "2024-01-02T03:04:00.001500Z", T0 + 1600), " ");
    abort_rule_free(r);
}

/* Only ABORT_SESSIONS sessions are kept; long names are bounded. */
static void test_sessions_are_bounded(void)
{
    abort_rule *r = abort_rule_new();
    abort_rule_observe(r, "first", "2024-01-02T03:04:05Z", T0 + 100);
    abort_rule_arm(r, "first", T0 + 1000);
    char name[32];
    for (int i = 0; i < ABORT_SESSIONS; i++) {
        snprintf(name, sizeof name, "s%d", i);
        abort_rule_observe(r, name, "2024-01-02T03:04:05Z", T0 + 100);
    }
    /* "first" was forgotten: nothing is aborted for it any more */
    CHECK(!abort_rule_should_abort(r, "first", "2024-01-02T03:04:05Z", T0 + 2000), " ");
    char long_name[1000];
    memset(long_name, 'x', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    abort_rule_observe(r, long_name, "2024-01-02T03:04:05.000000Z", T0 + 100);
    abort_rule_arm(r, long_name, T0 + 1000);
    CHECK(abort_rule_should_abort(r, long_name, "2024-01-02T03:04:05.000500Z", T0 + 1200), " ");
    abort_rule_free(r);
}

int main(void)
{
    RUN(test_dates_parse_to_epoch_microseconds);
    RUN(test_now_is_the_wall_clock);
    RUN(test_agreeing_clock);
    RUN(test_arrival_proof_needs_no_date);
    RUN(test_millisecond_dates);
    RUN(test_clock_ahead);
    RUN(test_clock_behind);
    RUN(test_sessions_are_bounded);
    return harness_summary();
}
