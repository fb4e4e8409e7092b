using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace LstmSharp.Kernels;

/// <summary>The vector width a GEMM (and the fast LSTM kernel) is compiled for.</summary>
internal enum GemmVariant
{
    /// <summary>128-bit vectors: portable (SSE, NEON), 6×8 float tiles.</summary>
    Vector128,

    /// <summary>256-bit AVX2 + FMA, 6×16 float tiles.</summary>
    Avx2,

    /// <summary>512-bit AVX-512, 12×32 float tiles.</summary>
    Avx512,
}

/// <summary>
/// General matrix multiply on row-major spans, as BLAS's xGEMM: <c>C = alpha · op(A) · op(B) + beta · C</c> with
/// op(A) [M, K], op(B) [K, N], C [M, N] and leading dimensions (row strides) lda, ldb, ldc. With
/// <c>transA</c> the span <c>a</c> holds A^T, i.e. [K, M]; likewise <c>transB</c>: b holds [N, K].
/// beta = 0 overwrites C without reading it. Large products are split over two threads.
/// </summary>
internal static class Gemm
{
    /// <summary>Multiply-adds (m·n·k) above which a product is split across two threads.</summary>
    private const long ParallelThreshold = 1L << 23;

    static Gemm()
    {
        var supported = new List<GemmVariant> { GemmVariant.Vector128 };
        if (Avx2.IsSupported && Fma.IsSupported && Vector256.IsHardwareAccelerated) supported.Add(GemmVariant.Avx2);
        if (Avx512F.IsSupported && Vector512.IsHardwareAccelerated) supported.Add(GemmVariant.Avx512);
        Variants = supported;
        Best = supported[^1];
        IsAccelerated = Vector128.IsHardwareAccelerated;
        switch (Environment.GetEnvironmentVariable("LSTMSHARP_KERNEL")?.Trim().ToLowerInvariant())
        {
            case "avx512" when supported.Contains(GemmVariant.Avx512): Best = GemmVariant.Avx512; break;
            case "avx2" when supported.Contains(GemmVariant.Avx2): Best = GemmVariant.Avx2; break;
            case "vector128": Best = GemmVariant.Vector128; break;
        }
    }

    /// <summary>Every variant this CPU can run, slowest first.</summary>
    public static IReadOnlyList<GemmVariant> Variants { get; }

    /// <summary>The variant used by default: the widest supported, or the one LSTMSHARP_KERNEL names.</summary>
    public static GemmVariant Best { get; }

    /// <summary>Whether vectors are hardware accelerated at all (otherwise the GEMM runs, slowly, in software).</summary>
    public static bool IsAccelerated { get; }

    /// <summary>C [M, N] = alpha · op(A) · op(B) + beta · C with the <see cref="Best"/> variant.</summary>
    public static void Multiply<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, INumberBase<T> =>
        Multiply(Best, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    /// <summary>C [M, N] = alpha · op(A) · op(B) + beta · C with the given variant.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply<T>(GemmVariant variant, bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, INumberBase<T>
    {
        CheckOperand(a, transA ? k : m, transA ? m : k, lda, nameof(a));
        CheckOperand(b, transB ? n : k, transB ? k : n, ldb, nameof(b));
        CheckOperand(c, m, n, ldc, nameof(c));
        Dispatch(variant, transA, transB, m, n, k, alpha, a, lda, b, ldb, [], beta, c, ldc);
    }

    /// <summary>C [M, N] = alpha · op(A) · B + beta · C with B packed once by <see cref="Pack{T}"/> (its variant is used).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Multiply<T>(bool transA, int m, T alpha, ReadOnlySpan<T> a, int lda, PackedMatrix<T> b,
        T beta, Span<T> c, int ldc) where T : unmanaged, INumberBase<T>
    {
        ArgumentNullException.ThrowIfNull(b);
        int n = b.Columns, k = b.Rows;
        CheckOperand(a, transA ? k : m, transA ? m : k, lda, nameof(a));
        CheckOperand(c, m, n, ldc, nameof(c));
        Dispatch(b.Variant, transA, false, m, n, k, alpha, a, lda, [], 0, b.Data, beta, c, ldc);
    }

