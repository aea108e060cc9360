import Foundation
import RastroCore
@testable import RastroNotify
import RastroStore
import Testing

@Suite("Rules run on several lanes")
struct RulesEngineLaneTests {
    static let v1 = "return { on_change = function(ctx) return { webhook{ endpoint = 'a', event = 'v1' } } end }"
    static let v2 = "return { on_change = function(ctx) return { webhook{ endpoint = 'a', event = 'v2' } } end }"

    /// With one Lua state behind one lock, the inner call would wait for the outer one forever.
    @Test(.timeLimit(.minutes(1))) func whileOneCallHoldsALaneAnotherCallRunsOnTheNext() throws {
        let registry = RuleRegistry(directory: try rulesFolder(["loja": Self.v1]))
        registry.reload()
        let rules = try RulesEngine(registry: registry, lanes: 2) { _ in correios }
        let events = rules.withLane { held in
            rules.withLane { other in #expect(other !== held) }
            return describe(rules.intents(for: change(from: .inTransit, to: .outForDelivery), now: t0))
        }
        #expect(events == ["webhook a v1"])
    }

    @Test func aRulesEditReachesEveryLane() throws {
        let folder = try rulesFolder(["loja": Self.v1])
        let registry = RuleRegistry(directory: folder)
        registry.reload()
        let rules = try RulesEngine(registry: registry, lanes: 2) { _ in correios }
        func onBothLanes() -> [[String]] {
            let first = describe(rules.intents(for: change(from: .inTransit, to: .outForDelivery), now: t0))
            let second = rules.withLane { _ in describe(rules.intents(for: change(from: .inTransit, to: .outForDelivery), now: t0)) }
            return [first, second]
        }
        #expect(onBothLanes() == [["webhook a v1"], ["webhook a v1"]])
        try Self.v2.write(to: folder.appendingPathComponent("loja.lua"), atomically: true, encoding: .utf8)
        registry.reload()
        #expect(onBothLanes() == [["webhook a v2"], ["webhook a v2"]])
    }
}
