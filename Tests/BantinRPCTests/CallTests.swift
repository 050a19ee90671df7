import BantinCore
import BantinRPC
import BantinTesting
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// A handler that sleeps until cancelled, recording that it saw the cancellation.
struct SlowService: RPCService {
    static let wait = Method<EchoRequest, EchoResponse>("/bantin.test.v1.Slow/Wait", kind: .unary)
    let sawCancellation: NIOLockedValueBox<Bool>
    let started: NIOLockedValueBox<Int>

    func register(on router: inout Router) {
        let saw = sawCancellation
        let started = started
        router.unary(Self.wait) { request, _ in
            started.withLockedValue { $0 += 1 }
            do {
                try await Task.sleep(for: .milliseconds(Int(request.delayMillis)))
            } catch is CancellationError {
                saw.withLockedValue { $0 = true }
                throw CancellationError()
            }
            return EchoResponse(payload: request.payload)
        }
    }
}

@Suite struct CallTests {
    @Test func allFourCallShapesRoundTrip() async throws {
        let server = try await TestServer.start(pki: try TestPKI())
        let client = try server.client()
        let payload = Array("Chỉ thị số 07-CT/TW".utf8)

        let unary = try await client.unary(EchoService.echo, EchoRequest(payload: payload))
        #expect(unary.payload == payload)

        // More messages than the initial window, so WINDOW frames must flow.
        let collected = try await client.clientStreaming(EchoService.collect) { writer in
            for byte in payload + payload + payload { try await writer.write(EchoRequest(payload: [byte])) }
        }
        #expect(collected.payload == payload + payload + payload)

        let expanded = try await client.serverStreaming(EchoService.expand, EchoRequest(payload: payload + payload)) { responses in
            var all: [UInt8] = []
            for try await r in responses { all += r.payload }
            return all
        }
        #expect(expanded == payload + payload)

        let chatted = try await client.bidirectionalStreaming(EchoService.chat) { writer, responses in
            var got: [[UInt8]] = []
            var iterator = responses.makeAsyncIterator()
            for i in 0..<100 {
                try await writer.write(EchoRequest(payload: [UInt8(i)]))
                got.append(try await iterator.next()!.payload)
            }
            try writer.finish()
            #expect(try await iterator.next() == nil)
            return got
        }
        #expect(chatted == (0..<100).map { [UInt8($0)] })
        await client.close()
        await server.stop()
    }

