/*
 * pthread_condvar: a bounded producer/consumer queue on a mutex and two condition variables.
 *
 * Target: wasm32-wasip1-threads
 *
 * 2 producers put the items 1..10000 (each half of them) into a queue of 8 slots, waiting
 * on `not_full`; 2 consumers take items out, waiting on `not_empty`, until all 10000 are
 * taken. Main checks that every item was consumed exactly once. Expected output, exit
 * status 0:
 *
 *     consumed 10000 items, sum 50005000
 *
 * Status 1: a thread could not be created; 2: a join failed; 3: an item was lost,
 * duplicated or out of range; 4: the sum is wrong.
 */
#include <pthread.h>
#include <stdio.h>

#define PRODUCERS 2
#define CONSUMERS 2
#define ITEMS 10000
#define SLOTS 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static int queue[SLOTS];
static int head, length;
/* Items taken out of the queue so far, by all consumers. */
static int taken;
/* How many times each item was consumed (guarded by `lock`). */
static unsigned char seen[ITEMS + 1];

static void *produce(void *arg) {
    int first = (int)(long)arg * (ITEMS / PRODUCERS) + 1;
    for (int item = first; item < first + ITEMS / PRODUCERS; item++) {
        pthread_mutex_lock(&lock);
        while (length == SLOTS) {
            pthread_cond_wait(&not_full, &lock);
        }
        queue[(head + length) % SLOTS] = item;
        length++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static long long sums[CONSUMERS];

static void *consume(void *arg) {
    long index = (long)arg;
    long long sum = 0;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (length == 0 && taken < ITEMS) {
            pthread_cond_wait(&not_empty, &lock);
        }
        if (taken == ITEMS) {
            pthread_mutex_unlock(&lock);
            break;
        }
        int item = queue[head];
        head = (head + 1) % SLOTS;
        length--;
        taken++;
        if (item >= 1 && item <= ITEMS && seen[item] < 255) {
            seen[item]++;
        }
        if (taken == ITEMS) {
            /* The other consumer may be waiting for an item that will never come. */
            pthread_cond_broadcast(&not_empty);
        }
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&lock);
        sum += item;
    }
    sums[index] = sum;
    return NULL;
}

int main(void) {
    pthread_t producers[PRODUCERS], consumers[CONSUMERS];
    for (long i = 0; i < CONSUMERS; i++) {
        if (pthread_create(&consumers[i], NULL, consume, (void *)i) != 0) {
            fprintf(stderr, "cannot create consumer %ld\n", i);
            return 1;
        }
    }
    for (long i = 0; i < PRODUCERS; i++) {
        if (pthread_create(&producers[i], NULL, produce, (void *)i) != 0) {
            fprintf(stderr, "cannot create producer %ld\n", i);
            return 1;
        }
    }
    for (int i = 0; i < PRODUCERS; i++) {
        if (pthread_join(producers[i], NULL) != 0) {
            return 2;
        }
    }
    for (int i = 0; i < CONSUMERS; i++) {
        if (pthread_join(consumers[i], NULL) != 0) {
            return 2;
        }
    }
    for (int item = 1; item <= ITEMS; item++) {
        if (seen[item] != 1) {
            fprintf(stderr, "item %d consumed %d times\n", item, seen[item]);
            return 3;
        }
    }
    long long sum = 0;
    for (int i = 0; i < CONSUMERS; i++) {
        sum += sums[i];
    }
    printf("consumed %d items, sum %lld\n", taken, sum);
    return sum == (long long)ITEMS * (ITEMS + 1) / 2 ? 0 : 4;
}