    /// <summary>
    /// Packs op(B) [K, N] (b holds [K, N], or [N, K] with <paramref name="transB"/>) for repeated products with
    /// <paramref name="variant"/>, reusing <paramref name="into"/>'s storage when it is large enough.
    /// </summary>
    public static PackedMatrix<T> Pack<T>(GemmVariant variant, bool transB, int k, int n, ReadOnlySpan<T> b, int ldb,
        PackedMatrix<T>? into = null) where T : unmanaged, INumberBase<T>
    {
        CheckOperand(b, transB ? n : k, transB ? k : n, ldb, nameof(b));
        int length = variant switch
        {
            GemmVariant.Avx512 => GemmCore<T, Vector512<T>, Simd512<T>>.PackedLength(k, n),
            GemmVariant.Avx2 => GemmCore<T, Vector256<T>, Simd256<T>>.PackedLength(k, n),
            _ => GemmCore<T, Vector128<T>, Simd128<T>>.PackedLength(k, n),
        };
        var packed = into ?? new PackedMatrix<T>();
        packed.Reset(variant, k, n, length);
        var dst = packed.Data;
        switch (variant)
        {
            case GemmVariant.Avx512: GemmCore<T, Vector512<T>, Simd512<T>>.PackB(transB, k, n, b, ldb, dst); break;
            case GemmVariant.Avx2: GemmCore<T, Vector256<T>, Simd256<T>>.PackB(transB, k, n, b, ldb, dst); break;
            default: GemmCore<T, Vector128<T>, Simd128<T>>.PackB(transB, k, n, b, ldb, dst); break;
        }
        return packed;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dispatch<T>(GemmVariant variant, bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, ReadOnlySpan<T> packedB, T beta, Span<T> c, int ldc)
        where T : unmanaged, INumberBase<T>
    {
        if (m == 0 || n == 0) return;
        switch (variant)
        {
            case GemmVariant.Avx512:
                Split<T, Vector512<T>, Simd512<T>>(transA, transB, m, n, k, alpha, a, lda, b, ldb, packedB, beta, c, ldc);
                break;
            case GemmVariant.Avx2:
                Split<T, Vector256<T>, Simd256<T>>(transA, transB, m, n, k, alpha, a, lda, b, ldb, packedB, beta, c, ldc);
                break;
            default:
                Split<T, Vector128<T>, Simd128<T>>(transA, transB, m, n, k, alpha, a, lda, b, ldb, packedB, beta, c, ldc);
                break;
        }
    }

    /// <summary>Runs the product on one thread, or on two for large ones, split along N or M.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Split<T, TVec, TOps>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, ReadOnlySpan<T> packedB, T beta, Span<T> c, int ldc)
        where T : unmanaged, INumberBase<T> where TVec : struct where TOps : struct, ISimd<TVec, T>
    {
        int nr = GemmCore<T, TVec, TOps>.NR, mr = GemmCore<T, TVec, TOps>.MR;
        // Each half packs all of the operand that is not split: split so that the one packed twice is the smaller
        // (a pre-packed B is not packed at all, so split along N).
        bool canN = n >= 2 * nr, canM = m >= 2 * mr;
        bool alongN = canN && (!canM || !packedB.IsEmpty || m <= n);
        if (!Worker.Enabled || (long)m * n * k < ParallelThreshold || !(canN || canM))
        {
            GemmCore<T, TVec, TOps>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, packedB, beta, c, ldc, 0, n);
            return;
        }
        // Spans cannot cross into the worker's lambda; the caller blocks until both halves finish, so pinning is safe.
        fixed (T* pa = a, pb = b, pp = packedB, pc = c)
        {
            // This thread's job object, reused (a streamed step's head at a large vocabulary splits at every step).
            var job = SplitJob<T, TVec, TOps>.ThisThread ??= new SplitJob<T, TVec, TOps>();
            (job.TransA, job.TransB, job.AlongN, job.M, job.N, job.K, job.Alpha, job.Beta) = (transA, transB, alongN, m, n, k, alpha, beta);
            (job.ALength, job.Lda, job.BLength, job.Ldb, job.PackedLength, job.CLength, job.Ldc) = (a.Length, lda, b.Length, ldb, packedB.Length, c.Length, ldc);
            job.A = pa;
            job.B = pb;
            job.PackedB = pp;
            job.C = pc;
            job.Cut = alongN ? (n / 2 + nr - 1) / nr * nr : (m / 2 + mr - 1) / mr * mr;
            try
            {
                Worker.RunPair(job);
            }
            finally
            {
                job.A = job.B = job.PackedB = job.C = null;  // unpinned from here on
            }
        }
    }

