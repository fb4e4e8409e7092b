using System.Numerics;

namespace LstmSharp.Kernels;

/// <summary>
/// Chooses the LSTM kernel for this CPU: the fast kernel (<see cref="FastLstmKernel{T, TVec, TOps}"/>) in the widest
/// vector variant the CPU runs, or the reference kernel where vectors are not hardware accelerated. The environment
/// variable <c>LSTMSHARP_KERNEL</c> forces one: <c>reference</c>, <c>avx512</c>, <c>avx2</c> or <c>vector128</c>
/// (a variant the CPU lacks falls back to the best one it has).
/// </summary>
internal static class LstmKernels
{
    private static readonly bool s_forceReference =
        string.Equals(Environment.GetEnvironmentVariable("LSTMSHARP_KERNEL")?.Trim(), "reference", StringComparison.OrdinalIgnoreCase);

    /// <summary>The best kernel for <typeparamref name="T"/> on this machine.</summary>
    public static ILstmKernel<T> Best<T>() where T : unmanaged, IFloatingPointIeee754<T> => Cache<T>.Best;

    /// <summary>Every kernel this CPU can run, the reference first, for tests that compare them.</summary>
    public static IReadOnlyList<ILstmKernel<T>> All<T>() where T : unmanaged, IFloatingPointIeee754<T> => Cache<T>.All;

    /// <summary>The kernel called <paramref name="name"/> (see <see cref="ILstmKernel{T}.Name"/>) among <see cref="All{T}"/>.</summary>
    public static ILstmKernel<T> ByName<T>(string name) where T : unmanaged, IFloatingPointIeee754<T> =>
        Cache<T>.All.FirstOrDefault(k => k.Name == name)
        ?? throw new ArgumentException($"name: no kernel '{name}' on this CPU; expected one of {string.Join(", ", Cache<T>.All.Select(k => k.Name))}.", nameof(name));

    private static class Cache<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly IReadOnlyList<ILstmKernel<T>> All =
            [ReferenceLstmKernel<T>.Instance, .. Gemm.Variants.Select(FastLstmKernel.Create<T>)];

        public static readonly ILstmKernel<T> Best = s_forceReference || !Gemm.IsAccelerated
            ? ReferenceLstmKernel<T>.Instance
            : All.First(k => k.Name == FastLstmKernel.NameOf(Gemm.Best));
    }
}
