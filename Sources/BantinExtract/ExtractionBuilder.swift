import BantinCore

/// Collects mentions into canonical entities (one id per type and folded name, organizations
/// also per province) and derives roles and the main event from their order in the text.
struct ExtractionBuilder {
    let utf8: [UInt8]
    /// The entities in the order first mentioned, and where each id is in that list.
    private var entities: [Entity] = []
    private var entityIndex: [String: Int] = [:]
    private var mentions: [Mention] = []
    private var documents: [DocumentRef] = []
    private var dates: [DateRef] = []
    private var roles: [Role] = []
    private var events: [Event] = []
    /// Offices found, with the organization written in them ("Phó Chủ tịch UBND tỉnh" → the UBND's id).
    private var positions: [(span: Span, title: String, organizationID: String)] = []
    /// Event heads found, with their kind.
    private var eventMentions: [(span: Span, kind: String)] = []
    /// The id of the entity of the last mention recorded.
    private(set) var lastEntityID = ""
    /// Where the last organization mention ends, and its name.
    private var lastOrganization: (end: UInt32, name: String)?

    init(text: String) {
        utf8 = Array(text.utf8)
        // Room for a typical article's findings, so that they are not copied while growing from nothing.
        entities.reserveCapacity(64)
        entityIndex.reserveCapacity(64)
        mentions.reserveCapacity(128)
    }

    func surface(_ span: Span) -> String {
        String(decoding: utf8[Int(span.start)..<Int(span.end)], as: UTF8.self)
    }

    static func entityID(_ type: EntityType, _ name: String, province: String = "") -> String {
        let prefix = switch type {
        case .person: "per"
        case .organization: "org"
        case .location: "loc"
        case .position: "pos"
        case .document: "doc"
        case .abbreviation: "abbr"
        case .date: "date"
        case .event: "evt"
        case .misc: "misc"
        }
        // Built as bytes in one buffer: interpolating separately folded Strings made ids a twentieth of the time.
        var id: [UInt8] = []
        id.reserveCapacity(prefix.utf8.count + name.utf8.count + province.utf8.count + 2)
        id.append(contentsOf: prefix.utf8)
        id.append(UInt8(ascii: ":"))
        appendSlug(name, to: &id)
        if !province.isEmpty {
            id.append(UInt8(ascii: "@"))
            appendSlug(province, to: &id)
        }
        return String(decoding: id, as: UTF8.self)
    }

    /// Appends the folded name with its words joined by hyphens ("Bắc  Kạn " → "bac-kan").
    static func appendSlug(_ name: String, to out: inout [UInt8]) {
        let start = out.count
        VietnameseText.fold(name, into: &out)
        // Squeezed in place: spaces dropped at the ends, each inner run of them one hyphen.
        var write = start
        var space = false
        for read in start..<out.count {
            let byte = out[read]
            if byte == UInt8(ascii: " ") {
                space = write > start
                continue
            }
            if space {
                out[write] = UInt8(ascii: "-")
                write += 1
            }
            space = false
            out[write] = byte
            write += 1
        }
        out.removeLast(out.count - write)
    }

    mutating func mention(_ type: EntityType, _ span: Span, name: String, province: String = "", level: String = "", expansion: String = "",
                          honorific: String = "", eventKind: String = "") {
        let id = Self.entityID(type, name, province: type == .organization ? province : "")
        let surface = self.surface(span)
        if let known = entityIndex[id] {
            // Changed in place: a copy taken out and stored back would copy its alias lists too.
            if !sameUTF8(surface, entities[known].name), !entities[known].aliases.containsUTF8(surface) { entities[known].aliases.append(surface) }
            if !honorific.isEmpty, !entities[known].honorifics.containsUTF8(honorific) { entities[known].honorifics.append(honorific) }
        } else {
            var entity = Entity(id: id, type: type, name: name)
            entity.province = province
            entity.adminLevel = level
            entity.expansion = expansion
            if !honorific.isEmpty { entity.honorifics = [honorific] }
            if !sameUTF8(surface, name) { entity.aliases.append(surface) }
            add(entity)
        }
        if type == .event { eventMentions.append((span, eventKind)) }
        if type == .organization { lastOrganization = (span.end, name) }
        mentions.append(Mention(entityID: id, type: type, span: span, surface: surface))
        lastEntityID = id
    }

