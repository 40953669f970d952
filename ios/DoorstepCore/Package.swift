// swift-tools-version:5.9
// DoorstepCore: the generated uniffi bindings (DoorstepCore.swift, from
// scripts/gen-bindings) plus a thin Swift API (Doorstep.swift) over the Rust
// core. The C module DoorstepCoreFFI holds the generated header and module
// map; the static library libdoorstep_ffi.a is built per Apple target with
// cargo and linked from `DoorstepCoreFFI/lib` (see ../README.md).
// Not compiled on this project's machines: no Swift toolchain there.
import PackageDescription

let package = Package(
    name: "DoorstepCore",
    platforms: [.iOS(.v16), .macOS(.v13)],
    products: [
        .library(name: "DoorstepCore", targets: ["DoorstepCore"]),
    ],
    targets: [
        .target(
            name: "DoorstepCoreFFI",
            path: "Sources/DoorstepCoreFFI",
            linkerSettings: [
                .linkedLibrary("doorstep_ffi"),
                .unsafeFlags(["-L", "lib"]),
            ]
        ),
        .target(
            name: "DoorstepCore",
            dependencies: ["DoorstepCoreFFI"],
            path: "Sources/DoorstepCore"
        ),
        .testTarget(
            name: "DoorstepCoreTests",
            dependencies: ["DoorstepCore"],
            path: "Tests/DoorstepCoreTests"
        ),
    ]
)
