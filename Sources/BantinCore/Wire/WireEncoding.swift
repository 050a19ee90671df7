import NIOCore

/// Hand-written protobuf encoding for the few places that splice already-serialized messages together instead of
/// unpacking and repacking them (the ingest change feed). Protobuf allows it: a message field is its tag, its length
/// and the nested message's bytes, and a scalar field that occurs again later overrides the earlier value.
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
}