    @Test func thousandConcurrentCallsOnOneConnection() async throws {
        let started = NIOLockedValueBox(0)
        let slow = SlowService(sawCancellation: NIOLockedValueBox(false), started: started)
        let server = try await TestServer.start(pki: try TestPKI(), services: [slow]) { $0.maxConcurrentCalls = 1000 }
        let client = try server.client()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<1000 {
                group.addTask {
                    // Each handler waits 200 ms, so the calls overlap on the connection.
                    let payload = Array("call \(i)".utf8)
                    let reply = try await client.unary(SlowService.wait, EchoRequest(payload: payload, delayMillis: 200))
                    #expect(reply.payload == payload)
                }
            }
            try await group.waitForAll()
        }
        #expect(started.withLockedValue { $0 } == 1000)
        await client.close()
        await server.stop()
    }

    @Test func deadlineExceededAndTheHandlerSeesCancellation() async throws {
        let saw = NIOLockedValueBox(false)
        let service = SlowService(sawCancellation: saw, started: NIOLockedValueBox(0))
        let server = try await TestServer.start(pki: try TestPKI(), services: [service])
        let client = try server.client()
        // Connect first, so the deadline is spent on the call and not on a TLS handshake on a busy
        // machine (where the call could expire before it is sent and the handler would never run).
        _ = try await client.unary(HealthService.check, HealthCheckRequest())
        let error = await #expect(throws: RPCError.self) {
            try await client.unary(SlowService.wait, EchoRequest(payload: [1], delayMillis: 10_000), options: CallOptions(timeout: .milliseconds(500)))
        }
        #expect(error?.code == .deadlineExceeded)
        try await waitUntil { saw.withLockedValue { $0 } }
        await client.close()
        await server.stop()
    }

    /// One timer serves every deadline on a connection: a call with an earlier deadline than the one armed must
    /// re-arm it, and after it fires the next deadline must still be kept, while a call with a far deadline runs on.
    @Test func deadlinesOnOneConnectionExpireInTurn() async throws {
        let started = NIOLockedValueBox(0)
        let service = SlowService(sawCancellation: NIOLockedValueBox(false), started: started)
        let server = try await TestServer.start(pki: try TestPKI(), services: [service])
        let client = try server.client()
        _ = try await client.unary(HealthService.check, HealthCheckRequest())
        let farEnded = NIOLockedValueBox(false)
        let far = Task {
            defer { farEnded.withLockedValue { $0 = true } }
            return try await client.unary(SlowService.wait, EchoRequest(payload: [0], delayMillis: 60_000),
                                          options: CallOptions(timeout: .seconds(120)))
        }
        try await waitUntil { started.withLockedValue { $0 } == 1 }
        func failure(delayMillis: Int, timeoutMillis: Int) async -> StatusCode? {
            do {
                _ = try await client.unary(SlowService.wait, EchoRequest(payload: [1], delayMillis: UInt32(delayMillis)),
                                           options: CallOptions(timeout: .milliseconds(timeoutMillis)))
                return nil
            } catch {
                return RPCError(from: error).code
            }
        }
        async let first = failure(delayMillis: 60_000, timeoutMillis: 300)
        async let second = failure(delayMillis: 60_000, timeoutMillis: 900)
        let codes = await [first, second]
        #expect(codes == [.deadlineExceeded, .deadlineExceeded])
        #expect(started.withLockedValue { $0 } == 3)
        // The far call was not swept with them, and the connection still serves calls.
        #expect(!farEnded.withLockedValue { $0 })
        let reply = try await client.unary(SlowService.wait, EchoRequest(payload: [7], delayMillis: 0))
        #expect(reply.payload == [7])
        far.cancel()
        await #expect(throws: (any Error).self) { try await far.value }
        await client.close()
        await server.stop()
    }

    /// A server that answers a unary call with the wrong number of messages (here: a streaming handler behind the
    /// path the client calls as unary) gets INTERNAL with the reason, not a silently dropped message or a hang.
    @Test func unaryCallAnsweredWithTwoMessagesOrNoneIsInternal() async throws {
        struct Miscount: RPCService {
            static let streamed = Method<EchoRequest, EchoResponse>("/bantin.test.v1.Miscount/Say", kind: .serverStreaming)
            static let asUnary = Method<EchoRequest, EchoResponse>("/bantin.test.v1.Miscount/Say", kind: .unary)
            func register(on router: inout Router) {
                router.serverStreaming(Self.streamed) { request, writer, _ in
                    for _ in 0..<request.delayMillis { try await writer.write(EchoResponse(payload: request.payload)) }
                }
            }
        }
        let server = try await TestServer.start(pki: try TestPKI(), services: [Miscount()])
        let client = try server.client()
        let one = try await client.unary(Miscount.asUnary, EchoRequest(payload: [1], delayMillis: 1))
        #expect(one.payload == [1])
        for (count, reason) in [(2, "more than one response"), (0, "sent no response")] {
            let error = await #expect(throws: RPCError.self) {
                try await client.unary(Miscount.asUnary, EchoRequest(payload: [1], delayMillis: UInt32(count)))
            }
            #expect(error?.code == .internal)
            #expect(error?.message.contains(reason) == true)
        }
        await client.close()
        await server.stop()
    }

    @Test func expiredDeadlineFailsWithoutSending() async throws {
        let server = try await TestServer.start(pki: try TestPKI())
        let client = try server.client()
        let error = await #expect(throws: RPCError.self) {
            try await client.unary(EchoService.echo, EchoRequest(payload: []), options: CallOptions(timeout: .zero))
        }
        #expect(error?.code == .deadlineExceeded)
        await server.stop()
    }

    @Test func clientCancellationReachesTheHandler() async throws {
        let saw = NIOLockedValueBox(false)
        let started = NIOLockedValueBox(0)
        let server = try await TestServer.start(pki: try TestPKI(), services: [SlowService(sawCancellation: saw, started: started)])
        let client = try server.client()
        let task = Task { try await client.unary(SlowService.wait, EchoRequest(payload: [], delayMillis: 10_000)) }
        try await waitUntil { started.withLockedValue { $0 } == 1 }
        task.cancel()
        let result = await task.result
        #expect((try? result.get()) == nil)
        try await waitUntil { saw.withLockedValue { $0 } }
        await client.close()
        await server.stop()
    }

    @Test func resourceExhaustedPastTheCallLimit() async throws {
        let started = NIOLockedValueBox(0)
        let service = SlowService(sawCancellation: NIOLockedValueBox(false), started: started)
        let server = try await TestServer.start(pki: try TestPKI(), services: [service]) { $0.maxConcurrentCalls = 4 }
        let client = try server.client()
        let slow = (0..<4).map { _ in
            // They never finish by themselves: the test cancels them.
            Task { try await client.unary(SlowService.wait, EchoRequest(payload: [], delayMillis: 60_000)) }
        }
        try await waitUntil { started.withLockedValue { $0 } == 4 }
        let error = await #expect(throws: RPCError.self) { try await client.unary(SlowService.wait, EchoRequest(payload: [])) }
        #expect(error?.code == .resourceExhausted)
        for t in slow { t.cancel() }
        await client.close()
        await server.stop()
    }

    @Test func echoAnswersInlineAndRefusesADelay() async throws {
        let server = try await TestServer.start(pki: try TestPKI())
        let client = try server.client()
        let error = await #expect(throws: RPCError.self) { try await client.unary(EchoService.echo, EchoRequest(payload: [1], delayMillis: 5)) }
        #expect(error?.code == .invalidArgument)
        #expect(try await client.unary(EchoService.echo, EchoRequest(payload: [2])).payload == [2])
        await client.close()
        await server.stop()
    }

    @Test func unknownMethodIsUnimplemented() async throws {
        let server = try await TestServer.start(pki: try TestPKI())
        let client = try server.client()
        let error = await #expect(throws: RPCError.self) {
            try await client.unary(path: "/bantin.nowhere.v1.Nothing/Nada", request: ByteBuffer(), idempotent: false)
        }
        #expect(error?.code == .unimplemented)
        #expect(error?.message.contains("/bantin.nowhere.v1.Nothing/Nada") == true)
        await server.stop()
    }

    @Test func malformedProtobufBodyIsInvalidArgument() async throws {
        let server = try await TestServer.start(pki: try TestPKI())
        let client = try server.client()
        // Field 1 (bytes) claims 100 bytes but the body ends after 2: not a valid EchoRequest.
        let error = await #expect(throws: RPCError.self) {
            try await client.unary(path: EchoService.echo.path, request: ByteBuffer(bytes: [0x0A, 100, 1, 2]), idempotent: false)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("bantin.bench.v1.EchoRequest") == true)
        // The connection is still good.
        let ok = try await client.unary(EchoService.echo, EchoRequest(payload: [9]))
        #expect(ok.payload == [9])
        await server.stop()
    }

    @Test func invalidUTF8InAStringFieldIsInvalidArgument() async throws {
        let server = try await TestServer.start(pki: try TestPKI())
        let client = try server.client()
        // HealthCheckRequest.service (field 1, string) = 0xC3 0x28, not UTF-8.
        let error = await #expect(throws: RPCError.self) {
            try await client.unary(path: HealthService.check.path, request: ByteBuffer(bytes: [0x0A, 2, 0xC3, 0x28]), idempotent: false)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("first bad byte at offset 0") == true)
        await server.stop()
    }

    @Test(arguments: [16_383, 16_384, 70_000, 3_600_000])
    func largeMessagesRoundTrip(size: Int) async throws {
        let server = try await TestServer.start(pki: try TestPKI())
        let client = try server.client()
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let reply = try await client.unary(EchoService.echo, EchoRequest(payload: payload))
        #expect(reply.payload == payload)
        // The connection is still usable afterwards.
        #expect(try await client.unary(EchoService.echo, EchoRequest(payload: [1, 2, 3])).payload == [1, 2, 3])
        await client.close()
        await server.stop()
    }

    @Test func oversizedFrameClosesTheConnectionWithGoAway() async throws {
        let server = try await TestServer.start(pki: try TestPKI()) { $0.maxFrameSize = 1024 }
        let raw = try await RawConnection.connect(to: server)
        try await raw.send(Frame(type: .message, callID: 1, payload: ByteBuffer(repeating: 0, count: 2048)))
        let goAway = try await raw.waitForFrame { $0.type == .goAway }
        let decoded = try goAway.map { try GoAway(unpacking: $0.payload) }
        #expect(decoded?.code == .resourceExhausted)
        #expect(decoded?.reason.contains("exceeds the limit of 1024 bytes") == true)
        try await waitUntil { raw.isClosed }
        await server.stop()
    }

    @Test func garbageAfterTheHandshakeClosesTheConnectionWithGoAway() async throws {
        let server = try await TestServer.start(pki: try TestPKI())
        let raw = try await RawConnection.connect(to: server)
        try await raw.sendBytes(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        let goAway = try await raw.waitForFrame { $0.type == .goAway }
        #expect(goAway != nil)
        try await waitUntil { raw.isClosed }
        await server.stop()
    }

    @Test func goAwayDrainLetsInFlightCallsFinishAndRefusesNewOnes() async throws {
        let started = NIOLockedValueBox(0)
        let service = SlowService(sawCancellation: NIOLockedValueBox(false), started: started)
        let server = try await TestServer.start(pki: try TestPKI(), services: [service])
        let raw = try await RawConnection.connect(to: server)
        // Long enough that the refused call below certainly arrives while this one is in flight.
        let slow = EchoRequest(payload: [7], delayMillis: 2_000)
        try await raw.send(Frame(type: .headers, callID: 1, payload: CallHeaders(method: SlowService.wait.path).packed()),
                           Frame(type: .message, flags: .end, callID: 1, payload: slow.packed()))
        try await waitUntil { started.withLockedValue { $0 } == 1 }
        let shutdown = Task { await server.stop() }
        _ = try await raw.waitForFrame { $0.type == .goAway }
        // A call opened after GOAWAY is refused with UNAVAILABLE...
        try await raw.send(Frame(type: .headers, callID: 3, payload: CallHeaders(method: EchoService.echo.path).packed()),
                           Frame(type: .message, flags: .end, callID: 3, payload: EchoRequest(payload: []).packed()))
        let refused = try await raw.waitForFrame { $0.type == .trailers && $0.callID == 3 }
        #expect(try refused.map { try CallTrailers(unpacking: $0.payload).code } == .unavailable)
        // ...while the one in flight completes with its answer.
        let answer = try await raw.waitForFrame { $0.type == .message && $0.callID == 1 }
        #expect(try answer.map { try EchoResponse(unpacking: $0.payload).payload } == [7])
        let trailers = try await raw.waitForFrame { $0.type == .trailers && $0.callID == 1 }
        #expect(try trailers.map { try CallTrailers(unpacking: $0.payload).code } == .ok)
        await shutdown.value
        try await waitUntil { raw.isClosed }
    }

    @Test func keepaliveNoticesAPeerThatStoppedAnswering() async throws {
        // The raw connection never answers PINGs.
        let server = try await TestServer.start(pki: try TestPKI()) {
            $0.keepaliveInterval = .milliseconds(100)
            $0.keepaliveTimeout = .milliseconds(300)
        }
        let raw = try await RawConnection.connect(to: server)
        _ = try await raw.waitForFrame { $0.type == .ping }
        try await waitUntil { raw.isClosed }
        #expect(server.logs.contains("did not answer a keepalive ping"))
        await server.stop()
    }

    @Test func healthAndReflection() async throws {
        let server = try await TestServer.start(pki: try TestPKI())
        let client = try server.client()
        #expect(try await client.unary(HealthService.check, HealthCheckRequest()).status == .serving)
        let unknown = await #expect(throws: RPCError.self) {
            try await client.unary(HealthService.check, HealthCheckRequest(service: "nope"))
        }
        #expect(unknown?.code == .notFound)
        let methods = try await client.unary(ReflectionService.listMethods, ListMethodsRequest()).methods
        let echo = methods.first { $0.path == EchoService.echo.path }
        #expect(echo?.requestType == "bantin.bench.v1.EchoRequest")
        #expect(echo?.idempotent == true)
        #expect(methods.contains { $0.path == EchoService.chat.path && $0.clientStreaming && $0.serverStreaming })
        #expect(methods.contains { $0.path == HealthService.watch.path && $0.serverStreaming })
        await server.stop()
    }

    @Test func idempotentCallsRetryOnAnotherAddressAndRoundRobin() async throws {
        // "localhost" resolves to 127.0.0.1 (and maybe ::1, where nothing listens): calls still succeed.
        let server = try await TestServer.start(pki: try TestPKI())
        var configuration = ClientConfiguration(tls: try TLSContextProvider(server.pki.clientTLS()))
        configuration.initialBackoff = .milliseconds(10)
        let client = try RPCClient(target: "localhost:\(server.address.port!)", configuration: configuration)
        for _ in 0..<10 {
            _ = try await client.unary(EchoService.echo, EchoRequest(payload: [1]))
        }
        await client.close()
        await server.stop()
    }

    @Test func reconnectsAfterTheServerGoesAway() async throws {
        let pki = try TestPKI()
        let first = try await TestServer.start(pki: pki)
        let client = try first.client()
        _ = try await client.unary(EchoService.echo, EchoRequest(payload: [1]))
        await first.stop()
        let error = await #expect(throws: RPCError.self) { try await client.unary(EchoService.echo, EchoRequest(payload: [1])) }
        #expect(error?.code == .unavailable)
        await client.close()
    }
}
