import BantinCore
import Foundation
import NIOCore
import Testing

@Suite struct WireTests {
    @Test func typedMessagesRoundTrip() throws {
        var metadata = Metadata()
        metadata.add("X-Request-Id", "abc")
        let headers = CallHeaders(method: "/bantin.query.v1.Query/Search", timeoutMicros: 1_500_000, metadata: metadata)
        #expect(try CallHeaders(unpacking: headers.packed()) == headers)
        let trailers = CallTrailers(code: .deadlineExceeded, message: "hết thời gian")
        #expect(try CallTrailers(unpacking: trailers.packed()) == trailers)
        let big = EchoRequest(payload: Array(repeating: 0x5A, count: 1_000_000))
        #expect(try EchoRequest(unpacking: big.packed()) == big)
    }

    /// Every kind of field a ProtoStruct table can hold, through protobuf-c bytes and back.
    @Test func protoStructFieldKindsRoundTrip() throws {
        var article = Article()
        article.id = "a0123456789abcdef"
        article.seq = 1 << 40
        article.title = "Hội nghị triển khai Chỉ thị số 07-CT/TW"
        article.paragraphs = ["Sáng 10/12, …", "", "đoạn ba"]
        article.duplicateSimilarity = 0.953125
        article.extractionStatus = .extracted
        var entity = Entity()
        entity.id = "per:nong-thanh-tung"
        entity.type = .person
        entity.aliases = ["Nông Thanh Tùng", "đồng chí Tùng"]
        var date = DateRef()
        date.span = Span(start: 3, end: 9)
        date.value = "2023-12-10"
        date.yearInferred = true
        var extraction = Extraction()
        extraction.entities = [entity, Entity()]
        extraction.dates = [date]
        var stored = StoredArticle(article: article, extraction: extraction)
        #expect(try StoredArticle(unpacking: stored.packed()) == stored)
        stored.extraction = nil
        #expect(try StoredArticle(unpacking: stored.packed()).extraction == nil, "an absent message stays absent")
        #expect(try Article(unpacking: Article().packed()) == Article())
    }

