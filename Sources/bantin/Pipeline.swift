import ArgumentParser
import BantinCore
import BantinExtract
import BantinRPC
import Foundation

/// Addresses of the three services, shared by the pipeline commands.
struct ServiceAddresses: ParsableArguments {
    @Option(help: "bantin-ingest host:port (env BANTIN_INGEST).")
    var ingest = ProcessInfo.processInfo.environment["BANTIN_INGEST"] ?? "127.0.0.1:7401"
    @Option(help: "bantin-query host:port (env BANTIN_QUERY).")
    var query = ProcessInfo.processInfo.environment["BANTIN_QUERY"] ?? "127.0.0.1:7403"
}

func makeClient(_ target: String, _ tls: ClientTLSOptions) throws -> RPCClient {
    let provider = try TLSContextProvider(tls.configuration())
    var configuration = ClientConfiguration(tls: provider, serverName: tls.serverName)
    configuration.interceptors = []
    return try RPCClient(target: target, configuration: configuration)
}

struct IngestFiles: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Submit article files (or folders of them) to bantin-ingest; prints a summary.",
        discussion: "Each file is one article as UTF-8 text, headline first. Files that are not UTF-8 text are reported and skipped.")

    @Argument(help: "Files or folders (searched recursively for regular files).")
    var paths: [String]
    @Option(help: "Province of the articles, when known.")
    var province = ""
    @Flag(help: "Print one line per article.")
    var verbose = false
    @OptionGroup var services: ServiceAddresses
    @OptionGroup var tls: ClientTLSOptions

    func run() async throws {
        let files = try collectFiles(paths)
        var requests: [(String, SubmitRequest)] = []
        var rejectedLocally: [(String, String)] = []
        for file in files {
            let bytes = try readFile(file)
            if bytes.contains(0) {
                rejectedLocally.append((file, "binary file (contains NUL bytes), not an article"))
            } else if let text = String(validating: bytes, as: UTF8.self) {
                requests.append((file, SubmitRequest(text: text, sourceURL: "file://\(file)", province: province)))
            } else {
                rejectedLocally.append((file, "not valid UTF-8 (first bad byte at offset \(firstInvalidUTF8Offset(bytes)))"))
            }
        }
        let client = try makeClient(services.ingest, tls)
        defer { Task { await client.close() } }
        var summary = SubmitSummary()
        var lines: [String] = []
        var done = 0
        let total = requests.count
        let toSend = requests.map(\.1)
        try await client.bidirectionalStreaming(IngestAPI.submitStream) { writer, responses in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for request in toSend { try await writer.write(request) }
                    try writer.finish()
                }
                for try await response in responses {
                    if let result = response.result {
                        let file = requests[done].0
                        done += 1
                        switch result.outcome {
                        case .accepted: lines.append("accepted  \(result.articleID)  \(file)" + (result.duplicateOf.isEmpty ? "" : "  (near-duplicate of \(result.duplicateOf), similarity \(String(format: "%.2f", result.similarity)))"))
                        case .duplicate: lines.append("duplicate \(result.articleID)  \(file)")
                        default: lines.append("rejected  \(file): \(result.reason)")
                        }
                        FileHandle.standardError.write(Data("\r\(progressBar(done, total))".utf8))
                    }
                    if let s = response.summary { summary = s }
                }
                try await group.waitForAll()
            }
        }
        if total > 0 { FileHandle.standardError.write(Data("\n".utf8)) }
        for (file, reason) in rejectedLocally { lines.append("rejected  \(file): \(reason)") }
        if verbose || summary.rejected > 0 || !rejectedLocally.isEmpty {
            for line in lines where verbose || line.hasPrefix("rejected") { print(line) }
        }
        print("accepted \(summary.accepted), duplicates \(summary.duplicates), rejected \(Int(summary.rejected) + rejectedLocally.count) of \(files.count) files")
    }
}

func progressBar(_ done: Int, _ total: Int) -> String {
    let width = 30
    let filled = total == 0 ? width : width * done / total
    return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] \(done)/\(total)"
}

/// The files named, each folder replaced by the regular files under it in path order (hidden ones left out);
/// with `withExtension`, only folder entries ending in it (a file named outright is always kept).
func collectFiles(_ paths: [String], withExtension fileExtension: String? = nil) throws -> [String] {
    var files: [String] = []
    for path in paths {
        var status = stat()
        guard stat(path, &status) == 0 else { throw ValidationError("no such file or folder: \(path)") }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            files.append(path)
            continue
        }
        let suffix = fileExtension.map { "." + $0 }
        let folder = path.hasSuffix("/") ? path : path + "/"
        for entry in regularFiles(under: folder).sorted() where suffix.map({ entry.hasSuffix($0) }) ?? true {
            files.append(folder + entry)
        }
    }
    return files
}

