import BantinCore
import Foundation
import NIOCore

/// The replica's index on disk, so that a restart loads it and follows the change feed from its applied seq
/// instead of replaying the whole feed.
///
/// Format, version 8 (integers are LEB128 varints unless said otherwise):
///
///     "BANTINIX"  u32 version  u64 payload length  u32 CRC-32 of the payload  payload
///
/// The payload holds the applied and head seqs; per article its id, province, date, province keys and entity
/// numbers; the article and title lengths as raw 32-bit arrays; the articles with events; the entities as
/// packed protobuf messages (domain.proto), each with its articles delta-coded; the vocabularies stored bodies
/// are coded in (`StoredBody`, one per builder); then the segments as they are in memory: syllable, pair and
/// exact-form names with where their streams lie, the checkpoints and stored-record ends as raw arrays, the posting
/// bytes and the stored records (three per article, see `StoredArticles`) with the number of their vocabulary.
/// Loading maps the file, checks the checksum and decodes the tables; posting bytes and stored articles are used where they lie,
/// with no per-posting work. Raw arrays are in this machine's byte order and layout (little-endian, 64-bit):
/// a snapshot is read where it was written.
///
/// A file that is short, fails its checksum, has another version or holds a list outside its segment is
/// refused with the reason. The replica then starts empty and replays the feed, so a bad snapshot costs time,
/// never correctness. Files are written to a temporary name, fsynced and renamed over the old one, so a crash
/// leaves the old snapshot or the new one, never half of either.
public enum IndexSnapshot {
    public static let version: UInt32 = 8
    static let magic = Array("BANTINIX".utf8)

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    // MARK: writing

    /// Writes `index` to `path` atomically, settled first (`SearchIndex.settle`); returns the bytes written.
    @discardableResult
    public static func write(_ index: SearchIndex, to path: String) throws -> Int {
        index.settle()
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
        out.reserveCapacity(s.segments.reduce(1 << 20) { $0 + $1.byteCount + $1.terms.count * 24 })
        out.writeVarint(s.appliedSeq)
        out.writeVarint(s.headSeq)
        out.writeVarint(UInt64(s.documentCount))
        for d in 0..<s.documentCount {
            out.writeCountedString(s.provinceNames[d])
            out.writeCountedString(s.dates[d])
            out.writeStrings(s.provinceKeys[d])
            out.writeVarints(s.documentEntities[d].map { UInt64($0) })
        }
        out.writeRaw(Array(s.lengths))
        out.writeRaw(Array(s.titleLengths))
        out.writeVarints(s.eventDocuments.map { UInt64($0) })
        out.writeVarint(UInt64(s.entities.count))
        for entity in s.entities { out.writeMessage(entity) }
        out.writeVarint(UInt64(s.vocabularies.count))
        for vocabulary in s.vocabularies { out.writeStrings(Array(vocabulary)) }
        out.writeVarint(UInt64(s.segments.count))
        for segment in s.segments {
            out.writeVarint(UInt64(segment.firstDocument))
            out.writeVarint(UInt64(segment.documentCount))
            for terms in [segment.terms, segment.pairs, segment.exactForms] {
                out.writeVarint(UInt64(terms.count))
                for (name, term) in terms {
                    out.writeCountedString(name)
                    for value in [term.offset, term.length, term.documents, Int(term.lastDocument), term.firstCheckpoint, term.checkpointCount] {
                        out.writeVarint(UInt64(value))
                    }
                }
            }
            var ids = [String](repeating: "", count: segment.documentCount)
            for (id, d) in segment.articleNumbers { ids[Int(d - segment.firstDocument)] = id }
            out.writeStrings(ids)
            out.writeVarints(segment.entityNumbers.values.sorted().map { UInt64($0) })
            out.writeVarint(UInt64(segment.entityDocuments.count))
            for (number, documents) in segment.entityDocuments {
                out.writeVarint(UInt64(number))
                out.writeAscending(documents)
            }
            out.writeRaw(segment.checkpoints)
            out.writeRaw(UnsafeRawBufferPointer(segment.bytes))
            out.writeVarint(UInt64(segment.stored.count))
            for block in segment.stored {
                out.writeVarint(UInt64(block.firstDocument))
                out.writeVarint(UInt64(block.vocabulary))
                out.writeRaw(block.ends)
                out.writeRaw(UnsafeRawBufferPointer(block.bytes))
            }
        }
        return out
    }

    // MARK: reading

