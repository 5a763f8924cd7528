// A freestanding C program for a 64-bit linear memory (memory64): its pointers, size_t and
// memory.size/grow operands are 64-bit, so every load and store the compiler emits takes an
// i64 address. It imports a shared `env.memory`, so host threads can run its atomic
// functions side by side on one memory.
//
// Build: --target=wasm64-unknown-unknown -mbulk-memory -matomics -Wl,--no-entry,--import-memory,--shared-memory,--max-memory=16777216
#include <stddef.h>
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(#name)))

// In the data segment: copied, filled and hashed by `shuffle_checksum`.
static const char greeting[] = "weft runs 64-bit memories";
static uint32_t scratch[4096];

// An FNV-1a hash of `len` bytes at `bytes`.
static uint64_t fnv1a(const unsigned char *bytes, size_t len) {
    uint64_t hash = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) {
        hash = (hash ^ bytes[i]) * 0x100000001b3u;
    }
    return hash;
}

// Fills `scratch` with a pseudo-random sequence, sorts it with insertion sort, copies the
// greeting over its middle with memcpy and clears its tail with memset (memory.copy and
// memory.fill under -mbulk-memory), and returns a hash of the result.
EXPORT(shuffle_checksum) uint64_t shuffle_checksum(uint32_t seed) {
    size_t count = sizeof scratch / sizeof scratch[0];
    uint32_t x = seed | 1;
    for (size_t i = 0; i < count; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        scratch[i] = x;
    }
    for (size_t i = 1; i < count; i++) {
        uint32_t value = scratch[i];
        size_t j = i;
        while (j > 0 && scratch[j - 1] > value) {
            scratch[j] = scratch[j - 1];
            j--;
        }
        scratch[j] = value;
    }
    __builtin_memcpy((char *)scratch + 1000, greeting, sizeof greeting);
    __builtin_memset(&scratch[count - 256], 0xab, 256 * sizeof scratch[0]);
    return fnv1a((const unsigned char *)scratch, sizeof scratch);
}

// memory.grow by `pages`: the old size in pages, or SIZE_MAX (-1) when it cannot grow.
EXPORT(grow) size_t grow(size_t pages) { return __builtin_wasm_memory_grow(0, pages); }

// memory.size in pages.
EXPORT(pages) size_t pages(void) { return __builtin_wasm_memory_size(0); }

// Stores `value` at `address` and reads it back through a volatile pointer, so the access
// happens: an address past the memory's end traps.
EXPORT(poke) uint8_t poke(size_t address, uint8_t value) {
    volatile uint8_t *byte = (volatile uint8_t *)address;
    *byte = value;
    return *byte;
}

// Adds 1 to the counter at `counter`, `times` times, atomically.
EXPORT(count_up) void count_up(uint64_t *counter, uint64_t times) {
    for (uint64_t i = 0; i < times; i++) {
        __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
    }
}

// Waits until the flag at `flag` is non-zero: memory.atomic.wait32 at a 64-bit address.
// Returns how many times the wait returned before the flag was set.
EXPORT(wait_for) uint32_t wait_for(int32_t *flag) {
    uint32_t waits = 0;
    while (__atomic_load_n(flag, __ATOMIC_SEQ_CST) == 0) {
        __builtin_wasm_memory_atomic_wait32(flag, 0, -1);
        waits++;
    }
    return waits;
}

// Sets the flag at `flag` and wakes every waiter: the number woken.
EXPORT(wake) uint32_t wake(int32_t *flag) {
    __atomic_store_n(flag, 1, __ATOMIC_SEQ_CST);
    return __builtin_wasm_memory_atomic_notify(flag, UINT32_MAX);
}
