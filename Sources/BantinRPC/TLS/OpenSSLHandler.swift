import COpenSSL
import Glibc
import Logging
import NIOCore

/// TLS as one channel handler: ciphertext ByteBuffers below, plaintext ByteBuffers above,
/// OpenSSL driven through a pair of memory BIOs.
///
/// Writes made before the handshake completes are held and sent after it. Nothing is passed up
/// until the handshake has completed and the peer certificate has been verified, so a plaintext
/// or unauthenticated peer never reaches the frame decoder.
public final class OpenSSLHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    enum State { case idle, handshaking, active, closed }

    private let ssl: OpaquePointer
    private let networkIn: OpaquePointer   // ciphertext from the peer → OpenSSL
    private let networkOut: OpaquePointer  // OpenSSL → ciphertext for the peer
    private let configuration: TLSConfiguration
    private let serverName: String?
    private var logger: Logger
    private var state = State.idle
    private var heldWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var unflushedPromises: [EventLoopPromise<Void>] = []
    /// Small writes gathered until flush, then encrypted with one SSL_write: one TLS record
    /// (one AEAD pass, one 22-byte header) per flush instead of one per frame.
    private var pendingPlaintext = ByteBuffer()
    private var pendingPromises: [EventLoopPromise<Void>] = []
    private static let gatherLimit = 16 * 1024
    private var handshakeTimer: Scheduled<Void>?
    private var peerDescription = "peer"

    /// - Parameter serverName: clients only: the DNS name or IP address the certificate must match.
    public init(context tlsContext: TLSContext, serverName: String? = nil, logger: Logger) throws {
        guard let ssl = SSL_new(tlsContext.ctx) else { throw TLSError.configuration("SSL_new failed: \(openSSLErrors())") }
        self.ssl = ssl
        self.networkIn = BIO_new(BIO_s_mem())
        self.networkOut = BIO_new(BIO_s_mem())
        SSL_set_bio(ssl, networkIn, networkOut)
        self.configuration = tlsContext.configuration
        self.serverName = serverName
        self.logger = logger

        if configuration.role == .client {
            SSL_set_connect_state(ssl)
            var alpn: [UInt8] = [UInt8(TLSConfiguration.alpn.utf8.count)] + Array(TLSConfiguration.alpn.utf8)
            SSL_set_alpn_protos(ssl, &alpn, UInt32(alpn.count))
            if let serverName {
                let param = SSL_get0_param(ssl)
                if isIPAddress(serverName) {
                    X509_VERIFY_PARAM_set1_ip_asc(param, serverName)
                } else {
                    X509_VERIFY_PARAM_set1_host(param, serverName, 0)
                    bantin_ssl_set_sni(ssl, serverName)
                }
            }
        } else {
            SSL_set_accept_state(ssl)
        }
    }

    deinit { SSL_free(ssl) }  // frees both BIOs too

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard state == .idle else { return }
        state = .handshaking
        peerDescription = context.channel.remoteAddress.map { "\($0)" } ?? "peer"
        logger[metadataKey: "peer"] = "\(peerDescription)"
        let timeout = configuration.handshakeTimeout
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: context.eventLoop)
        handshakeTimer = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            guard handler.state == .handshaking else { return }
            HandshakeFailure.timeout.count()
            handler.fail(context: context, TLSError.handshakeTimedOut(timeout))
        }
        doHandshake(context: context)
        flushNetwork(context: context)
    }

    // MARK: inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard state == .handshaking || state == .active else { return }
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { bytes in
            _ = BIO_write(networkIn, bytes.baseAddress, Int32(bytes.count))
        }
        if state == .handshaking { doHandshake(context: context) }
        if state == .active { readPlaintext(context: context) }
        flushNetwork(context: context)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if state == .active { context.fireChannelReadComplete() }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        if state == .handshaking {
            logger.warning("TLS handshake failed: peer closed the connection during the handshake")
            HandshakeFailure.peerClosed.count()
        }
        state = .closed
        handshakeTimer?.cancel()
        failHeldWrites(ChannelError.ioOnClosedChannel)
        context.fireChannelInactive()
    }

    private func doHandshake(context: ChannelHandlerContext) {
        let rc = SSL_do_handshake(ssl)
        guard rc == 1 else {
            let error = SSL_get_error(ssl, rc)
            if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { return }
            let (reason, detail) = handshakeFailureReason()
            reason.count()
            fail(context: context, TLSError.handshakeFailed(detail))
            return
        }
        var alpnPointer: UnsafePointer<UInt8>?
        var alpnLength: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &alpnPointer, &alpnLength)
        let alpn = alpnPointer.map { String(decoding: UnsafeBufferPointer(start: $0, count: Int(alpnLength)), as: UTF8.self) } ?? ""
        guard alpn == TLSConfiguration.alpn else {
            HandshakeFailure.alpn.count()
            fail(context: context, TLSError.handshakeFailed("peer did not agree on ALPN protocol \(TLSConfiguration.alpn)"))
            return
        }
        state = .active
        handshakeTimer?.cancel()
        let event = TLSHandshakeCompleted(peer: readPeerIdentity(), protocolVersion: String(cString: SSL_get_version(ssl)), alpn: alpn)
        logger.debug("TLS handshake complete", metadata: ["version": "\(event.protocolVersion)", "peer-cn": "\(event.peer?.commonName ?? "-")"])
        context.fireUserInboundEventTriggered(event)
        let held = heldWrites
        heldWrites = []
        for (buffer, promise) in held { encrypt(buffer, promise: promise) }
        encryptPending()  // the caller flushed these before the handshake finished
    }

    /// The most useful explanation of a failed handshake: the certificate check if that failed,
    /// else OpenSSL's error queue (which names alerts from the peer, e.g. "certificate required").
    private func handshakeFailureReason() -> (HandshakeFailure, String) {
        let queued = openSSLErrors()
        let verify = SSL_get_verify_result(ssl)
        if verify != X509_V_OK {
            return (.badCertificate, "\(String(cString: X509_verify_cert_error_string(verify))) (\(queued))")
        }
        if queued.contains("wrong version number") || queued.contains("http request") || queued.contains("packet length too long") {
            return (.notTLS, "\(queued): the peer is not speaking TLS (plaintext connection to a TLS port?)")
        }
        if queued.contains("peer did not return a certificate") || queued.contains("certificate required") {
            return (.noCertificate, queued)
        }
        if queued.contains("certificate") || queued.contains("unknown ca") {
            return (.badCertificate, queued)
        }
        return (.protocolError, queued)
    }

    private func readPeerIdentity() -> PeerIdentity? {
        guard let cert = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(cert) }
        var cn = [CChar](repeating: 0, count: 256)
        let cnLength = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, &cn, Int32(cn.count))
        var sans = [CChar](repeating: 0, count: 4096)
        let count = bantin_x509_copy_sans(cert, &sans, sans.count)
        var names: [String] = []
        var offset = 0
        for _ in 0..<max(count, 0) {
            let name = sans.withUnsafeBufferPointer { String(cString: $0.baseAddress! + offset) }
            names.append(name)
            offset += name.utf8.count + 1
        }
        var serial = ""
        if let bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nil) {
            if let hex = BN_bn2hex(bn) {
                serial = String(cString: hex)
                bantin_openssl_free(hex)
            }
            BN_free(bn)
        }
        let commonName = cnLength > 0 ? String(decoding: cn.prefix(Int(cnLength)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        return PeerIdentity(commonName: commonName, subjectAlternativeNames: names, serialNumber: serial)
    }

    private func readPlaintext(context: ChannelHandlerContext) {
        var plaintext: ByteBuffer?
        while state == .active {
            // Plaintext is never longer than the ciphertext it comes from, so a buffer sized to
            // what is waiting holds the whole read: no growing (and copying) it record by record.
            // Capped below malloc's mmap threshold: a fresh mapping per read costs page faults.
            let waiting = min(Int(BIO_ctrl_pending(networkIn)) + Int(SSL_pending(ssl)) + 1024, 64 * 1024)
            // Take the buffer out of `plaintext` so that it is uniquely referenced while written: a second
            // reference would make every write copy the whole storage.
            var buffer = plaintext.take() ?? context.channel.allocator.buffer(capacity: waiting)
            var result: Int32 = 0
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 1024) { out in
                result = SSL_read(ssl, out.baseAddress, Int32(min(out.count, Int(Int32.max))))
                return max(Int(result), 0)
            }
            plaintext = buffer
            if result > 0 { continue }
            let error = SSL_get_error(ssl, result)
            if error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE { break }
            if error == SSL_ERROR_ZERO_RETURN {
                // Peer sent close_notify: pass up what we have, then close.
                if let p = plaintext, p.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(p)) }
                plaintext = nil
                context.close(promise: nil)
                return
            }
            if let p = plaintext, p.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(p)) }
            plaintext = nil
            fail(context: context, TLSError.connectionFailed(openSSLErrors()))
            return
        }
        if let p = plaintext, p.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(p)) }
    }

    private func fail(context: ChannelHandlerContext, _ error: TLSError) {
        guard state != .closed else { return }
        let wasHandshaking = state == .handshaking
        state = .closed
        handshakeTimer?.cancel()
        if wasHandshaking {
            logger.warning("TLS handshake refused", metadata: ["reason": "\(error)"])
        } else {
            logger.warning("TLS connection failed", metadata: ["reason": "\(error)"])
        }
        // Send the alert OpenSSL produced, so the peer learns why.
        flushNetwork(context: context)
        failHeldWrites(error)
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }

    // MARK: outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        switch state {
        case .idle, .handshaking: heldWrites.append((buffer, promise))
        case .active: encrypt(buffer, promise: promise)
        case .closed: promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        encryptPending()
        flushNetwork(context: context)
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if state == .active, mode == .all {
            encryptPending()
            SSL_shutdown(ssl)  // queue close_notify
            flushNetwork(context: context)
        }
        if mode == .all { state = .closed }
        context.close(mode: mode, promise: promise)
    }

    private func encrypt(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        if buffer.readableBytes >= Self.gatherLimit {
            encryptPending()
            sslWrite(buffer)
            if let promise { unflushedPromises.append(promise) }
        } else {
            var buffer = buffer
            pendingPlaintext.writeBuffer(&buffer)
            if let promise { pendingPromises.append(promise) }
            if pendingPlaintext.readableBytes >= Self.gatherLimit { encryptPending() }
        }
    }

    /// Encrypts the gathered writes; their promises complete when the ciphertext is written.
    private func encryptPending() {
        if pendingPlaintext.readableBytes > 0 {
            sslWrite(pendingPlaintext)
            pendingPlaintext.clear()  // keeps its storage for the next batch
        }
        unflushedPromises.append(contentsOf: pendingPromises)
        pendingPromises.removeAll(keepingCapacity: true)
    }

    /// Memory BIOs grow as needed, so SSL_write takes all of it (no partial writes).
    private func sslWrite(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { bytes in
            _ = SSL_write(ssl, bytes.baseAddress, Int32(bytes.count))
        }
    }

    /// Moves everything OpenSSL has produced into one outbound ByteBuffer and flushes it.
    private func flushNetwork(context: ChannelHandlerContext) {
        let pending = BIO_ctrl_pending(networkOut)
        let promises = unflushedPromises
        unflushedPromises = []
        guard pending > 0 else {
            promises.forEach { $0.succeed() }
            return
        }
        var out = context.channel.allocator.buffer(capacity: pending)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { bytes in
            Int(max(BIO_read(networkOut, bytes.baseAddress, Int32(pending)), 0))
        }
        let writePromise: EventLoopPromise<Void>? = promises.isEmpty ? nil : context.eventLoop.makePromise()
        if let writePromise {
            writePromise.futureResult.whenComplete { result in
                for p in promises { p.completeWith(result) }
            }
        }
        context.writeAndFlush(wrapOutboundOut(out), promise: writePromise)
    }

    private func failHeldWrites(_ error: any Error) {
        let held = heldWrites
        heldWrites = []
        for (_, promise) in held { promise?.fail(error) }
        let promises = unflushedPromises + pendingPromises
        unflushedPromises = []
        pendingPromises = []
        for p in promises { p.fail(error) }
    }
}

func isIPAddress(_ s: String) -> Bool {
    var v4 = in_addr()
    var v6 = in6_addr()
    return inet_pton(AF_INET, s, &v4) == 1 || inet_pton(AF_INET6, s, &v6) == 1
}
