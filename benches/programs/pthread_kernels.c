// Kernels of the wasi-threads program benchmarks (the `program_*` groups of
// `--bench thread_models`). One source, three builds: a wasm32-wasip1-threads reactor run by
// weft under both thread models, the same with 10,000 more functions (-DFILLERS, the code
// section of a real program), both by build.sh, and native code, the baseline, built by
// benches/build.rs into native_driver.
//
// Target: wasm32-wasip1-threads (reactor)
//
// - spawn_join(n): n times, pthread_create a thread that does nothing and pthread_join it.
// - start_blocked(n) / release_blocked(): n threads that wait on a condition variable until
//   released, for the memory each live thread costs.
// - fill(seed), histogram(threads): a byte histogram of a 8 MiB buffer, PASSES times over,
//   split among `threads` pthreads (the caller runs the first chunk), merged into one
//   checksum. Several passes make a call long enough (tens of milliseconds) that starting the
//   threads, and the moment a new thread takes to reach a core of its own, do not decide the
//   speedup.
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#ifdef __wasm__
#define EXPORT(name) __attribute__((export_name(#name)))
#else
#define EXPORT(name)
#endif

static void *nothing(void *arg) { return arg; }

EXPORT(spawn_join) int spawn_join(int n) {
    for (int i = 0; i < n; i++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, nothing, NULL) != 0) return -1;
        if (pthread_join(thread, NULL) != 0) return -2;
    }
    return n;
}

// --- live threads, blocked ---

#define MAX_BLOCKED 1024
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int waiting, released;
static pthread_t blocked[MAX_BLOCKED];
static int blocked_count;

static void *block(void *arg) {
    pthread_mutex_lock(&lock);
    waiting++;
    pthread_cond_broadcast(&changed);
    while (!released) pthread_cond_wait(&changed, &lock);
    waiting--;
    pthread_mutex_unlock(&lock);
    return arg;
}

// Starts n more blocked threads and returns once every blocked thread waits; the number of
// blocked threads, or -1 if one could not start.
EXPORT(start_blocked) int start_blocked(int n) {
    for (int i = 0; i < n; i++) {
        if (blocked_count == MAX_BLOCKED) return -1;
        if (pthread_create(&blocked[blocked_count], NULL, block, NULL) != 0) return -1;
        blocked_count++;
    }
    pthread_mutex_lock(&lock);
    while (waiting < blocked_count) pthread_cond_wait(&changed, &lock);
    pthread_mutex_unlock(&lock);
    return blocked_count;
}

// Releases and joins every blocked thread; how many there were.
EXPORT(release_blocked) int release_blocked(void) {
    pthread_mutex_lock(&lock);
    released = 1;
    pthread_cond_broadcast(&changed);
    pthread_mutex_unlock(&lock);
    int joined = blocked_count;
    for (int i = 0; i < blocked_count; i++) pthread_join(blocked[i], NULL);
    blocked_count = 0;
    released = 0;
    return joined;
}

// --- parallel histogram ---

#define DATA_LEN (8 << 20)
#define PASSES 8
#define MAX_CHUNKS 64
static uint8_t data[DATA_LEN];

// Each chunk on cache lines of its own, so that threads never write a shared line.
struct chunk {
    _Alignas(64) const uint8_t *bytes;
    uint32_t len;
    uint32_t counts[256];
};
static struct chunk chunks[MAX_CHUNKS];

// The compute bench's xorshift, so every build histograms the same bytes.
EXPORT(fill) void fill(uint64_t seed) {
    uint64_t state = seed;
    for (uint32_t i = 0; i < DATA_LEN; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        data[i] = (uint8_t)state;
    }
}

// Counts on the thread's own stack, copied out once.
static void *count_chunk(void *arg) {
    struct chunk *chunk = arg;
    uint32_t counts[256] = {0};
    for (int pass = 0; pass < PASSES; pass++) {
        for (uint32_t i = 0; i < chunk->len; i++) counts[chunk->bytes[i]]++;
    }
    memcpy(chunk->counts, counts, sizeof counts);
    return NULL;
}

// Histograms the buffer with `threads` threads and returns sum(i * count[i]), or 0 if a
// thread could not start.
EXPORT(histogram) uint64_t histogram(int threads) {
    if (threads < 1 || threads > MAX_CHUNKS) return 0;
    pthread_t workers[MAX_CHUNKS];
    uint32_t per = DATA_LEN / threads;
    for (int t = 0; t < threads; t++) {
        chunks[t].bytes = data + (uint32_t)t * per;
        chunks[t].len = t == threads - 1 ? DATA_LEN - (uint32_t)t * per : per;
    }
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&workers[t], NULL, count_chunk, &chunks[t]) != 0) return 0;
    }
    count_chunk(&chunks[0]);
    for (int t = 1; t < threads; t++) pthread_join(workers[t], NULL);
    uint64_t checksum = 0;
    for (int byte = 0; byte < 256; byte++) {
        uint64_t count = 0;
        for (int t = 0; t < threads; t++) count += chunks[t].counts[byte];
        checksum += (uint64_t)byte * count;
    }
    return checksum;
}

// --- a large code section ---

#ifdef FILLERS
// 10,000 small distinct functions, each address-taken, as the functions of a large program
// are (a 10,000-entry table of function pointers): code a new instance must set up.
#define FILLER(n) \
    __attribute__((noinline)) static int filler_##n(int x) { return x * __COUNTER__ + (x >> 3); }
#define TEN(m, p) m(p##0) m(p##1) m(p##2) m(p##3) m(p##4) m(p##5) m(p##6) m(p##7) m(p##8) m(p##9)
#define HUNDRED(m, p) TEN(m, p##0) TEN(m, p##1) TEN(m, p##2) TEN(m, p##3) TEN(m, p##4) \
    TEN(m, p##5) TEN(m, p##6) TEN(m, p##7) TEN(m, p##8) TEN(m, p##9)
#define THOUSAND(m, p) HUNDRED(m, p##0) HUNDRED(m, p##1) HUNDRED(m, p##2) HUNDRED(m, p##3) \
    HUNDRED(m, p##4) HUNDRED(m, p##5) HUNDRED(m, p##6) HUNDRED(m, p##7) HUNDRED(m, p##8) \
    HUNDRED(m, p##9)
#define TEN_THOUSAND(m) THOUSAND(m, 0) THOUSAND(m, 1) THOUSAND(m, 2) THOUSAND(m, 3) \
    THOUSAND(m, 4) THOUSAND(m, 5) THOUSAND(m, 6) THOUSAND(m, 7) THOUSAND(m, 8) THOUSAND(m, 9)
TEN_THOUSAND(FILLER)
#define POINTER(n) filler_##n,
static int (*const fillers[])(int) = {TEN_THOUSAND(POINTER)};

// Calls filler `index` (mod 10,000), keeping every filler in the program.
EXPORT(call_filler) int call_filler(uint32_t index, int x) {
    return fillers[index % (sizeof fillers / sizeof fillers[0])](x);
}
#endif
