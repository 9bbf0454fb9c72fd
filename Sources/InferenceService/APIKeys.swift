/// The service's API keys and the check every transport makes (HTTP `Authorization: Bearer <key>`, gRPC
/// metadata `authorization: Bearer <key>`): keys are compared in constant time and never logged.
///
/// ```swift
/// let keys = APIKeys(["s3cret"])
/// keys.admits(authorization: "Bearer s3cret")   // true
/// keys.admits(authorization: nil)               // false (true only when no key is configured)
/// ```
public struct APIKeys: Sendable {
    /// Each key's bytes.
    let keys: [[UInt8]]

    public init(_ keys: [String]) {
        self.keys = keys.map { Array($0.utf8) }
    }

    /// No key configured: every request is admitted.
    public var isEmpty: Bool { keys.isEmpty }

    /// Whether an `Authorization` value carries one of the keys (always, when none is configured).
    public func admits(authorization: String?) -> Bool {
        guard !keys.isEmpty else { return true }
        guard let authorization else { return false }
        let presented = Self.bearerToken(authorization)
        return !presented.isEmpty && Self.matches(presented, keys)
    }

    /// The token of `Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1), spaces around the
    /// token are not part of it. Empty for any other scheme.
    static func bearerToken(_ header: String) -> [UInt8] {
        let bytes = Array(header.utf8)
        let scheme = Array("bearer".utf8)
        guard bytes.count > scheme.count, bytes[scheme.count] == UInt8(ascii: " "),
              zip(bytes, scheme).allSatisfy({ $0 | 0x20 == $1 }) else { return [] }
        var token = bytes[(scheme.count + 1)...]
        while token.first == UInt8(ascii: " ") { token = token.dropFirst() }
        while token.last == UInt8(ascii: " ") { token = token.dropLast() }
        return Array(token)
    }

    /// Compares against every key, each in time independent of where the bytes differ.
    static func matches(_ presented: [UInt8], _ keys: [[UInt8]]) -> Bool {
        var found = false
        for key in keys { found = constantTimeEqual(presented, key) || found }
        return found
    }

    /// Time depends on the lengths only, never on the contents.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count) | (a.count == b.count ? 0 : 1)
        let length = max(a.count, b.count)
        for i in 0..<length {
            let x = i < a.count ? a[i] : 0, y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }
}
