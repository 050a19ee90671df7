// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "bantin",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "bantin", targets: ["bantin"]),
        .executable(name: "bantin-ingest", targets: ["bantin-ingest"]),
        .executable(name: "bantin-extract", targets: ["bantin-extract"]),
        .executable(name: "bantin-query", targets: ["bantin-query"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // System libraries, through pkg-config-free module maps.
        .systemLibrary(
            name: "COpenSSL",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CProtobufC",
            providers: [.apt(["libprotobuf-c-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // protoc-c output for proto/ (regenerate with `make proto`).
        .target(
            name: "CBantinProto",
            dependencies: ["CProtobufC"],
            cSettings: [.headerSearchPath("include")],
            // Swift code reaches protobuf-c's API through this module's headers, so the link
            // flag of CProtobufC's module map alone is not enough.
            linkerSettings: [.linkedLibrary("protobuf-c")]
        ),
        // The shared target: wire messages (Swift side of the protobuf-c types) and the domain model.
        .target(
            name: "BantinCore",
            dependencies: [
                "CBantinProto",
                "CProtobufC",
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        // RPC runtime: framing, TLS over OpenSSL, calls, server, client, health, reflection, and the operations port
        // (probes, Prometheus metrics, JSON logs) every service opens.
        .target(
            name: "BantinRPC",
            dependencies: [
                "BantinCore",
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // One library per service; executables stay thin.
        .target(name: "BantinIngest", dependencies: ["BantinCore", "BantinRPC", "CSQLite", "COpenSSL"]),
        .target(
            name: "BantinExtract", dependencies: ["BantinCore", "BantinRPC", .product(name: "Metrics", package: "swift-metrics")],
            resources: [.copy("Data")]),
        .target(name: "BantinQuery", dependencies: ["BantinCore", "BantinRPC"]),
        // Deterministic generated articles for tests and benchmarks (`bantin corpus`).
        .target(name: "BantinCorpus", dependencies: ["BantinExtract"]),
        // Load generation for any method (`bantin load`): open and closed loop, HdrHistogram, reports.
        .target(
            name: "BantinLoad",
            dependencies: ["BantinCore", "BantinRPC", .product(name: "Histogram", package: "hdrhistogram-swift"), .product(name: "NIOPosix", package: "swift-nio")]
        ),
        // Shared test fixtures: PKI, servers started in-process or as child processes.
        .target(
            name: "BantinTesting",
            dependencies: ["BantinRPC", "BantinCore", .product(name: "NIOPosix", package: "swift-nio"), .product(name: "Logging", package: "swift-log")]
        ),
        .executableTarget(
            name: "bantin-ingest",
            dependencies: ["BantinIngest", "BantinRPC", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "bantin-extract",
            dependencies: ["BantinExtract", "BantinRPC", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "bantin-query",
            dependencies: ["BantinQuery", "BantinRPC", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "bantin",
            dependencies: [
                "BantinCore",
                "BantinRPC",
                "BantinExtract",
                "BantinCorpus",
                "BantinIngest",
                "BantinQuery",
                "BantinLoad",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "BantinCoreTests",
            dependencies: ["BantinCore", "CBantinProto"]
        ),
        .testTarget(
            name: "BantinRPCTests",
            dependencies: [
                "BantinRPC",
                "BantinTesting",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The extractor against annotated articles (Tests/gold), and its rules one by one.
        .testTarget(name: "BantinExtractTests", dependencies: ["BantinExtract", "BantinCore"]),
        .testTarget(
            name: "BantinLoadTests",
            dependencies: ["BantinLoad", "BantinCore", .product(name: "NIOCore", package: "swift-nio")]
        ),
        // Ingest, extract and query as real child processes over mutual TLS with a real SQLite file.
        .testTarget(
            name: "BantinServicesTests",
            dependencies: [
                "BantinIngest", "BantinExtract", "BantinQuery", "BantinCorpus", "BantinRPC", "BantinTesting",
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
