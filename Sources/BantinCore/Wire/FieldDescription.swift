import CBantinProto

/// A protobuf-c field descriptor in the words of a .proto file, for reflection and help texts.
public struct FieldDescription: Sendable {
    public let name: String
    public let number: UInt32
    /// "string", "int64", ..., "enum" or "message".
    public let type: String
    public let repeated: Bool
    /// For enum and message fields, the fully qualified type name.
    public let typeName: String

    public init(_ field: ProtobufCFieldDescriptor) {
        name = String(cString: field.name)
        number = field.id
        repeated = field.label == PROTOBUF_C_LABEL_REPEATED
        switch field.type {
        case PROTOBUF_C_TYPE_INT32: type = "int32"
        case PROTOBUF_C_TYPE_SINT32: type = "sint32"
        case PROTOBUF_C_TYPE_SFIXED32: type = "sfixed32"
        case PROTOBUF_C_TYPE_INT64: type = "int64"
        case PROTOBUF_C_TYPE_SINT64: type = "sint64"
        case PROTOBUF_C_TYPE_SFIXED64: type = "sfixed64"
        case PROTOBUF_C_TYPE_UINT32: type = "uint32"
        case PROTOBUF_C_TYPE_FIXED32: type = "fixed32"
        case PROTOBUF_C_TYPE_UINT64: type = "uint64"
        case PROTOBUF_C_TYPE_FIXED64: type = "fixed64"
        case PROTOBUF_C_TYPE_FLOAT: type = "float"
        case PROTOBUF_C_TYPE_DOUBLE: type = "double"
        case PROTOBUF_C_TYPE_BOOL: type = "bool"
        case PROTOBUF_C_TYPE_ENUM: type = "enum"
        case PROTOBUF_C_TYPE_STRING: type = "string"
        case PROTOBUF_C_TYPE_BYTES: type = "bytes"
        case PROTOBUF_C_TYPE_MESSAGE: type = "message"
        default: type = "unknown"
        }
        switch field.type {
        case PROTOBUF_C_TYPE_ENUM:
            typeName = String(cString: field.descriptor.assumingMemoryBound(to: ProtobufCEnumDescriptor.self).pointee.name)
        case PROTOBUF_C_TYPE_MESSAGE:
            typeName = String(cString: field.descriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self).pointee.name)
        default:
            typeName = ""
        }
    }
}
