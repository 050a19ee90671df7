import BantinCore

/// Near-duplicate detection: MinHash signatures of the folded body's syllable 5-shingles, compared by their estimate
/// of the Jaccard similarity of the two shingle sets.
///
/// Threshold: two bodies are near-duplicates when at least 39 of the 64 bins of their signatures (0.61) agree. `NearDuplicateTests`
/// measures both sides on generated articles, which share far more wording than real ones (the same templates): the
/// exact Jaccard similarity of a reprint with minor edits (another opening clause, page furniture, a byline, "đồng
/// chí" → "ông" in a paragraph) is 0.97 or more, of a reprint that drops a paragraph 0.79 or more, and of two
/// different articles at most 0.26 (0.15 on average, over 300 articles). 0.61 sits between the two with room for the
/// estimate's error (a standard deviation of 0.05 to 0.06 with 64 bins). Five syllables make a shingle because
/// shorter ones are shared by unrelated articles: with three, two different articles reached 0.41.
///
/// The signature takes one hash per shingle ("one permutation" MinHash): its top 6 bits pick one of 64 bins and
/// each bin keeps the smallest of the low 32 bits that fall in it; an empty bin (a short body) takes the next
/// filled bin's value, shifted by the distance, so that two bodies with the same shingles still agree there.
public enum MinHash {
    public static let bins = 64
    /// Bins that must agree for a near-duplicate: 39 of 64 (0.61).
    public static let agreeing = 39
    static let shingle = 5
    /// The lookup compares a stored signature only when one band of `rows` consecutive bins agrees whole. A body at
    /// similarity 0.79 has a band agreeing in 99.96 % of cases (1 − (1 − 0.79⁴)¹⁶), one at 0.26 in 7 %.
    static let bands = 16
    static let rows = bins / bands

    public static func signature(folded bytes: UnsafeBufferPointer<UInt8>) -> [UInt32] {
        let words = VietnameseText.tokenRanges(utf8: bytes).map { fnv1a(UnsafeBufferPointer(rebasing: bytes[$0])) }
        var minimums = [UInt32](repeating: .max, count: bins)
        var filled = [Bool](repeating: false, count: bins)
        if !words.isEmpty {
            let n = min(shingle, words.count)
            for i in 0...(words.count - n) {
                // A shingle's hash combines its words' hashes in order (no joined string is built).
                var hash: UInt64 = 0
                for word in words[i..<(i + n)] { hash = mix(hash &* 0x100_0000_01b3 ^ word) }
                let bin = Int(hash >> 58)
                minimums[bin] = min(minimums[bin], UInt32(truncatingIfNeeded: hash))
                filled[bin] = true
            }
        }
        guard filled.contains(true) else { return minimums }
        var signature = minimums
        for bin in 0..<bins where !filled[bin] {
            var distance = 1
            while !filled[(bin + distance) % bins] { distance += 1 }
            signature[bin] = minimums[(bin + distance) % bins] &+ UInt32(distance) &* 0x9E37_79B9
        }
        return signature
    }

    /// Whether the signature is of a body without words.
    static func isEmpty(_ signature: UnsafeBufferPointer<UInt32>) -> Bool { signature.allSatisfy { $0 == .max } }

    /// The share of bins that agree: the estimate of the two shingle sets' Jaccard similarity.
    public static func similarity(_ a: UnsafeBufferPointer<UInt32>, _ b: UnsafeBufferPointer<UInt32>) -> Double {
        Double(agreeingBins(a, b)) / Double(bins)
    }

    static func agreeingBins(_ a: UnsafeBufferPointer<UInt32>, _ b: UnsafeBufferPointer<UInt32>) -> Int {
        var count = 0
        for i in 0..<bins where a[i] == b[i] { count += 1 }
        return count
    }

    /// The lookup key of one band of a signature (the band's number is part of it).
    static func bandKey(_ signature: UnsafeBufferPointer<UInt32>, _ band: Int) -> UInt64 {
        var hash = UInt64(band)
        for row in 0..<rows { hash = mix(hash &* 0x100_0000_01b3 ^ UInt64(signature[band * rows + row])) }
        return hash
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

    /// A signature as stored (little-endian 32-bit values) and back.
    static func bytes(_ signature: [UInt32]) -> [UInt8] { signature.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) } }

    static func signature(bytes: [UInt8]) -> [UInt32]? {
        guard bytes.count == bins * 4 else { return nil }
        return (0..<bins).map { i in (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[i * 4 + $1]) << (8 * $1) } }
    }
}

/// The signatures of every stored article, looked up by band (locality-sensitive hashing): each of the 16 bands of
/// a signature lists the articles whose band agrees with it whole, and a lookup compares only those, instead of every
/// stored signature, on the one thread that commits. Adds can be undone newest first, for a rolled-back transaction.
struct SignatureIndex {
    private var signatures: [UInt32] = []  // `MinHash.bins` per article
    private var ids: [String] = []
    /// Band key → the latest article with it; `previous[article * bands + band]` → the one before, or −1.
    private var latest: [UInt64: Int32] = [:]
    private var previous: [Int32] = []

    var count: Int { ids.count }

    mutating func add(_ signature: [UInt32], id: String) {
        let article = Int32(ids.count)
        ids.append(id)
        signatures.append(contentsOf: signature)
        signature.withUnsafeBufferPointer { signature in
            // A body without words (every bin empty) is listed under no band: it is nobody's near-duplicate.
            let empty = MinHash.isEmpty(signature)
            for band in 0..<MinHash.bands {
                guard !empty else { previous.append(-1); continue }
                let key = MinHash.bandKey(signature, band)
                previous.append(latest[key] ?? -1)
                latest[key] = article
            }
        }
    }

    /// Undoes the last `count` adds.
    mutating func removeLast(_ count: Int) {
        for _ in 0..<count {
            let signature = Array(signatures.suffix(MinHash.bins))
            signature.withUnsafeBufferPointer { signature in
                let empty = MinHash.isEmpty(signature)
                for band in (0..<MinHash.bands).reversed() {
                    let before = previous.removeLast()
                    if !empty { latest[MinHash.bandKey(signature, band)] = before < 0 ? nil : before }
                }
            }
            signatures.removeLast(MinHash.bins)
            ids.removeLast()
        }
    }

    /// The most similar stored article at or above the threshold (the earliest stored of equally similar ones), if any.
    func nearest(_ signature: [UInt32]) -> (id: String, similarity: Double)? {
        var best = -1
        var bestAgreeing = MinHash.agreeing - 1
        signatures.withUnsafeBufferPointer { stored in
            signature.withUnsafeBufferPointer { signature in
                guard !MinHash.isEmpty(signature) else { return }
                for band in 0..<MinHash.bands {
                    var article = latest[MinHash.bandKey(signature, band)] ?? -1
                    while article >= 0 {
                        let i = Int(article)
                        let agreeing = MinHash.agreeingBins(UnsafeBufferPointer(rebasing: stored[(i * MinHash.bins)...]), signature)
                        if agreeing > bestAgreeing || (agreeing == bestAgreeing && i < best) {
                            bestAgreeing = agreeing
                            best = i
                        }
                        article = previous[i * MinHash.bands + band]
                    }
                }
            }
        }
        return best >= 0 ? (ids[best], Double(bestAgreeing) / Double(MinHash.bins)) : nil
    }
}
