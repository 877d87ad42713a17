/* compute_turn.c — turns for the heavy passes of lens processes sharing a
 * machine (compute_turn.h).
 *
 * Eight kernels of a class on two cores each start a pass with two threads: all
 * sixteen compete, every matmul's threads wait on partners that are not
 * running, and each pass takes longer than eight passes one after another.
 * Taking turns keeps the cores to as many passes as they fit, each at full
 * speed, and changes no number (every pass still runs with the process's thread
 * count; OpenBLAS's sums depend on it).
 *
 * The turns are flock(2) locks on files in a folder (a lock dies with its
 * process): turn-0 .. turn-(n-1), n = LENS_COMPUTE_TURNS or
 * max(1, CPUs / threads), and turn-queue, held by the one process waiting next,
 * so a process giving a turn back cannot take it again before the one waiting.
 * The folder is the user's own ($XDG_RUNTIME_DIR/lens, else /tmp/lens-UID,
 * refused unless it is theirs and closed to others), or LENS_TURN_DIR, which a
 * class's kernels of several users may share.
 * A waiter polls with a growing pause (at most 1 ms at the head of the queue,
 * 4 ms behind it): no thread spins, and an interrupt is seen within that pause.
 * At the head of the queue a process waits at most LENS_TURN_WAIT_MS, then goes
 * on without a turn, so a holder stuck in a hook (input(), a long sleep) delays
 * each waiter only that long; in the queue behind it, where eight kernels of a
 * class each wait for the passes of those ahead, at most QUEUE_WAITS times that
 * (a process stopped at the head, ^Z, holds the queue).
 *
 * Owns: the turn files' descriptors (this thread's turn stays open while held),
 * LENS_COMPUTE_TURNS, LENS_TURN_DIR and LENS_TURN_WAIT_MS. Does not own: the
 * threads (resources.c), what runs during a turn. */
#include "compute_turn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lens/model.h"

#define MAX_TURNS 64
#define DEFAULT_WAIT_MS 5000
#define QUEUE_WAITS 12   /* the longest wait in the queue, in LENS_TURN_WAIT_MS */

static pthread_once_t configured = PTHREAD_ONCE_INIT;
static bool turns_on;
static int n_turns;
static long wait_ms = DEFAULT_WAIT_MS;
static char dir[4096];
static atomic_long waits;

static _Thread_local int depth;          /* takes not yet given back, this thread */
static _Thread_local int held_fd = -1;   /* the turn file locked, or -1 */

/* A folder of this user's that no one else can write, created when missing. */
static bool private_dir(const char *path)
{
    if (mkdir(path, 0700) && errno != EEXIST) return false;
    struct stat st;
    return !lstat(path, &st) && S_ISDIR(st.st_mode) && st.st_uid == getuid() && !(st.st_mode & 022);
}

static void configure(void)
{
    const char *e = getenv("LENS_COMPUTE_TURNS");
    if (e && *e) {
        char *end;
        long v = strtol(e, &end, 10);
        if (!strcmp(e, "off") || (!*end && v == 0)) return;
        if (*end || v < 0) {
            fprintf(stderr, "lens: LENS_COMPUTE_TURNS=%s is neither \"off\" nor a count; taking no turns\n", e);
            return;
        }
        n_turns = v > MAX_TURNS ? MAX_TURNS : (int)v;
    } else {
        n_turns = lens_cpus_available() / lens_num_threads();
        if (n_turns < 1) n_turns = 1;
        if (n_turns > MAX_TURNS) n_turns = MAX_TURNS;
    }
    const char *w = getenv("LENS_TURN_WAIT_MS");
    if (w && *w) {
        char *end;
        long v = strtol(w, &end, 10);
        if (!*end && v >= 0) wait_ms = v;
    }
    const char *chosen = getenv("LENS_TURN_DIR");
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    int n;
    if (chosen && *chosen) {
        struct stat st;   /* a folder the user chose, perhaps shared with a group */
        n = snprintf(dir, sizeof dir, "%s", chosen);
        if (n < 0 || (size_t)n >= sizeof dir || stat(dir, &st) || !S_ISDIR(st.st_mode)) return;
    } else {
        if (runtime && *runtime && runtime[0] == '/') n = snprintf(dir, sizeof dir, "%s/lens", runtime);
        else n = snprintf(dir, sizeof dir, "/tmp/lens-%u", (unsigned)getuid());
        if (n < 0 || (size_t)n >= sizeof dir || !private_dir(dir)) return;
    }
    turns_on = true;
}

static int open_turn_file(const char *name)
{
    char path[4160];
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path) return -1;
    /* flock needs no write access: another user's files in a shared folder serve as well */
    return open(path, O_RDONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

/* Sleeps *pause_us, then doubles it up to max_us. False when the wait is over. */
static bool keep_waiting(const volatile int *interrupt, double deadline, unsigned *pause_us, unsigned max_us)
{
    if ((interrupt && *interrupt) || now_ms() >= deadline) return false;
    struct timespec ts = {0, (long)*pause_us * 1000};
    nanosleep(&ts, NULL);
    *pause_us = *pause_us * 2 > max_us ? max_us : *pause_us * 2;
    return true;
}

/* Takes a turn: the queue first, then any free turn. The locked turn's file, or
 * -1 when the wait ran out or the files cannot be opened. */
static int acquire(const volatile int *interrupt)
{
    int queue = open_turn_file("turn-queue");
    if (queue < 0) return -1;
    int fds[MAX_TURNS], got = -1;
    bool waited = false;
    double deadline = now_ms() + (double)wait_ms * QUEUE_WAITS;
    unsigned pause_us = 100;
    for (int i = 0; i < n_turns; i++) fds[i] = -1;
    while (flock(queue, LOCK_EX | LOCK_NB)) {
        waited = true;
        if ((errno != EWOULDBLOCK && errno != EINTR) || !keep_waiting(interrupt, deadline, &pause_us, 4000))
            goto out;
    }
    for (int i = 0; i < n_turns; i++) {
        char name[32];
        snprintf(name, sizeof name, "turn-%d", i);
        if ((fds[i] = open_turn_file(name)) < 0) goto out;
    }
    pause_us = 50;
    deadline = now_ms() + (double)wait_ms;   /* at the head of the queue */
    for (;;) {
        for (int i = 0; i < n_turns && got < 0; i++)
            if (!flock(fds[i], LOCK_EX | LOCK_NB)) {
                got = fds[i];
                fds[i] = -1;
            }
        if (got >= 0) break;
        waited = true;
        if (!keep_waiting(interrupt, deadline, &pause_us, 1000)) break;
    }
out:
    for (int i = 0; i < n_turns; i++)
        if (fds[i] >= 0) close(fds[i]);
    close(queue);   /* lets the next waiter to the head of the queue */
    if (waited) atomic_fetch_add(&waits, 1);
    return got;
}

bool lens_turn_take(const lens_backend *be, const volatile int *interrupt)
{
    if (!be || !be->host_addressable) return false;   /* a device queues its own work */
    pthread_once(&configured, configure);
    if (!turns_on) return false;
    if (depth++ == 0) held_fd = acquire(interrupt);
    return true;
}

void lens_turn_give(bool taken)
{
    if (!taken || depth <= 0) return;
    if (--depth == 0 && held_fd >= 0) {
        close(held_fd);   /* releases the lock */
        held_fd = -1;
    }
}

int lens_turns_held(void) { return held_fd >= 0; }

long lens_turn_waits(void) { return atomic_load(&waits); }
