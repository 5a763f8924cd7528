/*
 * thread_local: every thread has its own copy of each _Thread_local variable.
 *
 * Target: wasm32-wasip1-threads
 *
 * Main sets its copies first. Then each of 4 threads checks that its copies start from
 * their initial values (42 and "init", from the TLS image, not main's), writes its index
 * into them, waits at a barrier until every thread has written, yields and sleeps, and
 * checks that it still reads its own index. Main then checks that its own copies are
 * untouched and that the threads' copies had distinct addresses. Expected output, exit
 * status 0:
 *
 *     thread 0: OK
 *     thread 1: OK
 *     thread 2: OK
 *     thread 3: OK
 *     main: OK
 *     addresses: distinct
 *
 * A wrong value prints `thread N: FAILED (...)` or `main: FAILED (...)` and exits with
 * status 3; status 1 and 2 mean a thread could not be created or joined.
 */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define THREADS 4

static _Thread_local int index_tl = 42;
static _Thread_local char name_tl[16] = "init";
/* Zero-initialised, so it lives in .tbss rather than .tdata. */
static __thread long counter_tl;

static pthread_barrier_t all_written;
static const char *failure[THREADS];
static uintptr_t address[THREADS];

static void *work(void *arg) {
    int me = (int)(long)arg;
    if (index_tl != 42 || strcmp(name_tl, "init") != 0 || counter_tl != 0) {
        failure[me] = "initial values are not the TLS image's";
    }
    index_tl = me;
    snprintf(name_tl, sizeof name_tl, "thread-%d", me);
    for (int i = 0; i <= me; i++) {
        counter_tl += 10;
    }
    address[me] = (uintptr_t)&index_tl;
    pthread_barrier_wait(&all_written);
    /* Every thread has now written its own copies; give them time to trample ours. */
    sched_yield();
    usleep(1000 * (THREADS - me));
    char expected[16];
    snprintf(expected, sizeof expected, "thread-%d", me);
    if (!failure[me] && index_tl != me) {
        failure[me] = "index changed";
    } else if (!failure[me] && strcmp(name_tl, expected) != 0) {
        failure[me] = "name changed";
    } else if (!failure[me] && counter_tl != 10L * (me + 1)) {
        failure[me] = "counter changed";
    }
    return NULL;
}

int main(void) {
    index_tl = 100;
    strcpy(name_tl, "main");
    counter_tl = -1;
    pthread_barrier_init(&all_written, NULL, THREADS);
    pthread_t threads[THREADS];
    for (long i = 0; i < THREADS; i++) {
        if (pthread_create(&threads[i], NULL, work, (void *)i) != 0) {
            fprintf(stderr, "cannot create thread %ld\n", i);
            return 1;
        }
    }
    for (int i = 0; i < THREADS; i++) {
        if (pthread_join(threads[i], NULL) != 0) {
            fprintf(stderr, "cannot join thread %d\n", i);
            return 2;
        }
    }
    int failed = 0;
    for (int i = 0; i < THREADS; i++) {
        if (failure[i]) {
            printf("thread %d: FAILED (%s)\n", i, failure[i]);
            failed = 1;
        } else {
            printf("thread %d: OK\n", i);
        }
    }
    if (index_tl != 100 || strcmp(name_tl, "main") != 0 || counter_tl != -1) {
        printf("main: FAILED (index %d, name %s, counter %ld)\n", index_tl, name_tl,
               counter_tl);
        failed = 1;
    } else {
        printf("main: OK\n");
    }
    int distinct = 1;
    for (int i = 0; i < THREADS; i++) {
        for (int j = 0; j < i; j++) {
            if (address[i] == address[j] || address[i] == (uintptr_t)&index_tl) {
                distinct = 0;
            }
        }
    }
    printf("addresses: %s\n", distinct ? "distinct" : "SHARED");
    return failed || !distinct ? 3 : 0;
}
