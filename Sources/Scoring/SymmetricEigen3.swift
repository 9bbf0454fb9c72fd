import Foundation

/// Eigenvalues and eigenvectors of a real symmetric 3 × 3 matrix by the cyclic Jacobi method: sweep the
/// three off-diagonal pairs in order (0,1), (0,2), (1,2), each zeroed by one plane rotation (Golub & Van Loan,
/// *Matrix Computations* §8.5, `sym.schur2`), until the off-diagonal part is zero to working precision.
/// Jacobi is accurate to a few ulps of the largest eigenvalue and needs no library — the numpy reference
/// (`np.linalg.eigh`, LAPACK) agrees to rounding on the stain scatter matrices it is used for.
///
/// ```swift
/// let e = SymmetricEigen3([[2, 1, 0], [1, 2, 0], [0, 0, 5]])
/// e.values            // ascending: [1, 3, 5]
/// e.vectors[0]        // unit eigenvector of 1: ±[0.7071, −0.7071, 0]
/// ```
public struct SymmetricEigen3: Sendable, Equatable {
    /// Ascending.
    public let values: [Double]
    /// `vectors[i]` is the unit eigenvector of `values[i]`.
    public let vectors: [[Double]]
    /// Sweeps used (at most ``maximumSweeps``).
    public let sweeps: Int

    /// Convergence is quadratic: 3 × 3 matrices settle in ≤ 6 sweeps; the cap only guards against NaN input.
    public static let maximumSweeps = 50

    /// - Parameter matrix: 3 rows of 3; only the upper triangle is read (the matrix is taken as symmetric).
    public init(_ matrix: [[Double]]) {
        precondition(matrix.count == 3 && matrix.allSatisfy { $0.count == 3 }, "SymmetricEigen3 needs a 3 × 3 matrix")
        var a = matrix
        for i in 0..<3 { for j in 0..<i { a[i][j] = a[j][i] } }
        var v: [[Double]] = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
        var sweep = 0
        while sweep < Self.maximumSweeps {
            let off = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2]
            let diagonal = a[0][0] * a[0][0] + a[1][1] * a[1][1] + a[2][2] * a[2][2]
            // Done when the off-diagonal mass no longer registers against the diagonal (or is exactly zero).
            if off == 0 || !(off > diagonal * 1e-36) { break }
            sweep += 1
            for (p, q) in [(0, 1), (0, 2), (1, 2)] where a[p][q] != 0 {
                Self.rotate(&a, &v, p, q)
            }
        }
        let diagonal: [Double] = [a[0][0], a[1][1], a[2][2]]
        // Ascending eigenvalues; equal ones keep their index order.
        let order: [Int] = [0, 1, 2].sorted { (i: Int, j: Int) -> Bool in
            diagonal[i] < diagonal[j] || (diagonal[i] == diagonal[j] && i < j)
        }
        values = order.map { diagonal[$0] }
        vectors = order.map { k in
            let column = [v[0][k], v[1][k], v[2][k]]
            let norm = (column[0] * column[0] + column[1] * column[1] + column[2] * column[2]).squareRoot()
            return column.map { $0 / norm }
        }
        sweeps = sweep
    }

    /// Zeroes `a[p][q]` by the rotation `J(p, q, θ)`: `a ← Jᵀ a J`, `v ← v J`.
    private static func rotate(_ a: inout [[Double]], _ v: inout [[Double]], _ p: Int, _ q: Int) {
        let tau = (a[q][q] - a[p][p]) / (2 * a[p][q])
        // The smaller root of t² + 2τt − 1 = 0: the rotation by at most 45°, stable for large τ.
        let t = tau >= 0 ? 1 / (tau + (1 + tau * tau).squareRoot()) : -1 / (-tau + (1 + tau * tau).squareRoot())
        let c = 1 / (1 + t * t).squareRoot(), s = t * c
        for k in 0..<3 {
            let akp = a[k][p], akq = a[k][q]
            a[k][p] = c * akp - s * akq
            a[k][q] = s * akp + c * akq
        }
        for k in 0..<3 {
            let apk = a[p][k], aqk = a[q][k]
            a[p][k] = c * apk - s * aqk
            a[q][k] = s * apk + c * aqk
        }
        a[p][q] = 0; a[q][p] = 0
        for k in 0..<3 {
            let vkp = v[k][p], vkq = v[k][q]
            v[k][p] = c * vkp - s * vkq
            v[k][q] = s * vkp + c * vkq
        }
    }
}
