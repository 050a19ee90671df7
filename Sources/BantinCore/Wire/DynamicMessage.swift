import CBantinProto
import NIOCore

/// A message of any generated type, read and written through its protobuf-c descriptor
/// (field types, offsets and quantifier offsets). Used where the type is known only at
/// run time: `bantin call`, reflection, JSON. Services use typed `WireMessage`s.
public struct DynamicMessage: Sendable, Equatable {
    public let type: MessageType
    /// Set fields by name; absent means the proto3 default.
    public var fields: [String: Value]

    public indirect enum Value: Sendable, Equatable {
        case int(Int64)
        case uint(UInt64)
        case float(Float)
        case double(Double)
        case bool(Bool)
        case enumValue(Int32)
        case string(String)
        case bytes([UInt8])
        case message(DynamicMessage)
        case list([Value])
    }

    public init(type: MessageType, fields: [String: Value] = [:]) {
        self.type = type
        self.fields = fields
    }

    public init(type: MessageType, unpacking buffer: ByteBuffer) throws(WireError) {
        let result: Result<DynamicMessage, WireError> = buffer.withUnsafeReadableBytes { bytes in
            withProtobufArena { arena in
                guard let message = protobuf_c_message_unpack(
                    type.descriptor, arena.allocator, bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self))
                else { return .failure(.malformed(type: type.name)) }
                do throws(WireError) {
                    return .success(try DynamicMessage(reading: UnsafeRawPointer(message), type: type))
                } catch {
                    return .failure(error)
                }
            }
        }
        self = try result.get()
    }

    public func pack(into buffer: inout ByteBuffer) {
        withProtobufArena { arena in
            packCMessage(write(in: arena).assumingMemoryBound(to: ProtobufCMessage.self), into: &buffer)
        }
    }
}

// MARK: - Reading a protobuf-c struct

extension DynamicMessage {
    init(reading base: UnsafeRawPointer, type: MessageType) throws(WireError) {
        var fields: [String: Value] = [:]
        for field in type.fields {
            let name = String(cString: field.name)
            let at = base + Int(field.offset)
            if field.label == PROTOBUF_C_LABEL_REPEATED {
                let count = base.load(fromByteOffset: Int(field.quantifier_offset), as: Int.self)
                guard count > 0, let array = at.load(as: UnsafeRawPointer?.self) else { continue }
                let stride = Self.elementSize(field.type)
                var list: [Value] = []
                list.reserveCapacity(count)
                for i in 0..<count {
                    list.append(try Self.readScalar(array + i * stride, field: field, name: name))
                }
                fields[name] = .list(list)
                continue
            }
            if field.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0 {
                guard base.load(fromByteOffset: Int(field.quantifier_offset), as: UInt32.self) == field.id else { continue }
            } else if field.label == PROTOBUF_C_LABEL_OPTIONAL, Self.hasPresenceFlag(field.type) {
                guard base.load(fromByteOffset: Int(field.quantifier_offset), as: Int32.self) != 0 else { continue }
            }
            let value = try Self.readScalar(at, field: field, name: name)
            if field.label == PROTOBUF_C_LABEL_NONE, value.isDefault { continue }
            if case .message(let m) = value, m.fields.isEmpty, at.load(as: UnsafeRawPointer?.self) == nil { continue }
            fields[name] = value
        }
        self.init(type: type, fields: fields)
    }

    static func readScalar(_ p: UnsafeRawPointer, field: ProtobufCFieldDescriptor, name: String) throws(WireError) -> Value {
        switch field.type {
        case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32:
            return .int(Int64(p.load(as: Int32.self)))
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64:
            return .int(p.load(as: Int64.self))
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32:
            return .uint(UInt64(p.load(as: UInt32.self)))
        case PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64:
            return .uint(p.load(as: UInt64.self))
        case PROTOBUF_C_TYPE_FLOAT: return .float(p.load(as: Float.self))
        case PROTOBUF_C_TYPE_DOUBLE: return .double(p.load(as: Double.self))
        case PROTOBUF_C_TYPE_BOOL: return .bool(p.load(as: Int32.self) != 0)
        case PROTOBUF_C_TYPE_ENUM: return .enumValue(p.load(as: Int32.self))
        case PROTOBUF_C_TYPE_STRING:
            return .string(try wireString(p.load(as: UnsafePointer<CChar>?.self), field: name))
        case PROTOBUF_C_TYPE_BYTES:
            return .bytes(wireBytes(p.load(as: ProtobufCBinaryData.self)))
        case PROTOBUF_C_TYPE_MESSAGE:
            let subType = MessageType(field.descriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self))
            guard let sub = p.load(as: UnsafeRawPointer?.self) else { return .message(DynamicMessage(type: subType)) }
            return .message(try DynamicMessage(reading: sub, type: subType))
        default:
            throw WireError.malformed(type: "field \(name)")
        }
    }

    static func elementSize(_ type: ProtobufCType) -> Int {
        switch type {
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64,
             PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_DOUBLE:
            return 8
        case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_MESSAGE:
            return MemoryLayout<UnsafeRawPointer>.stride
        case PROTOBUF_C_TYPE_BYTES:
            return MemoryLayout<ProtobufCBinaryData>.stride
        default:
            return 4
        }
    }

    /// protobuf-c keeps a `has_` flag for optional scalars; strings and messages use NULL instead.
    static func hasPresenceFlag(_ type: ProtobufCType) -> Bool {
        type != PROTOBUF_C_TYPE_STRING && type != PROTOBUF_C_TYPE_MESSAGE
    }
}

