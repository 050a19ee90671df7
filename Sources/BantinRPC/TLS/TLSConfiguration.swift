import NIOCore

/// PEM files and policy for one side of a mutually authenticated TLS connection.
public struct TLSConfiguration: Sendable {
    public enum Role: Sendable { case server, client }
    public enum MinimumVersion: Sendable { case tls13, tls12 }

    public var role: Role
    /// CA bundle that peers' certificates must chain to.
    public var caFile: String
    /// This side's certificate (chain) and key. A client may leave them nil only when the
    /// server does not require client certificates.
    public var certificateFile: String?
    public var privateKeyFile: String?
    public var minimumVersion: MinimumVersion = .tls13
    /// Servers: require and verify a client certificate (mutual TLS). On by default.
    public var requireClientCertificate = true
    public var handshakeTimeout: TimeAmount = .seconds(10)
    /// ALPN protocol both sides must agree on.
    public static let alpn = "bantin/1"

    public init(role: Role, caFile: String, certificateFile: String?, privateKeyFile: String?) {
        self.role = role
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.privateKeyFile = privateKeyFile
    }

    /// The conventional layout made by `bantin certs init DIR`.
    public static func server(pkiDirectory dir: String) -> TLSConfiguration {
        TLSConfiguration(role: .server, caFile: "\(dir)/ca.pem", certificateFile: "\(dir)/server.pem", privateKeyFile: "\(dir)/server-key.pem")
    }

    public static func client(pkiDirectory dir: String) -> TLSConfiguration {
        TLSConfiguration(role: .client, caFile: "\(dir)/ca.pem", certificateFile: "\(dir)/client.pem", privateKeyFile: "\(dir)/client-key.pem")
    }
}

public enum TLSError: Error, CustomStringConvertible, Equatable {
    case configuration(String)
    case handshakeFailed(String)
    case handshakeTimedOut(TimeAmount)
    case connectionFailed(String)

    public var description: String {
        switch self {
        case .configuration(let m): "TLS configuration: \(m)"
        case .handshakeFailed(let m): "TLS handshake failed: \(m)"
        case .handshakeTimedOut(let t): "TLS handshake timed out after \(t.nanoseconds / 1_000_000) ms"
        case .connectionFailed(let m): "TLS connection failed: \(m)"
        }
    }
}

/// Who is on the other end, read once per connection from the verified peer certificate.
public struct PeerIdentity: Sendable, Equatable {
    public var commonName: String
    /// "DNS:name" and "IP:address" entries.
    public var subjectAlternativeNames: [String]
    public var serialNumber: String

    public init(commonName: String, subjectAlternativeNames: [String], serialNumber: String) {
        self.commonName = commonName
        self.subjectAlternativeNames = subjectAlternativeNames
        self.serialNumber = serialNumber
    }
}

/// Fired through the pipeline when the handshake completes.
public struct TLSHandshakeCompleted: Sendable {
    public var peer: PeerIdentity?
    public var protocolVersion: String
    public var alpn: String
}