    /// Another mention of an entity already found ("Đạt" after "Võ Thành Đạt").
    mutating func mention(_ type: EntityType, _ span: Span, id: String) {
        let surface = self.surface(span)
        if let known = entityIndex[id], !sameUTF8(surface, entities[known].name), !entities[known].aliases.containsUTF8(surface) {
            entities[known].aliases.append(surface)
        }
        mentions.append(Mention(entityID: id, type: type, span: span, surface: surface))
    }

    /// An office as written ("Phó Chủ tịch UBND tỉnh"), and the organization named in it.
    mutating func position(_ span: Span, title: String, organizationID: String) {
        mention(.position, span, name: title)
        positions.append((span, title, organizationID))
    }

    /// The persons found so far: id and name.
    func persons() -> [(String, String)] {
        entities.compactMap { $0.type == .person ? ($0.id, $0.name) : nil }
    }

    /// The name of the organization whose mention ends at `end` (for an acronym given after it in parentheses).
    func organizationEnding(at end: UInt32) -> String? {
        lastOrganization.flatMap { $0.end == end ? $0.name : nil }
    }

    mutating func document(_ document: DocumentRef, span: Span) {
        if !documents.contains(where: { $0.id == document.id }) { documents.append(document) }
        if entityIndex[document.id] == nil { add(Entity(id: document.id, type: .document, name: "\(document.kind) \(document.code)")) }
        mentions.append(Mention(entityID: document.id, type: .document, span: span, surface: surface(span)))
    }

    mutating func date(_ date: DateRef) {
        dates.append(date)
        guard let span = date.span else { return }
        let id = "date:\(date.value)"
        if entityIndex[id] == nil { add(Entity(id: id, type: .date, name: date.value)) }
        mentions.append(Mention(entityID: id, type: .date, span: span, surface: surface(span)))
    }

    /// "X, T1, T2 O" and "X - T O": the offices listed right after a person's name; "T O X" and "T O - X -":
    /// an office right before it. In a chain, an office of a body named without its parent ("Ủy viên Ban
    /// Thường vụ") belongs to the parent named at the chain's end ("…, Trưởng Ban Tuyên giáo Tỉnh ủy" → "Ủy viên
    /// Ban Thường vụ Tỉnh ủy").
    mutating func linkRoles() {
        // Only outermost mentions take part; names nested in an office are reached through `positions`.
        let sorted = mentions.filter { $0.span != nil }.sorted { ($0.span!.start, $1.span!.end) < ($1.span!.start, $0.span!.end) }
        var ordered: [Mention] = []
        for m in sorted where !(ordered.last.map { $0.span!.end >= m.span!.end && $0.span!.start <= m.span!.start } ?? false) { ordered.append(m) }
        func gap(_ a: Mention, _ b: Mention) -> String {
            guard let x = a.span?.end, let y = b.span?.start, x <= y else { return "?" }
            return String(decoding: utf8[Int(x)..<Int(y)], as: UTF8.self)
        }
        func office(_ m: Mention) -> (title: String, organizationID: String) {
            let p = positions.first { $0.span == m.span }
            return (p?.title ?? m.surface, p?.organizationID ?? "")
        }
        let listGaps: Set<String> = [", ", " - ", " – ", " "]
        for (index, person) in ordered.enumerated() where person.type == .person {
            var chain: [Mention] = []
            var k = index + 1
            while k < ordered.count, ordered[k].type == .position, listGaps.contains(gap(ordered[k - 1], ordered[k])) {
                chain.append(ordered[k])
                k += 1
            }
            if chain.isEmpty, index >= 1, ordered[index - 1].type == .position,
               [" ", " - ", " – ", ", "].contains(gap(ordered[index - 1], person)) {
                // "Thủ tướng Phạm Minh Chính"; "Phó Trưởng ban Tuyên giáo Trung ương - Phan Xuân Thủy"; a list of
                // offices before the name ("…, Chủ tịch UBND tỉnh Võ Văn Hưng") is read back to its start.
                var j = index - 1
                chain = [ordered[j]]
                while j >= 1, ordered[j - 1].type == .position, gap(ordered[j - 1], ordered[j]) == ", " {
                    j -= 1
                    chain.insert(ordered[j], at: 0)
                }
                if gap(ordered[index - 1], person) == ", " { chain = [] }
            }
            let needsParent = chain.contains { Self.needsParent(office($0).title) && office($0).organizationID.isEmpty }
            let parent = needsParent ? chain.last.map { parentBody(of: office($0).title) } ?? "" : ""
            for m in chain {
                var (title, organizationID) = office(m)
                if organizationID.isEmpty, !parent.isEmpty, Self.needsParent(title) { title += " " + parent }
                addRole(person, title: title, span: m.span!, organizationID: organizationID)
            }
        }
    }

