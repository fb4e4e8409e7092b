using System.Buffers.Binary;
using System.Text;

namespace LstmSharp.IO.Onnx;

/// <summary>The protobuf wire types (the low three bits of a field's tag).</summary>
internal enum WireType
{
    /// <summary>int32, int64, uint32, uint64, sint*, bool, enum.</summary>
    Varint = 0,
    /// <summary>fixed64, sfixed64, double.</summary>
    Fixed64 = 1,
    /// <summary>string, bytes, embedded messages, packed repeated fields.</summary>
    LengthDelimited = 2,
    /// <summary>Deprecated groups (refused).</summary>
    StartGroup = 3,
    /// <summary>Deprecated groups (refused).</summary>
    EndGroup = 4,
    /// <summary>fixed32, sfixed32, float.</summary>
    Fixed32 = 5,
}

/// <summary>
/// A minimal protobuf encoder: varints, fixed 32/64-bit fields and length-delimited fields into a growable buffer.
/// Embedded messages are encoded into their own writer first, then written as bytes.
/// </summary>
internal sealed class ProtoWriter
{
    private byte[] _buffer = new byte[256];
    private int _length;

    /// <summary>The bytes written so far.</summary>
    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    /// <summary>A copy of the bytes written so far.</summary>
    public byte[] ToArray() => Written.ToArray();

    public void WriteTag(int field, WireType type) => WriteVarint(((ulong)field << 3) | (uint)type);

    public void WriteVarint(ulong value)
    {
        Ensure(10);
        while (value >= 0x80)
        {
            _buffer[_length++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _buffer[_length++] = (byte)value;
    }

    /// <summary>An int64 (or int32, enum) field; negative values take ten bytes, as protobuf requires.</summary>
    public void WriteInt64(int field, long value)
    {
        WriteTag(field, WireType.Varint);
        WriteVarint((ulong)value);
    }

    public void WriteFloat(int field, float value)
    {
        WriteTag(field, WireType.Fixed32);
        Ensure(4);
        BinaryPrimitives.WriteSingleLittleEndian(_buffer.AsSpan(_length), value);
        _length += 4;
    }

    public void WriteBytes(int field, ReadOnlySpan<byte> value)
    {
        WriteTag(field, WireType.LengthDelimited);
        WriteVarint((ulong)value.Length);
        Ensure(value.Length);
        value.CopyTo(_buffer.AsSpan(_length));
        _length += value.Length;
    }

    /// <summary>A string field; empty strings are written too (callers skip defaults themselves).</summary>
    public void WriteString(int field, string value) => WriteBytes(field, Encoding.UTF8.GetBytes(value));

    /// <summary>An embedded message, encoded by <paramref name="write"/> into a writer of its own.</summary>
    public void WriteMessage(int field, Action<ProtoWriter> write)
    {
        var inner = new ProtoWriter();
        write(inner);
        WriteBytes(field, inner.Written);
    }

    /// <summary>A packed repeated int64 field (nothing when empty).</summary>
    public void WritePackedInt64(int field, IReadOnlyList<long> values)
    {
        if (values.Count == 0) return;
        var inner = new ProtoWriter();
        foreach (long v in values) inner.WriteVarint((ulong)v);
        WriteBytes(field, inner.Written);
    }

    /// <summary>A packed repeated float field (nothing when empty).</summary>
    public void WritePackedFloat(int field, IReadOnlyList<float> values)
    {
        if (values.Count == 0) return;
        var bytes = new byte[values.Count * 4];
        for (int i = 0; i < values.Count; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), values[i]);
        WriteBytes(field, bytes);
    }

    private void Ensure(int extra)
    {
        if (_length + extra <= _buffer.Length) return;
        long size = Math.Max((long)_buffer.Length * 2, (long)_length + extra);
        if (size > Array.MaxLength) throw new InvalidOperationException("ONNX: the model exceeds the largest buffer .NET can allocate (2 GB protobuf limit).");
        Array.Resize(ref _buffer, (int)size);
    }
}
