// The native side of the wasi-threads program benchmarks: pthread_kernels.c compiled for the
// host (benches/build.rs builds this driver with it) and run as a child process, so the
// baseline is the same C source. Each command times only its kernel, inside this process,
// after untimed runs of it (the process is new, where weft's side runs its kernel again
// and again in one process: first-time costs such as a new thread stack, which glibc then
// keeps for the next thread, are not part of the kernel), and prints the result on one line.
//
//   native_driver spawn_join N           N pthread_create+join; prints the nanoseconds taken
//   native_driver histogram THREADS N    N histograms with THREADS threads; prints the
//                                        nanoseconds taken and the checksum
//   native_driver memory COUNT BATCHES   BATCHES+1 batches of COUNT more blocked threads, on
//                                        top of each other; prints each batch's resident-set
//                                        growth per thread in bytes but the first's
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int spawn_join(int n);
int start_blocked(int n);
int release_blocked(void);
void fill(uint64_t seed);
uint64_t histogram(int threads);

/// The seed the benchmarks fill the histogram's input with, on every side.
#define SEED 0x5eed
/// Untimed histograms before the timed ones: a new process's first calls are slower (its
/// threads' first placement on the cores, first touches of their stacks).
#define WARM_UP 3

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/// VmRSS of /proc/self/status, in bytes; 0 if it cannot be read.
static uint64_t resident_bytes(void) {
    FILE *status = fopen("/proc/self/status", "r");
    if (!status) return 0;
    char line[256];
    uint64_t kib = 0;
    while (fgets(line, sizeof line, status)) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kib = strtoull(line + 6, NULL, 10);
            break;
        }
    }
    fclose(status);
    return kib * 1024;
}

static int usage(void) {
    fprintf(stderr, "usage: native_driver spawn_join N | histogram THREADS N | memory COUNT BATCHES\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "spawn_join") == 0) {
        int n = atoi(argv[2]);
        if (spawn_join(1) != 1) return 1;
        uint64_t start = now_ns();
        if (spawn_join(n) != n) return 1;
        printf("%llu\n", (unsigned long long)(now_ns() - start));
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "histogram") == 0) {
        int threads = atoi(argv[2]), n = atoi(argv[3]);
        fill(SEED);
        uint64_t checksum = 0;
        for (int i = 0; i < WARM_UP; i++) checksum = histogram(threads);
        uint64_t start = now_ns();
        for (int i = 0; i < n; i++) checksum = histogram(threads);
        uint64_t elapsed = now_ns() - start;
        if (checksum == 0) return 1;
        printf("%llu %llu\n", (unsigned long long)elapsed, (unsigned long long)checksum);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "memory") == 0) {
        int count = atoi(argv[2]), batches = atoi(argv[3]);
        if (start_blocked(count) < 0) return 1;
        for (int batch = 0; batch < batches; batch++) {
            uint64_t before = resident_bytes();
            if (start_blocked(count) < 0) return 1;
            struct timespec settle = {0, 20 * 1000 * 1000};
            nanosleep(&settle, NULL);
            double growth = ((double)resident_bytes() - (double)before) / count;
            printf("%s%.1f", batch ? " " : "", growth);
        }
        printf("\n");
        release_blocked();
        return 0;
    }
    return usage();
}
