/// Records the keys of every JSON object a value encodes, in the order its `encode(to:)` writes them, by
/// coding path (`""` the top level, `"signals"`, `"signals.stain"` …). Foundation's `JSONEncoder` on Linux
/// does not keep that order (it sorts or hashes), so the spec's key order is checked here.
///
/// ```swift
/// let keys = try KeyOrderRecorder.record(score)
/// keys[""]            // ["statistics", "method", "score", …]
/// ```
final class KeyOrderRecorder {
    private(set) var keys: [String: [String]] = [:]

    static func record(_ value: some Encodable) throws -> [String: [String]] {
        let recorder = KeyOrderRecorder()
        try value.encode(to: RecordingEncoder(recorder: recorder, codingPath: []))
        return recorder.keys
    }

    fileprivate func note(_ key: CodingKey, at path: [CodingKey]) {
        keys[Self.name(path), default: []].append(key.stringValue)
    }

    static func name(_ path: [CodingKey]) -> String {
        path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }
}

private struct IndexKey: CodingKey {
    var stringValue: String { "\(intValue!)" }
    var intValue: Int?
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

private struct RecordingEncoder: Encoder {
    let recorder: KeyOrderRecorder
    var codingPath: [CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Keyed<Key>(recorder: recorder, codingPath: codingPath))
    }
    func unkeyedContainer() -> UnkeyedEncodingContainer { Unkeyed(recorder: recorder, codingPath: codingPath) }
    func singleValueContainer() -> SingleValueEncodingContainer { Single(recorder: recorder, codingPath: codingPath) }

    struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let recorder: KeyOrderRecorder
        var codingPath: [CodingKey]
        func nested(_ key: Key) -> RecordingEncoder {
            recorder.note(key, at: codingPath)
            return RecordingEncoder(recorder: recorder, codingPath: codingPath + [key])
        }
        mutating func encodeNil(forKey key: Key) throws { _ = nested(key) }
        mutating func encode(_ value: Bool, forKey key: Key) throws { _ = nested(key) }
        mutating func encode(_ value: String, forKey key: Key) throws { _ = nested(key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { _ = nested(key) }
        mutating func encode(_ value: Float, forKey key: Key) throws { _ = nested(key) }
        mutating func encode(_ value: Int, forKey key: Key) throws { _ = nested(key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { _ = nested(key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { _ = nested(key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { _ = nested(key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { _ = nested(key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { _ = nested(key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { _ = nested(key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { _ = nested(key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { _ = nested(key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { _ = nested(key) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try value.encode(to: nested(key)) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type,
                                                            forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            nested(key).container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer { nested(key).unkeyedContainer() }
        mutating func superEncoder() -> Encoder { RecordingEncoder(recorder: recorder, codingPath: codingPath) }
        mutating func superEncoder(forKey key: Key) -> Encoder { nested(key) }
    }

    struct Unkeyed: UnkeyedEncodingContainer {
        let recorder: KeyOrderRecorder
        var codingPath: [CodingKey]
        var count = 0
        mutating func next() -> RecordingEncoder {
            defer { count += 1 }
            return RecordingEncoder(recorder: recorder, codingPath: codingPath + [IndexKey(count)])
        }
        mutating func encodeNil() throws { count += 1 }
        mutating func encode(_ value: Bool) throws { count += 1 }
        mutating func encode(_ value: String) throws { count += 1 }
        mutating func encode(_ value: Double) throws { count += 1 }
        mutating func encode(_ value: Float) throws { count += 1 }
        mutating func encode(_ value: Int) throws { count += 1 }
        mutating func encode(_ value: Int8) throws { count += 1 }
        mutating func encode(_ value: Int16) throws { count += 1 }
        mutating func encode(_ value: Int32) throws { count += 1 }
        mutating func encode(_ value: Int64) throws { count += 1 }
        mutating func encode(_ value: UInt) throws { count += 1 }
        mutating func encode(_ value: UInt8) throws { count += 1 }
        mutating func encode(_ value: UInt16) throws { count += 1 }
        mutating func encode(_ value: UInt32) throws { count += 1 }
        mutating func encode(_ value: UInt64) throws { count += 1 }
        mutating func encode<T: Encodable>(_ value: T) throws { try value.encode(to: next()) }
        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
            next().container(keyedBy: keyType)
        }
        mutating func nestedUnkeyedContainer() -> UnkeyedEncodingContainer { next().unkeyedContainer() }
        mutating func superEncoder() -> Encoder { next() }
    }

    struct Single: SingleValueEncodingContainer {
        let recorder: KeyOrderRecorder
        var codingPath: [CodingKey]
        mutating func encodeNil() throws {}
        mutating func encode(_ value: Bool) throws {}
        mutating func encode(_ value: String) throws {}
        mutating func encode(_ value: Double) throws {}
        mutating func encode(_ value: Float) throws {}
        mutating func encode(_ value: Int) throws {}
        mutating func encode(_ value: Int8) throws {}
        mutating func encode(_ value: Int16) throws {}
        mutating func encode(_ value: Int32) throws {}
        mutating func encode(_ value: Int64) throws {}
        mutating func encode(_ value: UInt) throws {}
        mutating func encode(_ value: UInt8) throws {}
        mutating func encode(_ value: UInt16) throws {}
        mutating func encode(_ value: UInt32) throws {}
        mutating func encode(_ value: UInt64) throws {}
        mutating func encode<T: Encodable>(_ value: T) throws {
            try value.encode(to: RecordingEncoder(recorder: recorder, codingPath: codingPath))
        }
    }
}
