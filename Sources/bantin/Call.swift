import ArgumentParser
import BantinCore
import BantinRPC
import Foundation
import NIOCore

struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call any method with a JSON request; prints the reply as JSON.",
        discussion: """
        The server's reflection service says which message types a method takes; the JSON is turned
        into that protobuf-c message with the generated descriptors. Names may be lowerCamelCase or
        the .proto's snake_case, enums by name, 64-bit integers as strings or numbers, bytes as base64.

        Examples:
          bantin call 127.0.0.1:7403 --list
          bantin call 127.0.0.1:7403 /bantin.health.v1.Health/Check '{}'
          bantin call 127.0.0.1:7400 /bantin.bench.v1.Echo/Echo '{"payload": "eGluIGNow6Bv"}'
        """)

    @Argument(help: "host:port of the server.")
    var address: String

    @Argument(help: "Method path, /package.Service/Method.")
    var method: String?

    @Argument(help: "Request as JSON (default {}).")
    var json = "{}"

    @Flag(help: "List the methods the server serves, with their message types.")
    var list = false

    @Option(help: "Deadline for the call, in seconds.")
    var timeout: Double = 10

    @OptionGroup var tls: ClientTLSOptions

    func run() async throws {
        let client = try RPCClient(
            target: address,
            configuration: ClientConfiguration(tls: try TLSContextProvider(tls.configuration()), serverName: tls.serverName))
        defer { Task { await client.close() } }
        let options = CallOptions(timeout: .milliseconds(Int(timeout * 1000)))
        let methods = try await client.unary(ReflectionService.listMethods, ListMethodsRequest(), options: options).methods

        if list || method == nil {
            for m in methods {
                let input = m.clientStreaming ? "stream \(m.requestType)" : m.requestType
                let output = m.serverStreaming ? "stream \(m.responseType)" : m.responseType
                print("\(m.path)(\(input)) returns (\(output))\(m.idempotent ? " [idempotent]" : "")")
            }
            return
        }
        guard let method, let info = methods.first(where: { $0.path == method }) else {
            throw ValidationError("\(address) does not serve \(method ?? ""); `bantin call \(address) --list` shows what it does")
        }
        guard !info.clientStreaming else {
            throw ValidationError("\(method) takes a stream of requests; `bantin call` sends one")
        }
        let requestType = try TypeRegistry.message(named: info.requestType)
        let responseType = try TypeRegistry.message(named: info.responseType)
        let request = try JSONMessageCodec.decode(json, as: requestType)
        var body = ByteBuffer()
        request.pack(into: &body)
        if info.serverStreaming {
            try await client.serverStreaming(path: method, request: body, options: options) { reply in
                print(JSONMessageCodec.encode(try DynamicMessage(type: responseType, unpacking: reply)))
            }
        } else {
            let reply = try await client.unary(path: method, request: body, idempotent: info.idempotent, options: options)
            print(JSONMessageCodec.encode(try DynamicMessage(type: responseType, unpacking: reply)))
        }
    }
}
