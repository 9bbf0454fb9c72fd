/// Explicit vector loads, stores and (de)interleaves for the kernels' stride-2 loops, which LLVM's loop
/// vectorizer leaves scalar. `evenHalf`/`oddHalf` and the lane-wise `SIMD16` initializer below compile to
/// `vshufps`/`vunpck*ps` shuffles (checked in the generated assembly).
typealias Vector4 = SIMD4<Float>
typealias Vector8 = SIMD8<Float>
typealias Vector16 = SIMD16<Float>

extension UnsafePointer where Pointee == Float {
    /// `self[0..<4]`, any alignment.
    @inline(__always) func load4() -> Vector4 { UnsafeRawPointer(self).loadUnaligned(as: Vector4.self) }
    /// `self[0..<8]`, any alignment.
    @inline(__always) func load8() -> Vector8 { UnsafeRawPointer(self).loadUnaligned(as: Vector8.self) }
    /// `self[0..<16]`, any alignment.
    @inline(__always) func load16() -> Vector16 { UnsafeRawPointer(self).loadUnaligned(as: Vector16.self) }
}

extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func load4() -> Vector4 { UnsafePointer(self).load4() }
    @inline(__always) func load8() -> Vector8 { UnsafePointer(self).load8() }
    @inline(__always) func load16() -> Vector16 { UnsafePointer(self).load16() }
    /// `self[0..<4] = value`.
    @inline(__always) func store(_ value: Vector4) { UnsafeMutableRawPointer(self).storeBytes(of: value, as: Vector4.self) }
    /// `self[0..<8] = value`.
    @inline(__always) func store(_ value: Vector8) { UnsafeMutableRawPointer(self).storeBytes(of: value, as: Vector8.self) }
    /// `self[0..<16] = value`.
    @inline(__always) func store(_ value: Vector16) { UnsafeMutableRawPointer(self).storeBytes(of: value, as: Vector16.self) }
}

/// `(even[0], odd[0], even[1], odd[1], …)`: the inverse of `evenHalf`/`oddHalf`.
@inline(__always) func interleave(_ even: Vector8, _ odd: Vector8) -> Vector16 {
    Vector16(even[0], odd[0], even[1], odd[1], even[2], odd[2], even[3], odd[3],
            even[4], odd[4], even[5], odd[5], even[6], odd[6], even[7], odd[7])
}
