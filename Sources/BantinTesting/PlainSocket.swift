import Glibc

/// Blocking plain-TCP exchanges with a server on 127.0.0.1, for tests: an HTTP GET on an operations port, or bytes
/// that are not TLS sent to a TLS port. Sends everything, then reads until the server closes or `timeout` passes.
public enum PlainSocket {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func exchange(port: Int, send bytes: [UInt8], timeoutSeconds: Int = 5) throws -> [UInt8] {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect to 127.0.0.1:\(port) failed: errno \(errno)") }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { break }  // the server may close early (a TLS port refusing plaintext)
            sent += n
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            received += chunk[..<n]
        }
        return received
    }

    /// `GET path` with `Connection: close`: the status code and the body.
    public static func get(port: Int, _ path: String) throws -> (status: Int, body: String) {
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        let response = String(decoding: try exchange(port: port, send: Array(request.utf8)), as: UTF8.self)
        guard let statusLine = response.split(separator: "\r\n").first,
              let status = Int(statusLine.split(separator: " ").dropFirst().first ?? ""),
              let split = response.range(of: "\r\n\r\n") else {
            throw Failure(description: "not an HTTP response from 127.0.0.1:\(port)\(path): \(response.prefix(200))")
        }
        return (status, String(response[split.upperBound...]))
    }
}
