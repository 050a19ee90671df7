import NIOCore

/// Bytes → frames. Validates each header before waiting for its body, so an oversized or
/// garbage header fails at once instead of buffering up to 4 GiB.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame
    public let maxBodySize: Int

    public init(maxBodySize: Int = Frame.defaultMaxBodySize) {
        self.maxBodySize = maxBodySize
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try Self.decodeFrame(from: &buffer, maxBodySize: maxBodySize) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        if buffer.readableBytes > 0 {
            let missing: Int
            if buffer.readableBytes >= Frame.headerSize, let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) {
                missing = Frame.headerSize + Int(length) - buffer.readableBytes
            } else {
                missing = Frame.headerSize - buffer.readableBytes
            }
            buffer.moveReaderIndex(to: buffer.writerIndex)
            throw FrameError.truncated(missing: missing)
        }
        return .needMoreData
    }

    /// Reads one frame if the buffer holds all of it; the body is a slice, not a copy.
    public static func decodeFrame(from buffer: inout ByteBuffer, maxBodySize: Int) throws -> Frame? {
        guard buffer.readableBytes >= Frame.headerSize else {
            // Even a partial header can be judged: catch garbage before more of it arrives.
            if buffer.readableBytes >= 5, let raw = buffer.getInteger(at: buffer.readerIndex + 4, as: UInt8.self),
               FrameType(rawValue: raw) == nil {
                throw FrameError.unknownType(raw)
            }
            return nil
        }
        let start = buffer.readerIndex
        let length = buffer.getInteger(at: start, as: UInt32.self)!
        let rawType = buffer.getInteger(at: start + 4, as: UInt8.self)!
        let flags = FrameFlags(rawValue: buffer.getInteger(at: start + 5, as: UInt8.self)!)
        let reserved = buffer.getInteger(at: start + 6, as: UInt16.self)!
        guard let type = FrameType(rawValue: rawType) else { throw FrameError.unknownType(rawType) }
        guard reserved == 0, flags.rawValue & ~0b11 == 0 else { throw FrameError.reservedBitsSet }
        guard !flags.contains(.compressed) else { throw FrameError.compressionUnsupported }
        guard Int(length) <= maxBodySize else { throw FrameError.oversized(length: length, limit: maxBodySize) }
        guard buffer.readableBytes >= Frame.headerSize + Int(length) else { return nil }
        let callID = buffer.getInteger(at: start + 8, as: UInt32.self)!
        buffer.moveReaderIndex(forwardBy: Frame.headerSize)
        let payload = buffer.readSlice(length: Int(length))!
        return Frame(type: type, flags: flags, callID: callID, payload: payload)
    }
}

/// Frames → bytes. A small frame goes out as one buffer; a larger one as its header and its
/// body, so the body is not copied here (the TLS handler below gathers writes anyway).
public final class FrameEncoder: ChannelOutboundHandler {
    public typealias OutboundIn = Frame
    public typealias OutboundOut = ByteBuffer

    static let coalesceLimit = 256

    public init() {}

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        let bodySize = frame.payload.readableBytes
        if bodySize <= Self.coalesceLimit {
            var out = context.channel.allocator.buffer(capacity: Frame.headerSize + bodySize)
            Self.writeHeader(of: frame, into: &out)
            var payload = frame.payload
            out.writeBuffer(&payload)
            context.write(wrapOutboundOut(out), promise: promise)
        } else {
            var header = context.channel.allocator.buffer(capacity: Frame.headerSize)
            Self.writeHeader(of: frame, into: &header)
            context.write(wrapOutboundOut(header), promise: nil)
            context.write(wrapOutboundOut(frame.payload), promise: promise)
        }
    }

    public static func writeHeader(of frame: Frame, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(frame.payload.readableBytes))
        buffer.writeInteger(frame.type.rawValue)
        buffer.writeInteger(frame.flags.rawValue)
        buffer.writeInteger(UInt16(0))
        buffer.writeInteger(frame.callID)
    }

    /// The encoded bytes of one frame, for tests and raw peers.
    public static func encode(_ frame: Frame) -> ByteBuffer {
        var out = ByteBuffer()
        writeHeader(of: frame, into: &out)
        var payload = frame.payload
        out.writeBuffer(&payload)
        return out
    }
}