extension DynamicMessage.Value {
    var isDefault: Bool {
        switch self {
        case .int(let v): v == 0
        case .uint(let v): v == 0
        case .float(let v): v == 0
        case .double(let v): v == 0
        case .bool(let v): !v
        case .enumValue(let v): v == 0
        case .string(let v): v.isEmpty
        case .bytes(let v): v.isEmpty
        case .message: false
        case .list(let v): v.isEmpty
        }
    }
}

// MARK: - Writing a protobuf-c struct

extension DynamicMessage {
    func write(in arena: ProtobufArena) -> UnsafeMutableRawPointer {
        let base = arena.allocate(byteCount: type.descriptor.pointee.sizeof_message)
        type.descriptor.pointee.message_init(base.assumingMemoryBound(to: ProtobufCMessage.self))
        for field in type.fields {
            guard let value = fields[String(cString: field.name)] else { continue }
            let at = base + Int(field.offset)
            if field.label == PROTOBUF_C_LABEL_REPEATED {
                guard case .list(let list) = value else { continue }
                let stride = Self.elementSize(field.type)
                let array = arena.allocate(byteCount: stride * list.count)
                for (i, element) in list.enumerated() {
                    Self.writeScalar(element, to: array + i * stride, field: field, arena: arena)
                }
                (base + Int(field.quantifier_offset)).storeBytes(of: list.count, as: Int.self)
                at.storeBytes(of: UnsafeRawPointer(array), as: UnsafeRawPointer.self)
                continue
            }
            Self.writeScalar(value, to: at, field: field, arena: arena)
            if field.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0 {
                (base + Int(field.quantifier_offset)).storeBytes(of: field.id, as: UInt32.self)
            } else if field.label == PROTOBUF_C_LABEL_OPTIONAL, Self.hasPresenceFlag(field.type) {
                (base + Int(field.quantifier_offset)).storeBytes(of: 1, as: Int32.self)
            }
        }
        return base
    }

    static func writeScalar(_ value: Value, to p: UnsafeMutableRawPointer, field: ProtobufCFieldDescriptor, arena: ProtobufArena) {
        switch (field.type, value) {
        case (PROTOBUF_C_TYPE_INT32, .int(let v)), (PROTOBUF_C_TYPE_SINT32, .int(let v)), (PROTOBUF_C_TYPE_SFIXED32, .int(let v)):
            p.storeBytes(of: Int32(truncatingIfNeeded: v), as: Int32.self)
        case (PROTOBUF_C_TYPE_INT64, .int(let v)), (PROTOBUF_C_TYPE_SINT64, .int(let v)), (PROTOBUF_C_TYPE_SFIXED64, .int(let v)):
            p.storeBytes(of: v, as: Int64.self)
        case (PROTOBUF_C_TYPE_UINT32, .uint(let v)), (PROTOBUF_C_TYPE_FIXED32, .uint(let v)):
            p.storeBytes(of: UInt32(truncatingIfNeeded: v), as: UInt32.self)
        case (PROTOBUF_C_TYPE_UINT64, .uint(let v)), (PROTOBUF_C_TYPE_FIXED64, .uint(let v)):
            p.storeBytes(of: v, as: UInt64.self)
        case (PROTOBUF_C_TYPE_FLOAT, .float(let v)): p.storeBytes(of: v, as: Float.self)
        case (PROTOBUF_C_TYPE_DOUBLE, .double(let v)): p.storeBytes(of: v, as: Double.self)
        case (PROTOBUF_C_TYPE_BOOL, .bool(let v)): p.storeBytes(of: v ? 1 : 0, as: Int32.self)
        case (PROTOBUF_C_TYPE_ENUM, .enumValue(let v)): p.storeBytes(of: v, as: Int32.self)
        case (PROTOBUF_C_TYPE_STRING, .string(let v)):
            p.storeBytes(of: UnsafeMutablePointer(arena.cString(v)), as: UnsafeMutablePointer<CChar>.self)
        case (PROTOBUF_C_TYPE_BYTES, .bytes(let v)):
            p.storeBytes(of: arena.binary(v), as: ProtobufCBinaryData.self)
        case (PROTOBUF_C_TYPE_MESSAGE, .message(let m)):
            p.storeBytes(of: m.write(in: arena), as: UnsafeMutableRawPointer.self)
        default:
            // Values are type-checked when built (JSON decoding); a mismatch is a programming error.
            assertionFailure("value \(value) does not fit field \(String(cString: field.name))")
        }
    }
}
