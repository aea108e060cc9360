import Foundation
import Logging
import Mustache
import Synchronization

/// The email templates under `rules/templates/<locale>/`, re-read on `reload()`.
///
/// A template is three files — `<name>.subject.mustache`, `<name>.text.mustache`,
/// `<name>.html.mustache` — and each locale has `statuses.json` (status → label).
/// Subject and text are rendered without HTML escaping; the HTML part escapes.
public final class TemplateLibrary: Sendable {
    public let directory: URL
    private let state = Mutex(Loaded())
    private let logger: Logger

    struct Loaded: Sendable {
        var templates: [String: [String: MustacheTemplate]] = [:]  // locale → "name.part" → template
        var labels: [String: [String: String]] = [:]               // locale → status → label
        var problems: [String] = []
    }

    public struct Rendered: Sendable, Hashable {
        public var locale: String
        public var subject: String
        public var text: String
        public var html: String
    }

    public init(directory: URL, logger: Logger = Logger(label: "rastro.templates")) {
        self.directory = directory
        self.logger = logger
        reload()
    }

    public var locales: [String] { state.withLock { $0.templates.keys.sorted() } }
    public var problems: [String] { state.withLock { $0.problems } }

    /// Re-reads the templates if a file was added, removed or changed since the last
    /// read (by name, size and modification time): the service calls this every few
    /// seconds, and re-parsing everything each time — and logging the same broken
    /// template again — was wasted work.
    public func reloadIfChanged() {
        let now = fingerprint()
        guard lastFingerprint.withLock({ $0 }) != now else { return }
        reload()
    }

    /// What the template files look like on disk, in one string.
    private func fingerprint() -> String {
        let fm = FileManager.default
        var parts: [String] = []
        for locale in ((try? fm.contentsOfDirectory(atPath: directory.path)) ?? []).sorted() where !locale.hasPrefix(".") {
            let folder = directory.appendingPathComponent(locale)
            for file in ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).sorted() {
                let attributes = (try? fm.attributesOfItem(atPath: folder.appendingPathComponent(file).path)) ?? [:]
                let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
                parts.append("\(locale)/\(file):\(attributes[.size] as? Int ?? -1):\(modified)")
            }
        }
        return parts.joined(separator: "\n")
    }

    private let lastFingerprint = Mutex("")

    /// Re-reads every locale; a template that does not parse is logged and left out.
    public func reload() {
        lastFingerprint.withLock { $0 = fingerprint() }
        var loaded = Loaded()
        let fm = FileManager.default
        for locale in ((try? fm.contentsOfDirectory(atPath: directory.path)) ?? []).sorted() where !locale.hasPrefix(".") {
            let folder = directory.appendingPathComponent(locale)
            var templates: [String: MustacheTemplate] = [:]
            for file in ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []) where file.hasSuffix(".mustache") {
                let key = String(file.dropLast(".mustache".count))
                guard let text = try? String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8) else { continue }
                // Subjects and text parts are plain text: no HTML escaping.
                let source = key.hasSuffix(".html") ? text : "{{% CONTENT_TYPE: TEXT}}" + text
                do {
                    templates[key] = try MustacheTemplate(string: source)
                } catch {
                    loaded.problems.append("templates/\(locale)/\(file): \(error)")
                }
            }
            if !templates.isEmpty { loaded.templates[locale] = templates }
            if let data = fm.contents(atPath: folder.appendingPathComponent("statuses.json").path) {
                if let labels = (try? JSONSerialization.jsonObject(with: data)) as? [String: String] {
                    loaded.labels[locale] = labels
                } else {
                    loaded.problems.append("templates/\(locale)/statuses.json: not a JSON object of strings")
                }
            }
        }
        for problem in loaded.problems { logger.error("template not loaded", metadata: ["problem": "\(problem)"]) }
        state.withLock { $0 = loaded }
    }

    /// The locales tried for `requested`: it, its language alone, the merchant's default, then `en`.
    public static func fallbackChain(_ requested: String?, merchantDefault: String?) -> [String] {
        var chain: [String] = []
        for candidate in [requested, requested.flatMap { $0.split(separator: "-").first.map(String.init) }, merchantDefault,
                          merchantDefault.flatMap { $0.split(separator: "-").first.map(String.init) }, "en"] {
            if let c = candidate, !c.isEmpty, !chain.contains(c) { chain.append(c) }
        }
        return chain
    }

    /// Renders `template` in the first locale of the chain that has all three parts.
    public func render(_ template: String, locale: String?, merchantDefault: String?, variables: [String: Any]) throws -> Rendered {
        let loaded = state.withLock { $0 }
        let chain = Self.fallbackChain(locale, merchantDefault: merchantDefault)
        for candidate in chain {
            guard let set = loaded.templates[candidate],
                  let subject = set["\(template).subject"], let text = set["\(template).text"], let html = set["\(template).html"] else { continue }
            let context = Self.labelled(variables, labels: loaded.labels[candidate] ?? [:])
            return Rendered(locale: candidate,
                            subject: subject.render(context).split(whereSeparator: \.isNewline).first.map(String.init)?
                                .trimmingCharacters(in: .whitespaces) ?? "",
                            text: text.render(context), html: html.render(context))
        }
        throw TemplateError(message: "no template '\(template)' (subject, text and html) in \(chain.joined(separator: ", ")) under \(directory.path)")
    }

    /// Adds the locale's status labels next to every status code in the variables.
    static func labelled(_ variables: [String: Any], labels: [String: String]) -> [String: Any] {
        func label(_ code: Any?) -> String { (code as? String).map { labels[$0] ?? $0 } ?? "" }
        var v = variables
        v["statusLabel"] = label(variables["status"])
        v["previousStatusLabel"] = label(variables["previousStatus"])
        func withLabel(_ event: Any) -> Any {
            guard var e = event as? [String: Any] else { return event }
            e["statusLabel"] = label(e["status"])
            return e
        }
        if let latest = variables["latestEvent"] { v["latestEvent"] = withLabel(latest) }
        if let timeline = variables["timeline"] as? [Any] { v["timeline"] = timeline.map(withLabel) }
        return withoutEmptyStrings(v) as? [String: Any] ?? v
    }

    /// Mustache sections treat "" as present; templates write `{{#trackingURL}}…{{/trackingURL}}`
    /// meaning "when there is one", so empty values are removed before rendering.
    static func withoutEmptyStrings(_ value: Any) -> Any? {
        switch value {
        case let s as String: return s.isEmpty ? nil : s
        case let d as [String: Any]: return d.compactMapValues(withoutEmptyStrings)
        case let a as [Any]: return a.compactMap(withoutEmptyStrings)
        default: return value
        }
    }
}

public struct TemplateError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
