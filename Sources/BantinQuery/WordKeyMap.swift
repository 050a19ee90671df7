/// A hash map from two-word keys to values, with open addressing and linear probing. The index builder looks up
/// every token's spelling and every pair of neighbouring terms in one: the standard Dictionary seeds, feeds and
/// finishes a SipHash `Hasher` per lookup, which was a fifth of indexing; here a lookup is two multiplies and a
/// probe or two. Keys are never removed (the builder's vocabulary only grows).
struct WordKeyMap<Value: Sendable>: Sendable {
    private struct Slot: Sendable {
        var low: UInt64
        var high: UInt64
        var value: Value?  // nil: the slot is free
    }

    private var slots = Array(repeating: Slot(low: 0, high: 0, value: nil), count: 1024)
    private var shift: UInt64 = 64 - 10  // 64 − log2(slots.count): the hash's top bits pick the slot
    private(set) var count = 0

    @inline(__always)
    private func home(_ low: UInt64, _ high: UInt64) -> Int {
        // Fibonacci hashing of the two words mixed: the top bits of the product depend on every key bit.
        Int(truncatingIfNeeded: ((low ^ (high &* 0xC2B2_AE3D_27D4_EB4F)) &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    subscript(low low: UInt64, high high: UInt64) -> Value? {
        let mask = slots.count - 1
        var i = home(low, high)
        while let value = slots[i].value {
            if slots[i].low == low, slots[i].high == high { return value }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Adds a key that is not in the map.
    mutating func insert(low: UInt64, high: UInt64, _ value: Value) {
        if (count + 1) * 2 > slots.count { grow() }
        let mask = slots.count - 1
        var i = home(low, high)
        while slots[i].value != nil {
            precondition(slots[i].low != low || slots[i].high != high, "key inserted twice")
            i = (i + 1) & mask
        }
        slots[i] = Slot(low: low, high: high, value: value)
        count += 1
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(low: 0, high: 0, value: nil), count: old.count * 2)
        shift -= 1
        count = 0
        for slot in old { if let value = slot.value { insert(low: slot.low, high: slot.high, value) } }
    }
}
