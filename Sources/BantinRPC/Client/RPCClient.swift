import BantinCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

public struct ClientConfiguration: Sendable {
    public var tls: TLSContextProvider
    /// Name the server certificate must carry; defaults to the target's host.
    public var serverName: String?
    public var connectTimeout: TimeAmount = .seconds(5)
    public var initialBackoff: TimeAmount = .milliseconds(100)
    public var maxBackoff: TimeAmount = .seconds(5)
    public var maxFrameSize = Frame.defaultMaxBodySize
    public var keepaliveInterval: TimeAmount = .seconds(20)
    public var keepaliveTimeout: TimeAmount = .seconds(10)
    /// Attempts for an idempotent method that fails with UNAVAILABLE, the first included.
    public var maxAttempts = 3
    /// Re-resolve the target's name at most this often (a headless Service gains replicas).
    public var resolveInterval: TimeAmount = .seconds(30)
    public var interceptors: [any ClientInterceptor]
    public var logger: Logger

    public init(tls: TLSContextProvider, serverName: String? = nil, logger: Logger = Logger(label: "bantin.client")) {
        self.tls = tls
        self.serverName = serverName
        self.logger = logger
        self.interceptors = [ClientLoggingInterceptor(logger: logger), MetricsInterceptor(side: "client")]
    }
}

public struct CallOptions: Sendable {
    /// Time allowed for the call; shortened to what is left of the deadline of the server call
    /// being handled, when there is one.
    public var timeout: Duration?
    public var metadata: Metadata

    public init(timeout: Duration? = nil, metadata: Metadata = Metadata()) {
        self.timeout = timeout
        self.metadata = metadata
    }

    func deadline() throws -> NIODeadline? {
        var deadline = CallDeadline.current
        if let timeout {
            let own = NIODeadline.now() + .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
            deadline = deadline.map { min($0, own) } ?? own
        }
        if let deadline, deadline <= .now() {
            throw RPCError(.deadlineExceeded, "deadline already expired before the call was sent")
        }
        return deadline
    }
}

/// A client for one target, "host:port". The host may resolve to several addresses (a
/// Kubernetes headless Service): calls go round-robin over them, each address keeps one
/// multiplexed connection, reconnects with backoff, and idempotent calls that fail with
/// UNAVAILABLE are retried on another address.
public final class RPCClient: Sendable {
    public let target: String
    private let host: String
    private let port: Int
    private let configuration: ClientConfiguration
    private let group: any EventLoopGroup
    private let state = NIOLockedValueBox(State())

    private struct State {
        var subchannels: [Subchannel] = []
        var resolvedAt: NIODeadline?
        var next = 0
    }