/// The paths, relative to `folder` (ending in "/"), of the regular files under it, hidden entries left out.
/// POSIX `readdir` with each entry's type: FileManager's enumerator and a `fileExists` per entry took a thirtieth
/// of `bantin extract`'s time on a folder of 2,000 articles.
private func regularFiles(under folder: String, prefix: String = "") -> [String] {
    guard let directory = opendir(folder + prefix) else { return [] }
    defer { closedir(directory) }
    var found: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        guard !name.hasPrefix(".") else { continue }
        let relative = prefix + name
        var type = Int32(entry.pointee.d_type)
        if type == Int32(DT_UNKNOWN) || type == Int32(DT_LNK) {  // the file system did not say, or a link: follow it
            var status = stat()
            guard stat(folder + relative, &status) == 0 else { continue }
            type = status.st_mode & S_IFMT == S_IFDIR ? Int32(DT_DIR) : status.st_mode & S_IFMT == S_IFREG ? Int32(DT_REG) : -1
        }
        if type == Int32(DT_DIR) {
            found += regularFiles(under: folder, prefix: relative + "/")
        } else if type == Int32(DT_REG) {
            found.append(relative)
        }
    }
    return found
}

/// The bytes of the file at `path`, read straight into an array of the file's size.
func readFile(_ path: String) throws -> [UInt8] {
    func failure() -> ValidationError { ValidationError("\(path): cannot be read (\(String(cString: strerror(errno))))") }
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw failure() }
    defer { close(descriptor) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else { throw failure() }
    // One byte more than the size, so that the read reaching the end needs no room of its own; a file that
    // grew meanwhile is read on.
    var bytes = [UInt8](repeating: 0, count: max(Int(status.st_size), 0) + 1)
    var filled = 0
    while true {
        if filled == bytes.count { bytes += [UInt8](repeating: 0, count: max(bytes.count, 4096)) }
        let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
        if count < 0, errno == EINTR { continue }
        guard count >= 0 else { throw failure() }
        if count == 0 { break }
        filled += count
    }
    bytes.removeLast(bytes.count - filled)
    return bytes
}

struct ExtractFiles: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extract",
        abstract: "Run the extractor locally (no server) and print one JSON line per file.",
        discussion: """
            Each line: {"file", "entities": [{"type", "text", "start", "end", "byteStart", "byteEnd", "id"}], "roles": [...]}.
            start/end count Unicode scalars and byteStart/byteEnd UTF-8 bytes of the file's text as given.
            """)

    @Argument(help: "Article files (UTF-8 text), or folders whose .txt files (subfolders included) are read in path order.")
    var files: [String]
    @Option(help: "Province of the articles, when known.")
    var province = ""
    @Flag(help: "Print each file's text with its mentions marked inline ([[PER:…]], docs/GOLD.md) instead of JSON: a draft gold file.")
    var markup = false

    func run() throws {
        let extractor = Extractor()
        var pending: [UInt8] = []  // JSON lines not yet written, written 64 KiB at a time
        // Folders stand for their .txt files: the way to pass many articles, since the argument parser takes
        // time quadratic in the number of arguments (1 s for 5,000 paths).
        for file in try collectFiles(files, withExtension: "txt") {
            let bytes = try readFile(file)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw ValidationError("\(file): not valid UTF-8 (first bad byte at offset \(firstInvalidUTF8Offset(bytes)))")
            }
            let extraction = extractor.extract(text: text, province: province)
            if markup {
                print(GoldDocument.markup(text: text, mentions: extraction.mentions), terminator: "")
                continue
            }
            appendJSONLine(file: file, bytes: bytes, extraction: extraction, to: &pending)
            if pending.count >= 1 << 16 {
                try FileHandle.standardOutput.write(contentsOf: pending)
                pending.removeAll(keepingCapacity: true)
            }
        }
        if !pending.isEmpty { try FileHandle.standardOutput.write(contentsOf: pending) }
    }
}

