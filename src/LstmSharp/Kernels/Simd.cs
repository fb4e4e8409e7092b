using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace LstmSharp.Kernels;

/// <summary>
/// The vector operations the fast kernels need, over one vector width. Code generic over a struct implementing this
/// (<see cref="Simd128{T}"/>, <see cref="Simd256{T}"/>, <see cref="Simd512{T}"/>) is compiled once per width with every
/// call inlined, so one source serves all three. <typeparamref name="T"/> is <see cref="float"/> or <see cref="double"/>.
/// </summary>
internal interface ISimd<TVec, T> where TVec : struct where T : unmanaged
{
    /// <summary>Elements per vector.</summary>
    static abstract int Count { get; }

    /// <summary>Rows of the GEMM micro-tile for this width: as many as the register file holds (2 accumulators a row).</summary>
    static abstract int GemmRows { get; }

    static abstract TVec Splat(T value);
    static abstract TVec Load(ref T source);
    static abstract void Store(TVec value, ref T destination);
    static abstract TVec Add(TVec a, TVec b);
    static abstract TVec Subtract(TVec a, TVec b);
    static abstract TVec Multiply(TVec a, TVec b);
    static abstract TVec Divide(TVec a, TVec b);

    /// <summary>a * b + c, fused where the hardware has it.</summary>
    static abstract TVec MultiplyAdd(TVec a, TVec b, TVec c);

    /// <summary>The sum of the lanes (in the runtime's fixed order).</summary>
    static abstract T Sum(TVec v);

    /// <summary>max(a, x) with the hardware's semantics: x when x is NaN (so NaN passes through a clamp).</summary>
    static abstract TVec MaxNative(TVec a, TVec x);

    /// <summary>min(a, x) with the hardware's semantics: x when x is NaN.</summary>
    static abstract TVec MinNative(TVec a, TVec x);

    /// <summary>
    /// p · 2^n, where <paramref name="t"/> = n + 1.5 · 2^m (m = 23 float, 52 double) holds the integer n in its low
    /// mantissa bits: adds n to p's exponent field. No overflow check: callers keep the exponent in range.
    /// </summary>
    static abstract TVec AddToExponent(TVec p, TVec t);

    /// <summary><paramref name="x"/> where it is NaN (its payload kept), else <paramref name="result"/>.</summary>
    static abstract TVec NaNFrom(TVec x, TVec result);
}

/// <summary>128-bit vectors (SSE, NEON, or software): the portable variant. 6 rows × 2 vectors in the GEMM tile.</summary>
internal readonly struct Simd128<T> : ISimd<Vector128<T>, T> where T : unmanaged
{
    public static int Count => Vector128<T>.Count;
    public static int GemmRows => 6;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Splat(T value) => Vector128.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Load(ref T source) => Vector128.LoadUnsafe(ref source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector128<T> value, ref T destination) => value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Add(Vector128<T> a, Vector128<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Subtract(Vector128<T> a, Vector128<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Multiply(Vector128<T> a, Vector128<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> Divide(Vector128<T> a, Vector128<T> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> MultiplyAdd(Vector128<T> a, Vector128<T> b, Vector128<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector128.MultiplyAddEstimate(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector128.MultiplyAddEstimate(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector128<T> v) => Vector128.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> MaxNative(Vector128<T> a, Vector128<T> x) => Vector128.MaxNative(a, x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> MinNative(Vector128<T> a, Vector128<T> x) => Vector128.MinNative(a, x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<T> NaNFrom(Vector128<T> x, Vector128<T> result) => Vector128.ConditionalSelect(Vector128.Equals(x, x), result, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<T> AddToExponent(Vector128<T> p, Vector128<T> t)
    {
        if (typeof(T) == typeof(float)) return (p.AsInt32() + (t.AsInt32() << 23)).As<int, T>();
        if (typeof(T) == typeof(double)) return (p.AsInt64() + (t.AsInt64() << 52)).As<long, T>();
        throw new NotSupportedException(typeof(T).Name);
    }
}

/// <summary>256-bit vectors (AVX2 + FMA, 16 registers): 6 rows × 2 vectors in the GEMM tile.</summary>
internal readonly struct Simd256<T> : ISimd<Vector256<T>, T> where T : unmanaged
{
    public static int Count => Vector256<T>.Count;
    public static int GemmRows => 6;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Splat(T value) => Vector256.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Load(ref T source) => Vector256.LoadUnsafe(ref source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector256<T> value, ref T destination) => value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Add(Vector256<T> a, Vector256<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Subtract(Vector256<T> a, Vector256<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Multiply(Vector256<T> a, Vector256<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> Divide(Vector256<T> a, Vector256<T> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> MultiplyAdd(Vector256<T> a, Vector256<T> b, Vector256<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector256<T> v) => Vector256.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> MaxNative(Vector256<T> a, Vector256<T> x) => Vector256.MaxNative(a, x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> MinNative(Vector256<T> a, Vector256<T> x) => Vector256.MinNative(a, x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<T> NaNFrom(Vector256<T> x, Vector256<T> result) => Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<T> AddToExponent(Vector256<T> p, Vector256<T> t)
    {
        if (typeof(T) == typeof(float)) return (p.AsInt32() + (t.AsInt32() << 23)).As<int, T>();
        if (typeof(T) == typeof(double)) return (p.AsInt64() + (t.AsInt64() << 52)).As<long, T>();
        throw new NotSupportedException(typeof(T).Name);
    }
}

/// <summary>512-bit vectors (AVX-512, 32 registers): 12 rows × 2 vectors in the GEMM tile.</summary>
internal readonly struct Simd512<T> : ISimd<Vector512<T>, T> where T : unmanaged
{
    public static int Count => Vector512<T>.Count;
    public static int GemmRows => 12;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Splat(T value) => Vector512.Create(value);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Load(ref T source) => Vector512.LoadUnsafe(ref source);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(Vector512<T> value, ref T destination) => value.StoreUnsafe(ref destination);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Add(Vector512<T> a, Vector512<T> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Subtract(Vector512<T> a, Vector512<T> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Multiply(Vector512<T> a, Vector512<T> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> Divide(Vector512<T> a, Vector512<T> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> MultiplyAdd(Vector512<T> a, Vector512<T> b, Vector512<T> c)
    {
        if (typeof(T) == typeof(float)) return Vector512.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector512.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        throw new NotSupportedException(typeof(T).Name);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static T Sum(Vector512<T> v) => Vector512.Sum(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> MaxNative(Vector512<T> a, Vector512<T> x) => Vector512.MaxNative(a, x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> MinNative(Vector512<T> a, Vector512<T> x) => Vector512.MinNative(a, x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<T> NaNFrom(Vector512<T> x, Vector512<T> result) => Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> AddToExponent(Vector512<T> p, Vector512<T> t)
    {
        if (typeof(T) == typeof(float)) return (p.AsInt32() + (t.AsInt32() << 23)).As<int, T>();
        if (typeof(T) == typeof(double)) return (p.AsInt64() + (t.AsInt64() << 52)).As<long, T>();
        throw new NotSupportedException(typeof(T).Name);
    }
}
