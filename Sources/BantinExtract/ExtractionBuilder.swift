import BantinCore

/// Collects mentions into canonical entities (one id per type and folded name, organizations
/// also per province) and derives roles and the main event from their order in the text.
struct ExtractionBuilder {
    let utf8: [UInt8]
    private var entities: [String: Entity] = [:]
    private var entityOrder: [String] = []
    private var mentions: [Mention] = []
    private var documents: [DocumentRef] = []
    private var dates: [DateRef] = []
    private var roles: [Role] = []
    private var events: [Event] = []

    init(text: String) { utf8 = Array(text.utf8) }

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
        let key = VietnameseText.fold(name).split(separator: " ").joined(separator: "-")
        return province.isEmpty ? "\(prefix):\(key)" : "\(prefix):\(key)@\(VietnameseText.fold(province).split(separator: " ").joined(separator: "-"))"
    }

    mutating func mention(_ type: EntityType, _ span: Span, name: String, province: String = "", level: String = "", expansion: String = "") {
        let id = Self.entityID(type, name, province: type == .organization ? province : "")
        let surface = self.surface(span)
        if var entity = entities[id] {
            if surface != entity.name, !entity.aliases.contains(surface) { entity.aliases.append(surface) }
            entities[id] = entity
        } else {
            var entity = Entity(id: id, type: type, name: name)
            entity.province = province
            entity.adminLevel = level
            entity.expansion = expansion
            if surface != name { entity.aliases.append(surface) }
            entities[id] = entity
            entityOrder.append(id)
        }
        mentions.append(Mention(entityID: id, type: type, span: span, surface: surface))
    }

    mutating func document(_ document: DocumentRef, span: Span) {
        if !documents.contains(where: { $0.id == document.id }) { documents.append(document) }
        if entities[document.id] == nil {
            entities[document.id] = Entity(id: document.id, type: .document, name: "\(document.kind) \(document.code)")
            entityOrder.append(document.id)
        }
        mentions.append(Mention(entityID: document.id, type: .document, span: span, surface: surface(span)))
    }

    mutating func date(_ date: DateRef) {
        dates.append(date)
        guard let span = date.span else { return }
        let id = "date:\(date.value)"
        if entities[id] == nil {
            entities[id] = Entity(id: id, type: .date, name: date.value)
            entityOrder.append(id)
        }
        mentions.append(Mention(entityID: id, type: .date, span: span, surface: surface(span)))
    }

    /// "X, T1 O1, T2 O2" and "X - T O": the offices listed right after a person's name; and
    /// "T O X": an office right before it.
    mutating func linkRoles() {
        let ordered = mentions.sorted { ($0.span?.start ?? 0) < ($1.span?.start ?? 0) }
        func gap(_ a: Mention, _ b: Mention) -> String {
            guard let x = a.span?.end, let y = b.span?.start, x <= y else { return "?" }
            return String(decoding: utf8[Int(x)..<Int(y)], as: UTF8.self)
        }
        for (index, person) in ordered.enumerated() where person.type == .person {
            var k = index + 1
            var found = false
            while k < ordered.count, ordered[k].type == .position, [", ", " - ", " – ", ", ", " "].contains(gap(ordered[k - 1], ordered[k])) {
                let position = ordered[k]
                var organization: Mention?
                if k + 1 < ordered.count, ordered[k + 1].type == .organization, gap(position, ordered[k + 1]) == " " {
                    organization = ordered[k + 1]
                    k += 1
                }
                addRole(person, position, organization)
                found = true
                k += 1
                // "Ủy viên Ban Thường vụ, Trưởng Ban ..." continues after a comma.
                if k < ordered.count, ordered[k].type != .position { break }
            }
            if !found, index >= 1 {
                var j = index - 1
                var organization: Mention?
                if ordered[j].type == .organization, j >= 1, ordered[j - 1].type == .position, [" ", " - ", " – "].contains(gap(ordered[j], person)) {
                    organization = ordered[j]
                    j -= 1
                }
                if ordered[j].type == .position, [" ", " - ", " – "].contains(gap(organization ?? ordered[j], person)) {
                    addRole(person, ordered[j], organization)
                }
            }
        }
    }

    private mutating func addRole(_ person: Mention, _ position: Mention, _ organization: Mention?) {
        var role = Role()
        role.personID = person.entityID
        role.title = position.surface
        role.organizationID = organization?.entityID ?? ""
        let end = organization?.span?.end ?? position.span?.end ?? 0
        role.span = Span(start: min(person.span?.start ?? 0, position.span?.start ?? 0), end: max(end, person.span?.end ?? 0))
        if !roles.contains(where: { $0.personID == role.personID && $0.title == role.title && $0.organizationID == role.organizationID }) {
            roles.append(role)
        }
    }

    /// A place known without a mention of its own (the article's province): added once, with no span.
    mutating func place(name: String, current: String, level: String) {
        let id = Self.entityID(.location, name)
        guard entities[id] == nil else { return }
        var entity = Entity(id: id, type: .location, name: name)
        entity.province = current
        entity.adminLevel = level
        entities[id] = entity
        entityOrder.append(id)
    }

    /// The article's main event, named by its headline: a working session, conference, signing, survey.
    mutating func mainEvent(title: String, province: String) {
        let lower = title.lowercased()
        let kinds: [(String, String)] = [("ký kết", "signing"), ("hội nghị", "conference"), ("khảo sát", "survey visit"),
                                         ("làm việc", "working session"), ("tiếp", "reception"), ("hội thảo", "seminar"),
                                         ("lễ", "ceremony"), ("triển khai", "conference")]
        guard let kind = kinds.first(where: { lower.contains($0.0) })?.1 else { return }
        var event = Event()
        event.kind = kind
        event.date = dates.first?.value ?? ""
        event.locationID = province.isEmpty ? "" : Self.entityID(.location, province)
        event.participantIDs = entityOrder.filter { id in
            guard let e = entities[id] else { return false }
            return e.type == .person || (e.type == .organization && roles.contains { $0.organizationID == id } == false && mentions.contains { $0.entityID == id })
        }
        event.id = "evt:" + (event.date.isEmpty ? "undated" : event.date) + "-" + kind.replacingOccurrences(of: " ", with: "-")
        events.append(event)
    }

    func finish() -> Extraction {
        var extraction = Extraction()
        extraction.entities = entityOrder.compactMap { entities[$0] }
        extraction.mentions = mentions.sorted { ($0.span?.start ?? 0, $0.span?.end ?? 0) < ($1.span?.start ?? 0, $1.span?.end ?? 0) }
        extraction.roles = roles
        extraction.documents = documents
        extraction.dates = dates
        extraction.events = events
        return extraction
    }
}
