using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LstmSharp.Kernels;

/// <summary>
/// The product of one row of A with an unpacked B, for one vector width: <see cref="Run"/> for a row-major B (a
/// matrix-vector product: an LSTM step at batch 1), <see cref="RunTransposed"/> for a transposed one (dot products).
/// <see cref="Run"/>: <c>c[n0:n1] = alpha · a · B[:, n0:n1]</c> (+ c unless overwriting). Each weight is used for one FMA, so the
/// product is bound by reading B: B is read in the order it lies, four rows at a time, a block of columns of each,
/// into a row of sums held in L1 (GEMM's micro-tile instead walks down all K rows of one 2-vector strip, a row's stride
/// per load, which the prefetchers serve poorly: 1 × 512 × 128 took twice as long that way). Each column's sum runs
/// over k in order (<c>y = fma(a[k], B[k, j], y)</c>, k = 0, 1, ...), whichever block or thread it falls in; that is
/// not the micro-kernel's order (even and odd k apart, then added), so a one-row product with B pre-packed, or with B
/// transposed, or as one row of several, is equal to this one within rounding, not bit for bit.
/// </summary>
/// <remarks>
/// Where B's rows are all aligned alike (the row stride a multiple of 64 bytes), the whole vectors are loaded from
/// boundaries of their own size (64 bytes with AVX-512), so that none crosses a cache line: a load across two lines
/// costs both, which measured a quarter slower. The columns before the first boundary and after the last whole vector
/// are each summed in one more vector register, loaded where they start (or end), of which only those columns are kept;
/// a product narrower than one vector sums its columns as scalars, side by side.
/// </remarks>
internal static unsafe class Gemv<T, TVec, TOps>
    where T : unmanaged, INumberBase<T>
    where TVec : struct
    where TOps : struct, ISimd<TVec, T>
{
    /// <summary>Columns summed at a time: the row of sums [Block] is 4 KiB in float.</summary>
    private const int Block = 1024;

    /// <summary>
    /// c[j] = alpha · Σ_k a[k] B[k, j] for j in [n0, n1), stored (<paramref name="overwrite"/>) or added to c[j].
    /// a[k] is <c>a[k · inc]</c> (inc = lda for a transposed A of one column); B [K, ≥ n1] row-major with stride ldb.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    public static void Run(int k, T alpha, ReadOnlySpan<T> a, int inc, ReadOnlySpan<T> b, int ldb, bool overwrite, Span<T> c, int n0, int n1)
    {
        int w = TOps.Count, size = sizeof(T), n = n1 - n0;
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T br = ref Unsafe.Add(ref MemoryMarshal.GetReference(b), n0);           // B[0, n0]
        ref T cr = ref Unsafe.Add(ref MemoryMarshal.GetReference(c), n0);
        if (n < w)
        {
            // Narrower than a vector: the n sums side by side (independent chains), row after row.
            T* sums = stackalloc T[n];                                                 // [n]
            for (int j = 0; j < n; j++) sums[j] = T.Zero;
            for (int p = 0; p < k; p++)
            {
                T s = Unsafe.Add(ref ar, p * inc);
                ref T row = ref Unsafe.Add(ref br, p * ldb);
                for (int j = 0; j < n; j++) sums[j] = Fma(s, Unsafe.Add(ref row, j), sums[j]);
            }
            for (int j = 0; j < n; j++) Store(alpha, sums[j], overwrite, ref Unsafe.Add(ref cr, j));
            return;
        }
        // Columns [0, head) before the first vector boundary (where every row has it at the same column), then whole
        // vectors [head, head + body), then [head + body, n) in the tail. (A GC moving B meanwhile costs speed only.)
        int head = 0;
        if (ldb * size % 64 == 0) head = (int)((64 - (nuint)Unsafe.AsPointer(ref br) % 64) % 64) / size % w;
        int body = (n - head) / w * w, tail = n - head - body;
        byte* raw = stackalloc byte[Block * size + 64];
        ref T y = ref Unsafe.AsRef<T>((void*)(((nuint)raw + 63) & ~(nuint)63));       // [Block] sums, 64-byte aligned
        TVec zero = TOps.Splat(T.Zero), va = TOps.Splat(alpha), hv = zero, tv = zero;   // the head's and the tail's sums
        ref T headAt = ref br;                                                         // a vector from column 0
        ref T tailAt = ref Unsafe.Add(ref br, n - w);                                  // a vector ending at column n
        for (int j0 = head; j0 < head + body || j0 == head; j0 += Block)
        {
            int cols = Math.Min(Block, head + body - j0);
            bool first = j0 == head && head > 0, last = j0 + cols == head + body && tail > 0;
            new Span<T>(Unsafe.AsPointer(ref y), cols).Clear();
            ref T bBlock = ref Unsafe.Add(ref br, j0);
            int p = 0;
            for (; p + 4 <= k; p += 4)
            {
                int o0 = p * ldb, o1 = o0 + ldb, o2 = o1 + ldb, o3 = o2 + ldb;
                TVec a0 = TOps.Splat(Unsafe.Add(ref ar, p * inc)), a1 = TOps.Splat(Unsafe.Add(ref ar, (p + 1) * inc));
                TVec a2 = TOps.Splat(Unsafe.Add(ref ar, (p + 2) * inc)), a3 = TOps.Splat(Unsafe.Add(ref ar, (p + 3) * inc));
                for (int j = 0; j < cols; j += w)
                {
                    ref T bj = ref Unsafe.Add(ref bBlock, j);
                    TVec acc = TOps.Load(ref Unsafe.Add(ref y, j));
                    acc = TOps.MultiplyAdd(a0, TOps.Load(ref Unsafe.Add(ref bj, o0)), acc);
                    acc = TOps.MultiplyAdd(a1, TOps.Load(ref Unsafe.Add(ref bj, o1)), acc);
                    acc = TOps.MultiplyAdd(a2, TOps.Load(ref Unsafe.Add(ref bj, o2)), acc);
                    acc = TOps.MultiplyAdd(a3, TOps.Load(ref Unsafe.Add(ref bj, o3)), acc);
                    TOps.Store(acc, ref Unsafe.Add(ref y, j));
                }
                if (first)
                {
                    hv = TOps.MultiplyAdd(a0, TOps.Load(ref Unsafe.Add(ref headAt, o0)), hv);
                    hv = TOps.MultiplyAdd(a1, TOps.Load(ref Unsafe.Add(ref headAt, o1)), hv);
                    hv = TOps.MultiplyAdd(a2, TOps.Load(ref Unsafe.Add(ref headAt, o2)), hv);
                    hv = TOps.MultiplyAdd(a3, TOps.Load(ref Unsafe.Add(ref headAt, o3)), hv);
                }
                if (last)
                {
                    tv = TOps.MultiplyAdd(a0, TOps.Load(ref Unsafe.Add(ref tailAt, o0)), tv);
                    tv = TOps.MultiplyAdd(a1, TOps.Load(ref Unsafe.Add(ref tailAt, o1)), tv);
                    tv = TOps.MultiplyAdd(a2, TOps.Load(ref Unsafe.Add(ref tailAt, o2)), tv);
                    tv = TOps.MultiplyAdd(a3, TOps.Load(ref Unsafe.Add(ref tailAt, o3)), tv);
                }
            }
            for (; p < k; p++)
            {
                int o0 = p * ldb;
                TVec a0 = TOps.Splat(Unsafe.Add(ref ar, p * inc));
                for (int j = 0; j < cols; j += w)
                    TOps.Store(TOps.MultiplyAdd(a0, TOps.Load(ref Unsafe.Add(ref bBlock, o0 + j)), TOps.Load(ref Unsafe.Add(ref y, j))), ref Unsafe.Add(ref y, j));
                if (first) hv = TOps.MultiplyAdd(a0, TOps.Load(ref Unsafe.Add(ref headAt, o0)), hv);
                if (last) tv = TOps.MultiplyAdd(a0, TOps.Load(ref Unsafe.Add(ref tailAt, o0)), tv);
            }
            ref T cBlock = ref Unsafe.Add(ref cr, j0);
            for (int j = 0; j < cols; j += w)
            {
                ref T cj = ref Unsafe.Add(ref cBlock, j);
                TVec sum = TOps.Load(ref Unsafe.Add(ref y, j));
                TOps.Store(overwrite ? TOps.Multiply(va, sum) : TOps.MultiplyAdd(va, sum, TOps.Load(ref cj)), ref cj);
            }
            if (cols == 0) break;  // no whole vector after the head: the head and tail passes ran once
        }
        // The head's first `head` lanes and the tail's last `tail` lanes, through a spill of the vector.
        T* lanes = stackalloc T[w];
        if (head > 0)
        {
            TOps.Store(hv, ref Unsafe.AsRef<T>(lanes));
            for (int j = 0; j < head; j++) Store(alpha, lanes[j], overwrite, ref Unsafe.Add(ref cr, j));
        }
        if (tail > 0)
        {
            TOps.Store(tv, ref Unsafe.AsRef<T>(lanes));
            for (int j = 0; j < tail; j++) Store(alpha, lanes[w - tail + j], overwrite, ref Unsafe.Add(ref cr, n - tail + j));
        }
    }

    /// <summary>
    /// c[j] = alpha · Σ_p a[p] B[j, p] for j in [n0, n1), stored (<paramref name="overwrite"/>) or added to c[j]: one row
    /// a [K] (contiguous) times a transposed B, B [≥ n1, K] row-major with stride ldb, so that each column of the product
    /// is a dot product of a with a row of B (a Linear layer's forward at one row). Four rows of B at a time, each read
    /// once in memory order: the whole vectors of the four rows against the same vector of a, into two registers each
    /// (even and odd vectors: eight independent FMA chains), added; then the lanes summed, then the last K mod w products
    /// added as scalars, in order. A column's sum is the same in
    /// whatever block or thread it falls; it is not the micro-kernel's order, so a packed or several-row product agrees
    /// within rounding, not bit for bit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void RunTransposed(int k, T alpha, ReadOnlySpan<T> a, ReadOnlySpan<T> b, int ldb, bool overwrite, Span<T> c, int n0, int n1)
    {
        int w = TOps.Count, body = k / w * w;
        ref T ar = ref MemoryMarshal.GetReference(a);
        ref T br = ref MemoryMarshal.GetReference(b);
        ref T cr = ref MemoryMarshal.GetReference(c);
        TVec zero = TOps.Splat(T.Zero);
        int j = n0;
        for (; j + 4 <= n1; j += 4)
        {
            ref T r0 = ref Unsafe.Add(ref br, (nint)j * ldb);  // B[j, 0]
            ref T r1 = ref Unsafe.Add(ref r0, ldb);
            ref T r2 = ref Unsafe.Add(ref r1, ldb);
            ref T r3 = ref Unsafe.Add(ref r2, ldb);
            TVec s0 = zero, s1 = zero, s2 = zero, s3 = zero, t0 = zero, t1 = zero, t2 = zero, t3 = zero;
            int p = 0;
            for (; p + 2 * w <= body; p += 2 * w)
            {
                TVec av = TOps.Load(ref Unsafe.Add(ref ar, p)), aw = TOps.Load(ref Unsafe.Add(ref ar, p + w));
                s0 = TOps.MultiplyAdd(av, TOps.Load(ref Unsafe.Add(ref r0, p)), s0);
                s1 = TOps.MultiplyAdd(av, TOps.Load(ref Unsafe.Add(ref r1, p)), s1);
                s2 = TOps.MultiplyAdd(av, TOps.Load(ref Unsafe.Add(ref r2, p)), s2);
                s3 = TOps.MultiplyAdd(av, TOps.Load(ref Unsafe.Add(ref r3, p)), s3);
                t0 = TOps.MultiplyAdd(aw, TOps.Load(ref Unsafe.Add(ref r0, p + w)), t0);
                t1 = TOps.MultiplyAdd(aw, TOps.Load(ref Unsafe.Add(ref r1, p + w)), t1);
                t2 = TOps.MultiplyAdd(aw, TOps.Load(ref Unsafe.Add(ref r2, p + w)), t2);
                t3 = TOps.MultiplyAdd(aw, TOps.Load(ref Unsafe.Add(ref r3, p + w)), t3);
            }
            if (p < body)
            {
                TVec av = TOps.Load(ref Unsafe.Add(ref ar, p));
                s0 = TOps.MultiplyAdd(av, TOps.Load(ref Unsafe.Add(ref r0, p)), s0);
                s1 = TOps.MultiplyAdd(av, TOps.Load(ref Unsafe.Add(ref r1, p)), s1);
                s2 = TOps.MultiplyAdd(av, TOps.Load(ref Unsafe.Add(ref r2, p)), s2);
                s3 = TOps.MultiplyAdd(av, TOps.Load(ref Unsafe.Add(ref r3, p)), s3);
            }
            (s0, s1, s2, s3) = (TOps.Add(s0, t0), TOps.Add(s1, t1), TOps.Add(s2, t2), TOps.Add(s3, t3));
            Store(alpha, RowTail(k, body, ref ar, ref r0, TOps.Sum(s0)), overwrite, ref Unsafe.Add(ref cr, j));
            Store(alpha, RowTail(k, body, ref ar, ref r1, TOps.Sum(s1)), overwrite, ref Unsafe.Add(ref cr, j + 1));
            Store(alpha, RowTail(k, body, ref ar, ref r2, TOps.Sum(s2)), overwrite, ref Unsafe.Add(ref cr, j + 2));
            Store(alpha, RowTail(k, body, ref ar, ref r3, TOps.Sum(s3)), overwrite, ref Unsafe.Add(ref cr, j + 3));
        }
        for (; j < n1; j++)
        {
            // A row left over: summed as in a group of four (even and odd vectors apart, added), so the same bits.
            ref T r0 = ref Unsafe.Add(ref br, (nint)j * ldb);
            TVec s0 = zero, t0 = zero;
            int p = 0;
            for (; p + 2 * w <= body; p += 2 * w)
            {
                s0 = TOps.MultiplyAdd(TOps.Load(ref Unsafe.Add(ref ar, p)), TOps.Load(ref Unsafe.Add(ref r0, p)), s0);
                t0 = TOps.MultiplyAdd(TOps.Load(ref Unsafe.Add(ref ar, p + w)), TOps.Load(ref Unsafe.Add(ref r0, p + w)), t0);
            }
            if (p < body) s0 = TOps.MultiplyAdd(TOps.Load(ref Unsafe.Add(ref ar, p)), TOps.Load(ref Unsafe.Add(ref r0, p)), s0);
            s0 = TOps.Add(s0, t0);
            Store(alpha, RowTail(k, body, ref ar, ref r0, TOps.Sum(s0)), overwrite, ref Unsafe.Add(ref cr, j));
        }
    }

    /// <summary><paramref name="sum"/> + a[p] row[p] for p in [body, k), in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T RowTail(int k, int body, ref T a, ref T row, T sum)
    {
        for (int p = body; p < k; p++) sum = Fma(Unsafe.Add(ref a, p), Unsafe.Add(ref row, p), sum);
        return sum;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(T alpha, T sum, bool overwrite, ref T c) => c = overwrite ? alpha * sum : Fma(alpha, sum, c);

    /// <summary>
    /// a · b + c rounded once, as the vector FMA where the hardware has one (the columns of a product narrower than a
    /// vector; without FMA hardware, where the portable vectors multiply and add apart, this is slower and may differ in
    /// the last bit from a vector lane).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Fma(T a, T b, T c)
    {
        if (typeof(T) == typeof(float)) return (T)(object)MathF.FusedMultiplyAdd((float)(object)a, (float)(object)b, (float)(object)c);
        if (typeof(T) == typeof(double)) return (T)(object)Math.FusedMultiplyAdd((double)(object)a, (double)(object)b, (double)(object)c);
        return a * b + c;
    }
}
