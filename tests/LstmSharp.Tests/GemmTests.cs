using System.Numerics;
using LstmSharp.Kernels;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>
/// The packed GEMM against a naive triple loop, for every variant this CPU runs, in float and double: every m and n
/// in 1..67 (past several micro-tile edges of every variant) with k cycling through a set of edge values, every k in
/// 1..67 for a few shapes, both transposes, beta 0 and 1 and another value, alpha ≠ 1, leading dimensions wider than
/// the matrices, and a few products large enough for several KC and NC blocks and for the two-thread split.
/// </summary>
public class GemmTests
{
    private static readonly int[] Depths = [1, 2, 3, 7, 16, 17, 31, 32, 33, 64, 67];

    public static TheoryData<string, string> VariantsAndTypes() =>
        TestUtil.WithBothTypes(Gemm.Variants.Select(v => v.ToString()));

    [Theory]
    [MemberData(nameof(VariantsAndTypes))]
    public void MatchesNaiveOnEveryEdge(string variant, string type)
    {
        var v = Enum.Parse<GemmVariant>(variant);
        if (type == "float") EveryEdge<float>(v, 2e-6);
        else EveryEdge<double>(v, 1e-14);
    }

    [Theory]
    [MemberData(nameof(VariantsAndTypes))]
    public void MatchesNaiveOnLargeBlockedProducts(string variant, string type)
    {
        var v = Enum.Parse<GemmVariant>(variant);
        if (type == "float") Large<float>(v, 2e-6);
        else Large<double>(v, 1e-14);
    }

    [Theory]
    [MemberData(nameof(VariantsAndTypes))]
    public void PackedOperandMatchesUnpacked(string variant, string type)
    {
        var v = Enum.Parse<GemmVariant>(variant);
        if (type == "float") Packed<float>(v);
        else Packed<double>(v);
    }

    /// <summary>With nothing to add (K = 0 or alpha = 0), beta = 0 still sets C to zero (NaN not kept) and beta = 1 leaves it.</summary>
    [Theory]
    [MemberData(nameof(VariantsAndTypes))]
    public void NothingToAddStillAppliesBeta(string variant, string type)
    {
        var v = Enum.Parse<GemmVariant>(variant);
        if (type == "float") NothingToAdd<float>(v);
        else NothingToAdd<double>(v);
    }

    private static void NothingToAdd<T>(GemmVariant v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        foreach (var (k, alpha) in new[] { (0, T.One), (5, T.Zero) })
        {
            int lda = Math.Max(1, k);
            var a = new T[13 * lda];             // [M, K] (one column when K = 0); NaN: never read, as in BLAS
            var b = new T[Math.Max(1, k) * 40];  // [K, N]
            a.AsSpan().Fill(T.NaN);
            b.AsSpan().Fill(T.NaN);
            var c = new T[13 * 40];              // [M, N]
            c.AsSpan().Fill(T.NaN);
            Gemm.Multiply<T>(v, false, false, 13, 40, k, alpha, a, lda, b, 40, T.Zero, c, 40);
            Assert.All(c, x => Assert.Equal(T.Zero, x));
            c.AsSpan().Fill(T.CreateChecked(2));
            Gemm.Multiply<T>(v, false, false, 13, 40, k, alpha, a, lda, b, 40, T.One, c, 40);
            Assert.All(c, x => Assert.Equal(T.CreateChecked(2), x));
        }
    }

    private static void EveryEdge<T>(GemmVariant v, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(17);
        int count = 0;
        for (int m = 1; m <= 67; m++)
        {
            for (int n = 1; n <= 67; n++)
            {
                int k = Depths[(m * 7 + n * 3) % Depths.Length];
                Check<T>(v, rng, m, n, k, transA: (m + n) % 2 == 1, transB: (m / 2 + n) % 2 == 1, Beta(m * 67 + n), tol);
                count++;
            }
        }
        foreach (var (m, n) in new[] { (1, 1), (1, 67), (12, 32), (13, 33), (67, 5), (67, 67) })
            for (int k = 1; k <= 67; k++)
                Check<T>(v, rng, m, n, k, transA: k % 2 == 0, transB: k % 3 == 0, Beta(k), tol);
        Assert.True(count == 67 * 67);
    }

