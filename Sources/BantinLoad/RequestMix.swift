import BantinCore
import BantinRPC
import Foundation
import NIOCore

/// One request ready to send: its method and body, serialized once before the run so that the
/// client spends its CPU on calls, not on JSON.
public struct PreparedRequest: Sendable {
    public var method: MethodInfo
    public var body: ByteBuffer
    public var weight: Double

    public init(method: MethodInfo, body: ByteBuffer, weight: Double = 1) {
        self.method = method
        self.body = body
        self.weight = weight
    }
}

/// The requests of a run and the order they are sent in.
public struct RequestMix: Sendable {
    public enum Order: String, Sendable, CaseIterable {
        /// File order, round and round.
        case cycle
        /// Drawn at random in proportion to each line's "@weight" (default 1), from a seed.
        case sample
    }

    public let requests: [PreparedRequest]
    public let order: Order
    private let cumulativeWeights: [Double]

    public init(_ requests: [PreparedRequest], order: Order = .cycle) throws(LoadError) {
        guard !requests.isEmpty else { throw LoadError.requests("no requests to send") }
        self.requests = requests
        self.order = order
        var total = 0.0
        cumulativeWeights = requests.map { total += $0.weight; return total }
        guard total > 0 else { throw LoadError.requests("every request has weight 0") }
    }

    /// The request for the `index`-th call of a run.
    public func request(_ index: Int, random: inout SplitMix64) -> PreparedRequest {
        switch order {
        case .cycle:
            return requests[index % requests.count]
        case .sample:
            let x = Double(random.next() >> 11) / Double(1 << 53) * cumulativeWeights[cumulativeWeights.count - 1]
            var low = 0, high = cumulativeWeights.count - 1
            while low < high {
                let mid = (low + high) / 2
                if cumulativeWeights[mid] > x { high = mid } else { low = mid + 1 }
            }
            return requests[low]
        }
    }

    /// Methods seen in the mix, for the summary.
    public var methods: [String] {
        var seen: [String] = []
        for r in requests where !seen.contains(r.method.path) { seen.append(r.method.path) }
        return seen
    }
}

/// Turns JSON requests into prepared ones, checking them against what the server says it serves.
public struct RequestPreparer: Sendable {
    /// What the target serves (its reflection service's answer).
    public let served: [MethodInfo]
    /// The method for lines without "@method".
    public let defaultMethod: String?

    public init(served: [MethodInfo], defaultMethod: String?) {
        self.served = served
        self.defaultMethod = defaultMethod
    }

    /// One JSON object; keys "@method" and "@weight" direct the load generator, the rest is the request.
    public func prepare(json: String) throws(LoadError) -> PreparedRequest {
        var method: MethodInfo?
        var methodError: LoadError?
        let decoded: (message: DynamicMessage, directions: [String: String])
        do {
            decoded = try JSONMessageCodec.decode(json) { (directions) throws(WireError) -> MessageType in
                for key in directions.keys where key != "@method" && key != "@weight" {
                    throw WireError.json("unknown direction \(key) (known: @method, @weight)")
                }
                switch Result(catching: { () throws(LoadError) in try lookUp(directions["@method"]) }) {
                case .success(let info): method = info
                case .failure(let error):
                    methodError = error
                    throw WireError.json(error.reason)
                }
                return try TypeRegistry.message(named: method!.requestType)
            }
        } catch {
            throw methodError ?? LoadError.requests("\(error)")
        }
        var weight = 1.0
        if let text = decoded.directions["@weight"] {
            guard let w = Double(text), w >= 0, w.isFinite else { throw LoadError.requests("@weight must be a number ≥ 0, not \(text)") }
            weight = w
        }
        var body = ByteBuffer()
        decoded.message.pack(into: &body)
        return PreparedRequest(method: method!, body: body, weight: weight)
    }

