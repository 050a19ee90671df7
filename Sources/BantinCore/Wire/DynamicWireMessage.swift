import CBantinProto

/// A typed message that converts through `DynamicMessage`. Simpler to write than a direct
/// struct mapping and fine off the hot path; per-call messages (CallHeaders, Echo) map directly.
public protocol DynamicWireMessage: WireMessage {
    init(dynamic: DynamicMessage) throws(WireError)
    var dynamic: DynamicMessage { get }
}

extension DynamicWireMessage {
    public init(cMessage: UnsafePointer<ProtobufCMessage>) throws(WireError) {
        try self.init(dynamic: DynamicMessage(reading: UnsafeRawPointer(cMessage), type: Self.messageType))
    }

    public func cMessage(in arena: ProtobufArena) -> UnsafeMutablePointer<ProtobufCMessage> {
        dynamic.write(in: arena).assumingMemoryBound(to: ProtobufCMessage.self)
    }
}

extension DynamicMessage {
    public func string(_ name: String) -> String {
        if case .string(let v)? = fields[name] { return v }
        return ""
    }

    public func bool(_ name: String) -> Bool {
        if case .bool(let v)? = fields[name] { return v }
        return false
    }

    public func uint(_ name: String) -> UInt64 {
        if case .uint(let v)? = fields[name] { return v }
        return 0
    }

    public func int(_ name: String) -> Int64 {
        if case .int(let v)? = fields[name] { return v }
        return 0
    }

    public func enumValue(_ name: String) -> Int32 {
        if case .enumValue(let v)? = fields[name] { return v }
        return 0
    }

    public func messages(_ name: String) -> [DynamicMessage] {
        guard case .list(let items)? = fields[name] else { return [] }
        return items.compactMap { if case .message(let m) = $0 { m } else { nil } }
    }

    /// Sets `name` unless `value` is the proto3 default, keeping `fields` canonical.
    public mutating func set(_ name: String, _ value: Value) {
        fields[name] = value.isDefault ? nil : value
    }
}
