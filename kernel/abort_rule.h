/* kernel/abort_rule.h — which execute_requests stop_on_error aborts.
 *
 * The protocol's promise: after an execute_reply with status "error" (and
 * stop_on_error), every execute_request the client sent before it received that
 * reply is answered "aborted"; every one it sent afterwards runs. The kernel
 * cannot see when the reply reaches the client, but it knows when it left:
 * sent_us, the date written in the error reply's own header just before it is
 * sent (so a client can check the rule against the reply it got). The reply
 * reaches the client later still. So a request proven to have been sent
 * before sent_us is aborted; any other runs. (A request made during the
 * reply's transit, after it left and before it arrived, runs: nothing tells
 * the kernel about it, and it was made after the reply was on its way.)
 *
 * Two proofs are used:
 *  - arrival: a request the kernel had already read before sent_us was sent
 *    before it (the shell loop drains the socket just before the error reply);
 *  - the header's `date`: the client's clock when it made the request. Each
 *    client session's clock is related to the kernel's by the smallest
 *    apparent transit seen from it, U = min(received - date) over its
 *    messages. Since a message arrives after it is sent, the client's clock is
 *    behind the kernel's by at most U, so date + U is never earlier than the
 *    true send time. When 0 <= U <= ABORT_CLOCK_AGREE_US the clocks are taken to
 *    agree (same host, or NTP) and dates are compared as they are; otherwise
 *    (the client's clock is ahead, or behind by more than a transit) date + U
 *    is compared, which can only let a request run, never abort one sent after
 *    the reply. A date is taken at face value, whatever its resolution (a
 *    browser writes milliseconds): only a client that received the reply and
 *    answered it within one tick of its own clock could be misjudged, while
 *    comparing the tick's last instant would let a whole fast Run All through.
 * A request without a usable date is judged by arrival only. Requests of other
 * sessions are never aborted by this session's error. Once a request of the
 * session runs, the session is disarmed: its later requests were sent later.
 *
 * This rule is independent of how fast the kernel is: ipykernel instead aborts
 * what arrives until its queue is empty or a configured time has passed, which
 * depends on timing. Memory is bounded: ABORT_SESSIONS sessions are tracked
 * (the least recently seen is forgotten), each with a bounded session name.
 */
#ifndef LENS_ABORT_RULE_H
#define LENS_ABORT_RULE_H

#include <stdbool.h>
#include <stdint.h>

#define ABORT_CLOCK_AGREE_US 10000 /* 10 ms: within this, a client's clock agrees with ours */
#define ABORT_SESSIONS 64
#define ABORT_SESSION_NAME_MAX 128

typedef struct abort_rule abort_rule;

abort_rule *abort_rule_new(void);
void abort_rule_free(abort_rule *r);

/* Records a shell message read at received_us (kernel clock, µs since the
 * epoch) from session with header date (ISO 8601, may be NULL). */
void abort_rule_observe(abort_rule *r, const char *session, const char *date, int64_t received_us);

/* An error reply with stop_on_error for session left with header date sent_us. */
void abort_rule_arm(abort_rule *r, const char *session, int64_t sent_us);

/* Whether this execute_request (already observed) must be aborted. A request
 * that runs disarms its session. */
bool abort_rule_should_abort(abort_rule *r, const char *session, const char *date,
                             int64_t received_us);

/* Parses an ISO 8601 date ("2024-01-02T03:04:05.123456Z", "+01:00" offsets,
 * 0..9 fraction digits; no zone means UTC) into µs since the epoch and the
 * resolution of its fraction in µs (1 for six or more digits, 1000 for three).
 * unit_us may be NULL. Returns 0, or -1 when it is not such a date. */
int abort_parse_date(const char *s, int64_t *us, int64_t *unit_us);

/* The kernel's clock: µs since the epoch (CLOCK_REALTIME). */
int64_t abort_now_us(void);

#endif
