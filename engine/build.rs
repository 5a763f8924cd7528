fn main() {
    // The trap machinery needs sigsetjmp/siglongjmp, which Rust cannot call directly (a
    // function that returns twice breaks the compiler's assumptions), so they live in C.
    println!("cargo:rerun-if-changed=src/vm/helpers.c");
    cc::Build::new()
        .file("src/vm/helpers.c")
        .warnings(true)
        .compile("weft_helpers");
}
