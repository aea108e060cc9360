import CoreMetrics
import RastroNotify
import RastroStore

/// `rastro_outbox_deliveries_total{kind,outcome}`: one per delivery attempt,
/// `sent`, `retry` or `failed`, fed by the outbox deliverer's `onEvent`.
public struct DeliveryMetrics: Sendable {
    let factory: any MetricsFactory

    public init(factory: any MetricsFactory) {
        self.factory = factory
    }

    public func record(_ event: OutboxDeliverer.Event) {
        switch event {
        case .attempted(let row, let result, _):
            let outcome = switch result {
            case .sent: "sent"
            case .retry: "retry"
            case .failed: "failed"
            }
            Counter(label: "rastro_outbox_deliveries_total", dimensions: [("kind", row.kind.rawValue), ("outcome", outcome)], factory: factory)
                .increment()
        }
    }
}
