import COpenSSL
import Foundation

/// A certificate authority for development and tests: ECDSA P-256 keys, SHA-256 signatures,
/// made with the system OpenSSL. Production deployments bring their own PKI.
public final class CertificateAuthority: @unchecked Sendable {
    let key: OpaquePointer
    let certificate: OpaquePointer

    public enum Usage: Sendable { case server, client, serverAndClient }

    /// A certificate and its key, PEM-encoded.
    public struct Issued: Sendable {
        public var certificatePEM: String
        public var privateKeyPEM: String
    }

    public init(commonName: String, validFor: TimeInterval = 10 * 365 * 86_400) throws {
        key = try generateKey()
        certificate = try makeCertificate(
            subjectKey: key, commonName: commonName, issuer: nil, issuerKey: key,
            notBefore: -3600, notAfter: validFor, extensions: [
                (NID_basic_constraints, "critical,CA:TRUE"),
                (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_key_identifier, "hash"),
            ])
    }

    deinit {
        EVP_PKEY_free(key)
        X509_free(certificate)
    }

    public var certificatePEM: String { pem { PEM_write_bio_X509($0, certificate) } }
    public var privateKeyPEM: String { pem { PEM_write_bio_PrivateKey($0, key, nil, nil, 0, nil, nil) } }

    /// Issues a leaf certificate.
    /// - Parameters:
    ///   - names: subject alternative names; IP addresses become IP SANs, the rest DNS SANs.
    ///   - notBefore, notAfter: seconds from now (negative for the past: expired certificates for tests).
    public func issue(commonName: String, names: [String], usage: Usage,
                      notBefore: TimeInterval = -3600, notAfter: TimeInterval = 825 * 86_400) throws -> Issued {
        let leafKey = try generateKey()
        defer { EVP_PKEY_free(leafKey) }
        var extensions: [(Int32, String)] = [
            (NID_basic_constraints, "critical,CA:FALSE"),
            (NID_key_usage, "critical,digitalSignature"),
            (NID_subject_key_identifier, "hash"),
            (NID_authority_key_identifier, "keyid:always"),
        ]
        switch usage {
        case .server: extensions.append((NID_ext_key_usage, "serverAuth"))
        case .client: extensions.append((NID_ext_key_usage, "clientAuth"))
        case .serverAndClient: extensions.append((NID_ext_key_usage, "serverAuth,clientAuth"))
        }
        if !names.isEmpty {
            let sans = names.map { isIPAddress($0) ? "IP:\($0)" : "DNS:\($0)" }.joined(separator: ",")
            extensions.append((NID_subject_alt_name, sans))
        }
        let cert = try makeCertificate(subjectKey: leafKey, commonName: commonName, issuer: certificate, issuerKey: key,
                                       notBefore: notBefore, notAfter: notAfter, extensions: extensions)
        defer { X509_free(cert) }
        return Issued(certificatePEM: pem { PEM_write_bio_X509($0, cert) },
                      privateKeyPEM: pem { PEM_write_bio_PrivateKey($0, leafKey, nil, nil, 0, nil, nil) })
    }
}

private func generateKey() throws -> OpaquePointer {
    guard let key = bantin_generate_p256_key() else { throw TLSError.configuration("P-256 key generation failed: \(openSSLErrors())") }
    return key
}

private func makeCertificate(subjectKey: OpaquePointer, commonName: String, issuer: OpaquePointer?, issuerKey: OpaquePointer,
                             notBefore: TimeInterval, notAfter: TimeInterval, extensions: [(Int32, String)]) throws -> OpaquePointer {
    guard let cert = X509_new() else { throw TLSError.configuration("X509_new failed") }
    X509_set_version(cert, 2)
    // 127-bit random serial, as CAs are expected to use unpredictable serials.
    var serialBytes = [UInt8](repeating: 0, count: 16)
    RAND_bytes(&serialBytes, 16)
    serialBytes[0] &= 0x7f
    let bn = BN_bin2bn(serialBytes, 16, nil)
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert))
    BN_free(bn)
    X509_gmtime_adj(X509_getm_notBefore(cert), Int(notBefore))
    X509_gmtime_adj(X509_getm_notAfter(cert), Int(notAfter))
    X509_set_pubkey(cert, subjectKey)
    let name = X509_get_subject_name(cert)
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, "Bantin development", -1, -1, 0)
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, commonName, -1, -1, 0)
    X509_set_issuer_name(cert, issuer.map { X509_get_subject_name($0) } ?? name)
    var v3 = X509V3_CTX()
    bantin_x509v3_ctx_init(&v3, issuer ?? cert, cert)
    for (nid, value) in extensions {
        guard let ext = X509V3_EXT_conf_nid(nil, &v3, nid, value) else {
            X509_free(cert)
            throw TLSError.configuration("bad certificate extension \(value): \(openSSLErrors())")
        }
        X509_add_ext(cert, ext, -1)
        X509_EXTENSION_free(ext)
    }
    guard X509_sign(cert, issuerKey, EVP_sha256()) > 0 else {
        X509_free(cert)
        throw TLSError.configuration("certificate signing failed: \(openSSLErrors())")
    }
    return cert
}

