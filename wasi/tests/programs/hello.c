/*
 * hello: arguments and environment reach a WASI program, and its output reaches stdout.
 *
 * Target: wasm32-wasip1
 *
 * Prints `hello, world`, then argc, each argv[i], and the variable WEFT_GREETING (or
 * `(unset)`). `weft run --env WEFT_GREETING=hi hello.wasm one "two words"` prints
 *
 *     hello, world
 *     argc=3
 *     argv[0]=hello.wasm
 *     argv[1]=one
 *     argv[2]=two words
 *     WEFT_GREETING=hi
 *
 * and exits with status 0.
 */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    printf("hello, world\n");
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++) {
        printf("argv[%d]=%s\n", i, argv[i]);
    }
    const char *greeting = getenv("WEFT_GREETING");
    printf("WEFT_GREETING=%s\n", greeting ? greeting : "(unset)");
    return 0;
}
