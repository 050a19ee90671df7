import CBantinProto
import Foundation

/// Converts between JSON and protobuf-c messages using the generated descriptors, following
/// the proto3 JSON mapping: lowerCamelCase names (the proto names are accepted too), 64-bit
/// integers as strings (numbers accepted), enums by name (numbers accepted), bytes as base64.
public enum JSONMessageCodec {
    public static func decode(_ json: String, as type: MessageType) throws(WireError) -> DynamicMessage {
        try message(from: try parse(json), type: type, path: type.name)
    }

    static func parse(_ json: String) throws(WireError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8))
        } catch {
            let reason = if case DecodingError.dataCorrupted(let context) = error { context.debugDescription } else { "\(error)" }
            throw WireError.json("request is not valid JSON: \(reason)")
        }
    }

    /// Decodes a JSON object whose keys starting with "@" are directions to the caller rather than
    /// fields (a `bantin load` request file's "@method" and "@weight"). `type` picks the message
    /// type from those directions, which are returned beside the message as text.
    public static func decode(
        _ json: String, directed type: (_ directions: [String: String]) throws(WireError) -> MessageType
    ) throws(WireError) -> (message: DynamicMessage, directions: [String: String]) {
        guard case .object(var object) = try parse(json) else { throw WireError.json("expected a JSON object") }
        var directions: [String: String] = [:]
        for (key, value) in object where key.hasPrefix("@") {
            object[key] = nil
            switch value {
            case .string(let s): directions[key] = s
            case .int(let n): directions[key] = String(n)
            case .uint(let n): directions[key] = String(n)
            case .double(let d): directions[key] = String(d)
            case .bool(let b): directions[key] = String(b)
            default: throw WireError.json("\(key) must be a string or a number")
            }
        }
        let messageType = try type(directions)
        return (try message(from: .object(object), type: messageType, path: messageType.name), directions)
    }

    public static func encode(_ message: DynamicMessage, pretty: Bool = true) -> String {
        var out = ""
        write(message, into: &out, indent: pretty ? 0 : nil)
        return out
    }

    // MARK: JSON → message

    static func message(from json: JSONValue, type: MessageType, path: String) throws(WireError) -> DynamicMessage {
        guard case .object(let object) = json else {
            throw WireError.json("\(path): expected a JSON object for \(type.name)")
        }
        var result = DynamicMessage(type: type)
        for (key, value) in object {
            guard let field = type.field(named: key) ?? type.field(named: snakeCase(key)) else {
                let known = type.fields.map { camelCase(String(cString: $0.name)) }.joined(separator: ", ")
                throw WireError.json("\(path): unknown field '\(key)' in \(type.name) (fields: \(known.isEmpty ? "none" : known))")
            }
            let name = String(cString: field.name)
            let fieldPath = "\(path).\(camelCase(name))"
            if case .null = value { continue }
            if field.label == PROTOBUF_C_LABEL_REPEATED {
                guard case .array(let items) = value else { throw WireError.json("\(fieldPath): expected an array") }
                var list: [DynamicMessage.Value] = []
                for (i, item) in items.enumerated() {
                    list.append(try scalar(from: item, field: field, path: "\(fieldPath)[\(i)]"))
                }
                result.fields[name] = .list(list)
            } else {
                result.fields[name] = try scalar(from: value, field: field, path: fieldPath)
            }
        }
        return result
    }

    static func scalar(from json: JSONValue, field: ProtobufCFieldDescriptor, path: String) throws(WireError) -> DynamicMessage.Value {
        func integer() throws(WireError) -> Int64 {
            switch json {
            case .int(let v): return v
            case .uint(let v) where v <= UInt64(Int64.max): return Int64(v)
            case .double(let v) where v.rounded() == v && abs(v) < 9.2e18: return Int64(v)
            case .string(let s): if let v = Int64(s) { return v }
            default: break
            }
            throw WireError.json("\(path): expected an integer")
        }
        func unsigned() throws(WireError) -> UInt64 {
            switch json {
            case .int(let v) where v >= 0: return UInt64(v)
            case .uint(let v): return v
            case .string(let s): if let v = UInt64(s) { return v }
            default: break
            }
            throw WireError.json("\(path): expected a non-negative integer")
        }
        func number() throws(WireError) -> Double {
            switch json {
            case .int(let v): return Double(v)
            case .uint(let v): return Double(v)
            case .double(let v): return v
            case .string(let s): if let v = Double(s) { return v }
            default: break
            }
            throw WireError.json("\(path): expected a number")
        }
        switch field.type {
        case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32:
            let v = try integer()
            guard Int32(exactly: v) != nil else { throw WireError.json("\(path): \(v) does not fit in int32") }
            return .int(v)
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64:
            return .int(try integer())
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32:
            let v = try unsigned()
            guard UInt32(exactly: v) != nil else { throw WireError.json("\(path): \(v) does not fit in uint32") }
            return .uint(v)
        case PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64:
            return .uint(try unsigned())
        case PROTOBUF_C_TYPE_FLOAT: return .float(Float(try number()))
        case PROTOBUF_C_TYPE_DOUBLE: return .double(try number())
        case PROTOBUF_C_TYPE_BOOL:
            guard case .bool(let b) = json else { throw WireError.json("\(path): expected true or false") }
            return .bool(b)
        case PROTOBUF_C_TYPE_STRING:
            guard case .string(let s) = json else { throw WireError.json("\(path): expected a string") }
            return .string(s)
        case PROTOBUF_C_TYPE_BYTES:
            guard case .string(let s) = json, let data = Data(base64Encoded: s) else {
                throw WireError.json("\(path): expected base64-encoded bytes")
            }
            return .bytes(Array(data))
        case PROTOBUF_C_TYPE_ENUM:
            let enumType = EnumType(descriptor: field.descriptor.assumingMemoryBound(to: ProtobufCEnumDescriptor.self))
            switch json {
            case .string(let s):
                guard let v = enumType.value(named: s) else {
                    let names = enumType.values.map(\.name).joined(separator: ", ")
                    throw WireError.json("\(path): '\(s)' is not a value of \(enumType.name) (values: \(names))")
                }
                return .enumValue(v)
            case .int(let v) where Int32(exactly: v) != nil:
                return .enumValue(Int32(v))
            default:
                throw WireError.json("\(path): expected an enum name of \(enumType.name)")
            }
        case PROTOBUF_C_TYPE_MESSAGE:
            let sub = MessageType(field.descriptor.assumingMemoryBound(to: ProtobufCMessageDescriptor.self))
            return .message(try message(from: json, type: sub, path: path))
        default:
            throw WireError.json("\(path): unsupported field type")
        }
    }

    // MARK: message → JSON

    static func write(_ message: DynamicMessage, into out: inout String, indent: Int?) {
        let present = message.type.fields.filter { message.fields[String(cString: $0.name)] != nil }
        if present.isEmpty { out += "{}"; return }
        out += "{"
        for (i, field) in present.enumerated() {
            let name = String(cString: field.name)
            newline(&out, indent.map { $0 + 1 })
            out += quoted(camelCase(name)) + (indent == nil ? ":" : ": ")
            write(message.fields[name]!, field: field, into: &out, indent: indent.map { $0 + 1 })
            if i < present.count - 1 { out += "," }
        }
        newline(&out, indent)
        out += "}"
    }

    static func write(_ value: DynamicMessage.Value, field: ProtobufCFieldDescriptor, into out: inout String, indent: Int?) {
        switch value {
        case .int(let v):
            out += elementIs64Bit(field) ? quoted(String(v)) : String(v)
        case .uint(let v):
            out += elementIs64Bit(field) ? quoted(String(v)) : String(v)
        case .float(let v): out += v.isFinite ? "\(v)" : quoted("\(v)")
        case .double(let v): out += v.isFinite ? "\(v)" : quoted("\(v)")
        case .bool(let v): out += v ? "true" : "false"
        case .enumValue(let v):
            let enumType = EnumType(descriptor: field.descriptor.assumingMemoryBound(to: ProtobufCEnumDescriptor.self))
            out += enumType.name(of: v).map(quoted) ?? String(v)
        case .string(let s): out += quoted(s)
        case .bytes(let b): out += quoted(Data(b).base64EncodedString())
        case .message(let m): write(m, into: &out, indent: indent)
        case .list(let items):
            out += "["
            for (i, item) in items.enumerated() {
                newline(&out, indent.map { $0 + 1 })
                write(item, field: field, into: &out, indent: indent.map { $0 + 1 })
                if i < items.count - 1 { out += "," }
            }
            if !items.isEmpty { newline(&out, indent) }
            out += "]"
        }
    }

    static func elementIs64Bit(_ field: ProtobufCFieldDescriptor) -> Bool {
        [PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64,
         PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64].contains(field.type)
    }

    static func newline(_ out: inout String, _ indent: Int?) {
        guard let indent else { return }
        out += "\n" + String(repeating: "  ", count: indent)
    }

    /// A JSON string literal holding `s`.
    public static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count + 2)
        appendQuoted(s, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Appends `s` as a JSON string literal, working on its UTF-8 bytes: only `"`, `\` and control bytes
    /// (all ASCII) are escaped, and runs between them are copied whole. Per-scalar String appends made
    /// quoting a sixth of `bantin extract`'s time.
    public static func appendQuoted(_ s: String, to out: inout [UInt8]) {
        var s = s
        out.append(UInt8(ascii: "\""))
        s.withUTF8 { bytes in
            var runStart = 0
            for (i, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                out.append(contentsOf: bytes[runStart..<i])
                runStart = i + 1
                switch byte {
                case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case UInt8(ascii: "\n"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case UInt8(ascii: "\r"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case UInt8(ascii: "\t"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                default:
                    out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                            hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0xF)]])
                }
            }
            out.append(contentsOf: bytes[runStart...])
        }
        out.append(UInt8(ascii: "\""))
    }

    /// Appends `number` in decimal, as a JSON number: digits written in place, no String made. (An `Int`, not
    /// any `BinaryInteger`: a generic version called from another module ran through protocol witnesses.)
    public static func appendDecimal(_ number: Int, to out: inout [UInt8]) {
        if number < 0 { out.append(UInt8(ascii: "-")) }
        let magnitude = number.magnitude
        var unit: UInt = 1  // the place value of the first digit
        while magnitude / unit >= 10 { unit *= 10 }
        while unit > 0 {
            out.append(UInt8(ascii: "0") + UInt8(magnitude / unit % 10))
            unit /= 10
        }
    }

    public static func camelCase(_ snake: String) -> String {
        var out = ""
        var upper = false
        for c in snake {
            if c == "_" { upper = true; continue }
            out += upper ? c.uppercased() : String(c)
            upper = false
        }
        return out
    }

    static func snakeCase(_ camel: String) -> String {
        var out = ""
        for c in camel {
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
        return out
    }
}

/// A parsed JSON value that keeps integers exact and booleans apart from numbers.
enum JSONValue: Decodable {
    case null, bool(Bool), int(Int64), uint(UInt64), double(Double), string(String)
    case array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let v = try? c.decode(Bool.self) { self = .bool(v) }
        else if let v = try? c.decode(Int64.self) { self = .int(v) }
        else if let v = try? c.decode(UInt64.self) { self = .uint(v) }
        else if let v = try? c.decode(Double.self) { self = .double(v) }
        else if let v = try? c.decode(String.self) { self = .string(v) }
        else if let v = try? c.decode([JSONValue].self) { self = .array(v) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }
}
