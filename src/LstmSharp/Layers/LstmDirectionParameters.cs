using System.Numerics;

namespace LstmSharp.Layers;

/// <summary>
/// The weights of one layer in one direction, in PyTorch's layout (gate rows i, f, g, o stacked):
/// <c>weight_ih</c> [4H, I], <c>weight_hh</c> [4H, P], <c>bias_ih</c> and <c>bias_hh</c> [4H] (optional),
/// <c>weight_hr</c> [P, H] (only with a projection). P = H without a projection.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class LstmDirectionParameters<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal LstmDirectionParameters(int inputSize, int hiddenSize, int projSize,
        Parameter<T> weightIh, Parameter<T> weightHh, Parameter<T>? biasIh, Parameter<T>? biasHh, Parameter<T>? weightHr)
    {
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        OutputSize = projSize > 0 ? projSize : hiddenSize;
        WeightIh = weightIh;
        WeightHh = weightHh;
        BiasIh = biasIh;
        BiasHh = biasHh;
        WeightHr = weightHr;
    }

    /// <summary>I: input features of this layer.</summary>
    public int InputSize { get; }

    /// <summary>H: cell size.</summary>
    public int HiddenSize { get; }

    /// <summary>P: size of h (the projection size, or H).</summary>
    public int OutputSize { get; }

    /// <summary>[4H, I]</summary>
    public Parameter<T> WeightIh { get; }

    /// <summary>[4H, P]</summary>
    public Parameter<T> WeightHh { get; }

    /// <summary>[4H], or null without bias.</summary>
    public Parameter<T>? BiasIh { get; }

    /// <summary>[4H], or null without bias.</summary>
    public Parameter<T>? BiasHh { get; }

    /// <summary>[P, H], or null without a projection.</summary>
    public Parameter<T>? WeightHr { get; }

    /// <summary>
    /// Writes [W_ih | W_hh] into the first I + P columns of <paramref name="destination"/> [4H, <paramref name="width"/>]
    /// (the weights of one product over [x | h]; columns past I + P are left as they are).
    /// </summary>
    internal void CopyWeightsSideBySide(Span<T> destination, int width)
    {
        int g4 = 4 * HiddenSize;
        Kernels.Layout.CopyColumns<T>(WeightIh.Value.Data, g4, InputSize, destination, width, 0);
        Kernels.Layout.CopyColumns<T>(WeightHh.Value.Data, g4, OutputSize, destination, width, InputSize);
    }

    /// <summary>The parameters in <c>state_dict</c> order: weight_ih, weight_hh, bias_ih, bias_hh, weight_hr.</summary>
    public IEnumerable<Parameter<T>> All()
    {
        yield return WeightIh;
        yield return WeightHh;
        if (BiasIh is not null) yield return BiasIh;
        if (BiasHh is not null) yield return BiasHh;
        if (WeightHr is not null) yield return WeightHr;
    }

    /// <summary>Creates the parameters named with <paramref name="suffix"/> (e.g. <c>_l0_reverse</c>, or empty for a cell).</summary>
    internal static LstmDirectionParameters<T> Create(int inputSize, int hiddenSize, int projSize, bool bias, string suffix)
    {
        int p = projSize > 0 ? projSize : hiddenSize;
        Parameter<T> New(string name, params int[] shape) => new(name + suffix, Tensors.Tensor<T>.Zeros(shape));
        return new LstmDirectionParameters<T>(inputSize, hiddenSize, projSize,
            New("weight_ih", 4 * hiddenSize, inputSize),
            New("weight_hh", 4 * hiddenSize, p),
            bias ? New("bias_ih", 4 * hiddenSize) : null,
            bias ? New("bias_hh", 4 * hiddenSize) : null,
            projSize > 0 ? New("weight_hr", projSize, hiddenSize) : null);
    }
}
