import ArgumentParser
import Foundation
import Logging

/// The flags every Bantin server executable shares. Each falls back to a BANTIN_* environment variable, so that a
/// Kubernetes manifest can configure a container without a command line; docs/OPERATIONS.md has the whole table.
/// A malformed value stops the process before it opens anything, with a message naming the flag and the variable.
public struct ServerOptions: ParsableArguments {
    @Option(help: "Address to listen on, both ports (env BANTIN_HOST; default 0.0.0.0).")
    public var host: String?

    @Option(help: "RPC port (env BANTIN_PORT; default: the service's own, 7401 ingest, 7402 extract, 7403 query).")
    public var port: Int?

    @Option(parsing: .unconditional, help: "Plain-HTTP operations port for /healthz, /readyz and /metrics (env BANTIN_OPS_PORT; default: the RPC port + 2000; -1 turns it off).")
    public var opsPort: Int?

    @Option(help: "Directory with ca.pem, server.pem, server-key.pem, client.pem, client-key.pem (env BANTIN_PKI; default var/pki; make one with `bantin certs init`).")
    public var pki: String?

    @Option(help: "Log lines as text or json, one object per line (env BANTIN_LOG_FORMAT; default text).")
    public var logFormat: LogFormat?

    @Option(help: "Lowest level logged: trace, debug, info, notice, warning, error, critical (env BANTIN_LOG_LEVEL; default info).")
    public var logLevel: LogLevel?

    @Option(help: "Seconds in-flight calls may run after SIGTERM before connections are closed (env BANTIN_DRAIN_TIMEOUT; default 20).")
    public var drainTimeout: Int?

    public init() {}

    public mutating func validate() throws {
        host = try Setting.resolve(host, "BANTIN_HOST", default: "0.0.0.0")
        port = try Setting.resolve(port, "BANTIN_PORT")
        if let port { try Setting.requirePort(port, flag: "--port", variable: "BANTIN_PORT") }
        opsPort = try Setting.resolve(opsPort, "BANTIN_OPS_PORT")
        if let opsPort, opsPort != -1 { try Setting.requirePort(opsPort, flag: "--ops-port", variable: "BANTIN_OPS_PORT") }
        pki = try Setting.resolve(pki, "BANTIN_PKI", default: "var/pki")
        for file in ["ca.pem", "server.pem", "server-key.pem"] where !FileManager.default.isReadableFile(atPath: "\(pki!)/\(file)") {
            throw ValidationError("--pki / BANTIN_PKI: \(pki!)/\(file) is missing or unreadable; point it at a directory made by `bantin certs init DIR`")
        }
        logFormat = try Setting.resolve(logFormat, "BANTIN_LOG_FORMAT", default: .text)
        logLevel = try Setting.resolve(logLevel, "BANTIN_LOG_LEVEL", default: .info)
        drainTimeout = try Setting.resolve(drainTimeout, "BANTIN_DRAIN_TIMEOUT", default: 20)
        guard drainTimeout! >= 0 else {
            throw ValidationError("--drain-timeout / BANTIN_DRAIN_TIMEOUT must be 0 or more seconds, not \(drainTimeout!)")
        }
    }

    /// The RPC port: the flag, else BANTIN_PORT, else the service's default.
    public func port(default defaultPort: Int) -> Int { port ?? defaultPort }

    /// The operations port, or nil when turned off.
    public func opsPort(rpcPort: Int) -> Int? {
        switch opsPort {
        case -1: nil
        case let port?: port
        case nil: rpcPort == 0 ? 0 : rpcPort + 2000
        }
    }
}

public enum LogFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, json
}

public enum LogLevel: String, ExpressibleByArgument, CaseIterable, Sendable {
    case trace, debug, info, notice, warning, error, critical
    var level: Logger.Level { Logger.Level(rawValue: rawValue)! }
}

/// A setting's value: its flag, else its BANTIN_* environment variable, else the default. Used in `validate()`,
/// so that a bad value stops the process at start with a message naming both places it may come from.
public enum Setting {
    public static func resolve<T: ExpressibleByArgument>(_ flag: T?, _ variable: String, default fallback: T) throws -> T {
        try resolve(flag, variable) ?? fallback
    }

    public static func resolve<T: ExpressibleByArgument>(_ flag: T?, _ variable: String) throws -> T? {
        if let flag { return flag }
        guard let raw = Environment.string(variable) else { return nil }
        guard let value = T(argument: raw) else {
            let expected = T.allValueStrings.isEmpty
                ? (T.self == Int.self ? " (expected a whole number)" : "")
                : " (expected one of: \(T.allValueStrings.joined(separator: ", ")))"
            throw ValidationError("environment variable \(variable)='\(raw)' is not a valid value\(expected); fix or unset it")
        }
        return value
    }

    public static func requirePort(_ port: Int, flag: String, variable: String) throws {
        guard (0...65535).contains(port) else {
            throw ValidationError("\(flag) / \(variable): \(port) is not a TCP port (0–65535; 0 picks a free one)")
        }
    }
}

/// BANTIN_* environment variables (an empty value counts as unset).
public enum Environment {
    public static func string(_ name: String) -> String? {
        guard let raw = getenv(name) else { return nil }
        let value = String(cString: raw)
        return value.isEmpty ? nil : value
    }
}
