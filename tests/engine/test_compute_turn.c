/* test_compute_turn.c — lens processes take turns for their heavy passes
 * (engine/compute_turn.c): a turn held by one process makes another wait, a
 * waiter goes on without one after LENS_TURN_WAIT_MS at the head of the queue,
 * QUEUE_WAITS times that behind it, or at an interrupt, takes nest, the process waiting next goes before the one that gave its turn back,
 * and a forward pass waits for its turn and computes the same numbers.
 *
 * Processes are forked before the parent takes a turn (a forked child would
 * share the parent's lock) and step through the test over pipes. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../engine/compute_turn.h"
#include "../harness.h"
#include "model_fixture.h"

#define WAIT_MS 300
#define QUEUE_WAITS 12   /* as compute_turn.c: the longest wait in the queue, in WAIT_MS */

static char turn_dir[] = "/tmp/lens-turn-test-XXXXXX";
static const lens_backend *cpu;

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec * 1e-6;
}

typedef struct child { pid_t pid; int to[2], from[2]; } child;

static void say(int fd, char c)
{
    while (write(fd, &c, 1) < 0 && errno == EINTR) {}
}

static char hear(int fd)
{
    char c = 0;
    while (read(fd, &c, 1) < 0 && errno == EINTR) {}
    return c;
}

/* Forks a child that runs body(to_parent, from_parent) and exits with its result. */
static child spawn(int (*body)(int to_parent, int from_parent))
{
    child c;
    if (pipe(c.to) || pipe(c.from)) abort();
    c.pid = fork();
    if (c.pid == 0) {
        close(c.to[1]);
        close(c.from[0]);
        _exit(body(c.from[1], c.to[0]));
    }
    close(c.to[0]);
    close(c.from[1]);
    return c;
}

/* The child's exit status (0: all its checks held). */
static int reap(child *c)
{
    int st = 0;
    while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR) {}
    close(c->to[1]);
    close(c->from[0]);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

/* The child: on 'g', takes a turn while the parent holds it: it must wait the
 * whole wait and go on without one. */
static int waits_then_goes_on(int to_parent, int from_parent)
{
    if (hear(from_parent) != 'g') return 10;
    long w0 = lens_turn_waits();
    double t0 = now_ms();
    bool taken = lens_turn_take(cpu, NULL);
    double waited = now_ms() - t0;
    int rc = !taken ? 11 : lens_turns_held() ? 12 : lens_turn_waits() != w0 + 1 ? 13 : waited < WAIT_MS - 5 ? 14
             : waited > QUEUE_WAITS * WAIT_MS / 2 ? 15 : 0;   /* the head's wait, not the queue's */
    lens_turn_give(taken);
    say(to_parent, 'd');
    return rc;
}

/* The child: on 'g', takes a turn, which must be free at once. */
static int takes_at_once(int to_parent, int from_parent)
{
    if (hear(from_parent) != 'g') return 10;
    long w0 = lens_turn_waits();
    bool taken = lens_turn_take(cpu, NULL);
    int rc = !taken ? 11 : !lens_turns_held() ? 12 : lens_turn_waits() != w0 ? 13 : 0;
    lens_turn_give(taken);
    say(to_parent, 'd');
    return rc;
}

static void test_a_turn_is_taken_and_given_back_on_the_cpu_only(void)
{
    CHECK(!lens_turns_held());
    bool taken = lens_turn_take(cpu, NULL);
    CHECK(taken && lens_turns_held(), "the cpu takes a turn");
    lens_turn_give(taken);
    CHECK(!lens_turns_held(), "given back");
    lens_backend device = {.name = "device", .host_addressable = false};
    taken = lens_turn_take(&device, NULL);
    CHECK(!taken && !lens_turns_held(), "a device takes no turn");
    lens_turn_give(taken);
}

static void test_a_held_turn_makes_another_process_wait_until_it_gives_up(void)
{
    child c = spawn(waits_then_goes_on);
    bool taken = lens_turn_take(cpu, NULL);
    CHECK(taken && lens_turns_held());
    say(c.to[1], 'g');
    CHECK(hear(c.from[0]) == 'd');
    CHECK(lens_turns_held(), "still held while the other process waited");
    lens_turn_give(taken);
    int rc = reap(&c);
    CHECK(rc == 0, "the waiting process: status %d", rc);

    c = spawn(takes_at_once);   /* given back: free at once */
    say(c.to[1], 'g');
    CHECK(hear(c.from[0]) == 'd');
    rc = reap(&c);
    CHECK(rc == 0, "after the turn was given back: status %d", rc);
}

