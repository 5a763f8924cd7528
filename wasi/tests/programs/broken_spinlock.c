/*
 * broken_spinlock: a lock whose acquire loads the lock word until it is free and then
 * stores to it: two steps another thread can come between, so it does not exclude. The
 * accesses are atomic (no data race); the bug is in the order. `weft explore` finds a
 * schedule where both threads are inside at once.
 *
 * Target: wasm32-wasip1-threads
 *
 * 2 threads each take the lock 3 times and, inside, count themselves in and out of an
 * atomic `inside`; a thread that finds another inside aborts (a trap, exit status 134).
 * Otherwise main joins both, prints "ok" and exits 0, which it does on most real runs.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_int lock;
static atomic_int inside;

static void acquire(void) {
    while (atomic_load(&lock) != 0) {
    }
    atomic_store(&lock, 1);
}

static void release(void) {
    atomic_store(&lock, 0);
}

static void *worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 3; i++) {
        acquire();
        if (atomic_fetch_add(&inside, 1) != 0) {
            abort();
        }
        atomic_fetch_sub(&inside, 1);
        release();
    }
    return NULL;
}

int main(void) {
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        if (pthread_create(&threads[i], NULL, worker, NULL) != 0) {
            return 1;
        }
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(threads[i], NULL);
    }
    puts("ok");
    return 0;
}