    /// Reads a snapshot written by `write`; throws `Invalid` saying what is wrong with the file.
    ///
    /// The file is mapped, not read: posting streams and stored articles stay where they lie in it (see
    /// `FileMapping`), everything else is decoded into the index's tables.
    public static func load(from path: String, into index: SearchIndex) throws {
        let mapping = try FileMapping(path: path)
        var file = SnapshotReader(mapping.bytes, mapping: mapping)
        guard let found = file.readBytes(magic.count), found.elementsEqual(magic) else { throw Invalid(description: "\(path) is not a Bantin index snapshot") }
        guard let version = file.readLittleEndian(UInt32.self) else { throw Invalid(description: "\(path) is truncated") }
        guard version == Self.version else {
            throw Invalid(description: "\(path) has snapshot format version \(version); this replica reads version \(Self.version)")
        }
        guard let length = file.readLittleEndian(UInt64.self), let checksum = file.readLittleEndian(UInt32.self),
              length <= UInt64(file.readableBytes), var payload = file.readSlice(Int(length)) else {
            throw Invalid(description: "\(path) is truncated")
        }
        guard CRC32.checksum(UnsafeRawBufferPointer(payload.bytes)) == checksum else { throw Invalid(description: "\(path) fails its checksum") }
        // The checksum read every page; give them back, so that what stays resident is what searches touch
        // (the posting streams of the syllables asked for, the stored articles of the hits shown).
        mapping.releaseResidentPages()
        do {
            index.replace(with: try decode(&payload))
        } catch let error as Invalid {
            throw error
        } catch {
            throw Invalid(description: "\(path): \(error)")
        }
    }