private func pem(_ write: (OpaquePointer) -> Int32) -> String {
    let bio = BIO_new(BIO_s_mem())!
    defer { BIO_free(bio) }
    _ = write(bio)
    var out = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(bio)))
    let n = BIO_read(bio, &out, Int32(out.count))
    return String(decoding: out.prefix(Int(max(n, 0))), as: UTF8.self)
}

/// `bantin certs init`: the files every Bantin service and client reads by default.
public enum DevelopmentPKI {
    /// Names every local and in-cluster service is dialed by, for the default namespace "bantin".
    public static func defaultNames(namespace: String = "bantin") -> [String] {
        var names = ["localhost", "127.0.0.1", "::1"]
        // The Services of deploy/base, each headless: clients dial the Service name and reach a pod directly.
        for service in ["bantin-ingest", "bantin-extract", "bantin-query"] {
            names += [service, "\(service).\(namespace)", "\(service).\(namespace).svc", "\(service).\(namespace).svc.cluster.local"]
        }
        return names
    }

    /// Writes ca.pem, ca-key.pem, server.pem, server-key.pem, client.pem, client-key.pem into `directory`.
    /// Keys are written with mode 0600. Returns the paths written.
    @discardableResult
    public static func initialize(directory: String, extraNames: [String] = [], namespace: String = "bantin") throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ca = try CertificateAuthority(commonName: "Bantin development CA")
        let server = try ca.issue(commonName: "bantin-server", names: defaultNames(namespace: namespace) + extraNames, usage: .serverAndClient)
        let client = try ca.issue(commonName: "bantin-client", names: ["bantin-client"], usage: .client)
        let files: [(String, String, Bool)] = [
            ("ca.pem", ca.certificatePEM, false), ("ca-key.pem", ca.privateKeyPEM, true),
            ("server.pem", server.certificatePEM, false), ("server-key.pem", server.privateKeyPEM, true),
            ("client.pem", client.certificatePEM, false), ("client-key.pem", client.privateKeyPEM, true),
        ]
        var written: [String] = []
        for (name, contents, secret) in files {
            let path = "\(directory)/\(name)"
            try write(contents, to: path, secret: secret)
            written.append(path)
        }
        return written
    }

    /// The two Secrets deploy/base mounts, bantin-server-tls and bantin-client-tls, as a Kubernetes manifest made from a
    /// PKI directory: type kubernetes.io/tls with ca.crt, the layout cert-manager writes too.
    public static func kubernetesSecrets(directory: String, namespace: String) throws -> String {
        func base64(_ file: String) throws -> String {
            guard let data = FileManager.default.contents(atPath: "\(directory)/\(file)") else {
                throw TLSError.configuration("cannot read \(directory)/\(file)")
            }
            return data.base64EncodedString()
        }
        var manifest = "# Made by `bantin certs init`: the TLS Secrets deploy/base mounts. Keys inside: keep this file private.\n"
        for (name, certificate, key) in [("bantin-server-tls", "server.pem", "server-key.pem"), ("bantin-client-tls", "client.pem", "client-key.pem")] {
            manifest += """
                ---
                apiVersion: v1
                kind: Secret
                metadata:
                  name: \(name)
                  namespace: \(namespace)
                  labels:
                    app.kubernetes.io/part-of: bantin
                type: kubernetes.io/tls
                data:
                  ca.crt: \(try base64("ca.pem"))
                  tls.crt: \(try base64(certificate))
                  tls.key: \(try base64(key))

                """
        }
        return manifest
    }

    /// Writes atomically (temp file + rename) so a watching server never reads half a file.
    public static func write(_ contents: String, to path: String, secret: Bool) throws {
        let temp = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temp, contents: Data(contents.utf8),
                                             attributes: [.posixPermissions: secret ? 0o600 : 0o644]) else {
            throw TLSError.configuration("cannot write \(path)")
        }
        guard rename(temp, path) == 0 else { throw TLSError.configuration("cannot write \(path): \(String(cString: strerror(errno)))") }
    }
}
