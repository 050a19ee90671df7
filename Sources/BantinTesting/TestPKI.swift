import BantinRPC
import Foundation

/// Certificates for tests, made fresh in a temporary directory: a CA with server and client
/// certificates, plus the bad cases (another CA, an expired certificate, a wrong name).
public final class TestPKI: Sendable {
    public let directory: String

    public init() throws {
        directory = NSTemporaryDirectory() + "bantin-pki-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ca = try CertificateAuthority(commonName: "Test CA")
        try write("ca.pem", ca.certificatePEM)
        try save("server", try ca.issue(commonName: "server", names: ["localhost", "127.0.0.1"], usage: .serverAndClient))
        try save("server2", try ca.issue(commonName: "server-reloaded", names: ["localhost", "127.0.0.1"], usage: .serverAndClient))
        try save("client", try ca.issue(commonName: "test-client", names: [], usage: .client))
        try save("expired", try ca.issue(commonName: "expired", names: ["localhost", "127.0.0.1"], usage: .serverAndClient,
                                          notBefore: -172_800, notAfter: -86_400))
        let other = try CertificateAuthority(commonName: "Another CA")
        try write("other-ca.pem", other.certificatePEM)
        try save("stranger", try other.issue(commonName: "stranger", names: ["localhost", "127.0.0.1"], usage: .serverAndClient))
    }

    public func path(_ name: String) -> String { "\(directory)/\(name)" }

    public func serverTLS(_ name: String = "server") -> TLSConfiguration {
        TLSConfiguration(role: .server, caFile: path("ca.pem"), certificateFile: path("\(name).pem"), privateKeyFile: path("\(name)-key.pem"))
    }

    public func clientTLS(_ name: String? = "client", caFile: String = "ca.pem") -> TLSConfiguration {
        TLSConfiguration(role: .client, caFile: path(caFile), certificateFile: name.map { path("\($0).pem") },
                         privateKeyFile: name.map { path("\($0)-key.pem") })
    }

    /// Replaces the server certificate files with another issued certificate (for reload tests).
    public func installServerCertificate(from name: String) throws {
        for suffix in [".pem", "-key.pem"] {
            let contents = try String(contentsOfFile: path("\(name)\(suffix)"), encoding: .utf8)
            try DevelopmentPKI.write(contents, to: path("server\(suffix)"), secret: suffix != ".pem")
        }
    }

    private func save(_ name: String, _ issued: CertificateAuthority.Issued) throws {
        try write("\(name).pem", issued.certificatePEM)
        try write("\(name)-key.pem", issued.privateKeyPEM)
    }

    private func write(_ name: String, _ contents: String) throws {
        try contents.write(toFile: path(name), atomically: true, encoding: .utf8)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }
}
