import BantinCore

/// bantin.reflection.v1.Reflection: the methods this server serves and the shape of their messages.
public struct ReflectionService: RPCService {
    public static let listMethods = Method<ListMethodsRequest, ListMethodsResponse>(
        "/bantin.reflection.v1.Reflection/ListMethods", kind: .unary, idempotent: true)
    public static let describeType = Method<DescribeTypeRequest, DescribeTypeResponse>(
        "/bantin.reflection.v1.Reflection/DescribeType", kind: .unary, idempotent: true)
    static var methods: [MethodInfo] { [listMethods.info, describeType.info] }

    let methods: [MethodInfo]

    public func register(on router: inout Router) {
        let methods = self.methods.sorted { $0.path < $1.path }
        router.unary(Self.listMethods) { _, _ in ListMethodsResponse(methods: methods) }
        router.unary(Self.describeType) { request, _ in
            DescribeTypeResponse(dynamic: try Self.describe(request.name))
        }
    }

    static func describe(_ name: String) throws -> DynamicMessage {
        var response = DynamicMessage(type: DescribeTypeResponse.messageType)
        response.set("name", .string(name))
        let fieldInfo = try TypeRegistry.message(named: "bantin.reflection.v1.FieldInfo")
        let valueInfo = try TypeRegistry.message(named: "bantin.reflection.v1.EnumValueInfo")
        if let type = TypeRegistry.messages[name] {
            response.set("fields", .list(type.fields.map { field in
                var f = DynamicMessage(type: fieldInfo)
                let described = FieldDescription(field)
                f.set("name", .string(described.name))
                f.set("number", .uint(UInt64(described.number)))
                f.set("type", .string(described.type))
                f.set("repeated", .bool(described.repeated))
                f.set("type_name", .string(described.typeName))
                return .message(f)
            }))
        } else if let type = TypeRegistry.enums[name] {
            response.set("values", .list(type.values.map { value in
                var v = DynamicMessage(type: valueInfo)
                v.set("name", .string(value.name))
                v.set("number", .int(Int64(value.number)))
                return .message(v)
            }))
        } else {
            throw RPCError(.notFound, "unknown type '\(name)'")
        }
        return response
    }
}