    /// A JSON-lines file: one request per line; blank lines and lines starting with # are skipped.
    /// Errors name the file and line.
    public func prepare(jsonLines text: String, name: String) throws(LoadError) -> [PreparedRequest] {
        var requests: [PreparedRequest] = []
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            do {
                requests.append(try prepare(json: trimmed))
            } catch {
                throw LoadError.requests("\(name):\(lineNumber): \(error.reason)")
            }
        }
        guard !requests.isEmpty else { throw LoadError.requests("\(name) holds no requests (one JSON object per line)") }
        return requests
    }

    /// Requests made from a template; errors quote the request.
    public func prepare(generated lines: [String]) throws(LoadError) -> [PreparedRequest] {
        var requests: [PreparedRequest] = []
        for (i, line) in lines.enumerated() {
            do {
                requests.append(try prepare(json: line))
            } catch {
                throw LoadError.requests("template request \(i + 1), \(line): \(error.reason)")
            }
        }
        return requests
    }

    func lookUp(_ path: String?) throws(LoadError) -> MethodInfo {
        guard let path = path ?? defaultMethod else {
            throw LoadError.requests("no method: pass --method or give the line an \"@method\"")
        }
        guard let info = served.first(where: { $0.path == path }) else {
            let near = served.map(\.path).filter { $0.hasSuffix("/" + (path.split(separator: "/").last ?? "")) }
            let hint = near.isEmpty ? "`bantin call TARGET --list` shows what it serves" : "did you mean \(near.joined(separator: " or "))?"
            throw LoadError.method("the target does not serve \(path); \(hint)")
        }
        guard !info.clientStreaming else {
            throw LoadError.method("\(path) takes a stream of requests; bantin load sends unary and server-streaming calls")
        }
        return info
    }
}

/// Requests generated from a JSON template with `{{name}}` placeholders.
///
/// Each variable is a list of values ("a|b|c"), the lines of a file ("@path"), or an integer range
/// ("1..100"); `{{i}}` is the request's index. Values are drawn at random (seeded) and inserted as
/// JSON string content, so a placeholder belongs inside quotes.
public struct RequestTemplate: Sendable {
    public let template: String
    public let variables: [String: [String]]
    /// The template cut at its placeholders: literal text, or a variable's name.
    private let pieces: [Piece]

    private enum Piece: Sendable {
        case text(Substring)
        case variable(String)
    }

    public init(template: String, variables: [String: [String]]) throws(LoadError) {
        self.template = template
        self.variables = variables
        var pieces: [Piece] = []
        var rest = Substring(template)
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            pieces.append(.text(rest[..<open.lowerBound]))
            pieces.append(.variable(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)))
            rest = rest[close.upperBound...]
        }
        pieces.append(.text(rest))
        self.pieces = pieces
        for case .variable(let name) in pieces where name != "i" && variables[name] == nil {
            throw LoadError.requests("the template uses {{\(name)}} but no --var \(name)=... is given")
        }
        for (name, values) in variables where values.isEmpty {
            throw LoadError.requests("--var \(name) has no values")
        }
    }

    /// Parses "name=a|b|c", "name=@file" and "name=1..100".
    public static func variable(_ spec: String) throws(LoadError) -> (String, [String]) {
        guard let eq = spec.firstIndex(of: "="), eq > spec.startIndex else {
            throw LoadError.requests("--var \(spec): expected name=a|b|c, name=@file or name=1..100")
        }
        let name = String(spec[..<eq])
        let value = String(spec[spec.index(after: eq)...])
        if value.hasPrefix("@") {
            let path = String(value.dropFirst())
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw LoadError.requests("--var \(name): cannot read \(path) as UTF-8 text")
            }
            return (name, text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        }
        let bounds = value.split(separator: ".", omittingEmptySubsequences: true)
        if value.contains(".."), bounds.count == 2, let low = Int(bounds[0]), let high = Int(bounds[1]) {
            guard low <= high, high - low < 10_000_000 else { throw LoadError.requests("--var \(name): range \(value) is empty or too large") }
            return (name, (low...high).map(String.init))
        }
        return (name, value.split(separator: "|", omittingEmptySubsequences: false).map(String.init))
    }

    /// `count` JSON requests, the same for the same seed.
    public func generate(count: Int, seed: UInt64) -> [String] {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { i in
            var out = ""
            for piece in pieces {
                switch piece {
                case .text(let text): out += text
                case .variable(let name):
                    let value = name == "i" ? String(i) : random.pick(variables[name]!)
                    out += JSONMessageCodec.quoted(value).dropFirst().dropLast()
                }
            }
            return out
        }
    }
}

/// Why a load run could not start or finish; each says what to do about it.
public enum LoadError: Error, Sendable, CustomStringConvertible {
    case requests(String)
    case method(String)
    case target(String)
    case schedule(String)

    public var reason: String {
        switch self {
        case .requests(let s), .method(let s), .target(let s), .schedule(let s): s
        }
    }

    public var description: String {
        switch self {
        case .requests(let s): "requests: \(s)"
        case .method(let s): "method: \(s)"
        case .target(let s): "target: \(s)"
        case .schedule(let s): "schedule: \(s)"
        }
    }
}
