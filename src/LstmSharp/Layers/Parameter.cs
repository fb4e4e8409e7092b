using System.Numerics;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>A named trainable tensor and the gradient that backward passes accumulate into.</summary>
/// <typeparam name="T">Element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Parameter<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>A parameter named <paramref name="name"/> holding <paramref name="value"/>, with a zero gradient of the same shape.</summary>
    public Parameter(string name, Tensor<T> value)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(value);
        Name = name;
        Value = value;
        Grad = Tensor<T>.Zeros([.. value.Shape]);
    }

    /// <summary>A view of <paramref name="source"/> under another name, sharing its value and gradient (for module prefixes).</summary>
    internal Parameter(string name, Parameter<T> source)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
        Value = source.Value;
        Grad = source.Grad;
    }

    /// <summary>The name, as in PyTorch's <c>state_dict</c> (e.g. <c>weight_ih_l0</c>).</summary>
    public string Name { get; }

    /// <summary>The value.</summary>
    public Tensor<T> Value { get; }

    /// <summary>The accumulated gradient, same shape as <see cref="Value"/>. Backward adds to it; <see cref="ZeroGrad"/> clears it.</summary>
    public Tensor<T> Grad { get; }

    /// <summary>Sets the gradient to zero.</summary>
    public void ZeroGrad() => Array.Clear(Grad.Data);

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {Value.ShapeString}";
}