    private static void Large<T>(GemmVariant v, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(23);
        // K > KC (several depth blocks), N > NC (several column blocks when B is packed: transB; with K > KC too),
        // M > MC (several row blocks), M > 2·MC (a row-major B packed, not read in place), B's rows wider than N.
        // (40, 801, 300) and (250, 40, 1000) are above Gemm's threshold for splitting over two threads (along N, with an
        // edge strip in the second half; along M).
        foreach (var (m, n, k) in new[] { (14, 1100, 300), (130, 40, 520), (3, 4200, 300), (240, 8, 1100), (40, 801, 300), (250, 40, 1000) })
            for (int t = 0; t < 4; t++)
                Check<T>(v, rng, m, n, k, transA: (t & 1) != 0, transB: (t & 2) != 0, Beta(t), tol);
    }

    /// <summary>
    /// One row of A times a row-major B (the matrix-vector product, <c>Gemv</c>): against the naive product, with B at
    /// every offset from a 64-byte boundary (its rows 64 bytes apart or not), so that the columns before the first
    /// aligned vector, the whole vectors and the columns after them all occur, across the 1024-column blocks and from
    /// a first column n0 &gt; 0 (a thread's half); nothing written outside [n0, n); and each column bitwise the same
    /// wherever B lies (its sum runs over k in order). (Split over two threads: <see cref="GemmThreadTests"/>.)
    /// </summary>
    [Theory]
    [MemberData(nameof(VariantsAndTypes))]
    public void OneRowMatchesNaiveWhereverBLies(string variant, string type)
    {
        var v = Enum.Parse<GemmVariant>(variant);
        if (type == "float") OneRow<float>(v, 2e-6);
        else OneRow<double>(v, 1e-14);
    }

    private static void OneRow<T>(GemmVariant v, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(31);
        int lanes = 64 / System.Runtime.CompilerServices.Unsafe.SizeOf<T>();
        T sentinel = T.CreateChecked(12345);
        foreach (var (n, k) in new[] { (1, 5), (15, 9), (17, 4), (33, 7), (64, 1), (70, 13), (2100, 6), (5, 300) })
        {
            foreach (int ldb in new[] { n, (n + lanes - 1) / lanes * lanes + lanes, n + 1 })
            {
                var a = new T[3 * k];                                    // A^T [K, 1] with lda = 3 in the transposed case
                rng.FillUniform(T.CreateChecked(-1), T.One, a);
                var bData = new T[(k - 1) * ldb + n];                   // B [K, N] with row stride ldb
                rng.FillUniform(T.CreateChecked(-1), T.One, bData);
                var store = new T[bData.Length + lanes];                // B copied to offsets 0 .. lanes-1 of it
                foreach (int n0 in new[] { 0, 1, 7, 33 }.Where(x => x < n))
                {
                    T[]? first = null;
                    for (int offset = 0; offset < lanes; offset++)
                    {
                        foreach (var (transA, beta) in new[] { (false, 0.0), (true, -0.5) })
                        {
                            var b = store.AsSpan(offset, bData.Length);
                            bData.CopyTo(b);
                            var c = new T[n + 3];                       // [N] and three sentinels after it
                            for (int j = 0; j < c.Length; j++) c[j] = j < n ? T.CreateChecked(j % 7 - 3) : sentinel;
                            RunOneVariant<T>(v, transA, n, k, T.CreateChecked(0.75), transA ? a : a.AsSpan(0, k), transA ? 3 : k,
                                b, ldb, T.CreateChecked(beta), c, n0);
                            for (int j = 0; j < c.Length; j++)  // (b holds bData's values)
                                CheckOneRowColumn($"{v} n={n} k={k} ldb={ldb} n0={n0} offset={offset} transA={transA}", c, j, n0, n, sentinel, beta, k,
                                    p => double.CreateChecked(a[transA ? 3 * p : p]) * double.CreateChecked(bData[p * ldb + j]), tol);
                            if (transA) continue;
                            if (first is null) first = c;
                            else Assert.True(first.AsSpan().SequenceEqual(c), $"{v} n={n} k={k} ldb={ldb} n0={n0}: B at offset {offset} gave other bits than at 0");
                        }
                    }
                }
            }
        }
    }