    public init(target: String, configuration: ClientConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) throws {
        guard let colon = target.lastIndex(of: ":"), let port = Int(target[target.index(after: colon)...]) else {
            throw RPCError(.invalidArgument, "target '\(target)' is not host:port")
        }
        var host = String(target[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        self.target = target
        self.host = host
        self.port = port
        var configuration = configuration
        if configuration.serverName == nil { configuration.serverName = host }
        self.configuration = configuration
        self.group = group
    }

    // MARK: typed calls

    public func unary<Req, Resp>(_ method: Method<Req, Resp>, _ request: Req, options: CallOptions = CallOptions()) async throws -> Resp {
        try Resp(unpacking: try await unary(path: method.path, request: request.packed(), idempotent: method.idempotent, options: options))
    }

    public func serverStreaming<Req, Resp, Result: Sendable>(
        _ method: Method<Req, Resp>, _ request: Req, options: CallOptions = CallOptions(),
        _ body: (ResponseStream<Resp>) async throws -> Result
    ) async throws -> Result {
        try await withCall(path: method.path, options: options, first: request.packed(), end: true, streamsResponses: true) { call in
            defer { call.stopReading() }
            return try await body(ResponseStream(queue: call.responses))
        }
    }

    public func clientStreaming<Req, Resp>(
        _ method: Method<Req, Resp>, options: CallOptions = CallOptions(),
        _ body: (RequestWriter<Req>) async throws -> Void
    ) async throws -> Resp {
        try await withCall(path: method.path, options: options, first: nil, end: false, streamsResponses: false) { call in
            try await body(RequestWriter(call: call))
            try call.halfClose()
            return try Resp(unpacking: try await call.response())
        }
    }

    public func bidirectionalStreaming<Req, Resp, Result: Sendable>(
        _ method: Method<Req, Resp>, options: CallOptions = CallOptions(),
        _ body: (RequestWriter<Req>, ResponseStream<Resp>) async throws -> Result
    ) async throws -> Result {
        try await withCall(path: method.path, options: options, first: nil, end: false, streamsResponses: true) { call in
            defer { call.stopReading() }
            return try await body(RequestWriter(call: call), ResponseStream(queue: call.responses))
        }
    }

    // MARK: untyped calls (`bantin call`, load generator)

    /// One request, one response, as serialized bytes; retried on UNAVAILABLE when idempotent, and whatever the method
    /// when the server refused the call unprocessed (GOAWAY while it was on the wire).
    public func unary(path: String, request: ByteBuffer, idempotent: Bool, options: CallOptions = CallOptions()) async throws -> ByteBuffer {
        var attempt = 1
        var transparentRetried = false
        while true {
            do {
                return try await withCall(path: path, options: options, first: request, end: true, streamsResponses: false) {
                    try await $0.response()
                }
            } catch let error as RPCError where error.code == .unavailable && error.notProcessed && !transparentRetried {
                // Once, at once, and outside maxAttempts: the call never ran, so this is a reroute, not a retry.
                transparentRetried = true
            } catch let error as RPCError where error.code == .unavailable && idempotent && attempt < configuration.maxAttempts {
                attempt += 1
                try await Task.sleep(for: .milliseconds(10 * attempt))
            }
        }
    }

    /// Calls a server-streaming method with serialized bytes, handing each response to `onResponse`.
    public func serverStreaming(path: String, request: ByteBuffer, options: CallOptions = CallOptions(),
                                onResponse: (ByteBuffer) async throws -> Void) async throws {
        try await withCall(path: path, options: options, first: request, end: true, streamsResponses: true) { call in
            while let message = try await call.responses.next() { try await onResponse(message) }
        }
    }

    private func withCall<R>(path: String, options: CallOptions, first: ByteBuffer?, end: Bool, streamsResponses: Bool,
                             _ body: (ClientCall) async throws -> R) async throws -> R {
        let deadline = try options.deadline()
        let connection = try await pick()
        var metadata = options.metadata
        if metadata["x-request-id"] == nil, let inherited = RequestID.current { metadata.add("x-request-id", inherited) }
        let callMetadata = metadata
        let loop = connection.channel.eventLoop
        let call = if loop.inEventLoop {
            try connection.handler.value.open(path: path, metadata: callMetadata, deadline: deadline, firstMessage: first, end: end,
                                              streamsResponses: streamsResponses)
        } else {
            try await loop.submit {
                try connection.handler.value.open(path: path, metadata: callMetadata, deadline: deadline, firstMessage: first, end: end,
                                              streamsResponses: streamsResponses)
            }.get()
        }
        return try await withTaskCancellationHandler {
            do {
                let result = try await body(call)
                return result
            } catch {
                call.cancel(RPCError(from: error))
                throw error
            }
        } onCancel: {
            call.cancel(RPCError(.cancelled, "call cancelled by the client"))
        }
    }

    // MARK: load balancing

    /// The next ready connection in round-robin order, connecting where needed.
    private func pick() async throws -> Subchannel.Connection {
        let subchannels = try await resolvedSubchannels()
        let start = state.withLockedValue { s -> Int in
            s.next &+= 1
            return s.next
        }
        // Almost every call: the next established connection in round-robin order, taken synchronously.
        for k in 0..<subchannels.count {
            if let connection = subchannels[(start + k) % subchannels.count].readyConnection { return connection }
        }
        let order = (0..<subchannels.count).map { subchannels[(start + $0) % subchannels.count] }
        // Prefer a ready connection, then any address not waiting out a backoff.
        let candidates = order.filter(\.isReady) + order.filter { !$0.isReady && !$0.isInBackoff }
        var lastError: (any Error)?
        for subchannel in candidates.isEmpty ? order : candidates {
            do {
                return try await subchannel.connection()
            } catch {
                lastError = error
            }
        }
        throw (lastError as? RPCError) ?? RPCError(.unavailable, "no address of \(target) accepts connections: \(lastError.map { "\($0)" } ?? "none resolved")")
    }

    private func resolvedSubchannels() async throws -> [Subchannel] {
        let (current, due) = state.withLockedValue { s in
            (s.subchannels, s.resolvedAt.map { NIODeadline.now() - $0 > configuration.resolveInterval } ?? true)
        }
        if !due, !current.isEmpty { return current }
        let addresses: [SocketAddress]
        do {
            addresses = try await resolve(host: host, port: port)
        } catch {
            if !current.isEmpty { return current }
            throw RPCError(.unavailable, "cannot resolve \(host): \(error)")
        }
        return state.withLockedValue { s in
            let existing = Dictionary(s.subchannels.map { ("\($0.address)", $0) }, uniquingKeysWith: { a, _ in a })
            s.subchannels = addresses.map { existing["\($0)"] ?? Subchannel(address: $0, settings: configuration, group: group) }
            s.resolvedAt = .now()
            return s.subchannels
        }
    }

    /// Every address of `host` (getaddrinfo, on NIO's blocking-I/O pool).
    private func resolve(host: String, port: Int) async throws -> [SocketAddress] {
        try await NIOThreadPool.singleton.runIfActive {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>?
            let rc = getaddrinfo(host, String(port), &hints, &result)
            guard rc == 0, let first = result else {
                throw RPCError(.unavailable, "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
            }
            defer { freeaddrinfo(first) }
            var addresses: [SocketAddress] = []
            var seen = Set<String>()
            var node: UnsafeMutablePointer<addrinfo>? = first
            while let n = node {
                if let sa = n.pointee.ai_addr {
                    let address: SocketAddress? = switch Int32(sa.pointee.sa_family) {
                    case AF_INET: sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { SocketAddress($0.pointee, host: host) }
                    case AF_INET6: sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { SocketAddress($0.pointee, host: host) }
                    default: nil
                    }
                    if let address, seen.insert("\(address)").inserted { addresses.append(address) }
                }
                node = n.pointee.ai_next
            }
            return addresses
        }
    }

    /// Drains and closes every connection.
    public func close() async {
        let subchannels = state.withLockedValue { s in
            defer { s.subchannels = [] }
            return s.subchannels
        }
        for subchannel in subchannels { await subchannel.close() }
    }
}

/// The responses of a streaming call.
public typealias ResponseStream<Message: WireMessage> = MessageStream<Message>

/// Sends a client's streamed requests, waiting when the server has granted no credit.
public struct RequestWriter<Message: WireMessage>: Sendable {
    let call: ClientCall

    public func write(_ message: Message) async throws {
        try await call.send(message.packed(), end: false)
    }

    /// Tells the server no more requests follow (bidirectional calls; client streaming does it for you).
    public func finish() throws {
        try call.halfClose()
    }
}