    /// Offices of a body that is named only with its parent.
    static func needsParent(_ title: String) -> Bool {
        ["Ban Thường vụ", "Ban Chấp hành", "BCH", "Ban chấp hành"].contains { hasUTF8Suffix(title, $0) }
    }

    /// The Party committee an office's organization belongs to: "Tỉnh ủy" in "Trưởng Ban Tuyên giáo Tỉnh ủy".
    func parentBody(of title: String) -> String {
        for body in ["Tỉnh ủy", "Tỉnh uỷ", "Thành ủy", "Thành uỷ", "Huyện ủy", "Quận ủy", "Đảng ủy", "Đảng bộ tỉnh"] {
            if let range = title.range(of: body, options: .backwards) { return String(title[range.lowerBound...]) }
        }
        return ""
    }

    private mutating func addRole(_ person: Mention, title: String, span: Span, organizationID: String) {
        var role = Role()
        role.personID = person.entityID
        role.title = title
        role.organizationID = organizationID
        role.span = Span(start: min(person.span?.start ?? 0, span.start), end: max(span.end, person.span?.end ?? 0))
        if !roles.contains(where: { $0.personID == role.personID && $0.title == role.title && $0.organizationID == role.organizationID }) {
            roles.append(role)
        }
    }

    /// A place known without a mention of its own (the article's province): added once, with no span.
    mutating func place(name: String, current: String, level: String) {
        let id = Self.entityID(.location, name)
        guard entityIndex[id] == nil else { return }
        var entity = Entity(id: id, type: .location, name: name)
        entity.province = current
        entity.adminLevel = level
        add(entity)
    }

    /// A new entity, last in the order.
    private mutating func add(_ entity: Entity) {
        entityIndex[entity.id] = entities.count
        entities.append(entity)
    }

    /// The article's main event, named by its headline: a working session, conference, signing, survey.
    mutating func mainEvent(title: String, province: String) {
        let kinds: [(String, String)] = [("ký kết", "signing"), ("hội nghị", "conference"), ("khảo sát", "survey visit"),
                                         ("làm việc", "working session"), ("tiếp", "reception"), ("hội thảo", "seminar"),
                                         ("lễ", "ceremony"), ("triển khai", "conference")]
        // The first event the text names ("buổi làm việc", "Hội nghị"), else one the headline implies.
        guard let kind = eventMentions.first?.kind ?? kinds.first(where: { [lower = title.lowercased()] in containsUTF8(lower, $0.0) })?.1 else { return }
        var event = Event()
        event.kind = kind
        event.span = eventMentions.first?.span
        event.date = dates.first?.value ?? ""
        event.locationID = province.isEmpty ? "" : Self.entityID(.location, province)
        // Persons, and organizations other than those named in someone's office (every organization entity
        // comes from a mention: only places are added without one).
        let officeBodies = Set(roles.map(\.organizationID))
        event.participantIDs = entities.compactMap { e in
            e.type == .person || (e.type == .organization && !officeBodies.contains(e.id)) ? e.id : nil
        }
        event.id = "evt:" + (event.date.isEmpty ? "undated" : event.date) + "-" + hyphenated(kind)
        events.append(event)
    }

    func finish() -> Extraction {
        var extraction = Extraction()
        extraction.entities = entities
        extraction.mentions = mentions.sorted { ($0.span?.start ?? 0, $0.span?.end ?? 0) < ($1.span?.start ?? 0, $1.span?.end ?? 0) }
        extraction.roles = roles
        extraction.documents = documents
        extraction.dates = dates
        extraction.events = events
        return extraction
    }
}
