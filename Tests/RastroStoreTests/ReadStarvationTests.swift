import Foundation
import Synchronization
import Testing
@testable import RastroStore
import RastroCore

@Suite("Reads from async code")
struct ReadStarvationTests {
    /// More concurrent async reads than the store has readers, while other tasks read
    /// synchronously (as the scheduler does): a reader must never wait for a thread of
    /// the cooperative pool to be given back, or everything stops. (`rastro serve`
    /// once hung this way under a push load, and then ignored SIGTERM.)
    @Test(.timeLimit(.minutes(1))) func moreAsyncReadsThanReadersWhileOthersReadSynchronouslyAllFinish() async throws {
        let db = try TemporaryStore()
        let m = try db.store.ensureMerchant(name: "m", now: t0)
        _ = try db.store.registerShipment(NewShipment(carrier: "x", trackingNumber: "N1", orderId: "o1", invoiceNumber: "nf1"),
                                          merchantId: m.id!, now: t0)
        let store = db.store, merchantId = m.id!
        let done = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<64 {
                group.addTask {
                    for _ in 0..<20 {
                        if i % 4 == 0 {
                            _ = try store.nextDue(carrier: "x")
                        } else {
                            _ = try await store.shipment(orderId: "o1", invoiceNumber: "nf1", merchantId: merchantId)
                        }
                    }
                    return 1
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(done == 64)
    }
}
