#!/bin/sh
# Rebuilds the engine tests' C programs: every NAME.wasm in this folder from its NAME.c.
#
# Usage: engine/tests/programs/build.sh            (from anywhere)
#
# The toolchain is found by wasi/tests/programs/toolchain.sh (clang-19 and wasm-ld-19). These
# programs are freestanding (no libc), so only its clang resource directory is used. Each
# source gives its target and flags on a `// Build: ...` line of its header comment, and is
# built with
#
#   clang-19 -resource-dir=$TOOLCHAIN/clang-resource -O2 -Wall -Wextra -Werror -nostdlib \
#     FLAGS NAME.c -o NAME.wasm
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
. "$root/wasi/tests/programs/toolchain.sh"

cd "$here"
for source in *.c; do
    name=${source%.c}
    flags=$(sed -n 's|^// Build: *||p' "$source" | head -n 1)
    if [ -z "$flags" ]; then
        echo "build.sh: $source has no '// Build: FLAGS' line" >&2
        exit 1
    fi
    # shellcheck disable=SC2086
    "$clang" -resource-dir="$toolchain/clang-resource" -O2 -Wall -Wextra -Werror -nostdlib \
        $flags "$source" -o "$name.wasm"
    chmod 644 "$name.wasm"
    echo "built $name.wasm ($flags)"
done
