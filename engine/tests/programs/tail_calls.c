// A freestanding C program whose hot paths are guaranteed tail calls (`musttail`), which
// clang compiles to `return_call` and `return_call_indirect` under -mtail-call: a bytecode
// interpreter that dispatches each instruction to its handler through a table of function
// pointers, and a pair of mutually recursive functions. Neither may grow the stack, however
// long it runs.
//
// Build: --target=wasm32-unknown-unknown -mtail-call -Wl,--no-entry
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(#name)))

// --- mutual recursion: return_call between two functions ---

static uint32_t is_odd(uint64_t n, uint32_t steps);

__attribute__((noinline)) static uint32_t is_even(uint64_t n, uint32_t steps) {
    if (n == 0) {
        return steps;
    }
    __attribute__((musttail)) return is_odd(n - 1, steps + 1);
}

__attribute__((noinline)) static uint32_t is_odd(uint64_t n, uint32_t steps) {
    if (n == 0) {
        return steps | 0x80000000u;
    }
    __attribute__((musttail)) return is_even(n - 1, steps + 1);
}

// The number of steps to reach zero from `n`, with the top bit set when `n` is odd.
EXPORT(parity) uint32_t parity(uint64_t n) { return is_even(n, 0); }

// --- a threaded-code interpreter: return_call_indirect through a handler table ---

enum opcode { OP_ADD, OP_XOR, OP_ROTATE, OP_LOOP, OP_HALT };

struct vm {
    const uint8_t *code;
    uint64_t acc;
    uint64_t counter;
};

typedef uint64_t handler(struct vm *vm, uint32_t pc);

static handler op_add, op_xor, op_rotate, op_loop, op_halt;

static handler *const handlers[] = {op_add, op_xor, op_rotate, op_loop, op_halt};

#define DISPATCH(vm, pc) __attribute__((musttail)) return handlers[(vm)->code[pc]](vm, pc)

static uint64_t op_add(struct vm *vm, uint32_t pc) {
    vm->acc += vm->code[pc + 1];
    DISPATCH(vm, pc + 2);
}

static uint64_t op_xor(struct vm *vm, uint32_t pc) {
    vm->acc ^= vm->acc >> 7;
    DISPATCH(vm, pc + 1);
}

static uint64_t op_rotate(struct vm *vm, uint32_t pc) {
    vm->acc = (vm->acc << 13) | (vm->acc >> 51);
    DISPATCH(vm, pc + 1);
}

// Jumps back to the start while the counter lasts.
static uint64_t op_loop(struct vm *vm, uint32_t pc) {
    if (vm->counter-- > 1) {
        DISPATCH(vm, 0);
    }
    DISPATCH(vm, pc + 1);
}

static uint64_t op_halt(struct vm *vm, uint32_t pc) {
    (void)pc;
    return vm->acc;
}

static const uint8_t program[] = {OP_ADD, 3, OP_XOR, OP_ROTATE, OP_ADD, 5, OP_LOOP, OP_HALT};

// Runs the program's loop `rounds` times (5 instructions a round) from `seed`.
EXPORT(interpret) uint64_t interpret(uint64_t seed, uint64_t rounds) {
    struct vm vm = {program, seed, rounds};
    return handlers[program[0]](&vm, 0);
}
