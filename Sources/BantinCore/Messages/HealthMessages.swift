import CBantinProto

/// bantin.health.v1.HealthCheckRequest
public struct HealthCheckRequest: DynamicWireMessage, Equatable {
    public static let messageType = MessageType.named("bantin.health.v1.HealthCheckRequest")
    public var service: String

    public init(service: String = "") { self.service = service }
    public init(dynamic: DynamicMessage) { service = dynamic.string("service") }
    public var dynamic: DynamicMessage {
        var m = DynamicMessage(type: Self.messageType)
        m.set("service", .string(service))
        return m
    }
}

/// bantin.health.v1.HealthCheckResponse
public struct HealthCheckResponse: DynamicWireMessage, Equatable {
    public static let messageType = MessageType.named("bantin.health.v1.HealthCheckResponse")

    public enum ServingStatus: Int32, Sendable {
        case unknown = 0, serving = 1, notServing = 2, serviceUnknown = 3
    }
    public var status: ServingStatus

    public init(status: ServingStatus) { self.status = status }
    public init(dynamic: DynamicMessage) { status = ServingStatus(rawValue: dynamic.enumValue("status")) ?? .unknown }
    public var dynamic: DynamicMessage {
        var m = DynamicMessage(type: Self.messageType)
        m.set("status", .enumValue(status.rawValue))
        return m
    }
}