static void test_takes_nest_and_hold_one_turn(void)
{
    child c = spawn(waits_then_goes_on);
    bool outer = lens_turn_take(cpu, NULL), inner = lens_turn_take(cpu, NULL);
    lens_turn_give(inner);
    CHECK(outer && inner && lens_turns_held(), "the outer take still holds the turn");
    say(c.to[1], 'g');
    CHECK(hear(c.from[0]) == 'd');
    int rc = reap(&c);
    CHECK(rc == 0, "a process waited for the outer take: status %d", rc);
    lens_turn_give(outer);
    CHECK(!lens_turns_held());
}

/* The child: with its interrupt set, takes a turn the parent holds: the wait
 * ends at once. */
static int interrupted(int to_parent, int from_parent)
{
    if (hear(from_parent) != 'g') return 10;
    volatile int stop = 1;
    double t0 = now_ms();
    bool taken = lens_turn_take(cpu, &stop);
    double waited = now_ms() - t0;
    int rc = lens_turns_held() ? 12 : waited > WAIT_MS / 2 ? 14 : 0;
    lens_turn_give(taken);
    say(to_parent, 'd');
    return rc;
}

static void test_an_interrupt_ends_the_wait(void)
{
    child c = spawn(interrupted);
    bool taken = lens_turn_take(cpu, NULL);
    say(c.to[1], 'g');
    CHECK(hear(c.from[0]) == 'd');
    lens_turn_give(taken);
    int rc = reap(&c);
    CHECK(rc == 0, "the interrupted waiter: status %d", rc);
}

#define CHILD_HOLDS_MS 150   /* under WAIT_MS: the parent waits for it at the head */

/* The child: on 'g', waits for the turn the parent holds, says 't' when it
 * has it, holds it CHILD_HOLDS_MS and gives it back. */
static int waits_for_the_turn(int to_parent, int from_parent)
{
    if (hear(from_parent) != 'g') return 10;
    bool taken = lens_turn_take(cpu, NULL);
    if (!taken || !lens_turns_held()) return 11;
    say(to_parent, 't');
    struct timespec ts = {0, CHILD_HOLDS_MS * 1000000L};
    nanosleep(&ts, NULL);
    lens_turn_give(taken);
    return 0;
}

