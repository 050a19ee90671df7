import Foundation
import BantinCore
import BantinRPC
import BantinTesting
import NIOCore
import NIOPosix
import Testing

@Suite struct TLSTests {
    let echo = EchoRequest(payload: Array("Nông Thanh Tùng".utf8))

    @Test func mutualTLSHandshakeAndCall() async throws {
        let pki = try TestPKI()
        let server = try await TestServer.start(pki: pki)
        let client = try server.client()
        let reply = try await client.unary(EchoService.echo, echo)
        #expect(reply.payload == echo.payload)
        await client.close()
        await server.stop()
    }

    @Test func plaintextClientIsRefusedBeforeAnyFrame() async throws {
        let pki = try TestPKI()
        let server = try await TestServer.start(pki: pki)
        let raw = try await RawConnection.connect(to: server, tls: false)
        let headers = CallHeaders(method: EchoService.echo.path)
        try await raw.send(Frame(type: .headers, callID: 1, payload: headers.packed()))
        try await waitUntil { raw.isClosed }
        #expect(raw.frames.isEmpty)
        #expect(server.logs.contains("TLS handshake refused"))
        #expect(server.logs.contains("not speaking TLS"))
        #expect(!server.logs.contains("call finished"))
        await server.stop()
    }

    @Test func missingClientCertificateIsRefused() async throws {
        let pki = try TestPKI()
        let server = try await TestServer.start(pki: pki)
        let client = try server.client(certificate: nil)
        await #expect(throws: RPCError.self) { try await client.unary(EchoService.echo, echo) }
        try await waitUntil { server.logs.contains("TLS handshake refused") }
        #expect(server.logs.contains("peer did not return a certificate"))
        #expect(!server.logs.contains("call finished"))
        await server.stop()
    }

    @Test func clientCertificateFromAnotherCAIsRefused() async throws {
        let pki = try TestPKI()
        let server = try await TestServer.start(pki: pki)
        let client = try server.client(certificate: "stranger")
        await #expect(throws: RPCError.self) { try await client.unary(EchoService.echo, echo) }
        try await waitUntil { server.logs.contains("TLS handshake refused") }
        #expect(server.logs.contains("unable to get local issuer certificate") || server.logs.contains("certificate verify failed"))
        await server.stop()
    }

    @Test func wrongServerNameIsRefusedByTheClient() async throws {
        let pki = try TestPKI()
        let server = try await TestServer.start(pki: pki)
        let client = try server.client(serverName: "bantin-query.elsewhere.example")
        let error = await #expect(throws: RPCError.self) { try await client.unary(EchoService.echo, echo) }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("hostname mismatch") == true)
        await server.stop()
    }

    @Test func expiredServerCertificateIsRefused() async throws {
        let pki = try TestPKI()
        let server = try await TestServer.start(pki: pki, serverCertificate: "expired")
        let client = try server.client()
        let error = await #expect(throws: RPCError.self) { try await client.unary(EchoService.echo, echo) }
        #expect(error?.message.contains("certificate has expired") == true)
        await server.stop()
    }

    @Test func expiredClientCertificateIsRefused() async throws {
        let pki = try TestPKI()
        let server = try await TestServer.start(pki: pki)
        let client = try server.client(certificate: "expired")
        await #expect(throws: RPCError.self) { try await client.unary(EchoService.echo, echo) }
        try await waitUntil { server.logs.contains("certificate has expired") }
        await server.stop()
    }

    @Test func certificateReloadAppliesToNewConnectionsOnly() async throws {
        let pki = try TestPKI()
        let server = try await TestServer.start(pki: pki)
        let first = try server.client()
        _ = try await first.unary(EchoService.echo, echo)

        // Swap in an expired certificate: new handshakes must see it, the open connection must not drop.
        try pki.installServerCertificate(from: "expired")
        #expect(server.server.reloadCertificates())
        #expect(server.logs.contains("reloaded TLS certificates"))

        let second = try server.client()
        let error = await #expect(throws: RPCError.self) { try await second.unary(EchoService.echo, echo) }
        #expect(error?.message.contains("certificate has expired") == true)

        let again = try await first.unary(EchoService.echo, echo)
        #expect(again.payload == echo.payload)
        await first.close()
        await server.stop()
    }

    /// A client with valid certificates that speaks another protocol (ALPN h2, or none at all) is refused.
    /// The client is OpenSSL's own `s_client`, so the refusal does not depend on our client code.
    @Test(arguments: [["-alpn", "h2"], []])
    func clientWithoutTheBantinALPNIsRefused(alpn: [String]) async throws {
        let pki = try TestPKI()
        let server = try await TestServer.start(pki: pki)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["s_client", "-connect", server.target, "-CAfile", pki.path("ca.pem"),
                             "-cert", pki.path("client.pem"), "-key", pki.path("client-key.pem"), "-quiet"] + alpn
        process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        try await waitUntil(timeout: .seconds(10)) { server.logs.contains("TLS handshake refused") }
        #expect(server.logs.contains(alpn.isEmpty ? "did not agree on ALPN protocol bantin/1" : "TLS handshake refused"))
        #expect(!server.logs.contains("call finished"))
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        await server.stop()
    }

    @Test func certificateFileChangeIsPickedUpByTheWatcher() async throws {
        let pki = try TestPKI()
        let provider = try TLSContextProvider(pki.serverTLS())
        let before = provider.current
        provider.watch(interval: .milliseconds(50), onSIGHUP: false)
        try await Task.sleep(for: .milliseconds(1100))  // let the file mtime move past the second
        try pki.installServerCertificate(from: "server2")
        try await waitUntil { provider.current !== before }
        provider.stopWatching()
    }
}

func waitUntil(timeout: Duration = .seconds(5), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within \(timeout)")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
