import BantinCore
import BantinRPC
import BantinTesting
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// Records the deadline budget its calls arrive with, then sleeps until cancelled or `delayMillis` pass.
struct DeadlineProbe: RPCService {
    static let wait = Method<EchoRequest, EchoResponse>("/bantin.test.v1.Probe/Wait", kind: .unary)
    let remaining: NIOLockedValueBox<[TimeAmount?]>
    let cancelled: NIOLockedValueBox<Bool>

    func register(on router: inout Router) {
        let remaining = remaining, cancelled = cancelled
        router.unary(Self.wait) { request, context in
            remaining.withLockedValue { $0.append(context.remaining) }
            do {
                try await Task.sleep(for: .milliseconds(Int(request.delayMillis)))
            } catch {
                cancelled.withLockedValue { $0 = true }
                throw error
            }
            return EchoResponse(payload: request.payload)
        }
    }
}

/// Forwards each call to another server without setting a deadline of its own.
struct Relay: RPCService {
    static let forward = Method<EchoRequest, EchoResponse>("/bantin.test.v1.Relay/Forward", kind: .unary)
    let next: RPCClient

    func register(on router: inout Router) {
        let next = next
        router.unary(Self.forward) { request, _ in try await next.unary(DeadlineProbe.wait, request) }
    }
}

@Suite struct PropagationTests {
    @Test func theDeadlineTravelsToOutboundCallsWithWhatIsLeftOfIt() async throws {
        let pki = try TestPKI()
        let remaining = NIOLockedValueBox<[TimeAmount?]>([])
        let cancelled = NIOLockedValueBox(false)
        let downstream = try await TestServer.start(pki: pki, services: [DeadlineProbe(remaining: remaining, cancelled: cancelled)])
        let hop = try downstream.client()
        let upstream = try await TestServer.start(pki: pki, services: [Relay(next: hop)])
        let client = try upstream.client()
        // Both connections up first (handshakes are not what is measured), which also shows that without a
        // deadline upstream none is invented downstream.
        _ = try await client.unary(Relay.forward, EchoRequest(payload: [8], delayMillis: 1))
        #expect(remaining.withLockedValue { $0 } == [nil])

        let started = NIODeadline.now()
        let error = await #expect(throws: RPCError.self) {
            try await client.unary(Relay.forward, EchoRequest(payload: [7], delayMillis: 10_000), options: CallOptions(timeout: .milliseconds(800)))
        }
        #expect(error?.code == .deadlineExceeded)
        #expect(NIODeadline.now() - started < .seconds(5), "the downstream call must not run its 10 s")
        // The downstream server got a budget, and no more than the caller's 800 ms.
        let budget = try #require(remaining.withLockedValue { $0.count == 2 ? $0[1] : nil })
        #expect(budget > .zero && budget <= .milliseconds(800))
        try await waitUntil { cancelled.withLockedValue { $0 } }
        await client.close()
        await hop.close()
        await upstream.stop()
        await downstream.stop()
    }

    @Test func healthWatchStreamsStatusChanges() async throws {
        let server = try await TestServer.start(pki: try TestPKI())
        let client = try server.client()
        var request = HealthCheckRequest()
        request.service = ""
        let seen = try await client.serverStreaming(HealthService.watch, request) { responses in
            var seen: [HealthCheckResponse.ServingStatus] = []
            for try await response in responses {
                seen.append(response.status)
                if seen.count == 1 { server.server.health.setAll(.notServing) }
                if response.status == .notServing { break }
            }
            return seen
        }
        #expect(seen == [.serving, .notServing])
        await client.close()
        await server.stop()
    }
}
