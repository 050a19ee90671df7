import BantinCore
import BantinRPC
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A bare protocol peer for tests: TLS and the frame codec, no call layer, so tests can send
/// exactly the frames (or bytes) they want and see every frame the server answers with.
public final class RawConnection: Sendable {
    public let channel: any Channel
    private let collector: FrameCollector

    public static func connect(to server: TestServer, tls: Bool = true) async throws -> RawConnection {
        let collector = FrameCollector()
        let tlsContext = try TLSContext(server.pki.clientTLS())
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if tls {
                        try channel.pipeline.syncOperations.addHandler(
                            try OpenSSLHandler(context: tlsContext, serverName: "127.0.0.1", logger: Logger(label: "raw")))
                    }
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(FrameDecoder()), FrameEncoder(), collector,
                    ])
                }
            }
            .connect(to: server.address).get()
        return RawConnection(channel: channel, collector: collector)
    }

    init(channel: any Channel, collector: FrameCollector) {
        self.channel = channel
        self.collector = collector
    }

    public func send(_ frames: Frame...) async throws {
        for frame in frames { channel.write(frame, promise: nil) }
        channel.flush()
    }

    /// Writes raw bytes below the frame encoder (still inside TLS).
    public func sendBytes(_ bytes: [UInt8]) async throws {
        let buffer = ByteBuffer(bytes: bytes)
        let channel = self.channel
        try await channel.eventLoop.submit {
            let encoderContext = try channel.pipeline.syncOperations.context(handlerType: FrameEncoder.self)
            encoderContext.writeAndFlush(NIOAny(buffer), promise: nil)
        }.get()
    }

    /// Waits up to `timeout` for a frame matching `predicate`.
    public func waitForFrame(timeout: Duration = .seconds(5), _ predicate: @escaping @Sendable (Frame) -> Bool) async throws -> Frame? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let frame = collector.frames.first(where: predicate) { return frame }
            try await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    public var frames: [Frame] { collector.frames }
    public var isClosed: Bool { !channel.isActive }

    public func close() async { try? await channel.close() }
}

final class FrameCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = Frame
    private let box = NIOLockedValueBox<[Frame]>([])

    var frames: [Frame] { box.withLockedValue { $0 } }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        box.withLockedValue { $0.append(frame) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
