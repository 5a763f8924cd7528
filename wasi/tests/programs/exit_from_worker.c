/*
 * exit_from_worker: exit() ends the whole program at once, while other threads are blocked.
 *
 * Target: wasm32-wasip1-threads
 *
 * Three workers block for good: one in pthread_cond_wait on a condition nobody signals
 * (memory.atomic.wait), one in read() on stdin (which must be an open pipe nobody writes
 * to), and one in usleep() for 10 seconds (poll_oneoff). Once all three have started:
 *
 *   - `exit_from_worker.wasm` or `exit_from_worker.wasm worker`: a fourth worker sleeps
 *     50 ms, prints `worker: exit(7)` and calls exit(7), while main waits in pthread_join.
 *     Expected: stdout `worker: exit(7)`, exit status 7, promptly.
 *   - `exit_from_worker.wasm main`: main sleeps 50 ms, prints `main: exit(9)` and calls
 *     exit(9). Expected: stdout `main: exit(9)`, exit status 9, promptly.
 *
 * Nothing is printed after the exit. A runtime that does not stop the blocked threads
 * hangs (or takes the full 10 seconds of the sleeper). Status 1: a wrong argument or a
 * thread could not be created; 2: something returned that should not have.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCKERS 3

static atomic_int started;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

/* Blocks the calling thread until the program ends. */
static void wait_forever(void) {
    pthread_mutex_lock(&lock);
    for (;;) {
        pthread_cond_wait(&never, &lock);
    }
}

static void *block_on_condvar(void *arg) {
    (void)arg;
    atomic_fetch_add(&started, 1);
    wait_forever();
    return NULL;
}

static void *block_on_stdin(void *arg) {
    (void)arg;
    char byte;
    atomic_fetch_add(&started, 1);
    ssize_t got = read(0, &byte, 1);
    /* Stdin was not an open, silent pipe after all: block the other way. */
    (void)got;
    wait_forever();
    return NULL;
}

static void *block_in_sleep(void *arg) {
    (void)arg;
    atomic_fetch_add(&started, 1);
    usleep(10 * 1000 * 1000);
    wait_forever();
    return NULL;
}

/* Sleeps until every blocker has started, then 50 ms more so they are blocked. */
static void wait_for_blockers(void) {
    while (atomic_load(&started) < BLOCKERS) {
        usleep(1000);
    }
    usleep(50 * 1000);
}

static void *exit_seven(void *arg) {
    (void)arg;
    wait_for_blockers();
    printf("worker: exit(7)\n");
    exit(7);
}

int main(int argc, char **argv) {
    int from_main;
    if (argc == 1 || (argc == 2 && strcmp(argv[1], "worker") == 0)) {
        from_main = 0;
    } else if (argc == 2 && strcmp(argv[1], "main") == 0) {
        from_main = 1;
    } else {
        fprintf(stderr, "usage: exit_from_worker.wasm [worker|main]\n");
        return 1;
    }
    void *(*blockers[BLOCKERS])(void *) = {block_on_condvar, block_on_stdin, block_in_sleep};
    pthread_t threads[BLOCKERS + 1];
    for (int i = 0; i < BLOCKERS; i++) {
        if (pthread_create(&threads[i], NULL, blockers[i], NULL) != 0) {
            fprintf(stderr, "cannot create blocker %d\n", i);
            return 1;
        }
    }
    if (from_main) {
        wait_for_blockers();
        printf("main: exit(9)\n");
        exit(9);
    }
    if (pthread_create(&threads[BLOCKERS], NULL, exit_seven, NULL) != 0) {
        fprintf(stderr, "cannot create the exiting worker\n");
        return 1;
    }
    pthread_join(threads[BLOCKERS], NULL);
    printf("main: pthread_join returned, but the worker called exit\n");
    return 2;
}
