import BantinCore

/// Near-duplicate detection with 64-bit SimHash over word 3-shingles of the folded body.
///
/// Threshold: two bodies are near-duplicates when their fingerprints differ in at most 6 of 64
/// bits (similarity ≥ 0.906). `NearDuplicateTests` measures both sides on generated articles, which
/// share far more wording than real ones: reprints with minor edits (another opening clause, page
/// furniture, a byline, "đồng chí" → "ông" in a paragraph) stay at 0–5 bits; the closest two
/// different articles of 300 are 7 bits apart. So 6 is as high as the threshold can go, and a reprint
/// that drops a whole paragraph (a tenth of the body) moves 1–14 bits and was found in 28 of 40 tries
/// (measured with the test's edits): finding those needs a Jaccard estimate (MinHash with banded lookup), not a wider threshold.
public struct SimHash: Sendable {
    public static let maxDistance = 6

    public static func fingerprint(_ text: String) -> UInt64 {
        var folded: [UInt8] = []
        VietnameseText.fold(text, into: &folded)
        return folded.withUnsafeBufferPointer(fingerprint(folded:))
    }

    /// `fingerprint` of text already folded (UTF-8).
    public static func fingerprint(folded bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let words = VietnameseText.tokenRanges(utf8: bytes).map { fnv1a(UnsafeBufferPointer(rebasing: bytes[$0])) }
        guard !words.isEmpty else { return 0 }
        // Bit k of every shingle hash votes +1 or −1 into weights[k]: eight bits at a time, from a table of votes.
        var weights = [SIMD8<Int32>](repeating: .zero, count: 8)
        let n = min(3, words.count)
        for i in 0...(words.count - n) {
            // A shingle's hash combines its words' hashes in order (no joined string is built).
            var hash: UInt64 = 0
            for word in words[i..<(i + n)] { hash = mix(hash &* 0x100_0000_01b3 ^ word) }
            for byte in 0..<8 { weights[byte] &+= votes[Int(truncatingIfNeeded: hash >> UInt64(8 * byte)) & 0xFF] }
        }
        var result: UInt64 = 0
        for bit in 0..<64 where weights[bit / 8][bit % 8] > 0 { result |= 1 << UInt64(bit) }
        return result
    }

    /// For each byte value, +1 for each of its set bits and −1 for each clear one, lowest bit first.
    private static let votes: [SIMD8<Int32>] = (0..<256).map { byte in
        SIMD8((0..<8).map { bit in byte >> bit & 1 == 1 ? 1 : -1 })
    }

    public static func similarity(_ a: UInt64, _ b: UInt64) -> Double {
        1 - Double((a ^ b).nonzeroBitCount) / 64
    }

    static func fnv1a(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash &*= 0x100_0000_01b3
        }
        return mix(hash)
    }

    /// FNV's low bits mix poorly for short keys; finish with a 64-bit avalanche (splitmix).
    static func mix(_ value: UInt64) -> UInt64 {
        var hash = value
        hash ^= hash >> 30; hash &*= 0xbf58_476d_1ce4_e5b9
        hash ^= hash >> 27; hash &*= 0x94d0_49bb_1331_11eb
        return hash ^ (hash >> 31)
    }
}

/// The fingerprints of every stored article, looked up by pigeonhole: the 64 bits are cut into
/// `maxDistance + 1` blocks, and two fingerprints at most `maxDistance` bits apart differ in at most that many
/// blocks, so they agree exactly on at least one. Each block value lists the fingerprints that have it; a lookup
/// measures only those (for well-spread fingerprints 6/512 + 1/1024 of the store, about 1/79) instead of every
/// one, a scan that ran on the one thread that commits and grew with the store. Finds what a full scan finds.
struct FingerprintIndex {
    /// Bit offset and width of each block: 10 bits, then 9 bits six times.
    private static let blocks: [(shift: UInt64, width: UInt64)] = {
        let count = SimHash.maxDistance + 1
        var result: [(UInt64, UInt64)] = []
        var shift = 0
        for k in 0..<count {
            let width = 64 / count + (k < 64 % count ? 1 : 0)
            result.append((UInt64(shift), UInt64(width)))
            shift += width
        }
        return result
    }()

    private var fingerprints: [UInt64] = []
    private var ids: [String] = []
    /// Per block, per block value: the positions in `fingerprints` that have it, in order.
    private var lists: [[[Int32]]] = blocks.map { [[Int32]](repeating: [], count: 1 << Int($0.width)) }

    private static func value(of fingerprint: UInt64, in block: (shift: UInt64, width: UInt64)) -> Int {
        Int(truncatingIfNeeded: fingerprint >> block.shift & (1 << block.width - 1))
    }

    mutating func add(_ fingerprint: UInt64, id: String) {
        let position = Int32(fingerprints.count)
        fingerprints.append(fingerprint)
        ids.append(id)
        for (k, block) in Self.blocks.enumerated() { lists[k][Self.value(of: fingerprint, in: block)].append(position) }
    }

    /// The closest stored article within the threshold (the earliest stored of equally close ones), if any.
    func nearest(_ fingerprint: UInt64) -> (id: String, similarity: Double)? {
        var best = -1
        var bestDistance = SimHash.maxDistance + 1
        for (k, block) in Self.blocks.enumerated() {
            for position in lists[k][Self.value(of: fingerprint, in: block)] {
                let i = Int(position)
                let d = (fingerprints[i] ^ fingerprint).nonzeroBitCount
                if d < bestDistance || (d == bestDistance && i < best) {
                    bestDistance = d
                    best = i
                }
            }
        }
        return best >= 0 ? (ids[best], SimHash.similarity(fingerprints[best], fingerprint)) : nil
    }
}
