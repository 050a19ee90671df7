import CBantinProto

/// A plain Swift struct mapped field by field onto its generated protobuf-c message, declared as a
/// table of `ProtoField`s instead of hand-written conversion code.
///
/// Each field reads and writes the C struct directly at the offsets protoc-c's descriptor gives (resolved once,
/// when the static table is built), so packing an article costs one walk over its fields: no intermediate
/// dictionary per message, which the first version (through `DynamicMessage`) spent most of its time building.
public protocol ProtoStruct: WireMessage {
    init()
    static var protoFields: [ProtoField<Self>] { get }
}

extension ProtoStruct {
    public init(cMessage: UnsafePointer<ProtobufCMessage>) throws(WireError) {
        self.init()
        let base = UnsafeRawPointer(cMessage)
        // Through the table's buffer: iterating the array copies (and retains) each field's closures.
        try Self.protoFields.withUnsafeBufferPointer { fields throws(WireError) in
            for i in fields.indices { try fields[i].read(&self, base, fields[i].descriptor.pointer) }
        }
    }

    public func cMessage(in arena: ProtobufArena) -> UnsafeMutablePointer<ProtobufCMessage> {
        withUnsafePointer(to: self) { Self.cMessage(of: $0, in: arena) }
    }

    /// The fields read the message through a pointer, and nested messages are reached in place: passed by value,
    /// every field and every element would copy (and retain) what it belongs to.
    static func cMessage(of message: UnsafePointer<Self>, in arena: ProtobufArena) -> UnsafeMutablePointer<ProtobufCMessage> {
        let type = messageType.descriptor.pointee
        let base = arena.allocate(byteCount: type.sizeof_message)
        type.message_init(base.assumingMemoryBound(to: ProtobufCMessage.self))
        protoFields.withUnsafeBufferPointer { fields in
            for i in fields.indices { fields[i].write(message, base, fields[i].descriptor.pointer, arena) }
        }
        return base.assumingMemoryBound(to: ProtobufCMessage.self)
    }
}

/// A field descriptor of generated (immutable, static) protoc-c data.
struct FieldPointer: @unchecked Sendable {
    let pointer: UnsafePointer<ProtobufCFieldDescriptor>
}

/// One field of a `ProtoStruct`: its proto name and how to read and write it in the C struct.
public struct ProtoField<Root: ProtoStruct>: Sendable {
    let descriptor: FieldPointer
    let read: @Sendable (inout Root, UnsafeRawPointer, UnsafePointer<ProtobufCFieldDescriptor>) throws(WireError) -> Void
    let write: @Sendable (UnsafePointer<Root>, UnsafeMutableRawPointer, UnsafePointer<ProtobufCFieldDescriptor>, ProtobufArena) -> Void

    init(_ name: String,
         read: @escaping @Sendable (inout Root, UnsafeRawPointer, UnsafePointer<ProtobufCFieldDescriptor>) throws(WireError) -> Void,
         write: @escaping @Sendable (UnsafePointer<Root>, UnsafeMutableRawPointer, UnsafePointer<ProtobufCFieldDescriptor>, ProtobufArena) -> Void) {
        guard let field = protobuf_c_message_descriptor_get_field_by_name(Root.messageType.descriptor, name) else {
            preconditionFailure("\(Root.messageType.name) has no field '\(name)'; the Swift table and proto/ disagree")
        }
        descriptor = FieldPointer(pointer: field)
        self.read = read
        self.write = write
    }

    /// A singular scalar field: skipped on read when an optional's presence flag is clear; on write the presence
    /// flag (if the field has one) is set.
    static func scalar<V: Sendable>(_ name: String, _ path: WritableKeyPath<Root, V> & Sendable,
                                    load: @escaping @Sendable (UnsafeRawPointer) throws(WireError) -> V,
                                    store: @escaping @Sendable (UnsafePointer<V>, UnsafeMutableRawPointer, ProtobufArena) -> Void) -> Self {
        let property = StoredProperty(path)
        return Self(name, read: { root, base, field throws(WireError) in
            guard isPresent(base, field) else { return }
            property.set(&root, try load(base + Int(field.pointee.offset)))
        }, write: { root, base, field, arena in
            property.withPointer(in: root) { store($0, base + Int(field.pointee.offset), arena) }
            markPresent(base, field)
        })
    }