    /// <summary>
    /// One row of A times a transposed B (a dot product with each row of B: a Linear layer at one row): against the naive
    /// product at every K from 1 to 40 and some longer (every remainder of K by the vector width, for float and double),
    /// N leaving 0 to 3 rows after the groups of four, beta 1, 0 (C not read) and -0.5, from a first column n0 &gt; 0,
    /// with NaN wherever a read past K would land; nothing written outside [n0, n);
    /// each column bitwise the same whichever n0 its block starts from. A transposed A of one column with lda = 1 is a
    /// contiguous row too; with lda &gt; 1 it takes the packed path (checked against the same naive sums).
    /// </summary>
    [Theory]
    [MemberData(nameof(VariantsAndTypes))]
    public void OneRowTimesTransposedBMatchesNaive(string variant, string type)
    {
        var v = Enum.Parse<GemmVariant>(variant);
        if (type == "float") OneRowTransposed<float>(v, 2e-6);
        else OneRowTransposed<double>(v, 1e-14);
    }

    private static void OneRowTransposed<T>(GemmVariant v, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(37);
        T sentinel = T.CreateChecked(12345);
        var ks = Enumerable.Range(1, 40).Concat([63, 64, 65, 127, 300]);
        foreach (int k in ks)
        {
            foreach (int n in new[] { 1, 4, 7, 10, 37 })
            {
                // NaN wherever a read past K would land: after a's K values, between A^T's strided values, in the 3
                // columns between B's rows (so that such a read shows as NaN, not as a small error).
                var aRow = new T[k + 5];                                 // [K] and 5 NaN
                var aCol = new T[3 * k];                                 // A^T [K, 1] with lda = 3: aCol[3p]
                aRow.AsSpan().Fill(T.NaN);
                aCol.AsSpan().Fill(T.NaN);
                rng.FillUniform(T.CreateChecked(-1), T.One, aRow.AsSpan(0, k));
                for (int p = 0; p < k; p++) aCol[3 * p] = aRow[p];
                int ldb = k + 3;                                         // B [N, K] with row stride k + 3
                var b = new T[(n - 1) * ldb + k];
                b.AsSpan().Fill(T.NaN);
                for (int j = 0; j < n; j++) rng.FillUniform(T.CreateChecked(-1), T.One, b.AsSpan(j * ldb, k));
                foreach (double beta in new[] { 1.0, 0.0, -0.5 })
                {
                    T[]? first = null;
                    foreach (var (n0, transA, lda) in new[] { (0, false, k), (1, false, k), (5, true, 1), (0, true, 3) }.Where(x => x.Item1 < n))
                    {
                        var c = new T[n + 3];                           // [N] and three sentinels after it
                        for (int j = 0; j < c.Length; j++) c[j] = j < n ? T.CreateChecked(j % 7 - 3) : sentinel;
                        if (beta == 0) c.AsSpan(n0, n - n0).Fill(T.NaN); // beta = 0: C is overwritten, never read
                        var aUsed = lda == 3 && transA ? aCol : aRow;
                        RunOneVariant<T>(v, transA, true, n, k, T.CreateChecked(0.75), aUsed, lda, b, ldb, T.CreateChecked(beta), c, n0);
                        for (int j = 0; j < c.Length; j++)
                            CheckOneRowColumn($"{v} n={n} k={k} n0={n0} transA={transA} lda={lda} beta={beta}", c, j, n0, n, sentinel, beta, k,
                                p => double.CreateChecked(aRow[p]) * double.CreateChecked(b[j * ldb + p]), tol);
                        if (lda == 3 && transA) continue;
                        if (first is null) first = c;
                        else for (int j = n0; j < n; j++) Assert.True(first[j] == c[j], $"{v} n={n} k={k} beta={beta}: C[{j}] from n0 = {n0} gave other bits than from 0");
                    }
                }
            }
        }
    }

    /// <summary>
    /// C[j] of a one-row product with alpha = 0.75 over C[j] = j mod 7 - 3 (then beta times that), against the naive sum
    /// of <paramref name="term"/>(p) over p &lt; k; outside [n0, n) (three sentinels after C), C[j] not written.
    /// </summary>
    private static void CheckOneRowColumn<T>(string what, T[] c, int j, int n0, int n, T sentinel, double beta, int k, Func<int, double> term, double tol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        string where = $"{what}: C[{j}]";
        if (j < n0 || j >= n)
        {
            Assert.True(c[j] == (j < n ? T.CreateChecked(j % 7 - 3) : sentinel), $"{where} = {c[j]} was written, outside [n0, n)");
            return;
        }
        double sum = 0, scale = 0;
        for (int p = 0; p < k; p++)
        {
            double xy = term(p);
            sum += xy;
            scale += Math.Abs(xy);
        }
        double prior = beta * (j % 7 - 3), expected = 0.75 * sum + prior, actual = double.CreateChecked(c[j]);
        Assert.True(Math.Abs(actual - expected) <= tol * (1 + scale + Math.Abs(prior)) * Math.Sqrt(k), $"{where} = {actual}, expected {expected}");
    }

