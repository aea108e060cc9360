import Foundation
import RastroCarriers
import RastroCore
import RastroScripting
import RastroTestSupport
import Testing

@Suite("Redacting carrier responses for fixtures")
struct ResponseRedactorTests {
    let redactor = ResponseRedactor()

    @Test func personalDataInJSONIsReplacedByKeyAndPatternWhileTrackingFactsStay() throws {
        let body = """
        {"codObjeto": "SI047624825BR",
         "destinatario": {"nome": "Maria da Silva", "cpf": "12345678909", "telefone": "(11) 98765-4321",
                          "email": "maria@example.com.br",
                          "endereco": {"logradouro": "Rua das Flores", "numero": "123", "complemento": "apto 42",
                                       "bairro": "Jardim Paulista", "cep": "01310-100", "cidade": "SAO PAULO", "uf": "SP"}},
         "recebedor": "JOSE \\u00c1LVARES", "documentoRecebedor": 12345678909,
         "eventos": [{"codigo": "BDE", "tipo": "01", "descricao": "Objeto entregue ao destinatário",
                      "dtHrCriado": "2022-02-08T11:16:53-03:00",
                      "detalhe": "Contato: joao.souza@gmail.com, CPF 123.456.789-09, CNPJ 12.345.678/0001-95, tel +55 11 3456 7890",
                      "unidade": {"nome": "AC CENTRAL", "endereco": {"cidade": "CAMPINAS", "uf": "SP"}}}]}
        """
        let out = redactor.redact(body, contentType: "application/json; charset=utf-8")
        for gone in ["Maria da Silva", "12345678909", "98765-4321", "maria@example.com.br", "Rua das Flores", "apto 42",
                     "Jardim Paulista", "01310-100", "ÁLVARES", "joao.souza@gmail.com", "123.456.789-09", "12.345.678/0001-95", "3456 7890"] {
            #expect(!out.contains(gone), "\(gone) survived:\n\(out)")
        }
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any], "not JSON any more:\n\(out)")
        let to = try #require(doc["destinatario"] as? [String: Any])
        let address = try #require(to["endereco"] as? [String: Any])
        #expect(to["nome"] as? String == "REDACTED-NAME")
        #expect(to["cpf"] as? String == "00000000000")
        #expect(to["telefone"] as? String == "(00) 00000-0000")
        #expect(to["email"] as? String == "redacted@example.invalid")
        #expect(address["cep"] as? String == "00000-000" && address["numero"] as? String == "000")
        #expect(address["cidade"] as? String == "SAO PAULO" && address["uf"] as? String == "SP")
        #expect(doc["recebedor"] as? String == "REDACTED-NAME")
        #expect((doc["documentoRecebedor"] as? NSNumber)?.stringValue.count == 11, "a number stays a number of the same length")
        // The facts a script reads are byte for byte where they were.
        for kept in ["\"codObjeto\": \"SI047624825BR\"", "\"codigo\": \"BDE\"", "\"dtHrCriado\": \"2022-02-08T11:16:53-03:00\"",
                     "\"descricao\": \"Objeto entregue ao destinatário\"", "\"nome\": \"AC CENTRAL\"", "\"cidade\": \"CAMPINAS\""] {
            #expect(out.contains(kept), "\(kept) changed:\n\(out)")
        }
    }

    @Test func personalDataInXMLElementsAndAttributesIsReplacedWhileTheTrackingNumberStays() throws {
        let body = """
        <?xml version="1.0" encoding="UTF-8"?>
        <!-- SRO -->
        <sroxml><versao>1.0</versao>
          <objeto><numero>SI047624825BR</numero><nome>ENCOMENDA PAC</nome>
            <evento><tipo>BDE</tipo><status>01</status><data>26/12/2016</data><hora>15:22</hora>
              <descricao>Objeto entregue ao destinatário</descricao>
              <recebedor>ANA PEREIRA</recebedor><documento>12.345.678-9</documento>
              <comentario><![CDATA[avisar ana@example.org]]></comentario>
              <endereco><logradouro>Av. Paulista</logradouro><numero>1000</numero><cep>01310100</cep>
                <cidade>SAO PAULO</cidade><uf>SP</uf></endereco>
            </evento>
          </objeto>
          <data name="piece-shipment" recipient-name="Hans Meier" recipient-street="Hauptstr. 5" recipient-city="Bonn"
                pan-recipient-postalcode="53113" event-status="Zugestellt"/>
          <ns2:Contact xmlns:ns2="urn:x"><ns2:PersonName>John Taylor</ns2:PersonName><ns2:PhoneNumber>1234567890</ns2:PhoneNumber></ns2:Contact>
        </sroxml>
        """
        let out = redactor.redact(body, contentType: "text/xml")
        for gone in ["ANA PEREIRA", "12.345.678-9", "ana@example.org", "Av. Paulista", "1000", "01310100", "Hans Meier", "Hauptstr. 5",
                     "53113", "John Taylor", "1234567890"] {
            #expect(!out.contains(gone), "\(gone) survived:\n\(out)")
        }
        for kept in ["<numero>SI047624825BR</numero>", "<nome>ENCOMENDA PAC</nome>", "<tipo>BDE</tipo>", "<data>26/12/2016</data>",
                     "<hora>15:22</hora>", "<descricao>Objeto entregue ao destinatário</descricao>", "<cidade>SAO PAULO</cidade>",
                     "name=\"piece-shipment\"", "recipient-city=\"Bonn\"", "event-status=\"Zugestellt\"", "<!-- SRO -->", "xmlns:ns2=\"urn:x\""] {
            #expect(out.contains(kept), "\(kept) changed:\n\(out)")
        }
        #expect(out.contains("<recebedor>REDACTED-NAME</recebedor>") && out.contains("<cep>00000000</cep>"))
        #expect(out.contains("<ns2:PersonName>REDACTED-NAME</ns2:PersonName>"))
        // Still XML the host's parser reads.
        let vm = try LuaVM.sandboxed()
        let loaded = try vm.load("return { check = function(b) local d, err = xml.parse(b); return d ~= nil, err end }", chunkName: "check")
        let parsed = try vm.call(try #require(loaded.script), "check", [.string(out)])
        #expect(parsed.first?.boolValue == true, "\(parsed)")
    }

    @Test func plainTextAndHTMLLoseEmailsPhonesAndDocumentsButKeepDatesAndCodes() {
        let page = """
        <!DOCTYPE html><html><body><p>Objeto SI047624825BR entregue em 26/12/2016 15:22 (2016-12-26T17:22:00+00:00).</p>
        <p>Recebido por CPF 123.456.789-09, contato (21) 2345-6789 ou +1 (212) 555-0100, sac@loja.com.br</p></body></html>
        """
        let out = redactor.redact(page, contentType: "text/html")
        for gone in ["123.456.789-09", "2345-6789", "555-0100", "sac@loja.com.br"] { #expect(!out.contains(gone), "\(gone) survived: \(out)") }
        for kept in ["SI047624825BR", "26/12/2016 15:22", "2016-12-26T17:22:00+00:00", "<p>", "</html>"] { #expect(out.contains(kept), "\(kept) changed: \(out)") }
        #expect(out.contains("000.000.000-00") && out.contains("(00) 0000-0000"))
    }

    @Test func everyRuleSaysWhy() {
        for rule in ResponseRedactor.rules { #expect(!rule.why.isEmpty && !rule.keys.isEmpty) }
    }

    static let corpus = LoopbackCarrier.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus")

    /// Real bodies with a recipient's name, address or signature, and a few values from them that must go.
    static let corpusCases: [(file: String, contentType: String, gone: [String])] = [
        ("fedex/karrio_fedex_track_v1.json", "application/json", ["John Taylor", "Sammy Smith", "1043 North Easy Street", "\"1234567890\""]),
        ("fedex/active_shipping_fedex_delivered_with_signature.xml", "text/xml", ["AVILLALON", "6703 NW 7TH ST"]),
        ("correios/pacotevicio_proxyapp_objeto_delivered.json", "application/json", ["RUA DOS GRAFICOS", "JARDIM DO LAGO", "13050973"]),
    ]

    @Test("a redacted corpus body parses to the same statuses and events as the original",
          .enabled(if: FileManager.default.fileExists(atPath: corpus.path), "no corpus at ../shared/corpus"),
          arguments: corpusCases.map(\.file))
    func aRedactedCorpusBodyParsesToTheSameStatusesAndEventCount(file: String) throws {
        let entry = try #require(Self.corpusCases.first { $0.file == file })
        let original = try #require(FileManager.default.contents(atPath: Self.corpus.appendingPathComponent(file).path))
        let redacted = redactor.redact(Array(original), contentType: entry.contentType)
        let text = String(decoding: redacted, as: UTF8.self)
        for gone in entry.gone { #expect(!text.contains(gone), "\(gone) survived in \(file)") }
        #expect(redacted != Array(original))

        let carrier = String(file.split(separator: "/")[0])
        let vm = try LuaVM.sandboxed()
        let script = try CarrierScript.load(id: carrier, carriersDirectory: LoopbackCarrier.packageRoot.appendingPathComponent("carriers"), on: vm)
        func summary(_ body: [UInt8]) throws -> [String: [String]] {
            let output = try script.parse(HTTPResponse(status: 200, headers: ["content-type": entry.contentType], body: body),
                                          codes: [], context: CarrierContext(now: Timestamp(iso8601: "2026-01-01T00:00:00Z")!))
            guard case .perCode(let results, _) = output else { return ["whole": ["\(output)"]] }
            return results.mapValues { outcome in
                switch outcome {
                case .tracked(let r): [r.status.rawValue] + r.events.map { "\($0.status.rawValue) \($0.code) \($0.occurredAt.iso8601) \($0.description)" }
                case .failed(let f): [f.kind.rawValue]
                }
            }
        }
        let before = try summary(Array(original)), after = try summary(redacted)
        #expect(!before.isEmpty && before.values.contains { $0.count > 1 }, "the original has events")
        #expect(before == after)
    }
}
