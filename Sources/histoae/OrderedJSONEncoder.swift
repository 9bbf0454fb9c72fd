/// An `Encoder` that turns any `Encodable` into an ``OrderedJSON`` tree, keeping every object's keys in the
/// order its `encode(to:)` wrote them — so a type's `Codable` conformance alone decides its JSON layout, and
/// ``PythonJSON`` prints it as Python's `json` would (Foundation's `JSONEncoder` on Linux loses key order).
///
/// * keyed containers → objects, in encoding order; a key encoded twice keeps its first place, with the last value;
/// * unkeyed containers → arrays; `nil` → `null`; `encodeIfPresent` of `nil` writes nothing;
/// * `Double`/`Float` → floats in Python's text (``OrderedJSON/double(_:)``; a `Float` by its exact value, as
///   Python's `float(np.float32(x))`); NaN and ±∞ throw `EncodingError.invalidValue` (Python would write `NaN`,
///   which is not JSON);
/// * every integer type → an integer; no date, data or key strategies (types encode as their `Encodable` says).
///
/// ```swift
/// struct Tail: Encodable { var level = 0.9; var exceedances = 50 }
/// let tree = try OrderedJSONEncoder().encode(Tail())
/// PythonJSON.pretty(tree)            // {"level": 0.9, "exceedances": 50}, one member a line
/// ```
struct OrderedJSONEncoder {
    /// The tree of `value`. - Throws: `EncodingError.invalidValue` for a non-finite float, a value that encoded
    /// nothing at the top level, or containers used against the `Encoder` rules; any error `value` throws.
    func encode<T: Encodable>(_ value: T) throws -> OrderedJSON {
        let state = EncodingState(), root = TreeNode()
        try state.encode(value, into: root, codingPath: [])
        if let misuse = state.misuse { throw misuse }
        guard root.hasContent else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "\(T.self) did not encode any values"))
        }
        return root.json
    }
}

/// One place in the tree being built. Containers hold their node by reference and may outlive the call that made
/// them (`superEncoder`, nested containers), so the tree is read only once encoding is done.
private final class TreeNode {
    enum Shape { case empty, scalar(OrderedJSON), object, array }

    var shape = Shape.empty
    private var keys: [String] = []
    private var positions: [String: Int] = [:]
    private var children: [TreeNode] = []

    var hasContent: Bool {
        if case .empty = shape { return false }
        return true
    }

    /// A fresh node for `key`: in the key's place when it was encoded before (its old value is dropped), else last.
    func child(forKey key: String) -> TreeNode {
        let node = TreeNode()
        if let index = positions[key] {
            children[index] = node
        } else {
            positions[key] = children.count
            keys.append(key)
            children.append(node)
        }
        return node
    }

    func appendChild() -> TreeNode {
        let node = TreeNode()
        children.append(node)
        return node
    }

    var count: Int { children.count }

    var json: OrderedJSON {
        switch shape {
        case .empty: .object([])    // a nested value whose encode(to:) wrote nothing: JSONEncoder writes {} too
        case .scalar(let value): value
        case .object: .object(zip(keys, children).map { OrderedJSON.Member(key: $0, value: $1.json) })
        case .array: .array(children.map(\.json))
        }
    }
}

/// What one `encode` call shares between its encoders and containers.
private final class EncodingState {
    /// The first container requested against the rules (a keyed one on a node that holds an array, …): container
    /// requests cannot throw, so it is kept here and thrown when encoding ends, rather than trapping.
    var misuse: EncodingError?

    func reportMisuse(_ description: String, codingPath: [any CodingKey]) {
        if misuse == nil { misuse = .invalidValue(description, .init(codingPath: codingPath, debugDescription: description)) }
    }

    /// Writes `value` into the empty `node`: scalars directly, anything else through its own `encode(to:)`.
    func encode<T: Encodable>(_ value: T, into node: TreeNode, codingPath: [any CodingKey]) throws {
        if let scalar = try Self.scalar(value, codingPath: codingPath) {
            node.shape = .scalar(scalar)
        } else {
            try value.encode(to: TreeEncoder(node: node, state: self, codingPath: codingPath))
        }
    }

    /// The JSON of a standard scalar type (the generic `encode` paths reach these too, e.g. `[Double]`'s elements).
    static func scalar<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> OrderedJSON? {
        switch value {
        case let v as Double: try float(v, codingPath: codingPath)
        case let v as Float: try float(Double(v), codingPath: codingPath)
        case let v as String: .string(v)
        case let v as Bool: .bool(v)
        case let v as Int: .number(String(v))
        case let v as Int8: .number(String(v))
        case let v as Int16: .number(String(v))
        case let v as Int32: .number(String(v))
        case let v as Int64: .number(String(v))
        case let v as UInt: .number(String(v))
        case let v as UInt8: .number(String(v))
        case let v as UInt16: .number(String(v))
        case let v as UInt32: .number(String(v))
        case let v as UInt64: .number(String(v))
        case let v as Int128: .number(String(v))
        case let v as UInt128: .number(String(v))
        default: nil
        }
    }

