/// Shape arithmetic on sizes a client declared: every product is checked, so a shape such as
/// `[2^40, 2^40]` is refused instead of overflowing.
public enum TensorShape {
    /// The element count of `shape`, or nil when a dimension is negative or the product overflows.
    public static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    /// The raw byte size of a fixed-size tensor, or nil on overflow or for `BYTES`.
    public static func byteCount(_ shape: [Int], _ datatype: TensorDatatype) -> Int? {
        guard let count = elementCount(shape), let size = datatype.elementSize else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: size)
        return overflow ? nil : bytes
    }

    /// `[1, 150, 150, 3]` as the protocol's error messages write shapes.
    public static func text(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}
