import ArgumentParser

@main
struct Rastro: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rastro",
        abstract: "Self-hosted shipment tracking with carriers and rules as sandboxed Lua scripts.",
        subcommands: [ServeCommand.self, StatusCommand.self, BenchCommand.self, ShipmentCommand.self, MerchantCommand.self, RulesCommand.self, OutboxCommand.self, TrackCommand.self, CarrierCommand.self]
    )
}

struct CarriersOption: ParsableArguments {
    @Option(name: .long, help: "Folder of carrier scripts (one <id>/carrier.lua per carrier).")
    var carriers: String = "carriers"
}