/* The queue's lock for this process (its descriptor), or -1 when another holds it. */
static int lock_queue(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/turn-queue", turn_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* True once another process holds the queue: it is the one waiting next. */
static bool someone_waits_next(void)
{
    int fd = lock_queue();
    if (fd >= 0) close(fd);
    return fd < 0;
}

/* The child: on 'g', takes a turn while the parent holds the queue (as a process
 * stopped at its head would): it waits QUEUE_WAITS x the wait, then goes on. */
static int waits_in_the_queue(int to_parent, int from_parent)
{
    if (hear(from_parent) != 'g') return 10;
    double t0 = now_ms();
    bool taken = lens_turn_take(cpu, NULL);
    double waited = now_ms() - t0;
    int rc = !taken ? 11 : lens_turns_held() ? 12 : waited < QUEUE_WAITS * WAIT_MS - 5 ? 14 : 0;
    lens_turn_give(taken);
    say(to_parent, 'd');
    return rc;
}

static void test_a_wait_in_the_queue_ends_too(void)
{
    child c = spawn(waits_in_the_queue);
    int queue = lock_queue();
    CHECK(queue >= 0, "the queue is free");
    say(c.to[1], 'g');
    CHECK(hear(c.from[0]) == 'd');
    if (queue >= 0) close(queue);
    int rc = reap(&c);
    CHECK(rc == 0, "the process behind a stopped head: status %d", rc);
}

static void test_the_process_waiting_goes_before_the_one_that_gave_its_turn_back(void)
{
    child c = spawn(waits_for_the_turn);
    bool taken = lens_turn_take(cpu, NULL);
    say(c.to[1], 'g');
    double t0 = now_ms();
    while (!someone_waits_next() && now_ms() - t0 < 5000) {
        struct timespec ts = {0, 1000000L};
        nanosleep(&ts, NULL);
    }
    CHECK(someone_waits_next(), "the child waits at the head of the queue");
    lens_turn_give(taken);
    long w0 = lens_turn_waits();
    t0 = now_ms();
    taken = lens_turn_take(cpu, NULL);   /* at once again: the child goes first */
    double waited = now_ms() - t0;
    CHECK(hear(c.from[0]) == 't', "the child had the turn");
    CHECK(taken && lens_turns_held() && lens_turn_waits() == w0 + 1, "the parent waited for the child's turn");
    CHECK(waited >= CHILD_HOLDS_MS / 2, "waited %.0f ms of the child's %d", waited, CHILD_HOLDS_MS);
    lens_turn_give(taken);
    int rc = reap(&c);
    CHECK(rc == 0, "child status %d", rc);
}

/* The child: takes a turn, says 't', holds it until the parent says 'r'. */
static int holds_until_told(int to_parent, int from_parent)
{
    bool taken = lens_turn_take(cpu, NULL);
    if (!taken || !lens_turns_held()) return 11;
    say(to_parent, 't');
    if (hear(from_parent) != 'r') return 10;
    lens_turn_give(taken);
    say(to_parent, 'd');
    return 0;
}

/* A run_with_cache's logits (lazy: unembedded when read). */
static lens_tensor *run_logits(const lens_model *m, const lens_tensor *tokens)
{
    lens_run_options o = lens_run_options_default();
    lens_tensor *logits = NULL;
    lens_cache *cache = NULL;
    lens_error err;
    if (lens_model_run(m, tokens, &o, &logits, &cache, &err)) fprintf(stderr, "run: %s\n", err.msg);
    lens_cache_free(cache);
    return logits;
}

static bool same_bits(const lens_tensor *a, const lens_tensor *b)
{
    lens_tensor *x = a ? host_copy(a) : NULL, *y = b ? host_copy(b) : NULL;
    bool same = x && y && lens_tensor_numel(x) == lens_tensor_numel(y) &&
                !memcmp(lens_tensor_f32(x), lens_tensor_f32(y), (size_t)lens_tensor_numel(x) * sizeof(float));
    lens_tensor_free(x);
    lens_tensor_free(y);
    return same;
}

static void test_a_forward_pass_waits_for_its_turn_and_computes_the_same(void)
{
    if (getenv("LENS_DEVICE") && strcmp(getenv("LENS_DEVICE"), "cpu")) return;   /* turns are the cpu's */
    lens_error err = {0};
    lens_safetensors *ref = lens_safetensors_open(TINY_REF, &err);
    lens_processing p = lens_processing_default();
    lens_model *m = ref ? lens_model_load(TINY_DIR, &p, &err) : NULL;
    lens_tensor *tokens = ref ? fixture_tensor(ref, "tokens") : NULL;
    CHECK(m && tokens, "%s", err.msg);
    if (!m || !tokens) goto out;
    long w0 = lens_turn_waits();
    lens_tensor *free_turn = run_logits(m, tokens);
    CHECK(free_turn && lens_turn_waits() == w0 && !lens_turns_held(), "a free turn: no wait, given back");

    child c = spawn(holds_until_told);
    CHECK(hear(c.from[0]) == 't');
    double t0 = now_ms();
    lens_tensor *waited = run_logits(m, tokens);
    double ms = now_ms() - t0;
    CHECK(waited && lens_turn_waits() == w0 + 1 && ms >= WAIT_MS - 5, "the run waited %.0f ms", ms);
    CHECK(!lens_turns_held());
    say(c.to[1], 'r');
    CHECK(hear(c.from[0]) == 'd');
    int rc = reap(&c);
    CHECK(rc == 0, "child status %d", rc);
    CHECK(same_bits(free_turn, waited), "the same logits, bit for bit");
    CHECK(lens_turn_waits() == w0 + 1, "reading the logits took a free turn");
    lens_tensor_free(free_turn);
    lens_tensor_free(waited);
out:
    lens_tensor_free(tokens);
    lens_model_free(m);
    if (ref) lens_safetensors_close(ref);
}

static void remove_turn_dir(void)
{
    char path[256];
    const char *names[] = {"turn-queue", "turn-0"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", turn_dir, names[i]);
        unlink(path);
    }
    rmdir(turn_dir);
}

int main(void)
{
    if (!mkdtemp(turn_dir)) { perror("mkdtemp"); return 1; }
    setenv("LENS_TURN_DIR", turn_dir, 1);
    setenv("LENS_COMPUTE_TURNS", "1", 1);
    char wait[16];
    snprintf(wait, sizeof wait, "%d", WAIT_MS);
    setenv("LENS_TURN_WAIT_MS", wait, 1);
    lens_error err;
    cpu = lens_backend_by_name("cpu", &err);
    if (!cpu) { fprintf(stderr, "%s\n", err.msg); return 1; }
    RUN(test_a_turn_is_taken_and_given_back_on_the_cpu_only);
    RUN(test_a_held_turn_makes_another_process_wait_until_it_gives_up);
    RUN(test_takes_nest_and_hold_one_turn);
    RUN(test_an_interrupt_ends_the_wait);
    RUN(test_the_process_waiting_goes_before_the_one_that_gave_its_turn_back);
    RUN(test_a_wait_in_the_queue_ends_too);
    RUN(test_a_forward_pass_waits_for_its_turn_and_computes_the_same);
    host_copies_free();
    remove_turn_dir();
    return harness_summary();
}
