// hae_gemm_amx_body.h — private to hae_gemm_amx.c, included twice: the AMX kernel's loops written once over the
// tile operations, which the includer defines either as the AMX instructions or as their C emulation:
//   AMX_NAME(x)        the function's name in this variant
//   AMX_TARGET         its target attribute (empty for the emulation)
//   AMX_TILES          a leading parameter naming the tile registers (empty on hardware), AMX_TILES_ARG passes it
//   AMX_BEGIN/AMX_END  configure the tiles (declaring the emulated ones) / release them
//   AMX_ZERO(t) AMX_LOAD(t, p, stride) AMX_STORE(t, p, stride) AMX_DP(c, a, b)   TILEZERO TILELOADD TILESTORED TDPBF16PS
//   AMX_PACK_B(kc, nr, b, ldb, panel)  one tile of B rounded into (⌈kc/2⌉, 32, 2) bf16 (hae_gemm_bf16_pack_b_panel)
//
// Tiles (all 16 rows × 64 bytes): 0–3 the C block's four 16 × 16 float accumulators (rows 0–15 | 16–31 × columns
// 0–15 | 16–31), 4–5 its two A tiles (16 rows × 32 depths bf16), 6–7 its two B tiles (16 pairs × 16 columns × 2).

/// C tile `t` (rows i + ro …, columns co … of this 32-column panel) to C: straight to C where all 16 × 16 lie inside
/// m × nr, else through `stage` so the writes stay inside.
#define AMX_STORE_C(t, ro, co) {                                                                         \
    const long rows = m - i - (ro) < 16 ? m - i - (ro) : 16, cols = nr - (co) < 16 ? nr - (co) : 16;      \
    float *q = c + (i + (ro)) * ldc + (co);                                                              \
    if (rows == 16 && cols == 16) AMX_STORE(t, q, ldc * 4);                                             \
    else if (rows > 0 && cols > 0) {                                                                     \
        AMX_STORE(t, stage, 64);                                                                         \
        for (long r = 0; r < rows; r++) memcpy(q + r * ldc, stage + r * 16, sizeof(float) * cols);       \
    } }

/// C tile `t` from C (the sums of earlier depths), the same way round; rows and columns outside read as zero.
#define AMX_LOAD_C(t, ro, co) {                                                                          \
    const long rows = m - i - (ro) < 16 ? m - i - (ro) : 16, cols = nr - (co) < 16 ? nr - (co) : 16;      \
    const float *q = c + (i + (ro)) * ldc + (co);                                                        \
    if (rows == 16 && cols == 16) AMX_LOAD(t, q, ldc * 4);                                              \
    else {                                                                                               \
        memset(stage, 0, sizeof(float) * 256);                                                           \
        for (long r = 0; r < rows && cols > 0; r++) memcpy(stage + r * 16, q + r * ldc, sizeof(float) * cols); \
        AMX_LOAD(t, stage, 64);                                                                          \
    } }

/// C (m × nr ≤ 32 float, ldc) (+)= A · B for one 32-column panel of B and `pairs` pairs of depths:
/// - a: A's row 0 at its first 32-depth block; block b's rows start b · a_rows rows (of 32 bf16) further; A is read
///   32 rows at a time, past row m up to row 31 of the last block (hae_gemm_amx_packed_count's padding);
/// - panel: B's pairs (pairs, 32, 2) bf16; `tail` (if not NULL): the last ⌈pairs/16⌉-th block's pairs, zero-padded
///   to 16 (the tiles read whole 16-pair blocks and the panel may end sooner);
/// - accumulate: add to C's contents (a later block of depths) instead of overwriting them.
AMX_TARGET static void AMX_NAME(panel_product)(AMX_TILES long m, long nr, long pairs, const uint16_t *a, long a_rows,
                                               const uint16_t *panel, const uint16_t *tail, float *c, long ldc,
                                               int accumulate) {
    _Alignas(64) float stage[16 * 16];                                 // (16, 16) float: a C tile at an edge
    const long blocks = (pairs + 15) / 16;
    for (long i = 0; i < m; i += 32) {                                 // rows i … i + 31
        if (accumulate) {
            AMX_LOAD_C(0, 0, 0) AMX_LOAD_C(1, 0, 16) AMX_LOAD_C(2, 16, 0) AMX_LOAD_C(3, 16, 16)
        } else {
            AMX_ZERO(0); AMX_ZERO(1); AMX_ZERO(2); AMX_ZERO(3);
        }
        for (long kb = 0; kb < blocks; kb++) {                         // depths 32·kb … 32·kb + 31
            const uint16_t *b = tail && kb == blocks - 1 ? tail : panel + kb * 16 * 64;   // (16, 32, 2) bf16
            const uint16_t *at = a + (kb * a_rows + i) * 32;           // (32 rows, 32) bf16
            AMX_LOAD(4, at, 64); AMX_LOAD(5, at + 16 * 32, 64);
            AMX_LOAD(6, b, 128); AMX_LOAD(7, b + 32, 128);
            AMX_DP(0, 4, 6); AMX_DP(1, 4, 7); AMX_DP(2, 5, 6); AMX_DP(3, 5, 7);
        }
        AMX_STORE_C(0, 0, 0) AMX_STORE_C(1, 0, 16) AMX_STORE_C(2, 16, 0) AMX_STORE_C(3, 16, 16)
    }
}

