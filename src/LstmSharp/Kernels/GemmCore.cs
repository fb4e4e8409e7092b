using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LstmSharp.Kernels;

/// <summary>
/// The blocked, packed GEMM for one vector width (BLIS structure). C is row-major, the vector dimension runs along
/// C's rows: a micro-tile is MR rows × NR = 2 vectors of columns, its MR·2 accumulators held in registers.
/// <code>
///   for jc in N step NC:                B block [KC, NC] packed into NR-column panels (L3)
///     for pc in K step KC:
///       for ic in M step MC:            A block [MC, KC] packed into micro-panels of up to MR rows (L2)
///         for jr in NC step NR:         one B micro-panel [KC, NR] (L1) ...
///           for ir in MC by tile:       ... against every A micro-panel: C[ir:+rows, jr:+NR] += alpha · Ap · Bp
///                                       (= for the first KC block when beta = 0)
/// </code>
/// Packed layouts: an A micro-panel is [kc][MR] (MR values of one k together), a B micro-panel is [kc][NR], zero padded
/// to NR columns (the micro-kernel loads whole vectors of B; of A it reads only the rows it computes). An A block's rows
/// are shared out evenly over its micro-panels (<see cref="TileRows"/>). With few rows of A (up to 2·MC) a row-major B is
/// not packed: the micro-kernel reads each NR-column strip where it lies, row after row; a single row of A with an
/// unpacked B is a matrix-vector product, left to <see cref="Gemv{T, TVec, TOps}"/>: B read where it lies, row-major or
/// transposed (each sums in another order: the same product with B pre-packed agrees within rounding, not bit for bit). Hot methods are compiled fully
/// optimised at once (AggressiveOptimization): a product is often over before tiered compilation would catch up.
/// </summary>
internal static class GemmCore<T, TVec, TOps>
    where T : unmanaged, INumberBase<T>
    where TVec : struct
    where TOps : struct, ISimd<TVec, T>
{
    /// <summary>Depth of a packed block: a B panel [KC, NR] is 32 KiB in float with AVX-512 (NR = 32), 16 KiB with AVX2.</summary>
    public const int KC = 256;

    /// <summary>Rows of a micro-tile.</summary>
    public static int MR => TOps.GemmRows;

    /// <summary>Columns of a micro-tile: two vectors.</summary>
    public static int NR => 2 * TOps.Count;

    /// <summary>
    /// Columns of a packed B block: KC · NC elements are 4 MiB, held in L3 (BLIS's arrangement: each B micro-panel comes
    /// into L1 once per A block and serves all of its tiles), so that A is packed once per depth block up to N = NC.
    /// </summary>
    public static int NC => 4 * 1024 * 1024 / Unsafe.SizeOf<T>() / KC / NR * NR;

    /// <summary>Rows of a packed A block: MC · KC elements stay in L2 (the B block is in L3).</summary>
    public static readonly int MC = 120 / TOps.GemmRows * TOps.GemmRows;

    [ThreadStatic] private static T[]? t_packA;  // [MC / MR][KC][MR]
    [ThreadStatic] private static T[]? t_packB;  // [≤ NC / NR][KC][NR], grown to the largest block a call has packed
    [ThreadStatic] private static T[]? t_edgeB;  // [KC][NR]

    /// <summary>Elements of a packed B [K, N]: every KC block of rows holds ceil(N / NR) panels of [kc, NR].</summary>
    public static int PackedLength(int k, int n) => k * RoundUp(n, NR);

    /// <summary>
    /// Packs op(B) [K, N] whole (B [K, N] row-major, or B^T when <paramref name="transB"/>: b holds [N, K]) into
    /// <paramref name="packed"/>: KC blocks of rows one after the other, each as NR-column panels [kc][NR].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackB(bool transB, int k, int n, ReadOnlySpan<T> b, int ldb, Span<T> packed)
    {
        int nPad = RoundUp(n, NR);
        for (int pc = 0; pc < k; pc += KC)
        {
            int kc = Math.Min(KC, k - pc);
            PackBBlock(transB, b, ldb, pc, kc, 0, n, packed.Slice(pc * nPad, kc * nPad));
        }
    }

    /// <summary>
    /// C [M, N] = alpha · op(A) · op(B) + beta · C for a column range [n0, n1) of C (multiple of NR at n0).
    /// op(B) comes either from <paramref name="b"/> (packed here, or read in place when A has few rows and B is not
    /// transposed, or A has one row) or from <paramref name="packedB"/> (made by <see cref="PackB"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Run(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, ReadOnlySpan<T> packedB,
        T beta, Span<T> c, int ldc, int n0, int n1)
    {
        // beta = 0 overwrites C (NaN in C is not kept): the micro-kernel stores the first KC block's sums without reading
        // C, and adds the later blocks. Any other beta scales C first, and the micro-kernel always adds. (An exact zero
        // sum times a negative alpha is now -0, where 0 + alpha · sum gave +0; equal as numbers.)
        bool overwrite = beta == T.Zero;
        bool nothingToAdd = k == 0 || alpha == T.Zero;
        if (beta != T.One && (!overwrite || nothingToAdd))
        {
            for (int i = 0; i < m; i++)
            {
                var row = c.Slice(i * ldc + n0, n1 - n0);
                if (overwrite) row.Clear();
                else for (int j = 0; j < row.Length; j++) row[j] *= beta;
            }
        }
        if (nothingToAdd) return;
        if (m == 1 && packedB.IsEmpty && !transB)
        {
            // One row of A (a matrix-vector product): B is read in its own order (see Gemv).
            Gemv<T, TVec, TOps>.Run(k, alpha, a, transA ? lda : 1, b, ldb, overwrite, c, n0, n1);
            return;
        }
        if (m == 1 && packedB.IsEmpty && (!transA || lda == 1))
        {
            // One contiguous row of A times Bᵀ: a dot product with each row of B, read where it lies (packing B would
            // copy all of it for one use).
            Gemv<T, TVec, TOps>.RunTransposed(k, alpha, a, b, ldb, overwrite, c, n0, n1);
            return;
        }

        int mr = MR, nr = NR, nc = NC;
        // Few rows of A do not repay packing B: a row-major B is then read where it lies, a whole NR-column strip of
        // each row at a time (only a last, narrower strip is packed, zero padded, so that whole vectors can be loaded).
        bool direct = packedB.IsEmpty && !transB && m <= 2 * MC;
        // A pre-packed or in-place B needs no column blocking when all of M fits one A block: A is packed once.
        if ((!packedB.IsEmpty || direct) && m <= MC) nc = RoundUp(n1 - n0, nr);
        int mc = MC;
        var packA = t_packA ??= new T[KC * mc];                       // [MC / MR][kc][MR]
        bool pack = packedB.IsEmpty && !direct;
        var edgeB = direct ? (t_edgeB ??= new T[KC * nr]) : null;     // [kc][NR]
        var packB = pack ? PackBuffer(KC * Math.Min(nc, RoundUp(n1 - n0, nr))) : null;  // [nc / NR][kc][NR]
        int nPad = RoundUp(n, nr);
        // A C of more than 8 MiB is mostly out of cache when a tile of it is read: the micro-kernel prefetches its tile.
        bool prefetchC = (long)m * n * Unsafe.SizeOf<T>() > 8L << 20;
        // Only a product of at most three rows sums even and odd k apart (see Kernel): a row's sum is then the same
        // whichever tile it falls in, as blocks and the two-thread split along M (never below 2·MR rows) move the tiles.
        bool pairK = m <= 3;
        // A packed B of more than 1 MiB is read from L3 on a CPU whose L2 holds little more (an Intel Xeon's 2 MiB): the
        // micro-kernel prefetches the next panel into L2 (+8% on the forward and +6% on the backward of the (64, 128, 128,
        // 512) LSTM on an Emerald Rapids Xeon). A B that stays in L2 gains nothing (with the prefetches, (16, 50, 32,
        // 64) measured 5% slower in one pair of runs).
        bool prefetchB = !direct && !pairK && Sse.IsSupported && (long)k * n * Unsafe.SizeOf<T>() > 1L << 20;
        ref T cRef = ref MemoryMarshal.GetReference(c);
        for (int jc = n0; jc < n1; jc += nc)
        {
            int ncCur = Math.Min(nc, n1 - jc);
            for (int pc = 0; pc < k; pc += KC)
            {
                int kc = Math.Min(KC, k - pc);
                ReadOnlySpan<T> bBlock;                                // [ceil(ncCur / NR)][kc][NR]; in place: B from row pc, column jc
                if (pack)
                {
                    PackBBlock(transB, b, ldb, pc, kc, jc, ncCur, packB);
                    bBlock = packB;
                }
                else if (direct)
                {
                    bBlock = b.Slice(pc * ldb + jc);
                }
                else
                {
                    bBlock = packedB.Slice(pc * nPad + jc * kc);
                }
                ref T bRef = ref MemoryMarshal.GetReference(bBlock);
                for (int ic = 0; ic < m; ic += mc)
                {
                    int mcCur = Math.Min(mc, m - ic);
                    PackABlock(transA, a, lda, ic, mcCur, pc, kc, packA);
                    ref T aRef = ref MemoryMarshal.GetArrayDataReference(packA);
                    int tiles = (mcCur + mr - 1) / mr;
                    for (int jr = 0; jr < ncCur; jr += nr)
                    {
                        int cols = Math.Min(nr, ncCur - jr);
                        ref T bPanel = ref bRef;                       // [kc][ldbp]: NR columns used
                        int ldbp = nr;
                        if (!direct)
                        {
                            bPanel = ref Unsafe.Add(ref bRef, jr * kc);
                        }
                        else if (cols == nr)
                        {
                            bPanel = ref Unsafe.Add(ref bRef, jr);
                            ldbp = ldb;
                        }
                        else
                        {
                            PackBBlock(false, b, ldb, pc, kc, jc + jr, cols, edgeB);
                            bPanel = ref MemoryMarshal.GetArrayDataReference(edgeB!);
                        }
                        // The next packed panel, which may still be in L3: its rows are asked for into L2 while this
                        // panel's tiles run, tile t taking rows t, t + tiles, ... (see Kernel).
                        nint next = prefetchB && jr + nr < ncCur ? AddressOf(ref Unsafe.Add(ref bRef, (jr + nr) * kc)) : 0;
                        for (int t = 0; t < tiles; t++)
                        {
                            var (ir, rows) = TileRows(mcCur, tiles, t);
                            ref T cTile = ref Unsafe.Add(ref cRef, (ic + ir) * ldc + jc + jr);
                            Tile(rows, kc, ref Unsafe.Add(ref aRef, t * mr * kc), ref bPanel, ldbp, alpha, ref cTile, ldc, cols, overwrite && pc == 0, prefetchC, pairK,
                                next == 0 ? NoPrefetch : new PanelPrefetch(next, t, tiles));
                        }
                    }
                }
            }
        }
    }

    /// <summary>Packs rows [pc, pc + kc) and columns [j0, j0 + nCols) of op(B) into NR-column panels [kc][NR], zero padded.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBBlock(bool transB, ReadOnlySpan<T> b, int ldb, int pc, int kc, int j0, int nCols, Span<T> dst)
    {
        int nr = NR;
        for (int jp = 0; jp < nCols; jp += nr)
        {
            int cols = Math.Min(nr, nCols - jp);
            var panel = dst.Slice(jp * kc, kc * nr);                   // [kc][NR]
            if (!transB)
            {
                // B [K, N] row-major: each k is a contiguous run of columns.
                if (cols == nr)
                {
                    ref T src = ref Unsafe.Add(ref MemoryMarshal.GetReference(b), pc * ldb + j0 + jp);
                    ref T d = ref MemoryMarshal.GetReference(panel);
                    for (int p = 0; p < kc; p++) CopyRun(ref Unsafe.Add(ref src, p * ldb), ref Unsafe.Add(ref d, p * nr), nr);
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                    {
                        b.Slice((pc + p) * ldb + j0 + jp, cols).CopyTo(panel.Slice(p * nr));
                        panel.Slice(p * nr + cols, nr - cols).Clear();
                    }
                }
            }
            else
            {
                // b holds B^T [N, K]: column j of op(B) is the contiguous row j of b.
                if (cols < nr) panel.Clear();
                Transpose(b.Slice((j0 + jp) * ldb + pc), ldb, cols, kc, panel, nr);
            }
        }
    }

    /// <summary>
    /// Packs rows [i0, i0 + rows) and columns [pc, pc + kc) of op(A) as micro-panels [tiles][kc][MR], panel t holding
    /// the rows <see cref="TileRows"/> gives it. The places past a panel's row count are left as they are (or, for a
    /// transposed A, hold the next panel's first rows): the micro-kernel for that row count never reads them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackABlock(bool transA, ReadOnlySpan<T> a, int lda, int i0, int rows, int pc, int kc, Span<T> dst)
    {
        int mr = MR, tiles = (rows + mr - 1) / mr;
        if (!transA)
        {
            // A [M, K] row-major: row i is contiguous in k; each panel is a transpose.
            for (int t = 0; t < tiles; t++)
            {
                var (ir, tileRows) = TileRows(rows, tiles, t);
                Transpose(a.Slice((i0 + ir) * lda + pc), lda, tileRows, kc, dst.Slice(t * mr * kc), mr);
            }
        }
        else
        {
            // a holds A^T [K, M]: for each k the rows are contiguous, read once for all panels. A tile copies a whole
            // MR run where the block has that many rows from its first (the next tile's rows, never read): a copy of
            // known size.
            ref T src = ref Unsafe.Add(ref MemoryMarshal.GetReference(a), pc * lda + i0);
            ref T d = ref MemoryMarshal.GetReference(dst);
            Span<int> first = stackalloc int[tiles + 1];  // tile t: rows [first[t], first[t + 1])
            for (int t = 0; t < tiles; t++) first[t] = TileRows(rows, tiles, t).Row;
            first[tiles] = rows;
            for (int p = 0; p < kc; p++)
            {
                ref T row = ref Unsafe.Add(ref src, p * lda);
                for (int t = 0; t < tiles; t++)
                {
                    int ir = first[t];
                    ref T panel = ref Unsafe.Add(ref d, t * mr * kc + p * mr);
                    if (ir + mr <= rows) CopyRun(ref Unsafe.Add(ref row, ir), ref panel, mr);
                    else for (int r = ir; r < first[t + 1]; r++) Unsafe.Add(ref panel, r - ir) = Unsafe.Add(ref row, r);
                }
            }
        }
    }

    /// <summary>
    /// Tile <paramref name="t"/> of <paramref name="tiles"/> = ceil(rows / MR) micro-tiles over a block of
    /// <paramref name="rows"/> rows: the first row and the row count. The rows are shared out evenly in groups of four
    /// (A's packing transposes float rows four at a time in registers; groups of two where MR = 6): with MR = 12,
    /// 16 = 8 + 8 rather than 12 + 4, so that no tile is left with too few rows to keep the FMA units busy, and
    /// 32 = 8 + 12 + 12.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (int Row, int Rows) TileRows(int rows, int tiles, int t)
    {
        int q = MR % 4 == 0 ? 4 : 2, units = (rows + q - 1) / q;
        // The last `extra` tiles take a group more: so the last tile, which holds a partial group, is not the shortest.
        int size = units / tiles, extra = units % tiles, plain = tiles - extra;
        int first = (t * size + Math.Max(0, t - plain)) * q, end = Math.Min(rows, first + (size + (t >= plain ? 1 : 0)) * q);
        return (first, end - first);
    }

    /// <summary>Copies <paramref name="count"/> elements, MR or NR: a size the JIT knows, so the copy is unrolled into vector moves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyRun(ref T source, ref T destination, int count) =>
        Unsafe.CopyBlockUnaligned(ref Unsafe.As<T, byte>(ref destination), ref Unsafe.As<T, byte>(ref source), (uint)(count * Unsafe.SizeOf<T>()));

    /// <summary>
    /// dst[p · ldd + r] = src[r · lds + p] for r &lt; rows, p &lt; cols: packs rows of a row-major matrix as columns.
    /// In 4×4 (float) or 2×2 (double) register blocks on x86, else four rows at a time so that each p writes four
    /// neighbours. (Operand sizes were checked by Gemm: raw references.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Transpose(ReadOnlySpan<T> src, int lds, int rows, int cols, Span<T> dst, int ldd)
    {
        ref T s = ref MemoryMarshal.GetReference(src);
        ref T d = ref MemoryMarshal.GetReference(dst);
        int r = 0;
        if (typeof(T) == typeof(float) && Sse.IsSupported)
        {
            // 4×4 blocks transposed in registers (the classic _MM_TRANSPOSE4_PS).
            for (; r + 4 <= rows; r += 4)
            {
                ref float s0 = ref Unsafe.As<T, float>(ref Unsafe.Add(ref s, r * lds));
                ref float dr = ref Unsafe.As<T, float>(ref Unsafe.Add(ref d, r));
                int p = 0;
                for (; p + 4 <= cols; p += 4)
                {
                    var r0 = Vector128.LoadUnsafe(ref s0, (nuint)p);
                    var r1 = Vector128.LoadUnsafe(ref s0, (nuint)(lds + p));
                    var r2 = Vector128.LoadUnsafe(ref s0, (nuint)(2 * lds + p));
                    var r3 = Vector128.LoadUnsafe(ref s0, (nuint)(3 * lds + p));
                    var t0 = Sse.UnpackLow(r0, r1);   // a0 b0 a1 b1
                    var t1 = Sse.UnpackLow(r2, r3);   // c0 d0 c1 d1
                    var t2 = Sse.UnpackHigh(r0, r1);  // a2 b2 a3 b3
                    var t3 = Sse.UnpackHigh(r2, r3);  // c2 d2 c3 d3
                    Sse.MoveLowToHigh(t0, t1).StoreUnsafe(ref dr, (nuint)(p * ldd));
                    Sse.MoveHighToLow(t1, t0).StoreUnsafe(ref dr, (nuint)((p + 1) * ldd));
                    Sse.MoveLowToHigh(t2, t3).StoreUnsafe(ref dr, (nuint)((p + 2) * ldd));
                    Sse.MoveHighToLow(t3, t2).StoreUnsafe(ref dr, (nuint)((p + 3) * ldd));
                }
                for (; p < cols; p++)
                    for (int q = 0; q < 4; q++) Unsafe.Add(ref dr, p * ldd + q) = Unsafe.Add(ref s0, q * lds + p);
            }
        }
        else if (typeof(T) == typeof(double) && Sse2.IsSupported)
        {
            // 2×2 blocks.
            for (; r + 2 <= rows; r += 2)
            {
                ref double s0 = ref Unsafe.As<T, double>(ref Unsafe.Add(ref s, r * lds));
                ref double dr = ref Unsafe.As<T, double>(ref Unsafe.Add(ref d, r));
                int p = 0;
                for (; p + 2 <= cols; p += 2)
                {
                    var r0 = Vector128.LoadUnsafe(ref s0, (nuint)p);
                    var r1 = Vector128.LoadUnsafe(ref s0, (nuint)(lds + p));
                    Sse2.UnpackLow(r0, r1).StoreUnsafe(ref dr, (nuint)(p * ldd));
                    Sse2.UnpackHigh(r0, r1).StoreUnsafe(ref dr, (nuint)((p + 1) * ldd));
                }
                for (; p < cols; p++)
                    for (int q = 0; q < 2; q++) Unsafe.Add(ref dr, p * ldd + q) = Unsafe.Add(ref s0, q * lds + p);
            }
        }
        for (; r + 4 <= rows; r += 4)
        {
            ref T s0 = ref Unsafe.Add(ref s, r * lds);
            ref T s1 = ref Unsafe.Add(ref s0, lds);
            ref T s2 = ref Unsafe.Add(ref s1, lds);
            ref T s3 = ref Unsafe.Add(ref s2, lds);
            ref T dr = ref Unsafe.Add(ref d, r);
            for (int p = 0; p < cols; p++)
            {
                ref T dp = ref Unsafe.Add(ref dr, p * ldd);
                dp = Unsafe.Add(ref s0, p);
                Unsafe.Add(ref dp, 1) = Unsafe.Add(ref s1, p);
                Unsafe.Add(ref dp, 2) = Unsafe.Add(ref s2, p);
                Unsafe.Add(ref dp, 3) = Unsafe.Add(ref s3, p);
            }
        }
        for (; r < rows; r++)
        {
            ref T s0 = ref Unsafe.Add(ref s, r * lds);
            for (int p = 0; p < cols; p++) Unsafe.Add(ref d, p * ldd + r) = Unsafe.Add(ref s0, p);
        }
    }

    /// <summary>Dispatches a micro-tile of <paramref name="rows"/> ≤ MR rows to the kernel compiled for that row count.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile(int rows, int kc, ref T a, ref T b, int ldb, T alpha, ref T c, int ldc, int cols, bool overwrite, bool prefetchC, bool pairK, PanelPrefetch next)
    {
        switch (rows)
        {
            case 1: Kernel<Rows1>(kc, ref a, ref b, ldb, alpha, ref c, ldc, cols, overwrite, prefetchC, pairK, next); break;
            case 2: Kernel<Rows2>(kc, ref a, ref b, ldb, alpha, ref c, ldc, cols, overwrite, prefetchC, pairK, next); break;
            case 3: Kernel<Rows3>(kc, ref a, ref b, ldb, alpha, ref c, ldc, cols, overwrite, prefetchC, pairK, next); break;
            case 4: Kernel<Rows4>(kc, ref a, ref b, ldb, alpha, ref c, ldc, cols, overwrite, prefetchC, pairK, next); break;
            case 5: Kernel<Rows5>(kc, ref a, ref b, ldb, alpha, ref c, ldc, cols, overwrite, prefetchC, pairK, next); break;
            case 6: Kernel<Rows6>(kc, ref a, ref b, ldb, alpha, ref c, ldc, cols, overwrite, prefetchC, pairK, next); break;
            case 7: Kernel<Rows7>(kc, ref a, ref b, ldb, alpha, ref c, ldc, cols, overwrite, prefetchC, pairK, next); break;
            case 8: Kernel<Rows8>(kc, ref a, ref b, ldb, alpha, ref c, ldc, cols, overwrite, prefetchC, pairK, next); break;
            case 9: Kernel<Rows9>(kc, ref a, ref b, ldb, alpha, ref c, ldc, cols, overwrite, prefetchC, pairK, next); break;
            case 10: Kernel<Rows10>(kc, ref a, ref b, ldb, alpha, ref c, ldc, cols, overwrite, prefetchC, pairK, next); break;
            case 11: Kernel<Rows11>(kc, ref a, ref b, ldb, alpha, ref c, ldc, cols, overwrite, prefetchC, pairK, next); break;
            default: Kernel<Rows12>(kc, ref a, ref b, ldb, alpha, ref c, ldc, cols, overwrite, prefetchC, pairK, next); break;
        }
    }

    /// <summary>
    /// The micro-kernel: C[0:R, 0:cols] += alpha · Ap[kc][MR] · Bp[kc][0:NR] (= with <paramref name="overwrite"/>, C not
    /// read), Bp's rows <paramref name="ldb"/> apart (NR when packed, B's own stride when read in place), R = <typeparamref name="TR"/>.Value, fully unrolled over the rows (the row count is a compile-time constant per
    /// instantiation, so unused rows vanish). With <paramref name="pairK"/> (a product of at most three rows) the k loop
    /// is unrolled by two into a second set of accumulators, to keep enough FMAs in flight; a short tile of a larger
    /// product sums in the one order every other tile uses.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel<TR>(int kc, ref T a, ref T b, int ldb, T alpha, ref T c, int ldc, int cols, bool overwrite, bool prefetchC, bool pairK, PanelPrefetch next) where TR : struct, IRows
    {
        int R = TR.Value, mr = TOps.GemmRows, w = TOps.Count;
        if (prefetchC && Sse.IsSupported)
        {
            // C's tile is needed only after the k loop: ask for its rows now, so that they arrive in the meantime from
            // a C too large for the caches (+2-3% on a 2048² product). A prefetch never faults, so an address gone stale
            // (the GC moving C) would cost nothing.
            unsafe
            {
                byte* cp = (byte*)Unsafe.AsPointer(ref c);
                int ldcBytes = ldc * Unsafe.SizeOf<T>(), last = cols * Unsafe.SizeOf<T>() - 1;
                for (int r = 0; r < R; r++)
                {
                    Sse.Prefetch0(cp + r * ldcBytes);
                    Sse.Prefetch0(cp + r * ldcBytes + last);
                }
            }
        }
        TVec z = TOps.Splat(T.Zero);
        TVec c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z,
             c60 = z, c61 = z, c70 = z, c71 = z, c80 = z, c81 = z, c90 = z, c91 = z, cA0 = z, cA1 = z, cB0 = z, cB1 = z;
        int p = 0;
        if (R <= 3 && pairK)
        {
            // Rows 0..2 use c00..c21 for even k and c60..c81 for odd k.
            for (; p + 1 < kc; p += 2)
            {
                ref T a1 = ref Unsafe.Add(ref a, mr);
                ref T b1 = ref Unsafe.Add(ref b, ldb);
                TVec b0 = TOps.Load(ref b), bv1 = TOps.Load(ref Unsafe.Add(ref b, w));
                TVec e0 = TOps.Load(ref b1), e1 = TOps.Load(ref Unsafe.Add(ref b1, w));
                TVec av = TOps.Splat(a);
                c00 = TOps.MultiplyAdd(av, b0, c00); c01 = TOps.MultiplyAdd(av, bv1, c01);
                av = TOps.Splat(a1);
                c60 = TOps.MultiplyAdd(av, e0, c60); c61 = TOps.MultiplyAdd(av, e1, c61);
                if (R > 1)
                {
                    av = TOps.Splat(Unsafe.Add(ref a, 1));
                    c10 = TOps.MultiplyAdd(av, b0, c10); c11 = TOps.MultiplyAdd(av, bv1, c11);
                    av = TOps.Splat(Unsafe.Add(ref a1, 1));
                    c70 = TOps.MultiplyAdd(av, e0, c70); c71 = TOps.MultiplyAdd(av, e1, c71);
                }
                if (R > 2)
                {
                    av = TOps.Splat(Unsafe.Add(ref a, 2));
                    c20 = TOps.MultiplyAdd(av, b0, c20); c21 = TOps.MultiplyAdd(av, bv1, c21);
                    av = TOps.Splat(Unsafe.Add(ref a1, 2));
                    c80 = TOps.MultiplyAdd(av, e0, c80); c81 = TOps.MultiplyAdd(av, e1, c81);
                }
                a = ref Unsafe.Add(ref a, 2 * mr);
                b = ref Unsafe.Add(ref b, 2 * ldb);
            }
        }
        int rowBytes = ldb * Unsafe.SizeOf<T>(), due = next.First;  // the next panel's next row to ask for
        for (; p < kc; p++)
        {
            if (Sse.IsSupported && p == due)
            {
                // One row of the next panel, NR = 2 vectors: two cache lines with AVX-512, one with AVX2 or Vector128.
                unsafe
                {
                    byte* row = (byte*)next.Address + (nint)p * rowBytes;
                    for (int line = 0; line < 2 * w * Unsafe.SizeOf<T>(); line += 64) Sse.Prefetch1(row + line);
                }
                due += next.Every;
            }
            TVec b0 = TOps.Load(ref b), b1 = TOps.Load(ref Unsafe.Add(ref b, w));
            TVec av = TOps.Splat(a);
            c00 = TOps.MultiplyAdd(av, b0, c00); c01 = TOps.MultiplyAdd(av, b1, c01);
            if (R > 1) { av = TOps.Splat(Unsafe.Add(ref a, 1)); c10 = TOps.MultiplyAdd(av, b0, c10); c11 = TOps.MultiplyAdd(av, b1, c11); }
            if (R > 2) { av = TOps.Splat(Unsafe.Add(ref a, 2)); c20 = TOps.MultiplyAdd(av, b0, c20); c21 = TOps.MultiplyAdd(av, b1, c21); }
            if (R > 3) { av = TOps.Splat(Unsafe.Add(ref a, 3)); c30 = TOps.MultiplyAdd(av, b0, c30); c31 = TOps.MultiplyAdd(av, b1, c31); }
            if (R > 4) { av = TOps.Splat(Unsafe.Add(ref a, 4)); c40 = TOps.MultiplyAdd(av, b0, c40); c41 = TOps.MultiplyAdd(av, b1, c41); }
            if (R > 5) { av = TOps.Splat(Unsafe.Add(ref a, 5)); c50 = TOps.MultiplyAdd(av, b0, c50); c51 = TOps.MultiplyAdd(av, b1, c51); }
            if (R > 6) { av = TOps.Splat(Unsafe.Add(ref a, 6)); c60 = TOps.MultiplyAdd(av, b0, c60); c61 = TOps.MultiplyAdd(av, b1, c61); }
            if (R > 7) { av = TOps.Splat(Unsafe.Add(ref a, 7)); c70 = TOps.MultiplyAdd(av, b0, c70); c71 = TOps.MultiplyAdd(av, b1, c71); }
            if (R > 8) { av = TOps.Splat(Unsafe.Add(ref a, 8)); c80 = TOps.MultiplyAdd(av, b0, c80); c81 = TOps.MultiplyAdd(av, b1, c81); }
            if (R > 9) { av = TOps.Splat(Unsafe.Add(ref a, 9)); c90 = TOps.MultiplyAdd(av, b0, c90); c91 = TOps.MultiplyAdd(av, b1, c91); }
            if (R > 10) { av = TOps.Splat(Unsafe.Add(ref a, 10)); cA0 = TOps.MultiplyAdd(av, b0, cA0); cA1 = TOps.MultiplyAdd(av, b1, cA1); }
            if (R > 11) { av = TOps.Splat(Unsafe.Add(ref a, 11)); cB0 = TOps.MultiplyAdd(av, b0, cB0); cB1 = TOps.MultiplyAdd(av, b1, cB1); }
            a = ref Unsafe.Add(ref a, mr);
            b = ref Unsafe.Add(ref b, ldb);
        }
        if (R <= 3 && pairK)
        {
            c00 = TOps.Add(c00, c60); c01 = TOps.Add(c01, c61);
            c10 = TOps.Add(c10, c70); c11 = TOps.Add(c11, c71);
            c20 = TOps.Add(c20, c80); c21 = TOps.Add(c21, c81);
        }

        TVec va = TOps.Splat(alpha);
        if (cols == 2 * w)
        {
            StoreRow(va, c00, c01, ref c, overwrite);
            if (R > 1) StoreRow(va, c10, c11, ref Unsafe.Add(ref c, ldc), overwrite);
            if (R > 2) StoreRow(va, c20, c21, ref Unsafe.Add(ref c, 2 * ldc), overwrite);
            if (R > 3) StoreRow(va, c30, c31, ref Unsafe.Add(ref c, 3 * ldc), overwrite);
            if (R > 4) StoreRow(va, c40, c41, ref Unsafe.Add(ref c, 4 * ldc), overwrite);
            if (R > 5) StoreRow(va, c50, c51, ref Unsafe.Add(ref c, 5 * ldc), overwrite);
            if (R > 6) StoreRow(va, c60, c61, ref Unsafe.Add(ref c, 6 * ldc), overwrite);
            if (R > 7) StoreRow(va, c70, c71, ref Unsafe.Add(ref c, 7 * ldc), overwrite);
            if (R > 8) StoreRow(va, c80, c81, ref Unsafe.Add(ref c, 8 * ldc), overwrite);
            if (R > 9) StoreRow(va, c90, c91, ref Unsafe.Add(ref c, 9 * ldc), overwrite);
            if (R > 10) StoreRow(va, cA0, cA1, ref Unsafe.Add(ref c, 10 * ldc), overwrite);
            if (R > 11) StoreRow(va, cB0, cB1, ref Unsafe.Add(ref c, 11 * ldc), overwrite);
        }
        else
        {
            // A partial tile on the right edge: spill the accumulators and add only the valid columns.
            Span<T> tile = stackalloc T[12 * 2 * 64 / Unsafe.SizeOf<T>()];  // [R][NR], NR ≤ 2 · 64 bytes
            ref T t = ref MemoryMarshal.GetReference(tile);
            int nr = 2 * w;
            TOps.Store(c00, ref t); TOps.Store(c01, ref Unsafe.Add(ref t, w));
            if (R > 1) { TOps.Store(c10, ref Unsafe.Add(ref t, nr)); TOps.Store(c11, ref Unsafe.Add(ref t, nr + w)); }
            if (R > 2) { TOps.Store(c20, ref Unsafe.Add(ref t, 2 * nr)); TOps.Store(c21, ref Unsafe.Add(ref t, 2 * nr + w)); }
            if (R > 3) { TOps.Store(c30, ref Unsafe.Add(ref t, 3 * nr)); TOps.Store(c31, ref Unsafe.Add(ref t, 3 * nr + w)); }
            if (R > 4) { TOps.Store(c40, ref Unsafe.Add(ref t, 4 * nr)); TOps.Store(c41, ref Unsafe.Add(ref t, 4 * nr + w)); }
            if (R > 5) { TOps.Store(c50, ref Unsafe.Add(ref t, 5 * nr)); TOps.Store(c51, ref Unsafe.Add(ref t, 5 * nr + w)); }
            if (R > 6) { TOps.Store(c60, ref Unsafe.Add(ref t, 6 * nr)); TOps.Store(c61, ref Unsafe.Add(ref t, 6 * nr + w)); }
            if (R > 7) { TOps.Store(c70, ref Unsafe.Add(ref t, 7 * nr)); TOps.Store(c71, ref Unsafe.Add(ref t, 7 * nr + w)); }
            if (R > 8) { TOps.Store(c80, ref Unsafe.Add(ref t, 8 * nr)); TOps.Store(c81, ref Unsafe.Add(ref t, 8 * nr + w)); }
            if (R > 9) { TOps.Store(c90, ref Unsafe.Add(ref t, 9 * nr)); TOps.Store(c91, ref Unsafe.Add(ref t, 9 * nr + w)); }
            if (R > 10) { TOps.Store(cA0, ref Unsafe.Add(ref t, 10 * nr)); TOps.Store(cA1, ref Unsafe.Add(ref t, 10 * nr + w)); }
            if (R > 11) { TOps.Store(cB0, ref Unsafe.Add(ref t, 11 * nr)); TOps.Store(cB1, ref Unsafe.Add(ref t, 11 * nr + w)); }
            for (int r = 0; r < R; r++)
            {
                ref T cRow = ref Unsafe.Add(ref c, r * ldc);
                if (overwrite)
                    for (int j = 0; j < cols; j++) Unsafe.Add(ref cRow, j) = alpha * Unsafe.Add(ref t, r * nr + j);
                else
                    for (int j = 0; j < cols; j++) Unsafe.Add(ref cRow, j) += alpha * Unsafe.Add(ref t, r * nr + j);
            }
        }
    }

    /// <summary>
    /// Rows of the next packed B panel for a micro-tile to prefetch into L2: rows First, First + Every, ... below kc, of
    /// the panel at Address (the same row stride as the current one). A prefetch never faults, so an address gone
    /// stale (the GC moving B) costs only the miss.
    /// </summary>
    private readonly record struct PanelPrefetch(nint Address, int First, int Every);

    private static unsafe nint AddressOf(ref T x) => (nint)Unsafe.AsPointer(ref x);

    /// <summary>No prefetch: the first row is beyond any kc.</summary>
    private static readonly PanelPrefetch NoPrefetch = new(0, int.MaxValue, 0);

    /// <summary>C[0 : NR] += alpha · (x0, x1), or = with <paramref name="overwrite"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow(TVec alpha, TVec x0, TVec x1, ref T c, bool overwrite)
    {
        ref T c1 = ref Unsafe.Add(ref c, TOps.Count);
        if (overwrite)
        {
            TOps.Store(TOps.Multiply(alpha, x0), ref c);
            TOps.Store(TOps.Multiply(alpha, x1), ref c1);
        }
        else
        {
            TOps.Store(TOps.MultiplyAdd(alpha, x0, TOps.Load(ref c)), ref c);
            TOps.Store(TOps.MultiplyAdd(alpha, x1, TOps.Load(ref c1)), ref c1);
        }
    }

    /// <summary>This thread's buffer for packed B blocks, grown to at least <paramref name="length"/> elements.</summary>
    private static T[] PackBuffer(int length) => t_packB is { } buffer && buffer.Length >= length ? buffer : t_packB = new T[length];

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;
}

/// <summary>A row count known when the micro-kernel is compiled.</summary>
internal interface IRows { static abstract int Value { get; } }
internal readonly struct Rows1 : IRows { public static int Value => 1; }
internal readonly struct Rows2 : IRows { public static int Value => 2; }
internal readonly struct Rows3 : IRows { public static int Value => 3; }
internal readonly struct Rows4 : IRows { public static int Value => 4; }
internal readonly struct Rows5 : IRows { public static int Value => 5; }
internal readonly struct Rows6 : IRows { public static int Value => 6; }
internal readonly struct Rows7 : IRows { public static int Value => 7; }
internal readonly struct Rows8 : IRows { public static int Value => 8; }
internal readonly struct Rows9 : IRows { public static int Value => 9; }
internal readonly struct Rows10 : IRows { public static int Value => 10; }
internal readonly struct Rows11 : IRows { public static int Value => 11; }
internal readonly struct Rows12 : IRows { public static int Value => 12; }