/// `bantin extract`'s line for one file, appended to `out`. Written by hand into bytes: JSONSerialization took
/// twice as long as the extraction itself, and building the line from Strings a fifth of it.
private func appendJSONLine(file: String, bytes: [UInt8], extraction: Extraction, to out: inout [UInt8]) {
    // Byte offset → Unicode scalar offset, for the mentions' ends only: the bytes are walked once, counting the
    // bytes that start a scalar, up to each end in order; a lookup is then a bisection.
    let ends = extraction.mentions.compactMap(\.span).flatMap { [Int($0.start), Int($0.end)] }.sorted()
    var scalarsBefore = [Int](repeating: 0, count: ends.count)
    bytes.withUnsafeBufferPointer { bytes in
        var scalars = 0
        var byte = 0
        for (k, end) in ends.enumerated() {
            while byte < end {
                if bytes[byte] & 0xC0 != 0x80 { scalars += 1 }
                byte += 1
            }
            scalarsBefore[k] = scalars
        }
    }
    func scalarOffset(_ end: UInt32) -> Int {
        var low = 0, high = ends.count
        while low < high {
            let middle = (low + high) / 2
            if ends[middle] < Int(end) { low = middle + 1 } else { high = middle }
        }
        return scalarsBefore[low]
    }
    var line = JSONLine(out)
    out = []  // the buffer moves into `line` and back, not copied
    line.put("{\"file\":"); line.quote(file); line.put(",\"entities\":[")
    var first = true
    for m in extraction.mentions {
        guard let span = m.span else { continue }
        if !first { line.put(",") }
        first = false
        line.put("{\"type\":"); line.quote(m.type.name); line.put(",\"text\":"); line.quote(m.surface); line.put(",\"id\":"); line.quote(m.entityID)
        line.put(",\"start\":"); line.put(scalarOffset(span.start)); line.put(",\"end\":"); line.put(scalarOffset(span.end))
        line.put(",\"byteStart\":"); line.put(Int(span.start)); line.put(",\"byteEnd\":"); line.put(Int(span.end)); line.put("}")
    }
    line.put("],\"roles\":[")
    let names = extraction.roles.isEmpty ? [:] : Dictionary(extraction.entities.map { ($0.id, $0.name) }, uniquingKeysWith: { a, _ in a })
    for (k, r) in extraction.roles.enumerated() {
        if k > 0 { line.put(",") }
        line.put("{\"person\":"); line.quote(names[r.personID] ?? r.personID); line.put(",\"title\":"); line.quote(r.title)
        line.put(",\"organization\":"); line.quote(names[r.organizationID] ?? r.organizationID); line.put("}")
    }
    line.put("]}\n")
    out = line.bytes
}

/// JSON text built as UTF-8 bytes. A struct with mutating methods rather than local functions capturing the
/// buffer: those made every append check exclusive access at run time.
private struct JSONLine {
    var bytes: [UInt8]
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    mutating func put(_ ascii: StaticString) { ascii.withUTF8Buffer { bytes.append(contentsOf: $0) } }
    mutating func put(_ number: Int) { JSONMessageCodec.appendDecimal(number, to: &bytes) }
    mutating func quote(_ s: String) { JSONMessageCodec.appendQuoted(s, to: &bytes) }
}