    static func float(_ value: Double, codingPath: [any CodingKey]) throws -> OrderedJSON {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: codingPath,
                                                          debugDescription: "\(value) is not a JSON number"))
        }
        return .double(value)
    }
}

private struct TreeEncoder: Encoder {
    let node: TreeNode
    let state: EncodingState
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedTreeContainer<Key>(node: shaped(.object), state: state, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedTreeContainer(node: shaped(.array), state: state, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueTreeContainer(node: node, state: state, codingPath: codingPath)
    }

    /// The node as an object or array; asking twice for the same kind shares it (a subclass and its superclass
    /// writing one object); another kind is a misuse, and the container then writes into a detached node.
    private func shaped(_ wanted: TreeNode.Shape) -> TreeNode {
        switch (node.shape, wanted) {
        case (.empty, _): node.shape = wanted; return node
        case (.object, .object), (.array, .array): return node
        default:
            state.reportMisuse("a container was requested for a value that already holds another kind", codingPath: codingPath)
            let detached = TreeNode()
            detached.shape = wanted
            return detached
        }
    }
}

private struct KeyedTreeContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: TreeNode
    let state: EncodingState
    let codingPath: [any CodingKey]

    func encodeNil(forKey key: Key) throws { node.child(forKey: key.stringValue).shape = .scalar(.null) }

    func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try put(value, forKey: key) }
    // The protocol's own defaults for these throw "not implemented" and win over the generic witness above.
    func encode(_ value: Int128, forKey key: Key) throws { try put(value, forKey: key) }
    func encode(_ value: UInt128, forKey key: Key) throws { try put(value, forKey: key) }

    private func put<T: Encodable>(_ value: T, forKey key: Key) throws {
        try state.encode(value, into: node.child(forKey: key.stringValue), codingPath: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        superEncoder(forKey: key).container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        superEncoder(forKey: key).unkeyedContainer()
    }

    func superEncoder() -> any Encoder {
        TreeEncoder(node: node.child(forKey: "super"), state: state, codingPath: codingPath + [TreeKey(stringValue: "super")])
    }

    func superEncoder(forKey key: Key) -> any Encoder {
        TreeEncoder(node: node.child(forKey: key.stringValue), state: state, codingPath: codingPath + [key])
    }
}

private struct UnkeyedTreeContainer: UnkeyedEncodingContainer {
    let node: TreeNode
    let state: EncodingState
    let codingPath: [any CodingKey]
    var count: Int { node.count }

    func encodeNil() throws { node.appendChild().shape = .scalar(.null) }

    func encode<T: Encodable>(_ value: T) throws { try put(value) }
    func encode(_ value: Int128) throws { try put(value) }
    func encode(_ value: UInt128) throws { try put(value) }

    private func put<T: Encodable>(_ value: T) throws {
        let path = codingPath + [TreeKey(index: count)]
        try state.encode(value, into: node.appendChild(), codingPath: path)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        superEncoder().container(keyedBy: keyType)
    }

    func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { superEncoder().unkeyedContainer() }

    func superEncoder() -> any Encoder {
        let path = codingPath + [TreeKey(index: count)]
        return TreeEncoder(node: node.appendChild(), state: state, codingPath: path)
    }
}

private struct SingleValueTreeContainer: SingleValueEncodingContainer {
    let node: TreeNode
    let state: EncodingState
    let codingPath: [any CodingKey]

    func encodeNil() throws {
        try checkEmpty()
        node.shape = .scalar(.null)
    }

    func encode<T: Encodable>(_ value: T) throws { try put(value) }
    func encode(_ value: Int128) throws { try put(value) }
    func encode(_ value: UInt128) throws { try put(value) }

    private func put<T: Encodable>(_ value: T) throws {
        try checkEmpty()
        try state.encode(value, into: node, codingPath: codingPath)
    }

    /// One value per single-value container (JSONEncoder traps on a second; this throws).
    private func checkEmpty() throws {
        guard !node.hasContent else {
            throw EncodingError.invalidValue("a second value", .init(
                codingPath: codingPath, debugDescription: "a single-value container already holds a value"))
        }
    }
}

/// The coding-path key of an array element or of `super`.
private struct TreeKey: CodingKey {
    let stringValue: String
    let intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue; intValue = nil }
    init(intValue: Int) { stringValue = "Index \(intValue)"; self.intValue = intValue }
    init(index: Int) { self.init(intValue: index) }
}
