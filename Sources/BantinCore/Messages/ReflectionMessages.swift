import CBantinProto

/// bantin.reflection.v1.ListMethodsRequest
public struct ListMethodsRequest: DynamicWireMessage, Equatable {
    public static let messageType = MessageType.named("bantin.reflection.v1.ListMethodsRequest")
    public init() {}
    public init(dynamic: DynamicMessage) {}
    public var dynamic: DynamicMessage { DynamicMessage(type: Self.messageType) }
}

/// One served method, as reflection reports it.
public struct MethodInfo: Sendable, Equatable {
    public var path: String
    public var requestType: String
    public var responseType: String
    public var clientStreaming: Bool
    public var serverStreaming: Bool
    public var idempotent: Bool

    public init(path: String, requestType: String, responseType: String,
                clientStreaming: Bool, serverStreaming: Bool, idempotent: Bool) {
        self.path = path
        self.requestType = requestType
        self.responseType = responseType
        self.clientStreaming = clientStreaming
        self.serverStreaming = serverStreaming
        self.idempotent = idempotent
    }

    static let messageType = MessageType.named("bantin.reflection.v1.MethodInfo")

    init(dynamic m: DynamicMessage) {
        self.init(path: m.string("path"), requestType: m.string("request_type"), responseType: m.string("response_type"),
                  clientStreaming: m.bool("client_streaming"), serverStreaming: m.bool("server_streaming"),
                  idempotent: m.bool("idempotent"))
    }

    var dynamic: DynamicMessage {
        var m = DynamicMessage(type: Self.messageType)
        m.set("path", .string(path))
        m.set("request_type", .string(requestType))
        m.set("response_type", .string(responseType))
        m.set("client_streaming", .bool(clientStreaming))
        m.set("server_streaming", .bool(serverStreaming))
        m.set("idempotent", .bool(idempotent))
        return m
    }
}

/// bantin.reflection.v1.ListMethodsResponse
public struct ListMethodsResponse: DynamicWireMessage, Equatable {
    public static let messageType = MessageType.named("bantin.reflection.v1.ListMethodsResponse")
    public var methods: [MethodInfo]

    public init(methods: [MethodInfo]) { self.methods = methods }
    public init(dynamic: DynamicMessage) { methods = dynamic.messages("methods").map(MethodInfo.init(dynamic:)) }
    public var dynamic: DynamicMessage {
        var m = DynamicMessage(type: Self.messageType)
        m.set("methods", .list(methods.map { .message($0.dynamic) }))
        return m
    }
}

/// bantin.reflection.v1.DescribeTypeRequest
public struct DescribeTypeRequest: DynamicWireMessage, Equatable {
    public static let messageType = MessageType.named("bantin.reflection.v1.DescribeTypeRequest")
    public var name: String
    public init(name: String) { self.name = name }
    public init(dynamic: DynamicMessage) { name = dynamic.string("name") }
    public var dynamic: DynamicMessage {
        var m = DynamicMessage(type: Self.messageType)
        m.set("name", .string(name))
        return m
    }
}

/// bantin.reflection.v1.DescribeTypeResponse: kept dynamic, since it only travels to printers.
public struct DescribeTypeResponse: DynamicWireMessage, Equatable {
    public static let messageType = MessageType.named("bantin.reflection.v1.DescribeTypeResponse")
    public var dynamic: DynamicMessage
    public init(dynamic: DynamicMessage) { self.dynamic = dynamic }
}
