/*
 * setjmp/longjmp glue for the trap handler (see traphandlers.rs).
 *
 * Rust cannot call sigsetjmp itself: a function that "returns twice" invalidates what the
 * compiler assumes about locals kept in registers. Keeping the sigsetjmp call in this small C
 * frame confines the returns-twice behaviour here; the Rust caller just sees an ordinary call
 * that returns 1 (body finished) or 0 (unwound).
 *
 * Signal masks are NOT saved (sigsetjmp(buf, 0)): saving them costs a sigprocmask syscall on
 * every entry into wasm. Instead the handler is installed with SA_NODEFER, so the faulting
 * signal is never added to the mask while the handler runs, and jumping out of it leaves the
 * thread's mask exactly as it was at sigsetjmp time.
 */
#include <setjmp.h>
#include <stddef.h>

int weft_catch(void (*body)(void *), void *payload, void **jmp_buf_slot) {
    sigjmp_buf buf;
    if (sigsetjmp(buf, 0) == 0) {
        /* Published only after sigsetjmp so an unwind can never target an unfilled buffer. */
        *jmp_buf_slot = (void *)&buf;
        body(payload);
        return 1;
    }
    return 0;
}

void weft_unwind(void *jmp_buf) {
    siglongjmp(*(sigjmp_buf *)jmp_buf, 1);
}
