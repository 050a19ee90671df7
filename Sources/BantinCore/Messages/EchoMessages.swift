import CBantinProto

/// bantin.bench.v1.EchoRequest
public struct EchoRequest: WireMessage, Equatable {
    public static let messageType = MessageType.named("bantin.bench.v1.EchoRequest")
    public var payload: [UInt8]
    public var delayMillis: UInt32

    public init(payload: [UInt8], delayMillis: UInt32 = 0) {
        self.payload = payload
        self.delayMillis = delayMillis
    }

    public init(cMessage: UnsafePointer<ProtobufCMessage>) throws(WireError) {
        let m = cMessage.as(Bantin__Bench__V1__EchoRequest.self).pointee
        self.init(payload: wireBytes(m.payload), delayMillis: m.delay_millis)
    }

    public func cMessage(in arena: ProtobufArena) -> UnsafeMutablePointer<ProtobufCMessage> {
        let m = arena.newMessage(Bantin__Bench__V1__EchoRequest.self, Self.messageType)
        m.pointee.payload = arena.binary(payload)
        m.pointee.delay_millis = delayMillis
        return m.asCMessage
    }
}

/// bantin.bench.v1.EchoResponse
public struct EchoResponse: WireMessage, Equatable {
    public static let messageType = MessageType.named("bantin.bench.v1.EchoResponse")
    public var payload: [UInt8]

    public init(payload: [UInt8]) { self.payload = payload }

    public init(cMessage: UnsafePointer<ProtobufCMessage>) throws(WireError) {
        self.init(payload: wireBytes(cMessage.as(Bantin__Bench__V1__EchoResponse.self).pointee.payload))
    }

    public func cMessage(in arena: ProtobufArena) -> UnsafeMutablePointer<ProtobufCMessage> {
        let m = arena.newMessage(Bantin__Bench__V1__EchoResponse.self, Self.messageType)
        m.pointee.payload = arena.binary(payload)
        return m.asCMessage
    }
}