// Per 32-column tile of B: its panel as it lies, the last partial 16-pair block copied and zero-padded.
AMX_TARGET void AMX_NAME(hae_gemm_amx_multiply_prepacked)(long m, long n, long k, const uint16_t *packed,
                                                          long packed_rows, long first_row, const uint16_t *packed_b,
                                                          long panel_pairs, float *c, long ldc) {
    const long pairs = (k + 1) / 2, left = pairs % 16;
    _Alignas(64) uint16_t tail[16 * 64];                               // (16, 32, 2) bf16
    AMX_BEGIN
    for (long t = 0; t < n; t += 32) {                                 // columns t … t + nr − 1
        const long nr = n - t < 32 ? n - t : 32;
        const uint16_t *panel = packed_b + t / 32 * panel_pairs * 64;
        if (left) {
            memcpy(tail, panel + (pairs - left) * 64, sizeof(uint16_t) * 64 * left);
            memset(tail + left * 64, 0, sizeof(uint16_t) * 64 * (16 - left));
        }
        AMX_NAME(panel_product)(AMX_TILES_ARG m, nr, pairs, packed + first_row * 32, packed_rows, panel,
                                left ? tail : NULL, c + t, ldc, 0);
    }
    AMX_END
}

// Per 32-column tile of B and block of HAE_GEMM_AMX_KC depths: the block rounded and packed into a panel on the
// stack (zero-padded to whole 16-pair blocks), then every 32 rows of A sweep it, adding to the earlier blocks' sums
// (float32 in C between blocks: the same sums in the same order as one pass).
AMX_TARGET void AMX_NAME(hae_gemm_amx_multiply)(long m, long n, long k, const uint16_t *packed, long packed_rows,
                                                long first_row, const float *b, long ldb, float *c, long ldc) {
    _Alignas(64) uint16_t panel[HAE_GEMM_AMX_KC * 32];                 // (KC/2, 32, 2) bf16: 32 KB
    AMX_BEGIN
    for (long t = 0; t < n; t += 32) {
        const long nr = n - t < 32 ? n - t : 32;
        for (long k0 = 0; k0 < k; k0 += HAE_GEMM_AMX_KC) {             // depths k0 … k0 + kc − 1 (k0 a multiple of 32)
            const long kc = k - k0 < HAE_GEMM_AMX_KC ? k - k0 : HAE_GEMM_AMX_KC;
            const long kp = (kc + 1) / 2, padded = (kp + 15) / 16 * 16;
            AMX_PACK_B(kc, nr, b + k0 * ldb + t, ldb, panel);
            memset(panel + kp * 64, 0, sizeof(uint16_t) * 64 * (padded - kp));
            AMX_NAME(panel_product)(AMX_TILES_ARG m, nr, kp, packed + (k0 / 32 * packed_rows + first_row) * 32,
                                    packed_rows, panel, NULL, c + t, ldc, k0 > 0);
        }
    }
    AMX_END
}

#undef AMX_STORE_C
#undef AMX_LOAD_C
