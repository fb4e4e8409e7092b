using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LstmSharp.Kernels;

/// <summary>An element-wise function in vector and scalar form, for kernels written once over the operator (TensorPrimitives' pattern).</summary>
internal interface IElementwiseOperator<T, TVec>
{
    /// <summary>The function on each element of a vector.</summary>
    static abstract TVec Invoke(TVec x);

    /// <summary>The function on one element.</summary>
    static abstract T Invoke(T x);
}

/// <summary>
/// The element-wise part of an LSTM step, fused into one pass over the hidden units and vectorised with
/// <typeparamref name="TOps"/>: the gate nonlinearities and the state update forward, their derivatives backward.
/// Same equations as <see cref="ReferenceCell{T}"/>, with σ(z) = 1 / (1 + e^-z) and tanh(z) = m / (m + 2), m = e^2z - 1
/// computed without cancelling near 0 (±inf saturate to 0/1 and ±1). The tail past the last full vector is scalar code
/// (σ by the same formula, tanh by <c>T.Tanh</c>), except in the activations, whose last vector overlaps the one before.
/// </summary>
internal static class FastCellMath<T, TVec, TOps>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : struct
    where TOps : struct, ISimd<TVec, T>
{
    /// <summary>
    /// Gates from pre-activations (before the bias) to i, f, g, o (in place), then c' = f * c + i * g and m = o * tanh(c').
    /// (Four short loops rather than one: one loop with five inlined exponentials exceeds the JIT's inlining budget.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(int hidden,
        ReadOnlySpan<T> bias,   // [4H] b_ih + b_hh (zeros without bias)
        Span<T> gates,          // [4H] in: pre-activations z less the bias; out: i, f, g, o
        ReadOnlySpan<T> cPrev,  // [H]
        Span<T> c,              // [H] out: c'
        Span<T> m)              // [H] out: o * tanh(c')
    {
        SigmoidInPlace(bias.Slice(0, 2 * hidden), gates.Slice(0, 2 * hidden));                 // i, f
        TanhInPlace(bias.Slice(2 * hidden, hidden), gates.Slice(2 * hidden, hidden));           // g
        SigmoidInPlace(bias.Slice(3 * hidden, hidden), gates.Slice(3 * hidden, hidden));        // o
        UpdateState(hidden, gates, cPrev, c, m);
    }

    /// <summary>
    /// One vector of hidden units at once, from its four gates' pre-activations (bias included): i, f, o through σ, g
    /// through tanh, <paramref name="c"/> ← f * c + i * g, and returns m = o * tanh(c'). The same operations in the same
    /// order as <see cref="Forward(int, ReadOnlySpan{T}, Span{T}, ReadOnlySpan{T}, Span{T}, Span{T})"/>, so the same bits; for a caller that has just summed the gates (the streamer).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static TVec Forward(TVec zi, TVec zf, TVec zg, TVec zo, ref T c)
    {
        TVec i = Sigmoid(zi), f = Sigmoid(zf), g = Tanh(zg), o = Sigmoid(zo);
        TVec cNew = TOps.MultiplyAdd(f, TOps.Load(ref c), TOps.Multiply(i, g));
        TOps.Store(cNew, ref c);
        return TOps.Multiply(o, Tanh(cNew));
    }

    /// <summary>x = σ(x + b) element-wise.</summary>
    public static void SigmoidInPlace(ReadOnlySpan<T> b, Span<T> x) => ActivateInPlace<SigmoidOperator>(b, x);

    /// <summary>x = tanh(x + b) element-wise.</summary>
    public static void TanhInPlace(ReadOnlySpan<T> b, Span<T> x) => ActivateInPlace<TanhOperator>(b, x);

    /// <summary>
    /// x = f(x + b) element-wise for the operator <typeparamref name="TOp"/> (TensorPrimitives' operator-struct pattern).
    /// When the vector width does not divide the length, the last vector overlaps the one before: its inputs are read
    /// before anything is stored, so the overlap is computed from the original values. Lengths below one vector are scalar.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ActivateInPlace<TOp>(ReadOnlySpan<T> b, Span<T> x) where TOp : struct, IElementwiseOperator<T, TVec>
    {
        ref T r = ref MemoryMarshal.GetReference(x);
        ref T br = ref MemoryMarshal.GetReference(b.Slice(0, x.Length));
        int n = x.Length, w = TOps.Count;
        if (n < w)
        {
            for (int k = 0; k < n; k++) Unsafe.Add(ref r, k) = TOp.Invoke(Unsafe.Add(ref r, k) + Unsafe.Add(ref br, k));
            return;
        }
        TVec last = TOps.Add(TOps.Load(ref Unsafe.Add(ref r, n - w)), TOps.Load(ref Unsafe.Add(ref br, n - w)));  // [n - w, n)
        for (int j = 0; j < n - w; j += w)
            TOps.Store(TOp.Invoke(TOps.Add(TOps.Load(ref Unsafe.Add(ref r, j)), TOps.Load(ref Unsafe.Add(ref br, j)))), ref Unsafe.Add(ref r, j));
        TOps.Store(TOp.Invoke(last), ref Unsafe.Add(ref r, n - w));
    }

    /// <summary>σ(z) = 1 / (1 + e^-z).</summary>
    private readonly struct SigmoidOperator : IElementwiseOperator<T, TVec>
    {
        public static TVec Invoke(TVec z) => Sigmoid(z);

        public static T Invoke(T z) => Sigmoid(z);
    }

    /// <summary>tanh(z), see <see cref="Tanh(TVec)"/>.</summary>
    private readonly struct TanhOperator : IElementwiseOperator<T, TVec>
    {
        public static TVec Invoke(TVec z) => Tanh(z);

        public static T Invoke(T z) => Tanh(z);
    }

    /// <summary>c' = f * c + i * g and m = o * tanh(c') from activated gates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void UpdateState(int hidden,
        ReadOnlySpan<T> gates,  // [4H] i, f, g, o
        ReadOnlySpan<T> cPrev,  // [H]
        Span<T> c,              // [H] out
        Span<T> m)              // [H] out
    {
        ref T gi = ref MemoryMarshal.GetReference(gates.Slice(0, 4 * hidden));
        ref T gf = ref Unsafe.Add(ref gi, hidden);
        ref T gg = ref Unsafe.Add(ref gi, 2 * hidden);
        ref T go = ref Unsafe.Add(ref gi, 3 * hidden);
        ref T cp = ref MemoryMarshal.GetReference(cPrev.Slice(0, hidden));
        ref T cn = ref MemoryMarshal.GetReference(c.Slice(0, hidden));
        ref T mm = ref MemoryMarshal.GetReference(m.Slice(0, hidden));
        int w = TOps.Count, j = 0;
        for (; j + w <= hidden; j += w)
        {
            TVec cNew = TOps.MultiplyAdd(TOps.Load(ref Unsafe.Add(ref gf, j)), TOps.Load(ref Unsafe.Add(ref cp, j)),
                TOps.Multiply(TOps.Load(ref Unsafe.Add(ref gi, j)), TOps.Load(ref Unsafe.Add(ref gg, j))));
            TOps.Store(cNew, ref Unsafe.Add(ref cn, j));
            TOps.Store(TOps.Multiply(TOps.Load(ref Unsafe.Add(ref go, j)), Tanh(cNew)), ref Unsafe.Add(ref mm, j));
        }
        for (; j < hidden; j++)
        {
            T cNew = Unsafe.Add(ref gf, j) * Unsafe.Add(ref cp, j) + Unsafe.Add(ref gi, j) * Unsafe.Add(ref gg, j);
            Unsafe.Add(ref cn, j) = cNew;
            Unsafe.Add(ref mm, j) = Unsafe.Add(ref go, j) * Tanh(cNew);
        }
    }

    /// <summary>
    /// dL/dz of the four gates' pre-activations from dL/dm and dL/dc' of this step; replaces <paramref name="dc"/>
    /// (dL/dc' on entry) by dL/dc of the previous step.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Backward(int hidden,
        ReadOnlySpan<T> gates,  // [4H] i, f, g, o
        ReadOnlySpan<T> c,      // [H] c'
        ReadOnlySpan<T> cPrev,  // [H] c
        ReadOnlySpan<T> dm,     // [H] dL/dm
        Span<T> dc,             // [H] in: dL/dc'; out: dL/dc
        Span<T> dGates)         // [4H] out: dL/dz
    {
        ref T gi = ref MemoryMarshal.GetReference(gates.Slice(0, 4 * hidden));
        ref T gf = ref Unsafe.Add(ref gi, hidden);
        ref T gg = ref Unsafe.Add(ref gi, 2 * hidden);
        ref T go = ref Unsafe.Add(ref gi, 3 * hidden);
        ref T di = ref MemoryMarshal.GetReference(dGates.Slice(0, 4 * hidden));
        ref T df = ref Unsafe.Add(ref di, hidden);
        ref T dg = ref Unsafe.Add(ref di, 2 * hidden);
        ref T dO = ref Unsafe.Add(ref di, 3 * hidden);
        ref T cn = ref MemoryMarshal.GetReference(c.Slice(0, hidden));
        ref T cp = ref MemoryMarshal.GetReference(cPrev.Slice(0, hidden));
        ref T dmm = ref MemoryMarshal.GetReference(dm.Slice(0, hidden));
        ref T dcc = ref MemoryMarshal.GetReference(dc.Slice(0, hidden));
        TVec one = TOps.Splat(T.One);
        int w = TOps.Count, j = 0;
        for (; j + w <= hidden; j += w)
        {
            TVec i = TOps.Load(ref Unsafe.Add(ref gi, j)), f = TOps.Load(ref Unsafe.Add(ref gf, j));
            TVec g = TOps.Load(ref Unsafe.Add(ref gg, j)), o = TOps.Load(ref Unsafe.Add(ref go, j));
            TVec d = TOps.Load(ref Unsafe.Add(ref dmm, j));
            TVec tanhC = Tanh(TOps.Load(ref Unsafe.Add(ref cn, j)));
            // m = o * tanh(c'):  dO = dm * tanh(c'),  dC = dc' + dm * o * (1 - tanh²(c'))
            TVec dOut = TOps.Multiply(d, tanhC);
            TVec dC = TOps.MultiplyAdd(TOps.Multiply(d, o), TOps.Subtract(one, TOps.Multiply(tanhC, tanhC)), TOps.Load(ref Unsafe.Add(ref dcc, j)));
            // c' = f * c + i * g, then through σ' = σ(1 - σ) and tanh' = 1 - tanh².
            TOps.Store(TOps.Multiply(dC, f), ref Unsafe.Add(ref dcc, j));
            TOps.Store(TOps.Multiply(TOps.Multiply(dC, g), TOps.Multiply(i, TOps.Subtract(one, i))), ref Unsafe.Add(ref di, j));
            TOps.Store(TOps.Multiply(TOps.Multiply(dC, TOps.Load(ref Unsafe.Add(ref cp, j))), TOps.Multiply(f, TOps.Subtract(one, f))), ref Unsafe.Add(ref df, j));
            TOps.Store(TOps.Multiply(TOps.Multiply(dC, i), TOps.Subtract(one, TOps.Multiply(g, g))), ref Unsafe.Add(ref dg, j));
            TOps.Store(TOps.Multiply(dOut, TOps.Multiply(o, TOps.Subtract(one, o))), ref Unsafe.Add(ref dO, j));
        }
        for (; j < hidden; j++)
        {
            T i = Unsafe.Add(ref gi, j), f = Unsafe.Add(ref gf, j), g = Unsafe.Add(ref gg, j), o = Unsafe.Add(ref go, j);
            T d = Unsafe.Add(ref dmm, j);
            T tanhC = Tanh(Unsafe.Add(ref cn, j));
            T dOut = d * tanhC;
            T dC = Unsafe.Add(ref dcc, j) + d * o * (T.One - tanhC * tanhC);
            Unsafe.Add(ref dcc, j) = dC * f;
            Unsafe.Add(ref di, j) = dC * g * (i * (T.One - i));
            Unsafe.Add(ref df, j) = dC * Unsafe.Add(ref cp, j) * (f * (T.One - f));
            Unsafe.Add(ref dg, j) = dC * i * (T.One - g * g);
            Unsafe.Add(ref dO, j) = dOut * (o * (T.One - o));
        }
    }

    /// <summary>y += x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddTo(ReadOnlySpan<T> x, Span<T> y)
    {
        int n = x.Length, w = TOps.Count, j = 0;
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y.Slice(0, n));
        for (; j + w <= n; j += w)
            TOps.Store(TOps.Add(TOps.Load(ref Unsafe.Add(ref yr, j)), TOps.Load(ref Unsafe.Add(ref xr, j))), ref Unsafe.Add(ref yr, j));
        for (; j < n; j++) Unsafe.Add(ref yr, j) += Unsafe.Add(ref xr, j);
    }

    /// <summary>z = x + y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z)
    {
        int n = x.Length, w = TOps.Count, j = 0;
        ref T xr = ref MemoryMarshal.GetReference(x);
        ref T yr = ref MemoryMarshal.GetReference(y.Slice(0, n));
        ref T zr = ref MemoryMarshal.GetReference(z.Slice(0, n));
        for (; j + w <= n; j += w)
            TOps.Store(TOps.Add(TOps.Load(ref Unsafe.Add(ref xr, j)), TOps.Load(ref Unsafe.Add(ref yr, j))), ref Unsafe.Add(ref zr, j));
        for (; j < n; j++) Unsafe.Add(ref zr, j) = Unsafe.Add(ref xr, j) + Unsafe.Add(ref yr, j);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Sigmoid(TVec z)
    {
        TVec one = TOps.Splat(T.One);
        return TOps.Divide(one, TOps.Add(one, Exp(TOps.Subtract(TOps.Splat(T.Zero), z))));
    }

    /// <summary>
    /// tanh(z) = (e^2z - 1) / (e^2z + 1) = m / (m + 2), m = e^2z - 1 from <see cref="ExpM1"/>, which keeps its relative
    /// accuracy near zero (1 - 2 / (e^2z + 1) cancels there: at z = 1e-6 it was 5% off in float, and 0 below 6e-8).
    /// NaN gives NaN, ±inf ±1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Tanh(TVec z)
    {
        TVec m = ExpM1(TOps.Add(z, z));
        return TOps.Divide(m, TOps.Add(m, TOps.Splat(T.CreateTruncating(2))));
    }

    /// <summary>
    /// e^x, inlined (the runtime's vector Exp is a call, slow until tiered up). x is clamped to where e^x is a normal
    /// number (NaN passes the clamp, and comes out as itself, payload and all), written as 2^n · e^r with n = round(x / ln 2) and |r| ≤ ln 2 / 2 (Cody–Waite),
    /// e^r by a polynomial: Cephes' expf minimax in float (about 1 ulp), Taylor to r^13 in double (a few ulp).
    /// </summary>
    /// <remarks>
    /// The float and double bodies are methods of their own so that each inline brings in only its type's IL: the JIT
    /// spends an inlining budget by IL size, and with both bodies in one method the fifth e^x of the streamer's fused
    /// cell update (four gates and tanh c') went over it and became a call.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVec Exp(TVec x) => TOps.NaNFrom(x, typeof(T) == typeof(float) ? ExpSingle(x) : ExpDouble(x));  // a NaN's payload would shift into the exponent: NaN in, NaN out

    /// <summary>e^x - 1 to within a few ulp relative, also near 0 (where e^x - 1 would cancel); NaN in, NaN out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static TVec ExpM1(TVec x) => TOps.NaNFrom(x, typeof(T) == typeof(float) ? ExpM1Single(x) : ExpM1Double(x));

    /// <summary>The clamp and Cody–Waite n of <see cref="Exp"/>: x clamped, t = n + magic, n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Reduce(ref TVec x, double low, double high, double magicValue, out TVec n)
    {
        x = TOps.MinNative(TOps.Splat(T.CreateTruncating(high)), TOps.MaxNative(TOps.Splat(T.CreateTruncating(low)), x));
        TVec magic = TOps.Splat(T.CreateTruncating(magicValue));
        TVec t = TOps.MultiplyAdd(x, TOps.Splat(T.CreateTruncating(1.4426950408889634)), magic); // n + magic: the add rounds to an integer
        n = TOps.Subtract(t, magic);
        return t;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec ExpSingle(TVec x)
    {
        TVec p = PolySingle(ref x, out TVec t, out TVec r);
        return TOps.AddToExponent(TOps.MultiplyAdd(p, TOps.Multiply(r, r), TOps.Add(r, TOps.Splat(T.One))), t);
    }

    /// <summary>e^x - 1 = 2^n · (e^r - 1) + (2^n - 1), e^r - 1 = r + r²·p(r) summed without the 1 (no cancellation near 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec ExpM1Single(TVec x)
    {
        TVec p = PolySingle(ref x, out TVec t, out TVec r);
        TVec one = TOps.Splat(T.One), scale = TOps.AddToExponent(one, t);  // 2^n, exact
        return TOps.MultiplyAdd(scale, TOps.MultiplyAdd(p, TOps.Multiply(r, r), r), TOps.Subtract(scale, one));
    }

    /// <summary>Float e^x's reduction (x clamped, t holding n, r) and p(r), with e^r = 1 + r + r²·p(r) (Cephes' expf minimax).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec PolySingle(ref TVec x, out TVec t, out TVec r)
    {
        t = Reduce(ref x, -86.5, 88.0, 12582912.0, out TVec n);  // 1.5 · 2^23
        r = TOps.MultiplyAdd(n, TOps.Splat(T.CreateTruncating(-0.693359375)), x);
        r = TOps.MultiplyAdd(n, TOps.Splat(T.CreateTruncating(2.12194440e-4)), r);
        TVec p = TOps.Splat(T.CreateTruncating(1.9875691500E-4));
        p = TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(1.3981999507E-3)));
        p = TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(8.3334519073E-3)));
        p = TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(4.1665795894E-2)));
        p = TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(1.6666665459E-1)));
        return TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(5.0000001201E-1)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec ExpDouble(TVec x)
    {
        TVec p = PolyDouble(ref x, out TVec t, out TVec r);
        return TOps.AddToExponent(TOps.MultiplyAdd(p, r, TOps.Splat(T.One)), t);
    }

    /// <summary>e^x - 1 as <see cref="ExpM1Single"/>, e^r - 1 = r·p(r).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec ExpM1Double(TVec x)
    {
        TVec p = PolyDouble(ref x, out TVec t, out TVec r);
        TVec one = TOps.Splat(T.One), scale = TOps.AddToExponent(one, t);  // 2^n, exact
        return TOps.MultiplyAdd(scale, TOps.Multiply(p, r), TOps.Subtract(scale, one));
    }

    /// <summary>Double e^x's reduction and p(r) = (e^r - 1) / r (Taylor to r^13: 1/13!, then Horner down to 1/1!).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec PolyDouble(ref TVec x, out TVec t, out TVec r)
    {
        t = Reduce(ref x, -707.0, 709.0, 6755399441055744.0, out TVec n);  // 1.5 · 2^52
        r = TOps.MultiplyAdd(n, TOps.Splat(T.CreateTruncating(-6.93147180369123816490e-01)), x);
        r = TOps.MultiplyAdd(n, TOps.Splat(T.CreateTruncating(-1.90821492927058770002e-10)), r);
        TVec p = TOps.Splat(T.CreateTruncating(1.0 / 6227020800));
        p = TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(1.0 / 479001600)));
        p = TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(1.0 / 39916800)));
        p = TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(1.0 / 3628800)));
        p = TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(1.0 / 362880)));
        p = TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(1.0 / 40320)));
        p = TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(1.0 / 5040)));
        p = TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(1.0 / 720)));
        p = TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(1.0 / 120)));
        p = TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(1.0 / 24)));
        p = TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(1.0 / 6)));
        p = TOps.MultiplyAdd(p, r, TOps.Splat(T.CreateTruncating(0.5)));
        return TOps.MultiplyAdd(p, r, TOps.Splat(T.One));
    }

    private static T Sigmoid(T z) => T.One / (T.One + T.Exp(-z));

    private static T Tanh(T z) => T.Tanh(z);
}
