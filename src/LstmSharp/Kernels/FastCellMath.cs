using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LstmSharp.Kernels;

/// <summary>
/// The element-wise part of an LSTM step, fused into one pass over the hidden units and vectorised with
/// <typeparamref name="TOps"/>: the gate nonlinearities and the state update forward, their derivatives backward.
/// Same equations as <see cref="ReferenceCell{T}"/>, with σ(z) = 1 / (1 + e^-z) and tanh(z) = 1 - 2 / (e^2z + 1)
/// (±inf saturate to 0/1 and ±1; the tail past the last full vector uses the same formulas in scalar code).
/// </summary>
internal static class FastCellMath<T, TVec, TOps>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TVec : struct
    where TOps : struct, ISimd<TVec, T>
{
    /// <summary>
    /// Gates from pre-activations to i, f, g, o (in place), then c' = f * c + i * g and m = o * tanh(c').
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(int hidden,
        Span<T> gates,          // [4H] in: pre-activations z; out: i, f, g, o
        ReadOnlySpan<T> cPrev,  // [H]
        Span<T> c,              // [H] out: c'
        Span<T> m)              // [H] out: o * tanh(c')
    {
        ref T zi = ref MemoryMarshal.GetReference(gates.Slice(0, 4 * hidden));
        ref T zf = ref Unsafe.Add(ref zi, hidden);
        ref T zg = ref Unsafe.Add(ref zi, 2 * hidden);
        ref T zo = ref Unsafe.Add(ref zi, 3 * hidden);
        ref T cp = ref MemoryMarshal.GetReference(cPrev.Slice(0, hidden));
        ref T cn = ref MemoryMarshal.GetReference(c.Slice(0, hidden));
        ref T mm = ref MemoryMarshal.GetReference(m.Slice(0, hidden));
        int w = TOps.Count, j = 0;
        for (; j + w <= hidden; j += w)
        {
            TVec i = Sigmoid(TOps.Load(ref Unsafe.Add(ref zi, j)));
            TVec f = Sigmoid(TOps.Load(ref Unsafe.Add(ref zf, j)));
            TVec g = Tanh(TOps.Load(ref Unsafe.Add(ref zg, j)));
            TVec o = Sigmoid(TOps.Load(ref Unsafe.Add(ref zo, j)));
            TOps.Store(i, ref Unsafe.Add(ref zi, j));
            TOps.Store(f, ref Unsafe.Add(ref zf, j));
            TOps.Store(g, ref Unsafe.Add(ref zg, j));
            TOps.Store(o, ref Unsafe.Add(ref zo, j));
            TVec cNew = TOps.MultiplyAdd(f, TOps.Load(ref Unsafe.Add(ref cp, j)), TOps.Multiply(i, g));
            TOps.Store(cNew, ref Unsafe.Add(ref cn, j));
            TOps.Store(TOps.Multiply(o, Tanh(cNew)), ref Unsafe.Add(ref mm, j));
        }
        for (; j < hidden; j++)
        {
            T i = Sigmoid(Unsafe.Add(ref zi, j)), f = Sigmoid(Unsafe.Add(ref zf, j));
            T g = Tanh(Unsafe.Add(ref zg, j)), o = Sigmoid(Unsafe.Add(ref zo, j));
            Unsafe.Add(ref zi, j) = i;
            Unsafe.Add(ref zf, j) = f;
            Unsafe.Add(ref zg, j) = g;
            Unsafe.Add(ref zo, j) = o;
            T cNew = f * Unsafe.Add(ref cp, j) + i * g;
            Unsafe.Add(ref cn, j) = cNew;
            Unsafe.Add(ref mm, j) = o * Tanh(cNew);
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
        return TOps.Divide(one, TOps.Add(one, TOps.Exp(TOps.Subtract(TOps.Splat(T.Zero), z))));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Tanh(TVec z)
    {
        TVec one = TOps.Splat(T.One), two = TOps.Add(one, one);
        return TOps.Subtract(one, TOps.Divide(two, TOps.Add(TOps.Exp(TOps.Multiply(two, z)), one)));
    }

    private static T Sigmoid(T z) => T.One / (T.One + T.Exp(-z));

    private static T Tanh(T z)
    {
        T two = T.One + T.One;
        return T.One - two / (T.Exp(two * z) + T.One);
    }
}
