/// A plain Swift struct mapped field by field onto its generated protobuf-c message, declared as a
/// table of `ProtoField`s instead of hand-written conversion code. For the domain and service
/// messages, which are off the per-call hot path (those map directly, see `EchoRequest`).
public protocol ProtoStruct: DynamicWireMessage {
    init()
    static var protoFields: [ProtoField<Self>] { get }
}

extension ProtoStruct {
    public init(dynamic: DynamicMessage) {
        self.init()
        for field in Self.protoFields {
            if let value = dynamic.fields[field.name] { field.set(&self, value) }
        }
    }

    public var dynamic: DynamicMessage {
        var message = DynamicMessage(type: Self.messageType)
        for field in Self.protoFields { message.set(field.name, field.get(self)) }
        return message
    }
}

/// One field of a `ProtoStruct`: its proto name and how to read and write it.
public struct ProtoField<Root>: Sendable {
    let name: String
    let get: @Sendable (Root) -> DynamicMessage.Value
    let set: @Sendable (inout Root, DynamicMessage.Value) -> Void

    public static func string(_ name: String, _ path: WritableKeyPath<Root, String> & Sendable) -> Self {
        Self(name: name, get: { .string($0[keyPath: path]) }, set: { root, value in
            if case .string(let v) = value { root[keyPath: path] = v }
        })
    }

    public static func strings(_ name: String, _ path: WritableKeyPath<Root, [String]> & Sendable) -> Self {
        Self(name: name, get: { .list($0[keyPath: path].map { .string($0) }) }, set: { root, value in
            if case .list(let items) = value {
                root[keyPath: path] = items.compactMap { if case .string(let s) = $0 { s } else { nil } }
            }
        })
    }

    public static func uint64(_ name: String, _ path: WritableKeyPath<Root, UInt64> & Sendable) -> Self {
        Self(name: name, get: { .uint($0[keyPath: path]) }, set: { root, value in
            if case .uint(let v) = value { root[keyPath: path] = v }
        })
    }

    public static func uint32(_ name: String, _ path: WritableKeyPath<Root, UInt32> & Sendable) -> Self {
        Self(name: name, get: { .uint(UInt64($0[keyPath: path])) }, set: { root, value in
            if case .uint(let v) = value { root[keyPath: path] = UInt32(truncatingIfNeeded: v) }
        })
    }

    public static func double(_ name: String, _ path: WritableKeyPath<Root, Double> & Sendable) -> Self {
        Self(name: name, get: { .double($0[keyPath: path]) }, set: { root, value in
            if case .double(let v) = value { root[keyPath: path] = v }
        })
    }

    public static func bool(_ name: String, _ path: WritableKeyPath<Root, Bool> & Sendable) -> Self {
        Self(name: name, get: { .bool($0[keyPath: path]) }, set: { root, value in
            if case .bool(let v) = value { root[keyPath: path] = v }
        })
    }

    /// An enum field; unknown numbers read as `fallback` (proto3 enums are open).
    public static func enumeration<E: RawRepresentable & Sendable>(
        _ name: String, _ path: WritableKeyPath<Root, E> & Sendable, fallback: E
    ) -> Self where E.RawValue == Int32 {
        Self(name: name, get: { .enumValue($0[keyPath: path].rawValue) }, set: { root, value in
            if case .enumValue(let v) = value { root[keyPath: path] = E(rawValue: v) ?? fallback }
        })
    }

    /// An enum field kept as its number (0 meaning "unset" is then visible to the caller).
    public static func enumNumber(_ name: String, _ path: WritableKeyPath<Root, Int32> & Sendable) -> Self {
        Self(name: name, get: { .enumValue($0[keyPath: path]) }, set: { root, value in
            if case .enumValue(let v) = value { root[keyPath: path] = v }
        })
    }

    public static func message<M: ProtoStruct>(_ name: String, _ path: WritableKeyPath<Root, M?> & Sendable) -> Self {
        Self(name: name, get: { root in
            guard let m = root[keyPath: path] else { return .list([]) }  // absent: the default, skipped
            return .message(m.dynamic)
        }, set: { root, value in
            if case .message(let m) = value { root[keyPath: path] = try? M(dynamic: m) }
        })
    }

    public static func messages<M: ProtoStruct>(_ name: String, _ path: WritableKeyPath<Root, [M]> & Sendable) -> Self {
        Self(name: name, get: { .list($0[keyPath: path].map { .message($0.dynamic) }) }, set: { root, value in
            if case .list(let items) = value {
                root[keyPath: path] = items.compactMap { if case .message(let m) = $0 { try? M(dynamic: m) } else { nil } }
            }
        })
    }
}
