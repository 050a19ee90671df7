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

    /// Reads one frame if the buffer holds all of it; the frame is a slice, not a copy.
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
        guard FrameType(rawValue: rawType) != nil else { throw FrameError.unknownType(rawType) }
        guard reserved == 0, flags.rawValue & ~0b11 == 0 else { throw FrameError.reservedBitsSet }
        guard !flags.contains(.compressed) else { throw FrameError.compressionUnsupported }
        guard Int(length) <= maxBodySize else { throw FrameError.oversized(length: length, limit: maxBodySize) }
        guard buffer.readableBytes >= Frame.headerSize + Int(length) else { return nil }
        return Frame(validated: buffer.readSlice(length: Frame.headerSize + Int(length))!)
    }
}

/// Frames → bytes. A frame already is its encoded bytes, so this only hands them on.
public final class FrameEncoder: ChannelOutboundHandler {
    public typealias OutboundIn = Frame
    public typealias OutboundOut = ByteBuffer

    public init() {}

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        context.write(wrapOutboundOut(unwrapOutboundIn(data).bytes), promise: promise)
    }

    /// The encoded bytes of one frame, for tests and raw peers.
    public static func encode(_ frame: Frame) -> ByteBuffer { frame.bytes }
}
