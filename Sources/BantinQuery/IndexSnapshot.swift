import BantinCore
import Foundation
import NIOCore

/// The replica's index on disk, so that a restart loads it and follows the change feed from its applied seq
/// instead of replaying the whole feed.
///
/// Format, version 4 (all integers little-endian or LEB128 varints):
///
///     "BANTINIX"  u32 version  u64 payload length  u32 CRC-32 of the payload  payload
///
/// The payload holds the applied and head seqs, then the per-document arrays, the articles and entity
/// records as packed protobuf messages (domain.proto), and the postings with delta-coded documents and
/// positions, then the documents of each exact (diacritic-bearing) syllable, delta-coded, then the adjacent
/// syllable pairs with their documents and counts. A file that is short, fails its checksum or has another version is refused with the reason. The
/// replica then starts empty and replays the feed, so a bad snapshot costs time, never correctness. Files are
/// written to a temporary name, fsynced and renamed over the old one, so a crash leaves the old snapshot or
/// the new one, never half of either.
public enum IndexSnapshot {
    public static let version: UInt32 = 4
    static let magic = Array("BANTINIX".utf8)

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    // MARK: writing

    /// Writes `index` to `path` atomically; returns the bytes written.
    @discardableResult
    public static func write(_ index: SearchIndex, to path: String) throws -> Int {
        let payload = encode(index.snapshot)
        var header = ByteBuffer()
        header.writeBytes(magic)
        header.writeInteger(version, endianness: .little)
        header.writeInteger(UInt64(payload.readableBytes), endianness: .little)
        header.writeInteger(payload.withUnsafeReadableBytes { CRC32.checksum($0) }, endianness: .little)
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else { throw Invalid(description: "cannot create \(temporary): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        // Header, then the payload straight from its buffer (no concatenated copy of a file this size).
        for part in [header, payload] {
            try part.withUnsafeReadableBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                    guard n > 0 else { throw Invalid(description: "cannot write \(temporary): \(String(cString: strerror(errno)))") }
                    offset += n
                }
            }
        }
        guard fsync(descriptor) == 0, rename(temporary, path) == 0 else {
            throw Invalid(description: "cannot replace \(path): \(String(cString: strerror(errno)))")
        }
        let directory = open((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, O_RDONLY)
        if directory >= 0 { fsync(directory); close(directory) }
        return header.readableBytes + payload.readableBytes
    }

    static func encode(_ s: SearchIndex.Snapshot) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(s.articles.count * 8192)
        out.writeVarint(s.appliedSeq)
        out.writeVarint(s.headSeq)
        out.writeVarint(UInt64(s.articles.count))
        for d in s.articles.indices {
            out.writeMessage(s.articles[d])
            out.writeVarint(UInt64(s.lengths[d]))
            out.writeVarint(UInt64(s.titleLengths[d]))
            out.writeStrings(s.provinceKeys[d])
            out.writeCountedString(s.provinceNames[d])
            out.writeCountedString(s.dates[d])
            out.writeStrings(s.documentEntities[d])
            out.writeVarint(UInt64(s.documentEvents[d].count))
            for event in s.documentEvents[d] { out.writeMessage(event) }
        }
        out.writeVarint(UInt64(s.entities.count))
        for id in s.entities.keys.sorted() {
            out.writeMessage(s.entities[id]!)
            out.writeVarints((s.entityArticles[id] ?? []).map(UInt64.init))
        }
        func writeGroups<M: WireMessage>(_ groups: [String: [M]]) {
            out.writeVarint(UInt64(groups.count))
            for key in groups.keys.sorted() {
                out.writeCountedString(key)
                out.writeVarint(UInt64(groups[key]!.count))
                for message in groups[key]! { out.writeMessage(message) }
            }
        }
        writeGroups(s.entityRoles)
        writeGroups(s.entityDocuments)
        writeGroups(s.entityEvents)
        out.writeVarint(UInt64(s.postings.count))
        for (term, list) in s.postings {
            out.writeCountedString(term)
            out.writeVarint(UInt64(list.count))
            var previous: Int32 = 0
            for i in 0..<list.count {
                out.writeVarint(UInt64(list.documents[i] - previous))  // documents ascend
                previous = list.documents[i]
                out.writeInteger(UInt8(list.titleFrequencies[i] > 0 ? 1 : 0))  // kept for the format; recomputed on load
                out.writeAscending(list.positions[list.positionRange(i)])
            }
        }
        out.writeVarint(UInt64(s.pairs.count))
        for (pair, list) in s.pairs {
            out.writeCountedString(pair)
            out.writeVarint(UInt64(list.count))
            var previous: Int32 = 0
            for i in 0..<list.count {
                out.writeVarint(UInt64(list.documents[i] - previous))
                previous = list.documents[i]
                out.writeVarint(UInt64(list.frequencies[i]))
                out.writeVarint(UInt64(list.titleFrequencies[i]))
            }
        }
        out.writeVarint(UInt64(s.exactDocuments.count))
        for (form, documents) in s.exactDocuments {
            out.writeCountedString(form)
            out.writeAscending(documents)
        }
        return out
    }

