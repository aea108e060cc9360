import Foundation

/// Removes personal data from a carrier response so it can be kept as a fixture,
/// while the tracking facts a script reads (codes, statuses, dates, city, state,
/// country, event descriptions) stay exactly as they were.
///
/// JSON is walked by key, XML by element and attribute name (both matched
/// case-insensitively, ignoring `_`, `-` and namespace prefixes), and every text
/// value of any format — plain text and HTML too — goes through `patterns` for
/// emails, phones and Brazilian documents. Values are replaced in place with a
/// placeholder of the same kind, so the body still parses and format checks
/// (a CEP's 8 digits, a phone's shape) still pass.
public struct ResponseRedactor: Sendable {
    public enum Kind: String, Sendable {
        case name, address, district, document, phone, email, image
        /// Digits and letters masked, the shape kept: house numbers, postal codes.
        case shaped
    }

    public enum Match: Sendable { case exact, suffix, contains }

    public struct Rule: Sendable {
        public var kind: Kind
        public var keys: [String]
        public var match: Match
        /// When set, the key counts only below an element or key containing one of these
        /// (`numero` is a house number inside `endereco`, a tracking number elsewhere).
        public var within: [String]?
        public var why: String
    }

    /// Keys are compared lowercased without `_`, `-`, `.`, spaces and namespace prefixes.
    public static let rules: [Rule] = [
        Rule(kind: .name, keys: ["personname", "fullname", "firstname", "lastname", "givenname", "familyname", "contactname",
                                 "companyname", "organizationname", "attentionname", "recipientname", "receivername", "consigneename",
                                 "shippername", "sendername", "customername", "nomedestinatario", "nomeremetente", "nomerecebedor"],
             match: .suffix, why: "names of people (or a one-person company) sending or receiving the parcel"),
        Rule(kind: .name, keys: ["name", "nome"], match: .exact,
             within: ["contact", "recipient", "receiver", "consignee", "shipper", "sender", "destinatario", "remetente",
                      "customer", "cliente", "person", "deliveredto", "receivedby", "address", "endereco"],
             why: "a bare `name` is a person's only inside a party or an address; elsewhere it names a service, a depot or a data element"),
        Rule(kind: .name, keys: ["recipient", "receiver", "consignee", "destinatario", "remetente", "recebedor", "attention"],
             match: .exact, why: "a party written as plain text is its name (an object under these keys is walked instead)"),
        Rule(kind: .name, keys: ["receivedby", "receivedbyname", "signedby", "signedbyname", "signedforbyname", "signatoryname",
                                 "signaturename", "signatory", "authorizationname", "deliveredto"],
             match: .suffix, why: "who signed for or received the parcel"),
        Rule(kind: .image, keys: ["image", "photo", "signatureimage", "signaturedata"], match: .exact,
             within: ["signature", "photo", "proofofdelivery"], why: "a signature or doorstep photo is personal data as an image"),
        Rule(kind: .email, keys: ["email"], match: .contains, why: "email addresses (before `address`: emailAddress is an email)"),
        Rule(kind: .address, keys: ["street", "logradouro", "addressline"], match: .contains,
             why: "street lines of an address"),
        Rule(kind: .address, keys: ["address", "endereco", "complemento", "complement"], match: .suffix,
             why: "a whole address or its complement as one text (an object under these keys is walked: its city stays)"),
        Rule(kind: .district, keys: ["bairro", "district", "neighborhood", "neighbourhood", "suburb"], match: .exact,
             why: "the district narrows an address to a few streets"),
        Rule(kind: .shaped, keys: ["number", "numero", "nro", "num"], match: .exact, within: ["address", "endereco"],
             why: "house number inside an address (outside one, `numero` is the tracking number)"),
        Rule(kind: .shaped, keys: ["housenumber", "streetnumber", "numeroendereco"], match: .exact, why: "house number"),
        Rule(kind: .shaped, keys: ["postalcode", "postcode", "zipcode", "zip", "cep", "postal"], match: .suffix,
             why: "postal codes locate a home; masked to the same shape (00000-000) so format checks pass"),
        Rule(kind: .document, keys: ["cpf", "cnpj", "documento", "taxid", "vatnumber"], match: .contains,
             why: "tax and identity documents, wherever in the key (documentoRecebedor, cpfCnpj)"),
        Rule(kind: .document, keys: ["document", "documentnumber", "vatid", "nationalid", "idnumber"], match: .suffix,
             why: "documents in English keys (only as a suffix: documentUrl is a link, not a document)"),
        Rule(kind: .document, keys: ["rg", "ssn", "nif"], match: .exact, why: "identity documents whose short names end other words (org)"),
        Rule(kind: .phone, keys: ["phone", "fone", "celular", "mobile", "fax"], match: .contains, why: "phone numbers"),
    ]

    /// A pattern applied to every text value, whatever its key: personal data inside free text.
    struct Pattern: @unchecked Sendable {  // NSRegularExpression is immutable and documented thread-safe
        let kind: Kind
        let regex: NSRegularExpression
        let why: String
        init(_ kind: Kind, _ pattern: String, why: String) {
            self.kind = kind
            regex = try! NSRegularExpression(pattern: pattern)
            self.why = why
        }
    }