    /// JSON string literals are built on bytes: each escape, a run around it, and non-ASCII text left as it is;
    /// the result parses back to the same string.
    @Test func jsonQuotingEscapesOnlyWhatJSONRequires() throws {
        let cases: [(String, String)] = [
            ("", #""""#),
            ("Tỉnh ủy Cao Bằng", #""Tỉnh ủy Cao Bằng""#),
            ("a\"b\\c", #""a\"b\\c""#),
            ("dòng 1\ndòng 2\r\t", #""dòng 1\ndòng 2\r\t""#),
            ("\u{01}x\u{1F}", #""\u0001x\u001f""#),
            ("\u{7F}“”", "\"\u{7F}“”\""),
        ]
        for (input, expected) in cases {
            let quoted = JSONMessageCodec.quoted(input)
            #expect(quoted == expected)
            let parsed = try JSONSerialization.jsonObject(with: Data(quoted.utf8), options: .fragmentsAllowed) as? String
            #expect(parsed == input)
        }
    }

    @Test func jsonNumbersAreWrittenAsDecimalDigits() {
        var out: [UInt8] = Array("[".utf8)
        JSONMessageCodec.appendDecimal(0, to: &out)
        out.append(UInt8(ascii: ","))
        JSONMessageCodec.appendDecimal(-1_234, to: &out)
        out.append(UInt8(ascii: ","))
        JSONMessageCodec.appendDecimal(Int(UInt32.max), to: &out)
        out.append(UInt8(ascii: ","))
        JSONMessageCodec.appendDecimal(Int.min, to: &out)
        #expect(String(decoding: out, as: UTF8.self) == "[0,-1234,4294967295,-9223372036854775808")
    }

    @Test func statusCodesHaveGRPCNumbers() {
        #expect(StatusCode.allCases.count == 17)
        #expect(StatusCode.deadlineExceeded.rawValue == 4)
        #expect(StatusCode.unavailable.rawValue == 14)
        #expect(StatusCode.unauthenticated.rawValue == 16)
        #expect(StatusCode(wireValue: 99) == .unknown)
    }

    @Test func malformedBytesAreAnErrorNotACrash() {
        #expect(throws: WireError.malformed(type: "bantin.bench.v1.EchoRequest")) {
            try EchoRequest(unpacking: ByteBuffer(bytes: [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]))
        }
        #expect(throws: WireError.self) { try CallHeaders(unpacking: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF])) }
    }

    @Test func jsonToProtobufAndBack() throws {
        let type = try TypeRegistry.message(named: "bantin.ingest.v1.SubmitResponse")
        let json = #"{"outcome": "DUPLICATE", "articleId": "a1", "seq": "42", "similarity": 0.93, "duplicate_of": "a0"}"#
        let message = try JSONMessageCodec.decode(json, as: type)
        var buffer = ByteBuffer()
        message.pack(into: &buffer)
        let back = try DynamicMessage(type: type, unpacking: buffer)
        #expect(back == message)
        let text = JSONMessageCodec.encode(back, pretty: false)
        #expect(text == #"{"outcome":"DUPLICATE","articleId":"a1","seq":"42","duplicateOf":"a0","similarity":0.93}"#)
    }

    @Test func jsonNestedRepeatedEnumsAndBytes() throws {
        let type = try TypeRegistry.message(named: "bantin.domain.v1.Extraction")
        let json = #"{"entities": [{"id": "person:nong-thanh-tung", "type": "PERSON", "name": "Nông Thanh Tùng", "honorifics": ["đồng chí"]}], "mentions": [{"span": {"start": 10, "end": 25}}]}"#
        let message = try JSONMessageCodec.decode(json, as: type)
        var buffer = ByteBuffer()
        message.pack(into: &buffer)
        let back = try DynamicMessage(type: type, unpacking: buffer)
        #expect(back == message)
        #expect(JSONMessageCodec.encode(back, pretty: false).contains(#""name":"Nông Thanh Tùng""#))

        let echo = try TypeRegistry.message(named: "bantin.bench.v1.EchoRequest")
        let bytes = try JSONMessageCodec.decode(#"{"payload": "AQID"}"#, as: echo)
        #expect(bytes.fields["payload"] == .bytes([1, 2, 3]))
    }

    @Test func jsonErrorsNameTheProblem() throws {
        let type = try TypeRegistry.message(named: "bantin.bench.v1.EchoRequest")
        #expect(throws: WireError.self) { try JSONMessageCodec.decode(#"{"paylod": ""}"#, as: type) }
        do {
            _ = try JSONMessageCodec.decode(#"{"paylod": ""}"#, as: type)
        } catch {
            #expect("\(error)".contains("unknown field 'paylod'"))
            #expect("\(error)".contains("payload"))
        }
        #expect(throws: WireError.self) { try JSONMessageCodec.decode(#"{"delayMillis": -1}"#, as: type) }
        #expect(throws: WireError.self) { try JSONMessageCodec.decode(#"{"payload": "not base64!"}"#, as: type) }
        #expect(throws: WireError.self) { try JSONMessageCodec.decode("[1, 2", as: type) }
        let health = try TypeRegistry.message(named: "bantin.health.v1.HealthCheckResponse")
        #expect(throws: WireError.self) { try JSONMessageCodec.decode(#"{"status": "SLEEPING"}"#, as: health) }
    }
}

@Suite struct GeneratedCodeTests {
    /// `make proto` output must match what is committed.
    @Test func committedProtobufCCodeIsFresh() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("bantin-proto-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [root.appendingPathComponent("proto/generate.sh").path, out.path]
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "proto/generate.sh failed (is protoc-c installed? apt-get install protobuf-c-compiler)")
        let committed = root.appendingPathComponent("Sources/CBantinProto")
        for relative in try FileManager.default.subpathsOfDirectory(atPath: out.path) {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: out.appendingPathComponent(relative).path, isDirectory: &isDirectory)
            if isDirectory.boolValue { continue }
            let fresh = try Data(contentsOf: out.appendingPathComponent(relative))
            let old = try? Data(contentsOf: committed.appendingPathComponent(relative))
            #expect(fresh == old, "Sources/CBantinProto/\(relative) is stale: run `make proto` and commit the result")
        }
    }
}

@Suite struct SplicedWireTests {
    @Test func theElementsOfARepeatedMessageFieldAreReadWithoutUnpacking() throws {
        var first = Extraction()
        first.entities = [Entity()]
        first.entities[0].name = "Nông Thanh Tùng"
        let extractions = [first, Extraction(), first]
        var bytes = ExtractBatchResponse(extractions: extractions).packed()
        bytes.writeBytes([0x10, 0x96, 0x01, 0x1D, 1, 2, 3, 4, 0x21, 1, 2, 3, 4, 5, 6, 7, 8])  // unknown varint, fixed32, fixed64 fields
        let found = try WireEncoding.lengthDelimitedFields(1, in: bytes, type: "test")
        #expect(try found.map { try Extraction(unpacking: $0) } == extractions)
        #expect(found.allSatisfy(Extraction.messageType.parses))
    }

    @Test func truncatedOrGarbageBytesAreMalformedNotRead() throws {
        let bytes = ExtractBatchResponse(extractions: [Extraction(), Extraction()]).packed()
        let truncated = bytes.getSlice(at: 0, length: bytes.readableBytes - 1)!
        let garbage: [[UInt8]] = [[0x0A, 0x05, 1, 2], [0x0A], [0x00, 0x01], [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], [0x0B]]
        for bad in garbage {
            #expect(throws: WireError.malformed(type: "test")) { try WireEncoding.lengthDelimitedFields(1, in: ByteBuffer(bytes: bad), type: "test") }
        }
        #expect(throws: WireError.malformed(type: "test")) { try WireEncoding.lengthDelimitedFields(1, in: truncated, type: "test") }
        #expect(Extraction.messageType.parses(ByteBuffer()))
        #expect(!Extraction.messageType.parses(ByteBuffer(bytes: [0x0A, 0x05, 1, 2])))
        #expect(!Extraction.messageType.parses(ByteBuffer(bytes: [0x0A, 0x02, 0xFF, 0xFF])))
    }
}
