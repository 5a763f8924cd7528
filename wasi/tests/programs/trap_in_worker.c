/*
 * trap_in_worker: a trap in one thread ends the whole program as a trap.
 *
 * Target: wasm32-wasip1-threads
 *
 * Main prints a line, starts a worker and waits for it in pthread_join; the worker prints
 * a line, sleeps 20 ms and executes `unreachable` (__builtin_trap). Expected stdout
 *
 *     main: joining the worker
 *     worker: trapping
 *
 * then one `error: ...` line on stderr naming the trap (`unreachable`), and exit status
 * 134 (Wasmtime's status for a trap). Status 1: the worker could not be created; 2: the
 * join returned, which it must not.
 */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

static void *crash(void *arg) {
    (void)arg;
    printf("worker: trapping\n");
    fflush(stdout);
    usleep(20 * 1000);
    __builtin_trap();
}

int main(void) {
    printf("main: joining the worker\n");
    fflush(stdout);
    pthread_t worker;
    if (pthread_create(&worker, NULL, crash, NULL) != 0) {
        fprintf(stderr, "cannot create the worker\n");
        return 1;
    }
    pthread_join(worker, NULL);
    printf("main: pthread_join returned after the worker trapped\n");
    return 2;
}
