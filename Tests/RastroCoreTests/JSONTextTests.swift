import Foundation
import Testing
import RastroCore

@Suite("JSON text")
struct JSONTextTests {
    @Test func stringsWithQuotesControlCharactersAndLineSeparatorsReadBackTheSame() throws {
        let text = "a \"quote\", a \\ backslash,\n\t\u{01} and \u{2028}\u{2029} – an en dash ’ and ã"
        var out: [UInt8] = []
        JSONText.writeString(text, into: &out)
        let written = String(decoding: out, as: UTF8.self)
        #expect(written.contains("\\u2028\\u2029") && written.contains("\\u0001") && !written.contains("\u{2028}"))
        #expect(try JSONSerialization.jsonObject(with: Data(out), options: .fragmentsAllowed) as? String == text)
    }

    @Test func typedDocumentsAreWrittenWithSortedKeysAndTheLastOfARepeatedKey() {
        let doc = JSONText.Value.object([("b", .int(2)), ("a", .array([.string("x"), .null, .bool(true)])), ("b", .int(3))])
        #expect(JSONText.string(doc) == #"{"a":["x",null,true],"b":3}"#)
        #expect(JSONText.string(doc) == JSONText.string(doc.any))
    }
}
