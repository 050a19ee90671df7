import BantinCore
import BantinRPC
import BantinTesting
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

/// A call that a server refused with GOAWAY before handling it is sent once more on a new connection, whatever
/// the method; a call the server had taken is never repeated unless the method is idempotent.
@Suite struct TransparentRetryTests {
    /// A scripted server: its first connection answers the first call with GOAWAY naming `lastCallID`, or just
    /// closes; later connections answer every call with its own payload.
    final class ScriptedServer: Sendable {
        enum FirstConnection: Sendable { case goAway(lastCallIDBelowCall: Bool), close }
        let connections = NIOLockedValueBox(0)
        let channel: any Channel

        init(pki: TestPKI, first: FirstConnection) async throws {
            let context = try TLSContext(pki.serverTLS())
            let connections = self.connections
            channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let number = connections.withLockedValue { $0 += 1; return $0 }
                        try channel.pipeline.syncOperations.addHandlers([
                            try OpenSSLHandler(context: context, logger: Logger(label: "scripted")),
                            ByteToMessageHandler(FrameDecoder()), FrameEncoder(),
                            Script(refuse: number == 1 ? first : nil),
                        ])
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
        }

        var port: Int { channel.localAddress!.port! }

        final class Script: ChannelInboundHandler {
            typealias InboundIn = Frame
            typealias OutboundOut = Frame
            let refuse: FirstConnection?
            init(refuse: FirstConnection?) { self.refuse = refuse }

            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                let frame = unwrapInboundIn(data)
                switch (refuse, frame.type) {
                case (.goAway(let below)?, .headers):
                    let last = below ? frame.callID - 1 : frame.callID
                    let goAway = GoAway(lastCallID: last, code: .unavailable, reason: "scripted drain")
                    context.writeAndFlush(wrapOutboundOut(Frame(type: .goAway, callID: 0, payload: goAway.packed())), promise: nil)
                case (.close?, .message):
                    context.close(promise: nil)  // the call was received, then the server died
                case (nil, .message):
                    let request = try! EchoRequest(unpacking: frame.payload)
                    context.write(wrapOutboundOut(Frame(type: .message, callID: frame.callID, payload: EchoResponse(payload: request.payload).packed())), promise: nil)
                    context.writeAndFlush(wrapOutboundOut(Frame(type: .trailers, flags: .end, callID: frame.callID,
                                                                payload: CallTrailers(code: .ok).packed())), promise: nil)
                default:
                    break
                }
            }
        }
    }

    func client(_ pki: TestPKI, port: Int) throws -> RPCClient {
        var configuration = ClientConfiguration(tls: try TLSContextProvider(pki.clientTLS()))
        configuration.maxAttempts = 1  // as `bantin load` sets it: no ordinary retries at all
        configuration.interceptors = []
        return try RPCClient(target: "127.0.0.1:\(port)", configuration: configuration)
    }

    @Test func callRefusedUnprocessedByGoAwayGoesToANewConnection() async throws {
        let pki = try TestPKI()
        let server = try await ScriptedServer(pki: pki, first: .goAway(lastCallIDBelowCall: true))
        let client = try client(pki, port: server.port)
        let reply = try await client.unary(path: EchoService.echo.path, request: EchoRequest(payload: [1, 2, 3]).packed(), idempotent: false)
        #expect(try EchoResponse(unpacking: reply).payload == [1, 2, 3])
        #expect(server.connections.withLockedValue { $0 } == 2)
    }

    @Test func callTheServerHadTakenIsNotRepeated() async throws {
        let pki = try TestPKI()
        for script in [ScriptedServer.FirstConnection.goAway(lastCallIDBelowCall: false), .close] {
            let server = try await ScriptedServer(pki: pki, first: script)
            let client = try client(pki, port: server.port)
            let call = Task {
                try await client.unary(path: EchoService.echo.path, request: EchoRequest(payload: [1]).packed(), idempotent: false,
                                       options: CallOptions(timeout: .seconds(2)))
            }
            if case .goAway = script {
                // GOAWAY naming this call as taken: the call stays open until its deadline, on the old connection only.
                await #expect(throws: RPCError.self) { _ = try await call.value }
            } else {
                let error = await #expect(throws: RPCError.self) { _ = try await call.value }
                #expect(error?.code == .unavailable)
            }
            #expect(server.connections.withLockedValue { $0 } == 1, "\(script): a call the server had taken was sent again")
        }
    }
}
