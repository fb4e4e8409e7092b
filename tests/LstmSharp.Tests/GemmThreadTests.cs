using System.Numerics;
using LstmSharp.Kernels;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>
/// A product gives the same bits on one thread and on two (split along M or N, which moves the micro-tiles' boundaries),
/// and with B pre-packed or not (except one row of an unpacked B, which Gemv sums in another order than the packed
/// micro-kernel: there only the threads are compared). In the process-wide collection: it sets <see cref="Parallelism.MaxThreads"/>.
/// </summary>
[Collection(nameof(ProcessWideSettings))]
public sealed class GemmThreadTests : IDisposable
{
    private readonly int _before = Parallelism.MaxThreads;

    public void Dispose() => Parallelism.MaxThreads = _before;

    [Theory]
    [MemberData(nameof(GemmTests.VariantsAndTypes), MemberType = typeof(GemmTests))]
    public void OneThreadAndTwoGiveTheSameBits(string variant, string type)
    {
        var v = Enum.Parse<GemmVariant>(variant);
        if (type == "float") SameBits<float>(v);
        else SameBits<double>(v);
    }

    private static void SameBits<T>(GemmVariant v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(31);
        // Above Gemm's threshold for two threads: M > N splits along M (rows 120, 121 in short tiles of one half or
        // the other), M <= N along N (with a one-column edge strip in the second half).
        // One row (Gemv, and its dot products with a transposed B) splits along N too: 1 × 9000 × 1000 (rows 64-byte
        // multiples apart in float) and 1 × 9001 × 1000.
        foreach (var (m, n, k) in new[] { (121, 100, 700), (122, 100, 700), (242, 100, 400), (40, 801, 300), (1, 9000, 1000), (1, 9001, 1000) })
        {
            foreach (var (transA, transB) in new[] { (false, false), (true, false), (false, true) })
            {
                var a = new T[m * k];  // op(A) [M, K]: [M, K] or [K, M]
                var b = new T[k * n];  // op(B) [K, N]: [K, N] or [N, K]
                rng.FillUniform(T.CreateChecked(-1), T.One, a);
                rng.FillUniform(T.CreateChecked(-1), T.One, b);
                int lda = transA ? m : k, ldb = transB ? k : n;
                var one = new T[m * n];     // [M, N]
                var two = new T[m * n];     // [M, N]
                var packed = new T[m * n];  // [M, N]
                Parallelism.MaxThreads = 1;
                Gemm.Multiply<T>(v, transA, transB, m, n, k, T.One, a, lda, b, ldb, T.Zero, one, n);
                Parallelism.MaxThreads = 2;
                Gemm.Multiply<T>(v, transA, transB, m, n, k, T.One, a, lda, b, ldb, T.Zero, two, n);
                Assert.Equal(one, two);
                if (!transA && m > 1)  // (one row, unpacked, sums in another order: see GemmTests.Packed)
                {
                    var p = Gemm.Pack<T>(v, transB, k, n, b, ldb);  // a pre-packed B splits along N
                    Gemm.Multiply<T>(false, m, T.One, a, k, p, T.Zero, packed, n);
                    Assert.Equal(one, packed);
                }
            }
        }
    }
}