    // MARK: reading

    /// Reads a snapshot written by `write`; throws `Invalid` saying what is wrong with the file.
    public static func load(from path: String, into index: SearchIndex) throws {
        var file = try readWhole(path)
        guard file.readBytes(length: magic.count) == magic else { throw Invalid(description: "\(path) is not a Bantin index snapshot") }
        guard let version = file.readInteger(endianness: .little, as: UInt32.self) else { throw Invalid(description: "\(path) is truncated") }
        guard version == Self.version else {
            throw Invalid(description: "\(path) has snapshot format version \(version); this replica reads version \(Self.version)")
        }
        guard let length = file.readInteger(endianness: .little, as: UInt64.self), let checksum = file.readInteger(endianness: .little, as: UInt32.self),
              var payload = file.readSlice(length: Int(length)) else {
            throw Invalid(description: "\(path) is truncated")
        }
        guard payload.withUnsafeReadableBytes({ CRC32.checksum($0) }) == checksum else { throw Invalid(description: "\(path) fails its checksum") }
        do {
            index.replace(with: try decode(&payload))
        } catch let error as Invalid {
            throw error
        } catch {
            throw Invalid(description: "\(path): \(error)")
        }
    }

    /// The file straight into one buffer: going through `Data` would fault in and copy a second
    /// image of a file that is hundreds of megabytes.
    static func readWhole(_ path: String) throws -> ByteBuffer {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw Invalid(description: "no snapshot at \(path)") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw Invalid(description: "cannot stat \(path): \(String(cString: strerror(errno)))") }
        let size = Int(status.st_size)
        var buffer = ByteBufferAllocator().buffer(capacity: size)
        try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { bytes in
            var done = 0
            while done < size {
                let n = read(descriptor, bytes.baseAddress! + done, size - done)
                if n == 0 { break }
                guard n > 0 else { throw Invalid(description: "cannot read \(path): \(String(cString: strerror(errno)))") }
                done += n
            }
            return done
        }
        return buffer
    }

    static func decode(_ buffer: inout ByteBuffer) throws -> SearchIndex.Snapshot {
        var s = SearchIndex.Snapshot()
        s.appliedSeq = try buffer.readVarintOrThrow()
        s.headSeq = try buffer.readVarintOrThrow()
        let count = Int(try buffer.readVarintOrThrow())
        s.articles.reserveCapacity(count)
        for d in 0..<count {
            let article: Article = try buffer.readMessage()
            s.articleIndex[article.id] = d
            s.articles.append(article)
            let length = Int32(try buffer.readVarintOrThrow())
            s.lengths.append(length)
            s.lengthsBefore.append(s.lengthsBefore[d] + Int(length))
            s.titleLengths.append(Int32(try buffer.readVarintOrThrow()))
            s.provinceKeys.append(try buffer.readStrings())
            s.provinceNames.append(try buffer.readStringOrThrow())
            s.dates.append(try buffer.readStringOrThrow())
            s.documentEntities.append(try buffer.readStrings())
            var events: [Event] = []
            for _ in 0..<Int(try buffer.readVarintOrThrow()) { events.append(try buffer.readMessage()) }
            s.documentEvents.append(events)
        }
        for _ in 0..<Int(try buffer.readVarintOrThrow()) {
            let entity: Entity = try buffer.readMessage()
            s.entities[entity.id] = entity
            let articles = try buffer.readVarints().map { Int($0) }
            if !articles.isEmpty { s.entityArticles[entity.id] = articles }
        }
        func readGroups<M: WireMessage>() throws -> [String: [M]] {
            var groups: [String: [M]] = [:]
            for _ in 0..<Int(try buffer.readVarintOrThrow()) {
                let key = try buffer.readStringOrThrow()
                var messages: [M] = []
                for _ in 0..<Int(try buffer.readVarintOrThrow()) { messages.append(try buffer.readMessage()) }
                groups[key] = messages
            }
            return groups
        }
        s.entityRoles = try readGroups()
        s.entityDocuments = try readGroups()
        s.entityEvents = try readGroups()
        let terms = Int(try buffer.readVarintOrThrow())
        s.postings.reserveCapacity(terms)
        for _ in 0..<terms {
            let term = try buffer.readStringOrThrow()
            let n = Int(try buffer.readVarintOrThrow())
            var list = SearchIndex.PostingList()
            list.documents.reserveCapacity(n)
            list.titleFrequencies.reserveCapacity(n)
            list.ends.reserveCapacity(n)
            var document: Int32 = 0
            var positions: [Int32] = []
            for _ in 0..<n {
                document += Int32(try buffer.readVarintOrThrow())
                guard buffer.readInteger(as: UInt8.self) != nil else { throw Invalid(description: "postings end early") }
                positions.removeAll(keepingCapacity: true)
                try buffer.readAscending(into: &positions)
                guard Int(document) < s.titleLengths.count else { throw Invalid(description: "a posting names document \(document) of \(s.titleLengths.count)") }
                list.append(document: document, positions: positions, titleLength: s.titleLengths[Int(document)])
            }
            s.postings[term] = list
        }
        let pairs = Int(try buffer.readVarintOrThrow())
        s.pairs.reserveCapacity(pairs)
        for _ in 0..<pairs {
            let pair = try buffer.readStringOrThrow()
            let n = Int(try buffer.readVarintOrThrow())
            var list = SearchIndex.PairList()
            list.documents.reserveCapacity(n)
            list.frequencies.reserveCapacity(n)
            list.titleFrequencies.reserveCapacity(n)
            var document: Int32 = 0
            for _ in 0..<n {
                document += Int32(try buffer.readVarintOrThrow())
                list.append(document: document, frequency: Int(try buffer.readVarintOrThrow()), titleFrequency: Int(try buffer.readVarintOrThrow()))
            }
            s.pairs[pair] = list
        }
        let forms = Int(try buffer.readVarintOrThrow())
        s.exactDocuments.reserveCapacity(forms)
        for _ in 0..<forms {
            let form = try buffer.readStringOrThrow()
            var documents: [Int32] = []
            try buffer.readAscending(into: &documents)
            s.exactDocuments[form] = documents
        }
        guard buffer.readableBytes == 0 else { throw Invalid(description: "\(buffer.readableBytes) bytes follow the snapshot's last section") }
        return s
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): the public standard, computed with a 256-entry table.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: some Collection<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}

