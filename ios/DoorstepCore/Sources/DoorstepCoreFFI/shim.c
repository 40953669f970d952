// SwiftPM needs one source file in a C target; the interface is the
// generated header in include/, the code is the Rust static library.
