// swift-tools-version:6.0
import PackageDescription

// Layers are targets: C bindings at the bottom, the pure domain in RastroCore,
// the Lua runtime in RastroScripting, the carrier contract in RastroCarriers,
// libcurl in RastroTransport, SQLite in RastroStore, the background services
// (scheduler, poller, carrier registry) in RastroService, rules, templates
// and the notification outbox in RastroNotify, the HTTP side in
// RastroServer, configuration/logs/metrics wiring in RastroOperations, and the `rastro`
// executable on top.
let package = Package(
    name: "rastro",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rastro", targets: ["rastro"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
    ],
    targets: [
        .systemLibrary(name: "CLua", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "CLuaShim",
            dependencies: ["CLua"],
            cSettings: [.unsafeFlags(["-I/usr/include/lua5.4", "-Wall", "-Wextra", "-Wno-unused-parameter"])],
            linkerSettings: [.linkedLibrary("lua5.4-cjson"), .linkedLibrary("expat"), .linkedLibrary("lua5.4")]
        ),
        .target(name: "CSQLiteConfig", linkerSettings: [.linkedLibrary("sqlite3")]),
        .target(name: "RastroCore"),
        .target(
            name: "RastroScripting",
            dependencies: ["CLuaShim", "RastroCore", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "RastroTransport",
            dependencies: ["CCurl", "RastroCore"]
        ),
        .target(
            name: "RastroCarriers",
            dependencies: ["RastroScripting", "RastroCore", "RastroTransport", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "RastroStore",
            dependencies: ["RastroCore", "CZlib", "CSQLiteConfig", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .target(
            name: "RastroNotify",
            dependencies: [
                "RastroStore", "RastroCarriers", "RastroScripting", "RastroTransport", "RastroCore", "CCurl",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "RastroService",
            dependencies: [
                "RastroNotify", "RastroStore", "RastroCarriers", "RastroScripting", "RastroTransport", "RastroCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "RastroServer",
            dependencies: [
                "RastroService", "RastroNotify", "RastroCarriers", "RastroScripting", "RastroStore", "RastroCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Running it: the configuration file, structured logs, metrics fed from the services.
        .target(
            name: "RastroOperations",
            dependencies: [
                "RastroService", "RastroNotify", "RastroStore", "RastroCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "rastro",
            dependencies: [
                "RastroOperations", "RastroServer", "RastroService", "RastroNotify", "RastroStore", "RastroCarriers", "RastroScripting", "RastroTransport", "RastroCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Loopback servers and helpers shared by the test targets.
        .target(name: "RastroTestSupport", path: "Tests/RastroTestSupport"),
        .testTarget(name: "RastroCoreTests", dependencies: ["RastroCore"]),
        .testTarget(name: "RastroScriptingTests", dependencies: ["RastroScripting"]),
        .testTarget(name: "RastroCarriersTests", dependencies: ["RastroCarriers", "RastroTransport", "RastroTestSupport"]),
        .testTarget(name: "RastroStoreTests", dependencies: ["RastroStore", "RastroCore"]),
        .testTarget(name: "RastroNotifyTests", dependencies: ["RastroNotify", "RastroStore", "RastroTestSupport"]),
        .testTarget(name: "RastroServiceTests", dependencies: ["RastroService", "RastroNotify", "RastroStore", "RastroCarriers", "RastroTestSupport"]),
        .testTarget(
            name: "RastroOperationsTests",
            dependencies: ["RastroOperations", "RastroService", "RastroNotify", "RastroStore", "RastroCore", "RastroTestSupport",
                           .product(name: "Prometheus", package: "swift-prometheus"), .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "RastroEndToEndTests", dependencies: ["RastroTestSupport", "RastroTransport", "RastroServer", "RastroCore"]),
    ]
)