struct Search: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Search the articles a query replica holds (diacritics optional: \"tap chi cong san\").",
        discussion: """
            Syntax (docs/QUERY.md): words (all required), "quoted phrases", OR, -excluded, title:word, and filters \
            province:"Bắc Kạn" from:2023-06 to:2023 entity:ID type:person sort:date. Quote the whole query for \
            your shell: bantin search '"thông tin đối ngoại" province:"Lạng Sơn"'.
            """)

    @Argument(help: "The query (its words may be given as separate arguments).")
    var query: [String]
    @Option(help: "Hits per page.")
    var limit: UInt32 = 10
    @Option(help: "relevance or date.")
    var sort: String?
    @Option(name: .customLong("facet"), help: "Count matches per province, year, person, organization or document (repeatable).")
    var facets: [String] = []
    @Option(help: "Next page: the cursor printed under the previous one.")
    var cursor: String?
    @Flag(help: "Print the response as JSON.")
    var json = false
    @OptionGroup var services: ServiceAddresses
    @OptionGroup var tls: ClientTLSOptions

    func run() async throws {
        let client = try makeClient(services.query, tls)
        var request = SearchRequest(query: query.joined(separator: " "), limit: limit)
        request.sort = sort ?? ""
        request.facets = facets
        request.cursor = cursor ?? ""
        let response = try await client.unary(QueryAPI.search, request)
        await client.close()
        if json {
            print(JSONMessageCodec.encode(response.dynamic))
            return
        }
        print("\(response.total) article(s) match")
        for hit in response.hits {
            print(String(format: "%7.2f  %@  %@  %@", hit.score, hit.articleID, String(hit.publishedAt.prefix(10)), hit.title))
            if !hit.snippet.isEmpty { print("         " + marked(hit.snippet, hit.highlights)) }
        }
        for facet in response.facets {
            print("\(facet.name): " + facet.counts.map { "\($0.label.isEmpty ? $0.value : $0.label) (\($0.count))" }.joined(separator: ", "))
        }
        if !response.nextCursor.isEmpty { print("more: --cursor \(response.nextCursor)") }
    }

    /// The snippet with its highlighted words in [brackets].
    func marked(_ snippet: String, _ highlights: [Highlight]) -> String {
        var bytes = Array(snippet.utf8)
        for span in highlights.compactMap(\.span).sorted(by: { $0.start > $1.start }) where Int(span.end) <= bytes.count {
            bytes.insert(UInt8(ascii: "]"), at: Int(span.end))
            bytes.insert(UInt8(ascii: "["), at: Int(span.start))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

struct Meetings: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Who met whom: events with participants from both sides, newest first.",
        discussion: """
            A side is an entity id (from `bantin entity`; an organization also matches the people holding office in it) \
            or a province name. Example: bantin meetings org:ban-noi-chinh-trung-uong "Long An" --from 2020
            """)

    @Argument(help: "One side: an entity id or a province name.")
    var sideA: String
    @Argument(help: "The other side.")
    var sideB: String
    @Option(help: "From this date (YYYY, YYYY-MM or YYYY-MM-DD).")
    var from = ""
    @Option(help: "Up to this date, inclusive.")
    var to = ""
    @Option(help: "Meetings to show (at most 100).")
    var limit: UInt32 = 20
    @OptionGroup var services: ServiceAddresses
    @OptionGroup var tls: ClientTLSOptions

    func run() async throws {
        let client = try makeClient(services.query, tls)
        defer { Task { await client.close() } }
        let response = try await client.unary(QueryAPI.meetings, MeetingsRequest(sideA: sideA, sideB: sideB, dateFrom: from, dateTo: to, limit: limit))
        if response.meetings.isEmpty { print("no meetings found") }
        for meeting in response.meetings {
            print("\(meeting.date.isEmpty ? "(undated)" : meeting.date)  \(meeting.event?.kind ?? "")  \(meeting.articleTitle)  [\(meeting.articleID)]")
            print("    \(meeting.sideAIDs.joined(separator: ", "))  ↔  \(meeting.sideBIDs.joined(separator: ", "))")
        }
    }
}

struct EntityLookup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "entity",
        abstract: "Show an entity (person, organization, place, document): offices, articles.",
        discussion: "NAME is a name or its beginning, diacritics optional; an id (per:..., org:...) works too.")

    @Argument(help: "Name, name prefix or entity id.")
    var name: [String]
    @OptionGroup var services: ServiceAddresses
    @OptionGroup var tls: ClientTLSOptions

    func run() async throws {
        let client = try makeClient(services.query, tls)
        defer { Task { await client.close() } }
        let wanted = name.joined(separator: " ")
        var id = wanted
        if !wanted.contains(":") {
            let found = try await client.unary(QueryAPI.listEntities, ListEntitiesRequest(prefix: wanted, limit: 10))
            guard let first = found.entities.first else { throw ValidationError("no entity named like '\(wanted)'") }
            if found.entities.count > 1 {
                print("also: " + found.entities.dropFirst().map { "\($0.name) (\($0.id))" }.joined(separator: ", "))
            }
            id = first.id
        }
        let page = try await client.unary(QueryAPI.getEntity, GetEntityRequest(entityID: id))
        guard let entity = page.entity else { return }
        print("\(entity.name)  [\(entity.type.name)]  \(entity.id)")
        if !entity.aliases.isEmpty { print("  also written: \(entity.aliases.joined(separator: "; "))") }
        for role in page.roles { print("  office: \(role.title) \(role.organizationID.isEmpty ? "" : "(\(role.organizationID))") \(role.asOf)") }
        for document in page.documents { print("  document: \(document.kind) \(document.code)") }
        for event in page.events { print("  event: \(event.date.isEmpty ? "(undated)" : event.date) \(event.kind)\(event.locationID.isEmpty ? "" : " at \(event.locationID)") with \(event.participantIDs.count) participants") }
        print("  articles: \(page.articleIDs.joined(separator: ", "))")
        if !page.timeline.isEmpty {
            print("  by month: " + page.timeline.map { "\($0.period.isEmpty ? "undated" : $0.period) \($0.articles)" }.joined(separator: ", "))
        }
        if !page.provinces.isEmpty { print("  provinces: " + page.provinces.map { "\($0.value) \($0.count)" }.joined(separator: ", ")) }
        for mention in page.coMentions.prefix(10) {
            print(String(format: "  with: %@ [%@] in %d articles, Dice %.2f", mention.name, mention.type.name, mention.articles, mention.score))
        }
    }
}
