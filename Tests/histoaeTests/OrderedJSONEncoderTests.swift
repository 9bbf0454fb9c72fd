import Foundation
@testable import histoae
import Testing

/// ``OrderedJSONEncoder`` on small types: the tree must keep each object's keys in encoding order and tell
/// integers from floats, because ``PythonJSON`` prints exactly that tree.
struct OrderedJSONEncoderTests {
    private let encoder = OrderedJSONEncoder()

    private func member(_ key: String, _ value: OrderedJSON) -> OrderedJSON.Member { .init(key: key, value: value) }

    /// Declared out of alphabetical order, so sorted keys or a hashed dictionary would show.
    struct Tail: Encodable {
        var zeta = 0.9
        var alpha = 2.5
        var exceedances = 50
        var mid: Double? = nil
    }

    @Test func keepsEncodingOrderAndTellsIntsFromFloats() throws {
        #expect(try encoder.encode(Tail()) == .object([
            member("zeta", .number("0.9")), member("alpha", .number("2.5")), member("exceedances", .number("50")),
        ]))
        #expect(PythonJSON.pretty(try encoder.encode(Tail(mid: 1))) == """
            {
              "zeta": 0.9,
              "alpha": 2.5,
              "exceedances": 50,
              "mid": 1.0
            }
            """)
    }

    struct Scalars: Encodable {
        var double = 1.0, float: Float = 0.5, int = -3, int8 = Int8.min, uint8 = UInt8.max, int64 = Int64.min
        var uint64 = UInt64.max, int128 = Int128(Int64.max) * 4, bool = true, string = "é\n", tiny = 1e-05
    }

    @Test func scalarsAsPythonWritesThem() throws {
        #expect(PythonJSON.canonical(try encoder.encode(Scalars())) == #"{"bool":true,"double":1.0,"float":0.5,"int":-3,"#
            + #""int128":36893488147419103228,"int64":-9223372036854775808,"int8":-128,"string":"\u00e9\n","tiny":1e-05,"#
            + #""uint64":18446744073709551615,"uint8":255}"#)
        #expect(try encoder.encode(2.0) == .number("2.0"))
        #expect(try encoder.encode(2) == .number("2"))
        #expect(try encoder.encode([0.1, 1, 100]) == .array([.number("0.1"), .number("1.0"), .number("100.0")]))
        #expect(try encoder.encode("x") == .string("x"))
        #expect(try encoder.encode([UInt128.max]) == .array([.number("340282366920938463463374607431768211455")]))
        #expect(try encoder.encode(Int128.min) == .number("-170141183460469231731687303715884105728"))
    }

    struct Optionals: Encodable {
        var present: Int? = 1
        var absent: String? = nil
        var list: [Double?] = [1, nil]

        enum CodingKeys: String, CodingKey { case present, absent, list, explicit }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(present, forKey: .present)
            try c.encodeIfPresent(absent, forKey: .absent)
            try c.encode(list, forKey: .list)
            try c.encode(absent, forKey: .explicit)     // encode (not IfPresent) of nil is an explicit null
        }
    }

    @Test func encodeIfPresentOfNilWritesNothing() throws {
        #expect(try encoder.encode(Optionals()) == .object([
            member("present", .number("1")), member("list", .array([.number("1.0"), .null])), member("explicit", .null),
        ]))
        #expect(try encoder.encode(Tail())["mid"] == nil)
    }

    /// Writes `a`, `b`, then `a` again, and uses every kind of nested container.
    struct Nesting: Encodable {
        enum Keys: String, CodingKey { case a, b, nested, list, extra }
        enum Inner: String, CodingKey { case x, y }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(1, forKey: .a)
            try c.encode(2, forKey: .b)
            try c.encode(3, forKey: .a)
            var inner = c.nestedContainer(keyedBy: Inner.self, forKey: .nested)
            try inner.encode("y first", forKey: .y)
            try inner.encode([Tail()], forKey: .x)
            var list = c.nestedUnkeyedContainer(forKey: .list)
            try list.encode(true)
            var row = list.nestedUnkeyedContainer()
            try row.encode(0.25)
            var cell = list.nestedContainer(keyedBy: Inner.self)
            try cell.encodeNil(forKey: .x)
            try Tail().encode(to: list.superEncoder())
            try 7.encode(to: c.superEncoder(forKey: .extra))
            try "base".encode(to: c.superEncoder())
        }
    }

    @Test func nestedContainersAndSuperEncoders() throws {
        let tail = try encoder.encode(Tail())
        #expect(try encoder.encode(Nesting()) == .object([
            member("a", .number("3")), member("b", .number("2")),
            member("nested", .object([member("y", .string("y first")), member("x", .array([tail]))])),
            member("list", .array([.bool(true), .array([.number("0.25")]), .object([member("x", .null)]), tail])),
            member("extra", .number("7")), member("super", .string("base")),
        ]))
    }

    class Base: Encodable {
        var base = 1
        enum CodingKeys: String, CodingKey { case base }
    }

    /// Writes into its superclass's object (`super.encode(to: encoder)`), a common way to encode a class hierarchy.
    final class Derived: Base {
        var derived = 2.0
        enum DerivedKeys: String, CodingKey { case derived }

        override func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: DerivedKeys.self)
            try c.encode(derived, forKey: .derived)
            try super.encode(to: encoder)
        }
    }

    @Test func aSubclassAndItsSuperclassShareOneObject() throws {
        #expect(try encoder.encode(Derived()) == .object([member("derived", .number("2.0")), member("base", .number("1"))]))
    }

    struct Deep: Encodable {
        var values: [Double]
        var single: Float = 1
    }

    @Test("NaN and ±∞ are refused with the path to them", arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteRefused(_ bad: Double) throws {
        let error = try #require(throws: EncodingError.self) { try encoder.encode(Deep(values: [1, bad])) }
        guard case .invalidValue(_, let context) = error else { Issue.record("\(error)"); return }
        #expect(context.codingPath.map(\.stringValue) == ["values", "Index 1"])
        #expect(context.codingPath.last?.intValue == 1)
        #expect(throws: EncodingError.self) { try encoder.encode(Deep(values: [], single: Float(bad))) }
        #expect(throws: EncodingError.self) { try encoder.encode(bad) }
    }

    struct Nothing: Encodable { func encode(to encoder: any Encoder) throws {} }

    struct Misuse: Encodable {
        enum Keys: CodingKey { case k }
        func encode(to encoder: any Encoder) throws {
            var list = encoder.unkeyedContainer()
            try list.encode(1)
            var object = encoder.container(keyedBy: Keys.self)     // the same value as an object too
            try object.encode(2, forKey: .k)
        }
    }

    struct TwoSingleValues: Encodable {
        func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encode(1)
            try c.encode(2)
        }
    }

    @Test func misuseThrowsInsteadOfTrapping() throws {
        #expect(throws: EncodingError.self) { try encoder.encode(Misuse()) }
        #expect(throws: EncodingError.self) { try encoder.encode(TwoSingleValues()) }
        #expect(throws: EncodingError.self) { try encoder.encode(Nothing()) }
        #expect(try encoder.encode([Nothing()]) == .array([.object([])]))    // nested: {} as JSONEncoder writes
    }
}
