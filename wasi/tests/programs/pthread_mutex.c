/*
 * pthread_mutex: a pthread mutex makes increments from several threads exact.
 *
 * Target: wasm32-wasip1-threads
 *
 * 4 threads each add 1 to a shared counter 100000 times, holding a pthread_mutex around
 * every increment; main joins them and checks the total. Expected output, exit status 0:
 *
 *     4 threads x 100000 increments: counter = 400000
 *
 * Status 1: a thread could not be created; 2: a join failed; 3: the counter is wrong.
 */
#include <pthread.h>
#include <stdio.h>

#define THREADS 4
#define INCREMENTS 100000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* Plain, not atomic: only the mutex keeps the increments from racing. */
static long counter;

static void *work(void *arg) {
    (void)arg;
    for (int i = 0; i < INCREMENTS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(void) {
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        int error = pthread_create(&threads[i], NULL, work, NULL);
        if (error != 0) {
            fprintf(stderr, "pthread_create %d failed: %d\n", i, error);
            return 1;
        }
    }
    for (int i = 0; i < THREADS; i++) {
        if (pthread_join(threads[i], NULL) != 0) {
            fprintf(stderr, "pthread_join %d failed\n", i);
            return 2;
        }
    }
    printf("%d threads x %d increments: counter = %ld\n", THREADS, INCREMENTS, counter);
    return counter == (long)THREADS * INCREMENTS ? 0 : 3;
}