    /// A repeated field of `stride`-byte elements.
    static func repeated<V: Sendable>(_ name: String, _ path: WritableKeyPath<Root, [V]> & Sendable, stride: Int,
                                      load: @escaping @Sendable (UnsafeRawPointer) throws(WireError) -> V,
                                      store: @escaping @Sendable (UnsafePointer<V>, UnsafeMutableRawPointer, ProtobufArena) -> Void) -> Self {
        let property = StoredProperty(path)
        return Self(name, read: { root, base, field throws(WireError) in
            let count = base.load(fromByteOffset: Int(field.pointee.quantifier_offset), as: Int.self)
            guard count > 0, let array = base.load(fromByteOffset: Int(field.pointee.offset), as: UnsafeRawPointer?.self) else { return }
            var values: [V] = []
            values.reserveCapacity(count)
            for i in 0..<count { values.append(try load(array + i * stride)) }
            property.set(&root, values)
        }, write: { root, base, field, arena in
            property.withPointer(in: root) { pointer in
                pointer.pointee.withUnsafeBufferPointer { values in
                    guard let first = values.baseAddress else { return }
                    let array = arena.allocate(byteCount: stride * values.count)
                    for i in values.indices { store(first + i, array + i * stride, arena) }
                    base.storeBytes(of: values.count, toByteOffset: Int(field.pointee.quantifier_offset), as: Int.self)
                    base.storeBytes(of: UnsafeRawPointer(array), toByteOffset: Int(field.pointee.offset), as: UnsafeRawPointer.self)
                }
            }
        })
    }

    static func isPresent(_ base: UnsafeRawPointer, _ field: UnsafePointer<ProtobufCFieldDescriptor>) -> Bool {
        let f = field.pointee
        guard f.label == PROTOBUF_C_LABEL_OPTIONAL, f.type != PROTOBUF_C_TYPE_STRING, f.type != PROTOBUF_C_TYPE_MESSAGE else { return true }
        return base.load(fromByteOffset: Int(f.quantifier_offset), as: Int32.self) != 0
    }

    static func markPresent(_ base: UnsafeMutableRawPointer, _ field: UnsafePointer<ProtobufCFieldDescriptor>) {
        let f = field.pointee
        guard f.label == PROTOBUF_C_LABEL_OPTIONAL, f.type != PROTOBUF_C_TYPE_STRING, f.type != PROTOBUF_C_TYPE_MESSAGE else { return }
        base.storeBytes(of: 1, toByteOffset: Int(f.quantifier_offset), as: Int32.self)
    }
}

/// A property of a `ProtoStruct` read and written at its offset in the struct. Going through the key path in
/// these generic closures looked up the key path's generic metadata on every access, for every field of every
/// message: a third of packing an extraction. Every field is a stored property (`MemoryLayout.offset(of:)` is
/// non-nil only for those); anything else still goes through the key path.
struct StoredProperty<Root, Value>: Sendable {
    let path: WritableKeyPath<Root, Value> & Sendable
    let offset: Int?

    init(_ path: WritableKeyPath<Root, Value> & Sendable) {
        self.path = path
        offset = MemoryLayout<Root>.offset(of: path)
    }

    /// `body` with a pointer to the property of the struct at `root`.
    @inline(__always)
    func withPointer(in root: UnsafePointer<Root>, _ body: (UnsafePointer<Value>) -> Void) {
        guard let offset else { return withUnsafePointer(to: root.pointee[keyPath: path], body) }
        body(UnsafeRawPointer(root).advanced(by: offset).assumingMemoryBound(to: Value.self))
    }

    @inline(__always)
    func set(_ root: inout Root, _ value: Value) {
        guard let offset else { return root[keyPath: path] = value }
        withUnsafeMutablePointer(to: &root) { UnsafeMutableRawPointer($0).advanced(by: offset).assumingMemoryBound(to: Value.self).pointee = value }
    }
}

// MARK: - Field kinds

private let pointerSize = MemoryLayout<UnsafeRawPointer>.stride

@Sendable private func loadString(_ p: UnsafeRawPointer, field: String) throws(WireError) -> String {
    try wireString(p.load(as: UnsafePointer<CChar>?.self), field: field)
}

