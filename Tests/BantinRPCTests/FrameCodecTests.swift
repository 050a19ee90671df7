import BantinRPC
import NIOCore
import NIOEmbedded
import Testing

@Suite struct FrameCodecTests {
    func channel(limit: Int = Frame.defaultMaxBodySize) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([ByteToMessageHandler(FrameDecoder(maxBodySize: limit)), FrameEncoder()])
        return channel
    }

    let sample = Frame(type: .message, flags: .end, callID: 7, payload: ByteBuffer(string: "xin chào"))

    @Test func encodesTheDocumentedHeader() {
        let bytes = FrameEncoder.encode(sample)
        #expect(Array(bytes.readableBytesView.prefix(12)) == [0, 0, 0, 9, 2, 1, 0, 0, 0, 0, 0, 7])
        #expect(bytes.readableBytes == 12 + 9)
    }

    @Test func decodesByteByByte() throws {
        let channel = try channel()
        let bytes = FrameEncoder.encode(sample)
        for byte in bytes.readableBytesView {
            #expect(try channel.readInbound(as: Frame.self) == nil)
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        #expect(try channel.readInbound(as: Frame.self) == sample)
    }

    @Test func decodesSeveralFramesInOneRead() throws {
        let channel = try channel()
        var bytes = FrameEncoder.encode(sample)
        var second = FrameEncoder.encode(Frame(type: .ping, callID: 0, payload: ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8])))
        var third = FrameEncoder.encode(Frame(type: .halfClose, flags: .end, callID: 9))
        bytes.writeBuffer(&second)
        bytes.writeBuffer(&third)
        try channel.writeInbound(bytes)
        #expect(try channel.readInbound(as: Frame.self)?.callID == 7)
        #expect(try channel.readInbound(as: Frame.self)?.type == .ping)
        #expect(try channel.readInbound(as: Frame.self)?.type == .halfClose)
        #expect(try channel.readInbound(as: Frame.self) == nil)
    }

    @Test func encoderWritesWhatTheDecoderReads() throws {
        let channel = try channel()
        let big = Frame(type: .message, callID: 3, payload: ByteBuffer(repeating: 0xAB, count: 100_000))
        try channel.writeOutbound(big)
        var wire = ByteBuffer()
        while var part = try channel.readOutbound(as: ByteBuffer.self) { wire.writeBuffer(&part) }
        try channel.writeInbound(wire)
        #expect(try channel.readInbound(as: Frame.self) == big)
    }

    @Test func truncatedFrameIsAnErrorAtEndOfStream() throws {
        let channel = try channel()
        let bytes = FrameEncoder.encode(sample)
        try channel.writeInbound(bytes.getSlice(at: 0, length: 15)!)
        #expect(throws: FrameError.truncated(missing: 6)) { try channel.finish() }
    }

    @Test func oversizedLengthFailsBeforeTheBodyArrives() throws {
        let channel = try channel(limit: 1024)
        var header = ByteBuffer()
        header.writeInteger(UInt32(1025))
        header.writeBytes([2, 0, 0, 0, 0, 0, 0, 1])
        #expect(throws: FrameError.oversized(length: 1025, limit: 1024)) { try channel.writeInbound(header) }
    }

    @Test func unknownTypeIsRejected() throws {
        let channel = try channel()
        var header = ByteBuffer()
        header.writeInteger(UInt32(0))
        header.writeBytes([42, 0, 0, 0, 0, 0, 0, 1])
        #expect(throws: FrameError.unknownType(42)) { try channel.writeInbound(header) }
    }

    @Test func garbageIsRejected() throws {
        let channel = try channel()
        // An HTTP request line where a frame header should be.
        #expect(throws: FrameError.self) { try channel.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: x\r\n\r\n")) }
    }

    @Test func reservedBitsAndCompressionAreRejected() throws {
        var reserved = ByteBuffer()
        reserved.writeInteger(UInt32(0))
        reserved.writeBytes([2, 0, 0, 1, 0, 0, 0, 1])
        #expect(throws: FrameError.reservedBitsSet) { try channel().writeInbound(reserved) }
        var compressed = ByteBuffer()
        compressed.writeInteger(UInt32(0))
        compressed.writeBytes([2, 2, 0, 0, 0, 0, 0, 1])
        #expect(throws: FrameError.compressionUnsupported) { try channel().writeInbound(compressed) }
    }
}
