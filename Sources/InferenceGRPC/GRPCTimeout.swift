import GRPCCore

/// The client's deadline as gRPC sends it, the `grpc-timeout` metadata (gRPC over HTTP/2: at most 8 digits
/// then a unit, `H` `M` `S` `m` `u` `n`). grpc-swift cancels an RPC at that deadline but does not tell the
/// handler when it is, so the endpoint reads it here to hand the engine the shorter of it and the server's.
///
/// ```swift
/// GRPCTimeout.milliseconds(in: ["grpc-timeout": "1500m"])   // 1500
/// GRPCTimeout.milliseconds(in: ["grpc-timeout": "2S"])      // 2000
/// ```
enum GRPCTimeout {
    /// Whole milliseconds, rounded up (a deadline under 1 ms is still a deadline); nil when absent or malformed.
    static func milliseconds(in metadata: Metadata) -> Int? {
        guard let value = metadata[stringValues: "grpc-timeout"].first(where: { _ in true }) else { return nil }
        return milliseconds(value)
    }

    static func milliseconds(_ value: String) -> Int? {
        let bytes = Array(value.utf8)
        guard bytes.count >= 2, bytes.count <= 9, let unit = bytes.last else { return nil }
        var amount = 0  // ≤ 99,999,999: no overflow below
        for digit in bytes.dropLast() {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) else { return nil }
            amount = amount * 10 + Int(digit - UInt8(ascii: "0"))
        }
        switch unit {
        case UInt8(ascii: "H"): return amount * 3_600_000
        case UInt8(ascii: "M"): return amount * 60_000
        case UInt8(ascii: "S"): return amount * 1000
        case UInt8(ascii: "m"): return amount
        case UInt8(ascii: "u"): return (amount + 999) / 1000
        case UInt8(ascii: "n"): return (amount + 999_999) / 1_000_000
        default: return nil
        }
    }
}
