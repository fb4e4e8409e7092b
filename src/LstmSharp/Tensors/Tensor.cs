using System.Numerics;

namespace LstmSharp.Tensors;

/// <summary>
/// A dense, row-major (C-contiguous) tensor: a shape and one flat array of elements.
/// The element type is <see cref="float"/> or <see cref="double"/>: the layers and optimizers compute in those two and
/// refuse others when made (a tensor of another IEEE 754 type, e.g. <see cref="Half"/>, can hold values, not be trained).
/// </summary>
/// <typeparam name="T">Element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Tensor<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly int[] _shape;
    private IReadOnlyList<int>? _shapeView; // a read-only wrapper of _shape, made on first use

    /// <summary>Wraps <paramref name="data"/> (not copied) as a tensor of the given shape.</summary>
    /// <param name="data">Elements in row-major order; its length must equal the product of <paramref name="shape"/>.</param>
    /// <param name="shape">Dimensions, each non-negative.</param>
    public Tensor(T[] data, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        long count = ShapeUtil.Count(shape, nameof(shape));
        if (count != data.Length)
            throw new ArgumentException(
                $"data: expected {count} elements for shape {ShapeUtil.Format(shape)}, got {data.Length}.", nameof(data));
        _shape = (int[])shape.Clone();
        Data = data;
    }

    /// <summary>A new tensor of zeros.</summary>
    /// <param name="shape">Dimensions, each non-negative.</param>
    public static Tensor<T> Zeros(params int[] shape) =>
        new(new T[checked((int)ShapeUtil.Count(shape, nameof(shape)))], shape);

    /// <summary>A new tensor with every element equal to <paramref name="value"/>.</summary>
    public static Tensor<T> Full(T value, params int[] shape)
    {
        var t = Zeros(shape);
        Array.Fill(t.Data, value);
        return t;
    }

    /// <summary>The elements in row-major order. Writing to it writes to the tensor.</summary>
    public T[] Data { get; }

    /// <summary>The dimensions (read-only: a tensor's shape never changes; <see cref="Reshape"/> makes a view).</summary>
    public IReadOnlyList<int> Shape => _shapeView ??= Array.AsReadOnly(_shape);

    /// <summary>The number of dimensions.</summary>
    public int Rank => _shape.Length;

    /// <summary>The number of elements.</summary>
    public int Length => Data.Length;

    /// <summary>The size of dimension <paramref name="axis"/>; a negative axis counts from the end.</summary>
    public int Dim(int axis)
    {
        int a = axis < 0 ? _shape.Length + axis : axis;
        if ((uint)a >= (uint)_shape.Length)
            throw new ArgumentOutOfRangeException(nameof(axis), axis, $"axis: expected -{_shape.Length}..{_shape.Length - 1} for a tensor of shape {ShapeString}, got {axis}.");
        return _shape[a];
    }

    /// <summary>The shape as text, e.g. <c>[2, 3, 4]</c>.</summary>
    public string ShapeString => ShapeUtil.Format(_shape);

    /// <summary>A span over the elements.</summary>
    public Span<T> AsSpan() => Data;

    /// <summary>Element of a rank-1 tensor.</summary>
    public T this[int i]
    {
        get => Data[Offset(i)];
        set => Data[Offset(i)] = value;
    }

    /// <summary>Element of a rank-2 tensor.</summary>
    public T this[int i, int j]
    {
        get => Data[Offset(i, j)];
        set => Data[Offset(i, j)] = value;
    }

    /// <summary>Element of a rank-3 tensor.</summary>
    public T this[int i, int j, int k]
    {
        get => Data[Offset(i, j, k)];
        set => Data[Offset(i, j, k)] = value;
    }

    /// <summary>True when the shape equals <paramref name="shape"/>.</summary>
    public bool HasShape(params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        return _shape.AsSpan().SequenceEqual(shape);
    }

    /// <summary>A view with another shape over the same elements (no copy); the shape must hold <see cref="Length"/> elements.</summary>
    public Tensor<T> Reshape(params int[] shape)
    {
        long count = ShapeUtil.Count(shape, nameof(shape));
        if (count != Data.Length)
            throw new ArgumentException($"shape: {ShapeUtil.Format(shape)} holds {count} elements; this tensor of shape {ShapeString} has {Data.Length}.", nameof(shape));
        return new(Data, shape);
    }

    /// <summary>A deep copy.</summary>
    public Tensor<T> Clone() => new((T[])Data.Clone(), _shape);

    /// <summary>A copy converted element by element to <typeparamref name="TOut"/>.</summary>
    public Tensor<TOut> Cast<TOut>() where TOut : unmanaged, IFloatingPointIeee754<TOut>
    {
        var result = new TOut[Data.Length];
        for (int i = 0; i < result.Length; i++) result[i] = TOut.CreateChecked(Data[i]);
        return new Tensor<TOut>(result, _shape);
    }

    /// <summary>Copies the elements of <paramref name="source"/>, which must have the same shape, into this tensor.</summary>
    public void CopyFrom(Tensor<T> source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!HasShape(source._shape))
            throw new ArgumentException($"source: expected shape {ShapeString}, got {source.ShapeString}.", nameof(source));
        source.Data.AsSpan().CopyTo(Data);
    }

    /// <inheritdoc/>
    public override string ToString() => $"Tensor<{typeof(T).Name}>{ShapeString}";

    private int Offset(int i)
    {
        CheckRank(1);
        CheckIndex(0, i, nameof(i));
        return i;
    }

    private int Offset(int i, int j)
    {
        CheckRank(2);
        CheckIndex(0, i, nameof(i));
        CheckIndex(1, j, nameof(j));
        return i * _shape[1] + j;
    }

    private int Offset(int i, int j, int k)
    {
        CheckRank(3);
        CheckIndex(0, i, nameof(i));
        CheckIndex(1, j, nameof(j));
        CheckIndex(2, k, nameof(k));
        return (i * _shape[1] + j) * _shape[2] + k;
    }

    private void CheckRank(int rank)
    {
        if (_shape.Length != rank)
            throw new InvalidOperationException($"A rank-{rank} index was used on a tensor of shape {ShapeString}.");
    }

    private void CheckIndex(int axis, int index, string name)
    {
        if ((uint)index >= (uint)_shape[axis])
            throw new ArgumentOutOfRangeException(name, index,
                $"{name}: index {index} is out of range for axis {axis} of size {_shape[axis]} (shape {ShapeString}).");
    }
}