    /// <summary>One half of a split product, over pinned operands.</summary>
    private sealed unsafe class SplitJob<T, TVec, TOps> : IPairWork
        where T : unmanaged, INumberBase<T> where TVec : struct where TOps : struct, ISimd<TVec, T>
    {
        public bool TransA, TransB, AlongN;
        public int M, N, K, Lda, Ldb, Ldc, ALength, BLength, PackedLength, CLength, Cut;
        public T Alpha, Beta;
        public T* A, B, PackedB, C;

        /// <summary>The calling thread's job (it blocks until both halves are done, so one at a time).</summary>
        [ThreadStatic] public static SplitJob<T, TVec, TOps>? ThisThread;

        public void Run(int part)
        {
            var a = new ReadOnlySpan<T>(A, ALength);
            var b = new ReadOnlySpan<T>(B, BLength);
            var packed = new ReadOnlySpan<T>(PackedB, PackedLength);
            var c = new Span<T>(C, CLength);
            if (AlongN)
            {
                int n0 = part == 0 ? 0 : Cut, n1 = part == 0 ? Cut : N;
                GemmCore<T, TVec, TOps>.Run(TransA, TransB, M, N, K, Alpha, a, Lda, b, Ldb, packed, Beta, c, Ldc, n0, n1);
            }
            else
            {
                int m0 = part == 0 ? 0 : Cut, rows = part == 0 ? Cut : M - Cut;
                GemmCore<T, TVec, TOps>.Run(TransA, TransB, rows, N, K, Alpha, a.Slice(TransA ? m0 : m0 * Lda), Lda,
                    b, Ldb, packed, Beta, c.Slice(m0 * Ldc), Ldc, 0, N);
            }
        }
    }

    private static void CheckOperand<T>(ReadOnlySpan<T> x, int rows, int cols, int ld, string name)
    {
        if (rows < 0 || cols < 0) throw new ArgumentOutOfRangeException(name, $"{name}: negative dimension {rows}×{cols}.");
        if (ld < Math.Max(1, cols))
            throw new ArgumentException($"{name}: leading dimension {ld} is less than the {cols} columns.", name);
        if (rows > 0 && cols > 0 && x.Length < (long)(rows - 1) * ld + cols)
            throw new ArgumentException($"{name}: {x.Length} elements, too few for [{rows}, {cols}] with leading dimension {ld}.", name);
    }
}

/// <summary>A right-hand operand packed once for many products (e.g. a weight matrix used at every time step).</summary>
internal sealed class PackedMatrix<T> where T : unmanaged
{
    /// <summary>The variant it was packed for.</summary>
    public GemmVariant Variant { get; private set; }

    /// <summary>K: rows of op(B).</summary>
    public int Rows { get; private set; }

    /// <summary>N: columns of op(B).</summary>
    public int Columns { get; private set; }

    /// <summary>Elements in use, at the start of the buffer.</summary>
    public int Length { get; private set; }

    /// <summary>
    /// The packed panels, [Length], from a 64-byte boundary: with one row of A (B = 1 in an LSTM's steps) a product
    /// streams them from L2 a vector per FMA, and a load split across two cache lines would cost that stream.
    /// </summary>
    public Span<T> Data => _buffer is null ? [] : _buffer.Span.Slice(0, Length);

    private AlignedBuffer<T>? _buffer;  // [≥ Length], grown to the longest packed

    internal void Reset(GemmVariant variant, int rows, int columns, int length)
    {
        (Variant, Rows, Columns, Length) = (variant, rows, columns, length);
        if (_buffer is null || _buffer.Length < length) _buffer = new AlignedBuffer<T>(length);
    }
}
