using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using LstmSharp.Tensors;

namespace LstmSharp.IO;

/// <summary>The element types of the safetensors format, by their names in the header.</summary>
public enum DType
{
    /// <summary>bool, 1 byte.</summary>
    BOOL,
    /// <summary>uint8.</summary>
    U8,
    /// <summary>int8.</summary>
    I8,
    /// <summary>int16.</summary>
    I16,
    /// <summary>uint16.</summary>
    U16,
    /// <summary>float16.</summary>
    F16,
    /// <summary>bfloat16.</summary>
    BF16,
    /// <summary>int32.</summary>
    I32,
    /// <summary>uint32.</summary>
    U32,
    /// <summary>float32.</summary>
    F32,
    /// <summary>float64.</summary>
    F64,
    /// <summary>int64.</summary>
    I64,
    /// <summary>uint64.</summary>
    U64,
    /// <summary>float8, 5 exponent bits and 2 mantissa bits (read and written as bytes; not converted).</summary>
    F8_E5M2,
    /// <summary>float8, 4 exponent bits and 3 mantissa bits (read and written as bytes; not converted).</summary>
    F8_E4M3,
}

/// <summary>One named tensor of a safetensors file: dtype, shape and raw little-endian bytes.</summary>
public sealed class SafeTensor
{
    /// <summary>A tensor from its parts; the byte count must match the dtype and shape.</summary>
    /// <param name="name">Name in the header (e.g. <c>lstm.weight_ih_l0</c>).</param>
    /// <param name="dtype">Element type.</param>
    /// <param name="shape">Dimensions, each non-negative.</param>
    /// <param name="data">Little-endian element bytes, row-major; kept, not copied.</param>
    public SafeTensor(string name, DType dtype, int[] shape, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(name);  // "" is a name the format allows
        if (!IsWellFormed(name))
            throw new ArgumentException($"name: '{name}' holds a lone UTF-16 surrogate, which UTF-8 (the header's encoding) cannot store; it would load as another name.", nameof(name));
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        long expected = ShapeUtil.Count(shape, nameof(shape)) * ElementSize(dtype);
        if (expected != data.Length)
            throw new ArgumentException(
                $"data: tensor '{name}' of dtype {dtype} and shape {ShapeUtil.Format(shape)} needs {expected} bytes, got {data.Length}.", nameof(data));
        Name = name;
        DType = dtype;
        Shape = Array.AsReadOnly((int[])shape.Clone());
        Data = data;
    }

    /// <summary>Whether <paramref name="text"/> is well-formed UTF-16 (no lone surrogate), so that it survives UTF-8 unchanged.</summary>
    internal static bool IsWellFormed(string text)
    {
        var rest = text.AsSpan();
        while (!rest.IsEmpty)
        {
            if (System.Text.Rune.DecodeFromUtf16(rest, out _, out int used) != System.Buffers.OperationStatus.Done) return false;
            rest = rest[used..];
        }
        return true;
    }

    /// <summary>The name.</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public DType DType { get; }

    /// <summary>The dimensions.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The raw little-endian bytes.</summary>
    public byte[] Data { get; }

    /// <summary>Number of elements.</summary>
    public long ElementCount => Data.Length / ElementSize(DType);

