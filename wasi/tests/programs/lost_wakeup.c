/*
 * lost_wakeup: a waiter checks a flag and then waits, but the wait compares a word the
 * flag's setter never changes, so a set and notify that come between the check and the
 * wait are lost and the waiter sleeps for ever. `weft explore` finds that schedule and
 * reports it as a deadlock: the waiter in its wait, main in pthread_join.
 *
 * Target: wasm32-wasip1-threads
 *
 * main starts the waiter, sets `ready`, notifies the futex word, joins the waiter and
 * prints "ok" (exit status 0) on most real runs; on the unlucky one it hangs.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_int ready;
/* Never changes: the wait's compare cannot see that `ready` was set. */
static int futex_word;

static void *waiter(void *arg) {
    (void)arg;
    if (!atomic_load(&ready)) {
        __builtin_wasm_memory_atomic_wait32(&futex_word, 0, -1);
    }
    return NULL;
}

int main(void) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, waiter, NULL) != 0) {
        return 1;
    }
    atomic_store(&ready, 1);
    __builtin_wasm_memory_atomic_notify(&futex_word, 1);
    pthread_join(thread, NULL);
    puts("ok");
    return 0;
}