    /// <summary>Columns [n0, n) of the one-row product through the given variant's GemmCore (as a thread's half runs it).</summary>
    private static void RunOneVariant<T>(GemmVariant v, bool transA, int n, int k, T alpha, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int n0) where T : unmanaged, IFloatingPointIeee754<T> =>
        RunOneVariant(v, transA, false, n, k, alpha, a, lda, b, ldb, beta, c, n0);

    /// <summary>Columns [n0, n) of the one-row product through the given variant's GemmCore (as a thread's half runs it).</summary>
    private static void RunOneVariant<T>(GemmVariant v, bool transA, bool transB, int n, int k, T alpha, ReadOnlySpan<T> a, int lda,
        ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int n0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (v)
        {
            case GemmVariant.Avx512:
                GemmCore<T, System.Runtime.Intrinsics.Vector512<T>, Simd512<T>>.Run(transA, transB, 1, n, k, alpha, a, lda, b, ldb, [], beta, c, n, n0, n);
                break;
            case GemmVariant.Avx2:
                GemmCore<T, System.Runtime.Intrinsics.Vector256<T>, Simd256<T>>.Run(transA, transB, 1, n, k, alpha, a, lda, b, ldb, [], beta, c, n, n0, n);
                break;
            default:
                GemmCore<T, System.Runtime.Intrinsics.Vector128<T>, Simd128<T>>.Run(transA, transB, 1, n, k, alpha, a, lda, b, ldb, [], beta, c, n, n0, n);
                break;
        }
    }

    [Fact]
    public void TileRowsShareOutEveryBlockEvenly()
    {
        TileRowsCover(GemmCore<float, System.Runtime.Intrinsics.Vector512<float>, Simd512<float>>.TileRows, 12);
        TileRowsCover(GemmCore<float, System.Runtime.Intrinsics.Vector256<float>, Simd256<float>>.TileRows, 6);
    }

    private static void TileRowsCover(Func<int, int, int, (int Row, int Rows)> tileRows, int mr)
    {
        for (int rows = 1; rows <= 120; rows++)
        {
            int tiles = (rows + mr - 1) / mr, next = 0, least = int.MaxValue, most = 0;
            for (int t = 0; t < tiles; t++)
            {
                var (row, count) = tileRows(rows, tiles, t);
                Assert.True(row == next && count >= 1 && count <= mr, $"MR {mr}, {rows} rows: tile {t} is [{row}, +{count}), expected to start at {next} with 1..{mr} rows");
                next = row + count;
                least = Math.Min(least, count);
                most = Math.Max(most, count);
            }
            Assert.Equal(rows, next);
            Assert.True(most - least <= (mr % 4 == 0 ? 4 : 2), $"MR {mr}, {rows} rows: tiles of {least} to {most} rows are not even");
        }
    }

    /// <summary>beta cycles through 0 (C is not read: it is first filled with NaN), 1 and -0.5.</summary>
    private static double Beta(int i) => (i % 3) switch { 0 => 0.0, 1 => 1.0, _ => -0.5 };

    private static void Check<T>(GemmVariant v, Rng rng, int m, int n, int k, bool transA, bool transB, double beta, double tol)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        const double alpha = 0.75;
        int aRows = transA ? k : m, aCols = transA ? m : k, lda = aCols + (m + k) % 3;
        int bRows = transB ? n : k, bCols = transB ? k : n, ldb = bCols + (n + k) % 2;
        int ldc = n + m % 4;
        var a = new T[(aRows - 1) * lda + aCols];  // op(A) [M, K]; a holds [M, K] or [K, M] with row stride lda
        var b = new T[(bRows - 1) * ldb + bCols];  // op(B) [K, N]; b holds [K, N] or [N, K] with row stride ldb
        var c = new T[(m - 1) * ldc + n];          // [M, N] with row stride ldc
        rng.FillUniform(T.CreateChecked(-1), T.One, a);
        rng.FillUniform(T.CreateChecked(-1), T.One, b);
        rng.FillUniform(T.CreateChecked(-1), T.One, c);
        if (beta == 0) c.AsSpan().Fill(T.NaN);
        var c0 = (T[])c.Clone();

        Gemm.Multiply<T>(v, transA, transB, m, n, k, T.CreateChecked(alpha), a, lda, b, ldb, T.CreateChecked(beta), c, ldc);