    static func decode(_ buffer: inout SnapshotReader) throws -> SearchIndex.Snapshot {
        var s = SearchIndex.Snapshot()
        s.appliedSeq = try buffer.readVarintOrThrow()
        s.headSeq = try buffer.readVarintOrThrow()
        let count = Int(try buffer.readVarintOrThrow())
        var interned: [String: String] = [:]
        func intern(_ string: String) -> String {
            if let shared = interned[string] { return shared }
            interned[string] = string
            return string
        }
        var documentEntities: [[Int32]] = []
        for _ in 0..<count {
            s.provinceNames.append(intern(try buffer.readStringOrThrow()))
            s.dates.append(try buffer.readStringOrThrow())
            s.provinceKeys.append(try buffer.readStrings().map(intern))
            documentEntities.append(try buffer.readVarints().map { Int32(truncatingIfNeeded: $0) })
        }
        let lengths: [Int32] = try buffer.readRaw(count)
        s.lengths = ChunkedArray(lengths)
        s.titleLengths = ChunkedArray(try buffer.readRaw(count) as [Int32])
        var total = 0
        for length in lengths {
            total += Int(length)
            s.lengthsBefore.append(total)
        }
        s.eventDocuments = ChunkedArray(try buffer.readVarints().map { Int32(truncatingIfNeeded: $0) })
        guard s.eventDocuments.allSatisfy({ $0 >= 0 && Int($0) < count }) else { throw Invalid(description: "an event names an article out of range") }
        let entities = Int(try buffer.readVarintOrThrow())
        for _ in 0..<entities { s.entities.append(try buffer.readMessage() as Entity) }
        s.vocabularies = try (0..<Int(try buffer.readVarintOrThrow())).map { _ in ChunkedArray(try buffer.readStrings()) }
        for numbers in documentEntities where numbers.contains(where: { $0 < 0 || Int($0) >= entities }) {
            throw Invalid(description: "an article names entity \(numbers.max()!) of \(entities)")
        }
        s.documentEntities = ChunkedArray(documentEntities)
        var next: Int32 = 0
        for _ in 0..<Int(try buffer.readVarintOrThrow()) {
            let first = Int32(truncatingIfNeeded: try buffer.readVarintOrThrow())
            let documents = Int(try buffer.readVarintOrThrow())
            guard first == next, documents > 0, Int(first) + documents <= count else { throw Invalid(description: "segments do not cover the articles in order") }
            next = first + Int32(documents)
            var lists: [[String: Segment.Term]] = []
            for _ in 0..<3 {
                let terms = Int(try buffer.readVarintOrThrow())
                var map: [String: Segment.Term] = [:]
                map.reserveCapacity(terms)
                for _ in 0..<terms {
                    let name = try buffer.readStringOrThrow()
                    let v = try (0..<6).map { _ in Int(try buffer.readVarintOrThrow()) }
                    map[name] = Segment.Term(offset: v[0], length: v[1], documents: v[2], lastDocument: Int32(truncatingIfNeeded: v[3]),
                                             firstCheckpoint: v[4], checkpointCount: v[5])
                }
                lists.append(map)
            }
            let ids = try buffer.readStrings()
            guard ids.count == documents else { throw Invalid(description: "a segment lists \(ids.count) article ids for \(documents) articles") }
            let articleNumbers = Dictionary(zip(ids, (first..<next).map { $0 }), uniquingKeysWith: { a, _ in a })
            var entityNumbers: [String: Int32] = [:]
            for number in try buffer.readVarints() {
                guard Int(number) < entities else { throw Invalid(description: "a segment names entity \(number) of \(entities)") }
                entityNumbers[s.entities[Int(number)].id] = Int32(number)
            }
            var entityDocuments: [Int32: [Int32]] = [:]
            for _ in 0..<Int(try buffer.readVarintOrThrow()) {
                let number = Int32(truncatingIfNeeded: try buffer.readVarintOrThrow())
                var documents: [Int32] = []
                try buffer.readAscending(into: &documents)
                guard number >= 0, Int(number) < entities, documents.allSatisfy({ $0 >= first && $0 < next }) else {
                    throw Invalid(description: "a segment lists entity mentions outside it")
                }
                entityDocuments[number] = documents
            }
            let checkpoints: [Segment.Checkpoint] = try buffer.readRaw()
            let bytes = try buffer.readBlock()
            var stored: [StoredArticles] = []
            var storedNext = first
            for _ in 0..<Int(try buffer.readVarintOrThrow()) {
                let blockFirst = Int32(truncatingIfNeeded: try buffer.readVarintOrThrow())
                let vocabulary = Int(try buffer.readVarintOrThrow())
                guard vocabulary < s.vocabularies.count else { throw Invalid(description: "stored articles name vocabulary \(vocabulary) of \(s.vocabularies.count)") }
                let ends: [Int] = try buffer.readRaw()
                let block = StoredArticles(firstDocument: blockFirst, bytes: try buffer.readBlock(), mapping: buffer.mapping, ends: ends,
                                           spellings: s.vocabularies[vocabulary], vocabulary: vocabulary)
                guard blockFirst == storedNext, !ends.isEmpty, ends.count % StoredArticles.recordsPerDocument == 0, ends.first! >= 0, ends.last! <= block.bytes.count,
                      zip(ends, ends.dropFirst()).allSatisfy({ $0 <= $1 }) else { throw Invalid(description: "stored articles lie outside their segment") }
                storedNext += Int32(block.documentCount)
                stored.append(block)
            }
            guard storedNext == next else { throw Invalid(description: "stored articles lie outside their segment") }
            let segment = Segment(firstDocument: first, documentCount: documents, terms: lists[0], pairs: lists[1], exactForms: lists[2],
                                  checkpoints: checkpoints, bytes: bytes, mapping: buffer.mapping, stored: stored,
                                  articleNumbers: articleNumbers, entityNumbers: entityNumbers, entityDocuments: entityDocuments)
            // Everything a cursor or a stored-record read trusts, checked once here rather than on every read.
            for term in lists.joined().map(\.value) {
                guard term.offset >= 0, term.length > 0, term.offset + term.length <= bytes.count, term.documents > 0,
                      term.firstCheckpoint + term.checkpointCount <= checkpoints.count,
                      term.lastDocument >= first, term.lastDocument < next else { throw Invalid(description: "a posting list lies outside its segment") }
            }
            s.segments.append(segment)
        }
        guard Int(next) == count else { throw Invalid(description: "segments cover \(next) of \(count) articles") }
        guard buffer.readableBytes == 0 else { throw Invalid(description: "\(buffer.readableBytes) bytes follow the snapshot's last section") }
        return s
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320): the public standard, computed eight bytes at a time
/// with eight 256-entry tables ("slicing-by-8"), so that checking a snapshot of a gigabyte takes well under a second.
enum CRC32 {
    static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            t[n] = c
        }
        for k in 1..<8 {
            for n in 0..<256 { t[k * 256 + n] = (t[(k - 1) * 256 + n] >> 8) ^ t[Int(t[(k - 1) * 256 + n] & 0xFF)] }
        }
        return t
    }()

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        guard let base = bytes.baseAddress else { return 0 }
        tables.withUnsafeBufferPointer { t in
            var i = 0
            while i + 8 <= bytes.count {
                let low = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt32.self)) ^ crc
                let high = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self))
                crc = t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                i += 8
            }
            while i < bytes.count {
                crc = t[Int((crc ^ UInt32(bytes[i])) & 0xFF)] ^ (crc >> 8)
                i += 1
            }
        }
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

    /// Ascending numbers (positions, document numbers): the count, then each one's gap from the last.
    mutating func writeAscending<C: Collection<Int32>>(_ values: C) {
        writeVarint(UInt64(values.count))
        var last: Int32 = 0
        for v in values {
            writeVarint(UInt64(v - last))
            last = v
        }
    }

    /// An array of plain values as its count, then its bytes (this machine's layout: snapshots are read back
    /// where they are written, and the version check refuses any other layout).
    mutating func writeRaw<T: BitwiseCopyable>(_ values: [T]) {
        writeVarint(UInt64(values.count))
        values.withUnsafeBytes { _ = writeBytes($0) }
    }

    mutating func writeRaw(_ bytes: UnsafeRawBufferPointer) {
        writeVarint(UInt64(bytes.count))
        writeBytes(bytes)
    }

}

