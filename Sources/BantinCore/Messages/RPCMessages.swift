import CBantinProto

/// gRPC's status codes, with gRPC's numbers.
public enum StatusCode: Int32, Sendable, CaseIterable, CustomStringConvertible {
    case ok = 0, cancelled, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists,
         permissionDenied, resourceExhausted, failedPrecondition, aborted, outOfRange,
         unimplemented, `internal`, unavailable, dataLoss, unauthenticated

    /// The canonical upper-case name, as in gRPC: "DEADLINE_EXCEEDED".
    public var description: String {
        switch self {
        case .ok: "OK"
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internal: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        }
    }

    /// Unknown numbers map to UNKNOWN, as gRPC clients do.
    public init(wireValue: Int32) {
        self = StatusCode(rawValue: wireValue) ?? .unknown
    }
}

/// Call metadata: ordered key/value pairs, keys lower-case.
public struct Metadata: Sendable, Equatable, ExpressibleByDictionaryLiteral, Sequence {
    public private(set) var entries: [(key: String, value: String)] = []

    public init() {}
    public init(dictionaryLiteral elements: (String, String)...) {
        for (k, v) in elements { add(k, v) }
    }

    public mutating func add(_ key: String, _ value: String) {
        entries.append((key.lowercased(), value))
    }

    public subscript(key: String) -> String? {
        let k = key.lowercased()
        return entries.first { $0.key == k }?.value
    }

    public var isEmpty: Bool { entries.isEmpty }
    public func makeIterator() -> IndexingIterator<[(key: String, value: String)]> { entries.makeIterator() }

    public static func == (a: Metadata, b: Metadata) -> Bool {
        a.entries.elementsEqual(b.entries) { $0.key == $1.key && $0.value == $1.value }
    }

    func cEntries(in arena: ProtobufArena) -> (Int, UnsafeMutablePointer<UnsafeMutablePointer<Bantin__Rpc__V1__MetadataEntry>?>?) {
        guard !entries.isEmpty else { return (0, nil) }
        let type = MessageType.named("bantin.rpc.v1.MetadataEntry")
        let items = entries.map { entry in
            let e = arena.newMessage(Bantin__Rpc__V1__MetadataEntry.self, type)
            e.pointee.key = arena.cString(entry.key)
            e.pointee.value = arena.cString(entry.value)
            return e
        }
        return (items.count, arena.messageArray(items))
    }

    init(count: Int, entries: UnsafeMutablePointer<UnsafeMutablePointer<Bantin__Rpc__V1__MetadataEntry>?>?) throws(WireError) {
        for i in 0..<count {
            guard let e = entries?[i] else { continue }
            add(try wireString(e.pointee.key, field: "metadata.key"), try wireString(e.pointee.value, field: "metadata.value"))
        }
    }
}

/// Body of HEADERS: opens a call.
public struct CallHeaders: WireMessage, Equatable {
    public static let messageType = MessageType.named("bantin.rpc.v1.CallHeaders")
    public var method: String
    public var timeoutMicros: Int64
    public var metadata: Metadata

    public init(method: String, timeoutMicros: Int64 = 0, metadata: Metadata = Metadata()) {
        self.method = method
        self.timeoutMicros = timeoutMicros
        self.metadata = metadata
    }

    public init(cMessage: UnsafePointer<ProtobufCMessage>) throws(WireError) {
        let m = cMessage.as(Bantin__Rpc__V1__CallHeaders.self).pointee
        self.init(method: try wireString(m.method, field: "method"), timeoutMicros: m.timeout_micros,
                  metadata: try Metadata(count: m.n_metadata, entries: m.metadata))
    }

    public func cMessage(in arena: ProtobufArena) -> UnsafeMutablePointer<ProtobufCMessage> {
        let m = arena.newMessage(Bantin__Rpc__V1__CallHeaders.self, Self.messageType)
        m.pointee.method = arena.cString(method)
        m.pointee.timeout_micros = timeoutMicros
        (m.pointee.n_metadata, m.pointee.metadata) = metadata.cEntries(in: arena)
        return m.asCMessage
    }
}

/// Body of TRAILERS: the call's final status.
public struct CallTrailers: WireMessage, Equatable {
    public static let messageType = MessageType.named("bantin.rpc.v1.CallTrailers")
    public var code: StatusCode
    public var message: String
    public var metadata: Metadata

    public init(code: StatusCode, message: String = "", metadata: Metadata = Metadata()) {
        self.code = code
        self.message = message
        self.metadata = metadata
    }

    public init(cMessage: UnsafePointer<ProtobufCMessage>) throws(WireError) {
        let m = cMessage.as(Bantin__Rpc__V1__CallTrailers.self).pointee
        self.init(code: StatusCode(wireValue: Int32(m.code.rawValue)), message: try wireString(m.message, field: "message"),
                  metadata: try Metadata(count: m.n_metadata, entries: m.metadata))
    }

    public func cMessage(in arena: ProtobufArena) -> UnsafeMutablePointer<ProtobufCMessage> {
        let m = arena.newMessage(Bantin__Rpc__V1__CallTrailers.self, Self.messageType)
        m.pointee.code = Bantin__Rpc__V1__StatusCode(rawValue: .init(code.rawValue))
        if !message.isEmpty { m.pointee.message = arena.cString(message) }
        (m.pointee.n_metadata, m.pointee.metadata) = metadata.cEntries(in: arena)
        return m.asCMessage
    }
}

/// Body of GOAWAY: no call above `lastCallID` will be served on this connection.
public struct GoAway: WireMessage, Equatable {
    public static let messageType = MessageType.named("bantin.rpc.v1.GoAway")
    public var lastCallID: UInt32
    public var code: StatusCode
    public var reason: String

    public init(lastCallID: UInt32, code: StatusCode, reason: String) {
        self.lastCallID = lastCallID
        self.code = code
        self.reason = reason
    }

    public init(cMessage: UnsafePointer<ProtobufCMessage>) throws(WireError) {
        let m = cMessage.as(Bantin__Rpc__V1__GoAway.self).pointee
        self.init(lastCallID: m.last_call_id, code: StatusCode(wireValue: Int32(m.code.rawValue)),
                  reason: try wireString(m.reason, field: "reason"))
    }

    public func cMessage(in arena: ProtobufArena) -> UnsafeMutablePointer<ProtobufCMessage> {
        let m = arena.newMessage(Bantin__Rpc__V1__GoAway.self, Self.messageType)
        m.pointee.last_call_id = lastCallID
        m.pointee.code = Bantin__Rpc__V1__StatusCode(rawValue: .init(code.rawValue))
        m.pointee.reason = arena.cString(reason)
        return m.asCMessage
    }
}
