using System.Numerics;

namespace LstmSharp.Kernels;

/// <summary>Chooses the LSTM kernel for this CPU. Today the reference kernel is the only one.</summary>
internal static class LstmKernels
{
    /// <summary>The best kernel for <typeparamref name="T"/> on this machine.</summary>
    public static ILstmKernel<T> Best<T>() where T : unmanaged, IFloatingPointIeee754<T> => ReferenceLstmKernel<T>.Instance;

    /// <summary>Every kernel this CPU can run, for tests that compare them.</summary>
    public static IReadOnlyList<ILstmKernel<T>> All<T>() where T : unmanaged, IFloatingPointIeee754<T> => [ReferenceLstmKernel<T>.Instance];
}
