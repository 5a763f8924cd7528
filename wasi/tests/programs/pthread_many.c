/*
 * pthread_many: many short-lived threads, created and joined in batches.
 *
 * Target: wasm32-wasip1-threads
 *
 * `pthread_many.wasm [BATCH [BATCHES]]` (default 20 and 10): BATCHES batches of BATCH
 * threads. The threads of a batch wait until main has created all of them, so exactly
 * BATCH are alive at once; then thread i adds i+1 to an atomic total, and main joins the
 * batch before starting the next. The default, 200 threads at most 20 at a time,
 * stays well below weft's default limit of 64 live threads per process. Expected output of
 * the default, exit status 0:
 *
 *     200 threads in 10 batches of 20: total 20100
 *
 * `pthread_many.wasm 64 20` must print `1280 threads in 20 batches of 64: total 819840`:
 * every batch is exactly at the limit, so it passes only if joined threads give their
 * places back. `pthread_many.wasm 65 1` goes past the limit and must exit with status 1
 * after printing `pthread_create of thread 64 (batch 0) failed: EAGAIN` on stderr.
 *
 * Status 1: a thread could not be created (its number and the error are printed on stderr,
 * EAGAIN when the runtime refused to spawn); 2: a join failed; 3: the total is wrong;
 * 4: bad arguments.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_BATCH 1000

static atomic_long total;

/* The batches main has finished creating: a thread of batch b waits until it exceeds b. */
static int released;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t release = PTHREAD_COND_INITIALIZER;
static int batch_size = 20;

static void *work(void *arg) {
    long n = (long)arg;
    pthread_mutex_lock(&lock);
    while (released <= n / batch_size) {
        pthread_cond_wait(&release, &lock);
    }
    pthread_mutex_unlock(&lock);
    atomic_fetch_add(&total, n + 1);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) {
        batch_size = atoi(argv[1]);
    }
    int batches = argc > 2 ? atoi(argv[2]) : 10;
    if (argc > 3 || batch_size < 1 || batch_size > MAX_BATCH || batches < 1) {
        fprintf(stderr, "usage: pthread_many.wasm [BATCH (1 to %d) [BATCHES]]\n", MAX_BATCH);
        return 4;
    }
    static pthread_t threads[MAX_BATCH];
    for (int batch = 0; batch < batches; batch++) {
        for (int i = 0; i < batch_size; i++) {
            long n = (long)batch * batch_size + i;
            int error = pthread_create(&threads[i], NULL, work, (void *)n);
            if (error != 0) {
                fprintf(stderr, "pthread_create of thread %ld (batch %d) failed: %s\n", n,
                        batch, error == EAGAIN ? "EAGAIN" : "another error");
                return 1;
            }
        }
        pthread_mutex_lock(&lock);
        released = batch + 1;
        pthread_cond_broadcast(&release);
        pthread_mutex_unlock(&lock);
        for (int i = 0; i < batch_size; i++) {
            if (pthread_join(threads[i], NULL) != 0) {
                fprintf(stderr, "pthread_join in batch %d failed\n", batch);
                return 2;
            }
        }
    }
    long sum = atomic_load(&total);
    long n = (long)batches * batch_size;
    printf("%ld threads in %d batches of %d: total %ld\n", n, batches, batch_size, sum);
    return sum == n * (n + 1) / 2 ? 0 : 3;
}
