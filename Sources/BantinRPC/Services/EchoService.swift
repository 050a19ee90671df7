import BantinCore

/// bantin.bench.v1.Echo: the benchmark target, and a service with every call shape for tests.
public struct EchoService: RPCService {
    public static let echo = Method<EchoRequest, EchoResponse>("/bantin.bench.v1.Echo/Echo", kind: .unary, idempotent: true)
    public static let collect = Method<EchoRequest, EchoResponse>("/bantin.bench.v1.Echo/Collect", kind: .clientStreaming)
    public static let expand = Method<EchoRequest, EchoResponse>("/bantin.bench.v1.Echo/Expand", kind: .serverStreaming)
    public static let chat = Method<EchoRequest, EchoResponse>("/bantin.bench.v1.Echo/Chat", kind: .bidirectionalStreaming)

    public init() {}

    public func register(on router: inout Router) {
        // The benchmark's method answers inline on the event loop, without a task per call.
        router.unary(Self.echo, immediate: { request, _ in
            guard request.delayMillis == 0 else {
                throw RPCError(.invalidArgument, "Echo answers at once; delay_millis is for Expand")
            }
            return EchoResponse(payload: request.payload)
        })
        router.clientStreaming(Self.collect) { requests, _ in
            var all: [UInt8] = []
            for try await request in requests { all += request.payload }
            return EchoResponse(payload: all)
        }
        router.serverStreaming(Self.expand) { request, writer, _ in
            for byte in request.payload {
                if request.delayMillis > 0 { try await Task.sleep(for: .milliseconds(Int(request.delayMillis))) }
                try await writer.write(EchoResponse(payload: [byte]))
            }
        }
        router.bidirectionalStreaming(Self.chat) { requests, writer, _ in
            for try await request in requests {
                try await writer.write(EchoResponse(payload: request.payload))
            }
        }
    }
}