        // The naive product in double, from op(A) [M, K] and op(B)^T [N, K] converted once.
        var opA = new double[m * k];
        var opBt = new double[n * k];
        for (int i = 0; i < m; i++)
            for (int p = 0; p < k; p++) opA[i * k + p] = double.CreateChecked(transA ? a[p * lda + i] : a[i * lda + p]);
        for (int j = 0; j < n; j++)
            for (int p = 0; p < k; p++) opBt[j * k + p] = double.CreateChecked(transB ? b[j * ldb + p] : b[p * ldb + j]);
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                double sum = 0, scale = 0;
                for (int p = 0; p < k; p++)
                {
                    double xy = opA[i * k + p] * opBt[j * k + p];
                    sum += xy;
                    scale += Math.Abs(xy);
                }
                double prior = beta == 0 ? 0 : beta * double.CreateChecked(c0[i * ldc + j]);
                double expected = alpha * sum + prior;
                double actual = double.CreateChecked(c[i * ldc + j]);
                double bound = tol * (1 + alpha * scale + Math.Abs(prior)) * Math.Max(1, Math.Sqrt(k));
                if (!(Math.Abs(actual - expected) <= bound))
                    Assert.Fail($"{v} {typeof(T).Name} m={m} n={n} k={k} transA={transA} transB={transB} beta={beta}: " +
                                $"C[{i},{j}] = {actual}, expected {expected}");
            }
        }
        // Padding between rows of C (ldc > n) is untouched.
        for (int i = 0; i + 1 < m; i++)
            for (int j = n; j < ldc; j++)
                Assert.True(c[i * ldc + j].Equals(c0[i * ldc + j]), "GEMM wrote outside C");
    }

    private static void Packed<T>(GemmVariant v) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var rng = new Rng(29);
        PackedMatrix<T>? packed = null;
        // (20, 1100, 300): a packed B over 1 MiB, whose next panel the micro-kernel prefetches.
        foreach (var (m, n, k) in new[] { (5, 37, 300), (33, 600, 40), (1, 70, 1), (1, 70, 300), (64, 1024, 256), (20, 1100, 300) })
        {
            foreach (bool transB in new[] { false, true })
            {
                foreach (var beta in new[] { T.One, T.Zero })
                {
                    var a = new T[m * k];  // [M, K]
                    var b = new T[k * n];  // [K, N] or [N, K]
                    rng.FillUniform(T.CreateChecked(-1), T.One, a);
                    rng.FillUniform(T.CreateChecked(-1), T.One, b);
                    var expected = new T[m * n];  // [M, N]
                    var actual = new T[m * n];    // [M, N]
                    if (beta == T.Zero) expected.AsSpan().Fill(T.NaN);  // beta = 0: C is overwritten, never read
                    else rng.FillUniform(T.CreateChecked(-1), T.One, expected);
                    expected.CopyTo(actual, 0);
                    Gemm.Multiply<T>(v, false, transB, m, n, k, T.One, a, k, b, transB ? k : n, beta, expected, n);
                    packed = Gemm.Pack<T>(v, transB, k, n, b, transB ? k : n, packed);  // reuses the storage
                    Gemm.Multiply<T>(false, m, T.One, a, k, packed, beta, actual, n);
                    if (m == 1)
                    {
                        // One row of an unpacked B goes to Gemv, which sums over k in order (row-major B) or by vector lanes
                        // (dot products with the rows of a transposed B); the packed micro-kernel sums even and odd k apart:
                        // equal within rounding, not bitwise.
                        double unit = typeof(T) == typeof(float) ? 2e-6 : 1e-14;  // as the naive checks above
                        for (int j = 0; j < n; j++)
                        {
                            double scale = 1;  // 1 + Σ_p |a_p B[p, j]| (plus |C| when beta = 1)
                            for (int q = 0; q < k; q++) scale += Math.Abs(double.CreateChecked(a[q] * b[transB ? j * k + q : q * n + j]));
                            if (beta == T.One) scale += Math.Abs(double.CreateChecked(expected[j]));
                            Assert.True(Math.Abs(double.CreateChecked(expected[j] - actual[j])) <= unit * scale * Math.Sqrt(k), $"m=1 n={n} k={k} C[{j}]: {expected[j]} vs {actual[j]}");
                        }
                    }
                    else Assert.Equal(expected, actual);  // same blocking, same order of operations: bitwise equal
                    Assert.DoesNotContain(actual, x => T.IsNaN(x));
                }
            }
        }
    }
}