/// Reads a snapshot where it lies in memory, every read checked against the end: a truncated or damaged file
/// gives `IndexSnapshot.Invalid`, never a read past the mapping.
struct SnapshotReader {
    let bytes: UnsafeBufferPointer<UInt8>
    let mapping: FileMapping
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer, mapping: FileMapping) {
        self.bytes = bytes.bindMemory(to: UInt8.self)
        self.mapping = mapping
    }

    var readableBytes: Int { bytes.count - offset }

    /// The next `count` bytes, or nil (reading nothing) when fewer are left.
    mutating func readBytes(_ count: Int) -> UnsafeBufferPointer<UInt8>? {
        guard count >= 0, count <= readableBytes else { return nil }
        defer { offset += count }
        return UnsafeBufferPointer(rebasing: bytes[offset..<(offset + count)])
    }

    mutating func readSlice(_ count: Int) -> SnapshotReader? {
        readBytes(count).map { SnapshotReader(UnsafeRawBufferPointer($0), mapping: mapping) }
    }

    mutating func readLittleEndian<T: FixedWidthInteger>(_: T.Type) -> T? {
        readBytes(MemoryLayout<T>.size).map { T(littleEndian: UnsafeRawBufferPointer($0).loadUnaligned(as: T.self)) }
    }

    mutating func readVarintOrThrow() throws -> UInt64 {
        guard let value = LEB128.read(bytes, &offset) else { throw IndexSnapshot.Invalid(description: "a number in the snapshot is cut short") }
        return value
    }

    mutating func readVarints() throws -> [UInt64] {
        try (0..<Int(try readVarintOrThrow())).map { _ in try readVarintOrThrow() }
    }

    /// Reads what `writeAscending` wrote, appending to `values`.
    mutating func readAscending(into values: inout [Int32]) throws {
        let count = Int(try readVarintOrThrow())
        guard count <= readableBytes else { throw IndexSnapshot.Invalid(description: "a list in the snapshot is cut short") }
        values.reserveCapacity(values.count + count)
        var v: Int32 = 0
        for _ in 0..<count {
            v &+= Int32(truncatingIfNeeded: try readVarintOrThrow())
            values.append(v)
        }
    }

    mutating func readStringOrThrow() throws -> String {
        guard let utf8 = readBytes(Int(try readVarintOrThrow())) else { throw IndexSnapshot.Invalid(description: "a string in the snapshot is cut short") }
        return String(decoding: utf8, as: UTF8.self)
    }

    mutating func readStrings() throws -> [String] {
        try (0..<Int(try readVarintOrThrow())).map { _ in try readStringOrThrow() }
    }

    /// What `writeRaw` wrote, copied into an array (the file gives no alignment for `T`).
    mutating func readRaw<T: BitwiseCopyable>(_ expected: Int? = nil) throws -> [T] {
        let count = Int(try readVarintOrThrow())
        guard expected == nil || expected == count else { throw IndexSnapshot.Invalid(description: "an array in the snapshot has \(count) entries, not \(expected!)") }
        let size = count.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        guard !size.overflow, let source = readBytes(size.partialValue) else { throw IndexSnapshot.Invalid(description: "an array in the snapshot is cut short") }
        return [T](unsafeUninitializedCapacity: count) { out, initialized in
            UnsafeMutableRawBufferPointer(out).copyMemory(from: UnsafeRawBufferPointer(source))
            initialized = count
        }
    }

    /// Bytes `writeRaw` wrote, left in place: the result lives as long as `mapping`.
    mutating func readBlock() throws -> UnsafeBufferPointer<UInt8> {
        guard let block = readBytes(Int(try readVarintOrThrow())) else { throw IndexSnapshot.Invalid(description: "a block of the snapshot is cut short") }
        return block
    }

    mutating func readMessage<M: WireMessage>() throws -> M {
        guard let record = readBytes(Int(try readVarintOrThrow())) else { throw IndexSnapshot.Invalid(description: "a record in the snapshot is cut short") }
        return try M(unpacking: UnsafeRawBufferPointer(record))
    }
}