@Sendable private func storeString(_ value: UnsafePointer<String>, _ p: UnsafeMutableRawPointer, _ arena: ProtobufArena) {
    p.storeBytes(of: arena.cString(value.pointee), as: UnsafeMutablePointer<CChar>.self)
}

extension ProtoField {
    public static func string(_ name: String, _ path: WritableKeyPath<Root, String> & Sendable) -> Self {
        scalar(name, path, load: { p throws(WireError) in try loadString(p, field: name) }, store: storeString)
    }

    public static func strings(_ name: String, _ path: WritableKeyPath<Root, [String]> & Sendable) -> Self {
        repeated(name, path, stride: pointerSize, load: { p throws(WireError) in try loadString(p, field: name) }, store: storeString)
    }

    public static func uint64(_ name: String, _ path: WritableKeyPath<Root, UInt64> & Sendable) -> Self {
        scalar(name, path, load: { $0.load(as: UInt64.self) }, store: { v, p, _ in p.storeBytes(of: v.pointee, as: UInt64.self) })
    }

    public static func uint32(_ name: String, _ path: WritableKeyPath<Root, UInt32> & Sendable) -> Self {
        scalar(name, path, load: { $0.load(as: UInt32.self) }, store: { v, p, _ in p.storeBytes(of: v.pointee, as: UInt32.self) })
    }

    public static func double(_ name: String, _ path: WritableKeyPath<Root, Double> & Sendable) -> Self {
        scalar(name, path, load: { $0.load(as: Double.self) }, store: { v, p, _ in p.storeBytes(of: v.pointee, as: Double.self) })
    }

    public static func bool(_ name: String, _ path: WritableKeyPath<Root, Bool> & Sendable) -> Self {
        // protobuf-c's protobuf_c_boolean is an int.
        scalar(name, path, load: { $0.load(as: Int32.self) != 0 }, store: { v, p, _ in p.storeBytes(of: v.pointee ? 1 : 0, as: Int32.self) })
    }

    /// An enum field; unknown numbers read as `fallback` (proto3 enums are open).
    public static func enumeration<E: RawRepresentable & Sendable>(
        _ name: String, _ path: WritableKeyPath<Root, E> & Sendable, fallback: E
    ) -> Self where E.RawValue == Int32 {
        scalar(name, path, load: { E(rawValue: $0.load(as: Int32.self)) ?? fallback },
               store: { v, p, _ in p.storeBytes(of: v.pointee.rawValue, as: Int32.self) })
    }

    /// An enum field kept as its number (0 meaning "unset" is then visible to the caller).
    public static func enumNumber(_ name: String, _ path: WritableKeyPath<Root, Int32> & Sendable) -> Self {
        scalar(name, path, load: { $0.load(as: Int32.self) }, store: { v, p, _ in p.storeBytes(of: v.pointee, as: Int32.self) })
    }

    /// A nested message; nil when absent (a NULL pointer in the C struct).
    public static func message<M: ProtoStruct>(_ name: String, _ path: WritableKeyPath<Root, M?> & Sendable) -> Self {
        scalar(name, path, load: { p throws(WireError) in
            guard let sub = p.load(as: UnsafePointer<ProtobufCMessage>?.self) else { return nil }
            return try M(cMessage: sub)
        }, store: { v, p, arena in
            guard let message = v.pointee else { return }
            p.storeBytes(of: message.cMessage(in: arena), as: UnsafeMutablePointer<ProtobufCMessage>.self)
        })
    }

    public static func messages<M: ProtoStruct>(_ name: String, _ path: WritableKeyPath<Root, [M]> & Sendable) -> Self {
        repeated(name, path, stride: pointerSize, load: { p throws(WireError) in
            guard let sub = p.load(as: UnsafePointer<ProtobufCMessage>?.self) else { return M() }
            return try M(cMessage: sub)
        }, store: { v, p, arena in
            p.storeBytes(of: M.cMessage(of: v, in: arena), as: UnsafeMutablePointer<ProtobufCMessage>.self)
        })
    }
}

extension ProtoStruct {
    /// The message as a `DynamicMessage` (for JSON output); off any hot path.
    public var dynamic: DynamicMessage {
        withProtobufArena { arena in
            // The struct just built from `self` always reads back.
            try! DynamicMessage(reading: UnsafeRawPointer(cMessage(in: arena)), type: Self.messageType)
        }
    }
}