    /// <summary>Bytes per element of <paramref name="dtype"/>.</summary>
    public static int ElementSize(DType dtype) => dtype switch
    {
        DType.BOOL or DType.U8 or DType.I8 or DType.F8_E5M2 or DType.F8_E4M3 => 1,
        DType.I16 or DType.U16 or DType.F16 or DType.BF16 => 2,
        DType.I32 or DType.U32 or DType.F32 => 4,
        DType.I64 or DType.U64 or DType.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "dtype: unknown element type."),
    };

    /// <summary>The dtype that stores <typeparamref name="T"/>: F32 for float, F64 for double.</summary>
    public static DType DTypeOf<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
        typeof(T) == typeof(float) ? DType.F32
        : typeof(T) == typeof(double) ? DType.F64
        : throw new NotSupportedException($"T: only float (F32) and double (F64) tensors are stored, got {typeof(T).Name}.");

    /// <summary>Stores a float or double tensor.</summary>
    public static SafeTensor From<T>(string name, Tensor<T> tensor) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(tensor);
        var dtype = DTypeOf<T>();
        CheckByteCount(name, (long)tensor.Length * ElementSize(dtype), nameof(tensor));
        var bytes = MemoryMarshal.AsBytes(tensor.Data.AsSpan()).ToArray();
        if (!BitConverter.IsLittleEndian) ReverseEndianness(bytes, ElementSize(dtype));
        return new SafeTensor(name, dtype, [.. tensor.Shape], bytes);
    }

    /// <summary>Stores 64-bit integers (e.g. lengths or token ids) as I64, of <paramref name="shape"/> (none given: [N], or a scalar [] for one value).</summary>
    public static SafeTensor FromInt64(string name, long[] values, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentNullException.ThrowIfNull(shape);
        CheckByteCount(name, values.LongLength * 8, nameof(values));
        var bytes = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(i * 8), values[i]);
        return new SafeTensor(name, DType.I64, shape.Length == 0 && values.Length != 1 ? [values.Length] : shape, bytes);
    }

    /// <summary>The elements as a tensor of <typeparamref name="T"/>; the dtype must be exactly that type's (no silent conversion).</summary>
    public Tensor<T> ToTensor<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var expected = DTypeOf<T>();
        if (DType != expected)
            throw new InvalidDataException($"Tensor '{Name}': expected dtype {expected}, got {DType}.");
        var data = MemoryMarshal.Cast<byte, T>(Data.AsSpan()).ToArray();
        if (!BitConverter.IsLittleEndian) ReverseEndianness(MemoryMarshal.AsBytes(data.AsSpan()), ElementSize(DType));
        return new Tensor<T>(data, [.. Shape]);
    }

    /// <summary>The elements converted to <typeparamref name="T"/> from any floating-point dtype (F16, BF16, F32, F64).</summary>
    public Tensor<T> ToTensorConverted<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = new T[ElementCount];
        var s = Data.AsSpan();
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = DType switch
            {
                DType.F32 => T.CreateChecked(BinaryPrimitives.ReadSingleLittleEndian(s[(i * 4)..])),
                DType.F64 => T.CreateChecked(BinaryPrimitives.ReadDoubleLittleEndian(s[(i * 8)..])),
                DType.F16 => T.CreateChecked((float)BinaryPrimitives.ReadHalfLittleEndian(s[(i * 2)..])),
                DType.BF16 => T.CreateChecked(BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(s[(i * 2)..]) << 16)),
                _ => throw new InvalidDataException($"Tensor '{Name}': expected a floating-point dtype, got {DType}."),
            };
        }
        return new Tensor<T>(result, [.. Shape]);
    }

    /// <summary>The elements as 64-bit integers, from I64, I32, I16, I8, U8, U16 or U32 (U64 is refused: it may not fit).</summary>
    public long[] ToInt64()
    {
        var result = new long[ElementCount];
        var s = Data.AsSpan();
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = DType switch
            {
                DType.I64 => BinaryPrimitives.ReadInt64LittleEndian(s[(i * 8)..]),
                DType.I32 => BinaryPrimitives.ReadInt32LittleEndian(s[(i * 4)..]),
                DType.I16 => BinaryPrimitives.ReadInt16LittleEndian(s[(i * 2)..]),
                DType.I8 => (sbyte)s[i],
                DType.U8 => s[i],
                DType.U16 => BinaryPrimitives.ReadUInt16LittleEndian(s[(i * 2)..]),
                DType.U32 => BinaryPrimitives.ReadUInt32LittleEndian(s[(i * 4)..]),
                _ => throw new InvalidDataException($"Tensor '{Name}': expected an integer dtype that fits in 64-bit signed integers (I64, I32, I16, I8, U32, U16, U8), got {DType}."),
            };
        }
        return result;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} {DType}{ShapeUtil.Format(Shape)}";

    /// <summary>A tensor's bytes are one array: refuses, naming the tensor, one whose bytes exceed <see cref="Array.MaxLength"/>.</summary>
    private static void CheckByteCount(string name, long bytes, string paramName)
    {
        if (bytes > Array.MaxLength)
            throw new ArgumentException(
                $"{paramName}: '{name}' needs {bytes} bytes, more than the {Array.MaxLength} bytes one array can hold; it cannot be stored as one safetensors tensor.",
                paramName);
    }

    private static void ReverseEndianness(Span<byte> bytes, int size)
    {
        for (int i = 0; i < bytes.Length; i += size) bytes.Slice(i, size).Reverse();
    }
}
