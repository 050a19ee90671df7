import COpenSSL
import Dispatch
import Foundation
import Logging
import NIOConcurrencyHelpers

/// One `SSL_CTX`, built from a `TLSConfiguration`. Immutable once built and shared by every
/// connection that starts while it is current; each `SSL` holds its own reference.
public final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer
    public let configuration: TLSConfiguration

    public init(_ configuration: TLSConfiguration) throws {
        self.configuration = configuration
        guard let ctx = SSL_CTX_new(configuration.role == .server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSError.configuration("SSL_CTX_new failed: \(openSSLErrors())")
        }
        self.ctx = ctx
        let minVersion = configuration.minimumVersion == .tls13 ? TLS1_3_VERSION : TLS1_2_VERSION
        bantin_ssl_ctx_set_min_proto(ctx, minVersion)
        // Writes into a memory BIO never block; let SSL_write take any buffer position.
        bantin_ssl_ctx_set_mode(ctx, Int(SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))

        try Self.requireReadable(configuration.caFile, what: "CA certificate")
        guard SSL_CTX_load_verify_locations(ctx, configuration.caFile, nil) == 1 else {
            throw TLSError.configuration("cannot load CA certificates from \(configuration.caFile): \(openSSLErrors())")
        }
        if let cert = configuration.certificateFile, let key = configuration.privateKeyFile {
            try Self.requireReadable(cert, what: "certificate")
            try Self.requireReadable(key, what: "private key")
            guard SSL_CTX_use_certificate_chain_file(ctx, cert) == 1 else {
                throw TLSError.configuration("cannot load certificate chain from \(cert): \(openSSLErrors())")
            }
            guard SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1 else {
                throw TLSError.configuration("cannot load private key from \(key): \(openSSLErrors())")
            }
            guard SSL_CTX_check_private_key(ctx) == 1 else {
                throw TLSError.configuration("private key \(key) does not match certificate \(cert)")
            }
        } else if configuration.role == .server {
            throw TLSError.configuration("a server needs a certificate and a private key")
        }
        switch configuration.role {
        case .server:
            let mode = configuration.requireClientCertificate ? (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT) : SSL_VERIFY_NONE
            SSL_CTX_set_verify(ctx, mode, nil)
            SSL_CTX_set_alpn_select_cb(ctx, selectALPN, nil)
            // Session tickets are of no use to long-lived service connections and cost a write per handshake.
            SSL_CTX_set_num_tickets(ctx, 0)
        case .client:
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        }
    }

    deinit { SSL_CTX_free(ctx) }

    static func requireReadable(_ path: String, what: String) throws {
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw TLSError.configuration("\(what) file \(path) is missing or unreadable (make development certificates with `bantin certs init DIR`)")
        }
    }
}

/// The server side of ALPN: accept only bantin/1; a client that does not offer it is refused.
private let selectALPN: @convention(c) (
    OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
    UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?
) -> Int32 = { _, out, outLength, offered, offeredLength, _ in
    let wanted = Array(TLSConfiguration.alpn.utf8)
    guard let offered else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    var i = 0
    while i < Int(offeredLength) {
        let length = Int(offered[i])
        let start = i + 1
        if start + length <= Int(offeredLength),
           length == wanted.count, (0..<length).allSatisfy({ offered[start + $0] == wanted[$0] }) {
            out?.pointee = offered + start
            outLength?.pointee = UInt8(length)
            return SSL_TLSEXT_ERR_OK
        }
        i = start + length
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL
}

/// Holds the current `TLSContext` and swaps it atomically when the PEM files change
/// (polled) or on SIGHUP. Established connections keep the context they started with.
public final class TLSContextProvider: @unchecked Sendable {
    private let lock = NIOLock()
    private var _current: TLSContext
    private var fingerprint: [String: Date]
    private let logger: Logger
    private var timer: DispatchSourceTimer?
    private var signalSource: DispatchSourceSignal?
    private let queue = DispatchQueue(label: "bantin.tls.reload")

    public init(_ configuration: TLSConfiguration, logger: Logger = Logger(label: "bantin.tls")) throws {
        _current = try TLSContext(configuration)
        fingerprint = Self.modificationDates(configuration)
        self.logger = logger
    }

    public var current: TLSContext { lock.withLock { _current } }

    /// Rebuilds the context from the files. On failure the old context stays in use.
    @discardableResult
    public func reload() -> Bool {
        let configuration = current.configuration
        do {
            let fresh = try TLSContext(configuration)
            lock.withLock {
                _current = fresh
                fingerprint = Self.modificationDates(configuration)
            }
            logger.info("reloaded TLS certificates", metadata: ["certificate": "\(configuration.certificateFile ?? "-")"])
            return true
        } catch {
            logger.error("TLS certificate reload failed; keeping the previous certificates", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Reloads on SIGHUP and whenever a file's modification time changes (checked every `interval`).
    public func watch(interval: Duration = .seconds(2), onSIGHUP: Bool = true) {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let ms = Int(interval.components.seconds * 1000 + interval.components.attoseconds / 1_000_000_000_000_000)
        timer.schedule(deadline: .now() + .milliseconds(ms), repeating: .milliseconds(ms))
        timer.setEventHandler { [weak self] in
            guard let self else { return }
            let configuration = self.current.configuration
            let dates = Self.modificationDates(configuration)
            if dates != self.lock.withLock({ self.fingerprint }) { self.reload() }
        }
        timer.resume()
        self.timer = timer
        if onSIGHUP {
            signal(SIGHUP, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: queue)
            source.setEventHandler { [weak self] in self?.reload() }
            source.resume()
            signalSource = source
        }
    }

    public func stopWatching() {
        timer?.cancel()
        signalSource?.cancel()
    }

    deinit { stopWatching() }

    static func modificationDates(_ c: TLSConfiguration) -> [String: Date] {
        var result: [String: Date] = [:]
        for path in [c.caFile, c.certificateFile, c.privateKeyFile].compactMap({ $0 }) {
            result[path] = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        }
        return result
    }
}

/// Drains OpenSSL's error queue into one readable line.
func openSSLErrors() -> String {
    var messages: [String] = []
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buffer, buffer.count)
        let full = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        // "error:0A000086:SSL routines::certificate verify failed" → keep the reason.
        messages.append(full.split(separator: ":", maxSplits: 4).last.map(String.init) ?? full)
    }
    return messages.isEmpty ? "unknown OpenSSL error" : messages.joined(separator: "; ")
}
