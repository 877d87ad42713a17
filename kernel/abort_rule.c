/* kernel/abort_rule.c — the stop_on_error rule: which requests are aborted.
 *
 * Owns: a small table of client sessions (clock relation, armed threshold),
 * ISO 8601 date parsing and the decision described in abort_rule.h. Does not
 * own: reading messages or sending replies (server.c, handlers.c).
 */
#include "abort_rule.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct session_clock {
    char name[ABORT_SESSION_NAME_MAX + 1];
    bool used;
    bool have_transit;
    int64_t min_transit_us; /* min(received - date): the client is behind by at most this */
    bool armed;
    int64_t threshold_us; /* when the error reply left */
    uint64_t last_seen;   /* for forgetting the least recently seen */
} session_clock;

struct abort_rule {
    session_clock s[ABORT_SESSIONS];
    uint64_t tick;
};

abort_rule *abort_rule_new(void) { return calloc(1, sizeof(abort_rule)); }

void abort_rule_free(abort_rule *r) { free(r); }

int64_t abort_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int abort_parse_date(const char *s, int64_t *us, int64_t *unit_us)
{
    if (!s) return -1;
    const char *p = s;
    int y, mo, d, h, mi, se;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return -1;
    int64_t frac = 0, unit = 1000000;
    if (*p == '.' || *p == ',') {
        p++;
        int n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n < 6) {
                frac = frac * 10 + (*p - '0');
                unit /= 10;
            }
            n++;
            p++;
        }
        if (!n) return -1;
        if (n >= 6) unit = 1;
    }
    int64_t zone = 0; /* seconds east of UTC */
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, zh, zm = 0;
        if (digits(&p, 2, &zh)) return -1;
        if (*p == ':') p++;
        if (isdigit((unsigned char)*p) && digits(&p, 2, &zm)) return -1;
        if (zh > 23 || zm > 59) return -1;
        zone = sign * (zh * 3600 + zm * 60);
    }
    if (*p) return -1;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - zone;
    *us = secs * 1000000 + frac * unit;
    if (unit_us) *unit_us = unit;
    return 0;
}

static session_clock *find(abort_rule *r, const char *session, bool create)
{
    const char *name = session ? session : "";
    size_t n = strlen(name);
    if (n > ABORT_SESSION_NAME_MAX) n = ABORT_SESSION_NAME_MAX;
    session_clock *oldest = &r->s[0];
    for (int i = 0; i < ABORT_SESSIONS; i++) {
        session_clock *c = &r->s[i];
        if (c->used && !strncmp(c->name, name, n) && c->name[n] == 0) {
            c->last_seen = ++r->tick;
            return c;
        }
        if (!c->used || (oldest->used && c->last_seen < oldest->last_seen)) oldest = c;
    }
    if (!create) return NULL;
    memset(oldest, 0, sizeof *oldest);
    memcpy(oldest->name, name, n);
    oldest->used = true;
    oldest->last_seen = ++r->tick;
    return oldest;
}

void abort_rule_observe(abort_rule *r, const char *session, const char *date, int64_t received_us)
{
    int64_t d;
    session_clock *c = find(r, session, true);
    if (abort_parse_date(date, &d, NULL)) return;
    int64_t transit = received_us - d;
    if (!c->have_transit || transit < c->min_transit_us) c->min_transit_us = transit;
    c->have_transit = true;
}

void abort_rule_arm(abort_rule *r, const char *session, int64_t sent_us)
{
    session_clock *c = find(r, session, true);
    c->armed = true;
    c->threshold_us = sent_us;
}

bool abort_rule_should_abort(abort_rule *r, const char *session, const char *date,
                             int64_t received_us)
{
    session_clock *c = find(r, session, false);
    if (!c || !c->armed) return false;
    if (received_us < c->threshold_us) return true; /* it was here before the reply left */
    int64_t d;
    if (!abort_parse_date(date, &d, NULL) && c->have_transit) {
        int64_t behind = c->min_transit_us; /* the client's clock lags ours by at most this */
        if (behind >= 0 && behind <= ABORT_CLOCK_AGREE_US) behind = 0;
        if (d + behind < c->threshold_us) return true;
    }
    c->armed = false;
    return false;
}
