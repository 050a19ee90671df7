import NIOCore

/// Hand-written protobuf encoding for the few places that splice already-serialized messages together instead of
/// unpacking and repacking them (the ingest change feed, the extractions ingest stores). Protobuf allows it: a message
/// field is its tag, its length and the nested message's bytes, and a scalar field that occurs again later overrides
/// the earlier value.
public enum WireEncoding {
    public static func writeVarint(_ value: UInt64, to buffer: inout ByteBuffer) {
        var v = value
        while v >= 0x80 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        buffer.writeInteger(UInt8(v))
    }

    public static func varintSize(_ value: UInt64) -> Int {
        var size = 1, v = value
        while v >= 0x80 { v >>= 7; size += 1 }
        return size
    }

    /// A varint (or enum) field.
    public static func writeVarintField(_ field: UInt32, _ value: UInt64, to buffer: inout ByteBuffer) {
        guard value != 0 else { return }  // proto3: zero is the default and is not written
        writeVarint(UInt64(field) << 3, to: &buffer)
        writeVarint(value, to: &buffer)
    }

    /// A length-delimited field holding `bytes` (a nested message, a string, bytes).
    public static func writeLengthDelimitedField(_ field: UInt32, _ bytes: some Collection<UInt8>, to buffer: inout ByteBuffer) {
        writeVarint(UInt64(field) << 3 | 2, to: &buffer)
        writeVarint(UInt64(bytes.count), to: &buffer)
        buffer.writeBytes(bytes)
    }

    /// Size of a length-delimited field holding `length` bytes.
    public static func lengthDelimitedFieldSize(_ field: UInt32, length: Int) -> Int {
        varintSize(UInt64(field) << 3 | 2) + varintSize(UInt64(length)) + length
    }

    /// The contents of every length-delimited field numbered `field` in the serialized message `bytes`, in order
    /// (the elements of a repeated message field, as they were packed); other fields are skipped. Throws
    /// `WireError.malformed(type:)`, naming `type`, if the bytes do not parse as protobuf fields.
    public static func lengthDelimitedFields(_ field: UInt32, in bytes: ByteBuffer, type: String) throws(WireError) -> [ByteBuffer] {
        var input = bytes
        var found: [ByteBuffer] = []
        while input.readableBytes > 0 {
            guard let tag = readVarint(&input), tag >> 3 != 0 else { throw .malformed(type: type) }
            switch tag & 7 {
            case 0:
                guard readVarint(&input) != nil else { throw .malformed(type: type) }
            case 1, 5:
                guard input.readSlice(length: tag & 7 == 1 ? 8 : 4) != nil else { throw .malformed(type: type) }
            case 2:
                guard let length = readVarint(&input), length <= UInt64(input.readableBytes),
                      let value = input.readSlice(length: Int(length)) else { throw .malformed(type: type) }
                if tag >> 3 == UInt64(field) { found.append(value) }
            default:
                throw .malformed(type: type)  // groups (3, 4) are not used by proto3; 6 and 7 do not exist
            }
        }
        return found
    }

    /// Reads one varint (at most ten bytes); nil if the buffer ends first or it is longer.
    static func readVarint(_ buffer: inout ByteBuffer) -> UInt64? {
        var value: UInt64 = 0
        for shift in stride(from: 0, to: 70, by: 7) {
            guard let byte = buffer.readInteger(as: UInt8.self) else { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
        }
        return nil
    }
}
