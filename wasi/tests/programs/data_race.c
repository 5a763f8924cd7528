/*
 * data_race: two threads add to one counter with no synchronization, a data race that
 * `weft run --race` reports with the function it happens in.
 *
 * Target: wasm32-wasip1-threads
 *
 * 2 threads each add 1 to a shared `volatile int` 200000 times with a plain load and
 * store; main joins them and prints the total, which lost updates make smaller than
 * 400000 on most runs. Exit status 0; under `--race`, 66 with every racing pair of sites
 * in `bump` on stderr.
 */
#include <pthread.h>
#include <stdio.h>

static volatile int counter;

static void *bump(void *arg) {
    (void)arg;
    for (int i = 0; i < 200000; i++) {
        counter++;
    }
    return NULL;
}

int main(void) {
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        if (pthread_create(&threads[i], NULL, bump, NULL) != 0) {
            return 1;
        }
    }
    for (int i = 0; i < 2; i++) {
        if (pthread_join(threads[i], NULL) != 0) {
            return 2;
        }
    }
    printf("counter = %d\n", counter);
    return 0;
}
