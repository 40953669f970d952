//! `uniffi-bindgen`: generates Doorstep's Kotlin and Swift bindings from the
//! built `doorstep_ffi` library (library mode). It lives in its own crate so
//! that building the phone library never compiles the generator, and it pins
//! the same uniffi version as `bindings/` so bindings and runtime match.
//! Run it through `scripts/gen-bindings`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
