import BantinCore
import BantinRPC
import Foundation
import NIOCore
import Testing

@Suite(.serialized) struct PipelineTests {
    /// `bantin extract DIR` reads the folder's .txt files in path order and skips the rest: the same lines as
    /// naming the files. A path that does not exist is refused before any output.
    @Test func extractCommandReadsADirectoryAsItsTextFiles() async throws {
        let directory = NSTemporaryDirectory() + "bantin-extract-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let seeds = try ServiceProcesses.seeds()
        for (name, text) in [("b.txt", seeds[0]), ("a.txt", seeds[1])] {
            try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        }
        try "not an article".write(toFile: directory + "/notes.md", atomically: true, encoding: .utf8)
        // A subfolder is searched; hidden files and folders are not.
        try FileManager.default.createDirectory(atPath: directory + "/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/.hidden", withIntermediateDirectories: true)
        try seeds[2].write(toFile: directory + "/sub/c.txt", atomically: true, encoding: .utf8)
        try seeds[3].write(toFile: directory + "/.d.txt", atomically: true, encoding: .utf8)
        try seeds[3].write(toFile: directory + "/.hidden/e.txt", atomically: true, encoding: .utf8)
        let fromDirectory = try await BantinCommand.run(["extract", directory + "/"], timeout: .seconds(60))
        let fromFiles = try await BantinCommand.run(["extract", directory + "/a.txt", directory + "/b.txt", directory + "/sub/c.txt"],
                                                    timeout: .seconds(60))
        #expect(fromDirectory.status == 0 && fromFiles.status == 0)
        let lines = fromDirectory.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.first?.contains("a.txt") == true)
        #expect(lines.last?.contains("sub/c.txt") == true)
        #expect(fromDirectory.stdout == fromFiles.stdout)
        let missing = try await BantinCommand.run(["extract", directory + "/absent"], timeout: .seconds(60))
        #expect(missing.status != 0 && missing.stderr.contains("no such file or folder") && missing.stdout.isEmpty)
    }

    @Test func seedsGoFromSubmitToSearchAcrossThreeProcesses() async throws {
        let services = try ServiceProcesses()
        for name in ["extract", "ingest", "query"] { try services.start(name) }
        let ingest = try services.client("ingest")
        let query = try services.client("query")
        let seeds = try ServiceProcesses.seeds()
        var ids: [String] = []
        try await services.eventually("ingest accepts") {
            let r = try await ingest.unary(IngestAPI.submit, SubmitRequest(text: seeds[0]))
            ids.append(r.articleID)
            return true
        }
        for seed in seeds.dropFirst() {
            let response = try await ingest.unary(IngestAPI.submit, SubmitRequest(text: seed))
            #expect(response.outcome == .accepted)
            ids.append(response.articleID)
        }
        try await services.eventually("query holds the five seeds") {
            try await query.unary(QueryAPI.stats, StatsRequest()).articles == 5
        }
        // Each seed is found by a diacritic-free phrase of its title.
        for id in ids {
            let article = try await query.unary(QueryAPI.getArticle, GetArticleRequest(articleID: id))
            let phrase = VietnameseText.fold(article.title).split(separator: " ").prefix(5).joined(separator: " ")
            let hits = try await query.unary(QueryAPI.search, SearchRequest(query: phrase, limit: 10)).hits
            #expect(hits.contains { $0.articleID == id }, "search '\(phrase)' should find \(id)")
        }
        #expect(try await query.unary(QueryAPI.search, SearchRequest(query: "tap chi cong san")).total >= 2)
        // The person with his offices.
        let people = try await query.unary(QueryAPI.listEntities, ListEntitiesRequest(prefix: "nong thanh tung", type: .person))
        let person = try #require(people.entities.first)
        #expect(person.name == "Nông Thanh Tùng")
        let page = try await query.unary(QueryAPI.getEntity, GetEntityRequest(entityID: person.id))
        // Two offices, both in the provincial Party committee: the chain's first office takes its parent body
        // from the last one.
        #expect(page.roles.contains { $0.title == "Ủy viên Ban Thường vụ Tỉnh ủy" })
        #expect(page.roles.contains { $0.title == "Trưởng Ban Tuyên giáo và Dân vận Tỉnh ủy" && $0.organizationID.contains("ban-tuyen-giao-va-dan-van-tinh-uy@cao-bang") })
        // Resubmitting is a duplicate, not a copy.
        let again = try await ingest.unary(IngestAPI.submit, SubmitRequest(text: seeds[0]))
        #expect(again.outcome == .duplicate)
        #expect(again.articleID == ids[0])
        await ingest.close()
        await query.close()
        for name in ["query", "ingest", "extract"] { services.stop(name) }
    }

    @Test func articlesWaitWhileExtractIsDownAndArriveAfterItReturns() async throws {
        let services = try ServiceProcesses()
        try services.start("ingest")
        try services.start("query")
        let ingest = try services.client("ingest")
        let query = try services.client("query")
        let seeds = try ServiceProcesses.seeds()
        var accepted: [SubmitResponse] = []
        try await services.eventually("ingest accepts") {
            accepted.append(try await ingest.unary(IngestAPI.submit, SubmitRequest(text: seeds[1])))
            return true
        }
        accepted.append(try await ingest.unary(IngestAPI.submit, SubmitRequest(text: seeds[2])))
        #expect(accepted.allSatisfy { $0.outcome == .accepted })
        let stored = try await ingest.unary(IngestAPI.get, GetRequest(articleID: accepted[0].articleID))
        #expect(stored.article?.extractionStatus == .pending)
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await query.unary(QueryAPI.stats, StatsRequest()).articles == 0)
        try services.start("extract")
        try await services.eventually("both articles reach query once extract is back") {
            try await query.unary(QueryAPI.stats, StatsRequest()).articles == 2
        }
        let later = try await ingest.unary(IngestAPI.get, GetRequest(articleID: accepted[0].articleID))
        #expect(later.article?.extractionStatus == .extracted)
        #expect(later.extraction?.entities.isEmpty == false)
        await ingest.close()
        await query.close()
        for name in ["query", "ingest", "extract"] { services.stop(name) }
    }

    @Test func badArticlesGetClearErrorsAndTheStreamCarriesOn() async throws {
        let services = try ServiceProcesses()
        try services.start("extract")
        try services.start("ingest")
        let ingest = try services.client("ingest")
        let seeds = try ServiceProcesses.seeds()
        try await services.eventually("ingest up") {
            _ = try await ingest.unary(HealthService.check, HealthCheckRequest())
            return true
        }
        let cases: [(String, String)] = [
            ("", "no text"),
            // 10 MiB: above the 2 MiB article limit, below the ingest server's 16 MiB frame limit.
            (String(repeating: "Tin tức Việt Nam. ", count: 10 * 1024 * 1024 / 22 + 1), "above the limit"),
            ("một đoạn văn dài không có tiêu đề, viết thường từ đầu đến cuối, kết thúc bằng dấu chấm.", "no title"),
            (String(repeating: "\u{1}\u{2}#$%^&*", count: 100), "not an article"),
        ]
        for (text, expected) in cases {
            let error = await #expect(throws: RPCError.self) { try await ingest.unary(IngestAPI.submit, SubmitRequest(text: text)) }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains(expected) == true, "\(error?.message ?? "") should say \(expected)")
        }
        // Invalid UTF-8 in the text field: INVALID_ARGUMENT naming the byte offset.
        var raw = ByteBuffer(bytes: [0x0A, 5])
        raw.writeBytes([0x48, 0x69, 0x20, 0xFF, 0x21])
        let utf8Error = await #expect(throws: RPCError.self) {
            try await ingest.unary(path: IngestAPI.submit.path, request: raw, idempotent: false)
        }
        #expect(utf8Error?.message.contains("offset 3") == true)
        // In a stream, a bad article is a REJECTED reply and the next one is still accepted.
        let replies = try await ingest.bidirectionalStreaming(IngestAPI.submitStream) { writer, responses in
            try await writer.write(SubmitRequest(text: ""))
            try await writer.write(SubmitRequest(text: seeds[3]))
            try writer.finish()
            var all: [SubmitStreamResponse] = []
            for try await r in responses { all.append(r) }
            return all
        }
        #expect(replies.count == 3)
        #expect(replies[0].result?.outcome == .rejected)
        #expect(replies[1].result?.outcome == .accepted)
        #expect(replies[1].result?.seq == 1, "nothing rejected before it was stored")
        #expect(replies[2].summary == { var s = SubmitSummary(); s.accepted = 1; s.rejected = 1; return s }())
        // `bantin ingest FOLDER`: a binary file and one that is not UTF-8 are refused with their reasons, and the
        // article beside them is still stored.
        let folder = NSTemporaryDirectory() + "bantin-ingest-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try seeds[4].write(toFile: folder + "/article.txt", atomically: true, encoding: .utf8)
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D]).write(to: URL(fileURLWithPath: folder + "/image.png"))
        try Data("Tiêu đề\nNội dung ".utf8 + [0xC3, 0x28]).write(to: URL(fileURLWithPath: folder + "/latin1.txt"))
        let command = try await BantinCommand.run(["ingest", folder, "--ingest", "127.0.0.1:\(services.port("ingest"))", "--pki", services.pki.directory],
                                                  timeout: .seconds(60))
        #expect(command.status == 0, "\(command.stderr)")
        #expect(command.stdout.contains("image.png: binary file"))
        #expect(command.stdout.contains("latin1.txt: not valid UTF-8 (first bad byte at offset \("Tiêu đề\nNội dung ".utf8.count))"))
        #expect(command.stdout.contains("accepted 1, duplicates 0, rejected 2 of 3 files"), "\(command.stdout)")
        await ingest.close()
        for name in ["ingest", "extract"] { services.stop(name) }
    }
}