    static let patterns: [Pattern] = [
        Pattern(.email, #"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"#, why: "an email address"),
        Pattern(.document, #"\b\d{3}\.\d{3}\.\d{3}-\d{2}\b"#, why: "a CPF written with its dots and dash"),
        Pattern(.document, #"\b\d{2}\.\d{3}\.\d{3}/\d{4}-\d{2}\b"#, why: "a CNPJ written with its dots, slash and dash"),
        Pattern(.phone, #"\(\d{2,3}\)\s?\d{4,5}[-. ]?\d{4}\b"#, why: "a phone with its area code in parentheses ((11) 98765-4321, (212) 555-0100)"),
        Pattern(.phone, #"\+\d{1,3}[ .-]?\(?\d{1,4}\)?(?:[ .-]?\d{2,5}){2,4}\b"#, why: "an international phone (+55 11 98765 4321)"),
    ]

    public init() {}

    /// The body with personal data replaced; the format follows the content type, else the first character.
    public func redact(_ body: [UInt8], contentType: String?) -> [UInt8] {
        let codec = TextCodec(body)
        let type = contentType?.lowercased() ?? ""
        let first = body.first { !Self.isSpace($0) }
        if type.contains("json") || (!type.contains("xml") && !type.contains("html") && (first == UInt8(ascii: "{") || first == UInt8(ascii: "["))) {
            var walk = JSONWalk(input: body, codec: codec, redactor: self)
            if let out = walk.run() { return out }
        } else if type.contains("xml") || (!type.contains("html") && first == UInt8(ascii: "<") && !Self.looksLikeHTML(body)) {
            var walk = XMLWalk(input: body, codec: codec, redactor: self)
            if let out = walk.run() { return out }
        }
        return codec.encode(redactText(codec.decode(body[...])))
    }

    /// Convenience for text bodies.
    public func redact(_ body: String, contentType: String?) -> String {
        String(decoding: redact(Array(body.utf8), contentType: contentType), as: UTF8.self)
    }

    /// Emails, phones and documents in free text.
    public func redactText(_ text: String) -> String {
        var out = text
        for p in Self.patterns {
            let ns = out as NSString
            let matches = p.regex.matches(in: out, range: NSRange(location: 0, length: ns.length))
            guard !matches.isEmpty else { continue }
            var rebuilt = ""
            var last = 0
            for m in matches {
                rebuilt += ns.substring(with: NSRange(location: last, length: m.range.location - last))
                rebuilt += Self.placeholder(p.kind, for: ns.substring(with: m.range))
                last = m.range.location + m.range.length
            }
            rebuilt += ns.substring(from: last)
            out = rebuilt
        }
        return out
    }

    /// The rule for a key, given the keys or elements it sits in (outermost first).
    func rule(for key: String, ancestors: [String]) -> Rule? {
        let k = Self.normalize(key)
        guard !k.isEmpty else { return nil }
        for rule in Self.rules {
            let hit = rule.keys.contains { entry in
                switch rule.match {
                case .exact: k == entry
                case .suffix: k.hasSuffix(entry)
                case .contains: k.contains(entry)
                }
            }
            guard hit else { continue }
            if let within = rule.within {
                guard ancestors.contains(where: { a in within.contains { a.contains($0) } }) else { continue }
            }
            return rule
        }
        return nil
    }

    /// A scalar value under a key: the placeholder when the key is personal, else the text with patterns applied.
    func redactValue(_ value: String, key: String?, ancestors: [String]) -> String {
        if let key, let rule = rule(for: key, ancestors: ancestors.map(Self.normalize)) {
            return value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? value : Self.placeholder(rule.kind, for: value)
        }
        return redactText(value)
    }

    static func placeholder(_ kind: Kind, for value: String) -> String {
        switch kind {
        case .name: "REDACTED-NAME"
        case .address: "REDACTED-ADDRESS"
        case .district: "REDACTED-DISTRICT"
        case .image: "REDACTED-IMAGE"
        case .email: "redacted@example.invalid"
        case .document, .phone, .shaped: mask(value)
        }
    }

    /// Digits become 0 and letters X, everything else stays: "(11) 98765-4321" → "(00) 00000-0000".
    static func mask(_ value: String) -> String {
        String(String.UnicodeScalarView(value.unicodeScalars.map { s -> Unicode.Scalar in
            if ("0"..."9").contains(s) { return "0" }
            if ("a"..."z").contains(s) { return "x" }
            if ("A"..."Z").contains(s) { return "X" }
            return s
        }))
    }

    static func normalize(_ key: String) -> String {
        let local = key.split(separator: ":").last.map(String.init) ?? key
        return String(local.lowercased().unicodeScalars.filter { !"_-. ".unicodeScalars.contains($0) }.map(Character.init))
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    static func looksLikeHTML(_ body: [UInt8]) -> Bool {
        let head = String(decoding: body.prefix(512), as: UTF8.self).lowercased()
        return head.contains("<!doctype html") || head.contains("<html")
    }
}

extension ResponseRedactor {
    /// The body's text encoding: UTF-8 when it is valid, else Latin-1 (older carrier
    /// APIs), so redaction never turns a byte it does not touch into U+FFFD.
    struct TextCodec {
        let utf8: Bool

        init(_ body: [UInt8]) { utf8 = String(validating: body, as: UTF8.self) != nil }

        func decode(_ bytes: ArraySlice<UInt8>) -> String {
            utf8 ? String(decoding: bytes, as: UTF8.self) : String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
        }

        func encode(_ text: String) -> [UInt8] {
            utf8 ? Array(text.utf8) : text.unicodeScalars.map { $0.value < 256 ? UInt8($0.value) : UInt8(ascii: "?") }
        }
    }
}