extension ByteBuffer {
    mutating func writeVarint(_ value: UInt64) { WireEncoding.writeVarint(value, to: &self) }

    mutating func writeVarints(_ values: [UInt64]) {
        writeVarint(UInt64(values.count))
        for v in values { writeVarint(v) }
    }

    /// A string with its length before it.
    mutating func writeCountedString(_ s: String) {
        writeVarint(UInt64(s.utf8.count))
        _ = writeString(s)
    }

    mutating func writeStrings(_ strings: [String]) {
        writeVarint(UInt64(strings.count))
        for s in strings { writeCountedString(s) }
    }

    mutating func writeMessage(_ message: some WireMessage) {
        let packed = message.packed()
        writeVarint(UInt64(packed.readableBytes))
        var copy = packed
        writeBuffer(&copy)
    }

    mutating func readVarintOrThrow() throws -> UInt64 {
        var value: UInt64 = 0, shift: UInt64 = 0
        while let byte = readInteger(as: UInt8.self) {
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
            guard shift < 64 else { break }
        }
        throw IndexSnapshot.Invalid(description: "a number in the snapshot is cut short")
    }

    /// Ascending numbers (positions, document numbers): the count, then each one's gap from the last.
    mutating func writeAscending<C: Collection<Int32>>(_ values: C) {
        writeVarint(UInt64(values.count))
        var last: Int32 = 0
        for v in values {
            writeVarint(UInt64(v - last))
            last = v
        }
    }

    /// Reads what `writeAscending` wrote, appending to `values`.
    mutating func readAscending(into values: inout [Int32]) throws {
        let count = Int(try readVarintOrThrow())
        values.reserveCapacity(values.count + count)
        var v: Int32 = 0
        for _ in 0..<count {
            v += Int32(try readVarintOrThrow())
            values.append(v)
        }
    }

    mutating func readVarints() throws -> [UInt64] {
        try (0..<Int(try readVarintOrThrow())).map { _ in try readVarintOrThrow() }
    }

    mutating func readStringOrThrow() throws -> String {
        let length = Int(try readVarintOrThrow())
        guard let s = readString(length: length) else { throw IndexSnapshot.Invalid(description: "a string in the snapshot is cut short") }
        return s
    }

    mutating func readStrings() throws -> [String] {
        try (0..<Int(try readVarintOrThrow())).map { _ in try readStringOrThrow() }
    }

    mutating func readMessage<M: WireMessage>() throws -> M {
        let length = Int(try readVarintOrThrow())
        guard let slice = readSlice(length: length) else { throw IndexSnapshot.Invalid(description: "a record in the snapshot is cut short") }
        return try M(unpacking: slice)
    }
}
