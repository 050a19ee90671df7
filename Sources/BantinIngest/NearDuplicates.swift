import BantinCore

/// Near-duplicate detection with 64-bit SimHash over word 3-shingles of the folded body.
///
/// Threshold: two bodies are near-duplicates when their fingerprints differ in at most 6 of 64
/// bits (similarity ≥ 0.906). On reprints of one press release with edits (a changed lead, a
/// dropped paragraph, another byline) the distance stays at 0–5; unrelated articles of the same
/// genre and province sit near 32 (random); articles sharing long boilerplate but with different
/// news land at 10–20. 6 keeps a margin on both sides; `NearDuplicateTests` checks both.
public struct SimHash: Sendable {
    public static let maxDistance = 6

    public static func fingerprint(_ text: String) -> UInt64 {
        var folded: [UInt8] = []
        VietnameseText.fold(text, into: &folded)
        let words = folded.withUnsafeBufferPointer { bytes in
            VietnameseText.tokenRanges(utf8: bytes).map { fnv1a(UnsafeBufferPointer(rebasing: bytes[$0])) }
        }
        guard !words.isEmpty else { return 0 }
        var weights = [Int32](repeating: 0, count: 64)
        let n = min(3, words.count)
        for i in 0...(words.count - n) {
            // A shingle's hash combines its words' hashes in order (no joined string is built).
            var hash: UInt64 = 0
            for word in words[i..<(i + n)] { hash = mix(hash &* 0x100_0000_01b3 ^ word) }
            for bit in 0..<64 { weights[bit] += Int32(truncatingIfNeeded: Int64(bitPattern: (hash >> UInt64(bit)) & 1) * 2 - 1) }
        }
        var result: UInt64 = 0
        for bit in 0..<64 where weights[bit] > 0 { result |= 1 << UInt64(bit) }
        return result
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

/// The fingerprints of every stored article, scanned linearly: 1 M articles is 8 MB and a
/// sub-millisecond scan, which keeps this simpler than banded LSH at Bantin's scale.
struct FingerprintIndex {
    private var fingerprints: [UInt64] = []
    private var ids: [String] = []

    mutating func add(_ fingerprint: UInt64, id: String) {
        fingerprints.append(fingerprint)
        ids.append(id)
    }

    /// The closest stored article within the threshold, if any.
    func nearest(_ fingerprint: UInt64) -> (id: String, similarity: Double)? {
        var best = -1
        var bestDistance = SimHash.maxDistance + 1
        for (i, other) in fingerprints.enumerated() {
            let d = (other ^ fingerprint).nonzeroBitCount
            if d < bestDistance {
                bestDistance = d
                best = i
            }
        }
        return best >= 0 ? (ids[best], SimHash.similarity(fingerprints[best], fingerprint)) : nil
    }
}
