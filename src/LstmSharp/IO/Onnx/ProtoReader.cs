using System.Buffers.Binary;
using System.Text;

namespace LstmSharp.IO.Onnx;

/// <summary>
/// A minimal protobuf decoder over a span. Every read is bounds-checked: a truncated or corrupt message throws an
/// <see cref="InvalidDataException"/> naming the message being read and the byte offset in the file, never an
/// index error.
/// </summary>
internal ref struct ProtoReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly int _fileOffset;
    private readonly string _message;
    private int _position;

    /// <param name="buffer">The message's bytes.</param>
    /// <param name="message">The message's name for error messages, e.g. <c>NodeProto</c>.</param>
    /// <param name="fileOffset">The offset of <paramref name="buffer"/> in the file, for error messages.</param>
    public ProtoReader(ReadOnlySpan<byte> buffer, string message, int fileOffset = 0)
    {
        _buffer = buffer;
        _message = message;
        _fileOffset = fileOffset;
        _position = 0;
    }

    /// <summary>The offset in the file of the next byte to be read.</summary>
    public readonly int FileOffset => _fileOffset + _position;

    /// <summary>Reads the next tag; false at the end of the message.</summary>
    public bool TryReadTag(out int field, out WireType type)
    {
        if (_position >= _buffer.Length)
        {
            field = 0;
            type = 0;
            return false;
        }
        int at = FileOffset;
        ulong tag = ReadVarint();
        field = (int)Math.Min(tag >> 3, int.MaxValue);
        type = (WireType)(tag & 7);
        if (field == 0)
            throw Corrupt($"field number 0 in a tag at offset {at}");
        if (type is not (WireType.Varint or WireType.Fixed64 or WireType.LengthDelimited or WireType.Fixed32))
            throw Corrupt($"field {field} has wire type {(int)type} (groups or invalid) at offset {at}");
        return true;
    }

    public ulong ReadVarint()
    {
        ulong result = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            if (_position >= _buffer.Length) throw Truncated("a varint");
            byte b = _buffer[_position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return result;
        }
        throw Corrupt($"a varint longer than 10 bytes ending at offset {FileOffset}");
    }

    public long ReadInt64() => (long)ReadVarint();

    /// <summary>An int32 or enum: the low 32 bits of the varint, as protobuf specifies.</summary>
    public int ReadInt32() => unchecked((int)ReadVarint());

    public uint ReadFixed32()
    {
        if (_buffer.Length - _position < 4) throw Truncated("a 4-byte fixed field");
        uint v = BinaryPrimitives.ReadUInt32LittleEndian(_buffer[_position..]);
        _position += 4;
        return v;
    }

    public ulong ReadFixed64()
    {
        if (_buffer.Length - _position < 8) throw Truncated("an 8-byte fixed field");
        ulong v = BinaryPrimitives.ReadUInt64LittleEndian(_buffer[_position..]);
        _position += 8;
        return v;
    }

    public float ReadFloat() => BitConverter.UInt32BitsToSingle(ReadFixed32());

    public double ReadDouble() => BitConverter.UInt64BitsToDouble(ReadFixed64());

    /// <summary>The payload of a length-delimited field; <paramref name="offset"/> is its offset in the file.</summary>
    public ReadOnlySpan<byte> ReadBytes(out int offset)
    {
        int at = FileOffset;
        ulong length = ReadVarint();
        if (length > (ulong)(_buffer.Length - _position))
            throw new InvalidDataException(
                $"ONNX: truncated or corrupt file: a field of {_message} at offset {at} declares {length} bytes, but only {_buffer.Length - _position} remain in the message.");
        offset = FileOffset;
        var span = _buffer.Slice(_position, (int)length);
        _position += (int)length;
        return span;
    }

    public ReadOnlySpan<byte> ReadBytes() => ReadBytes(out _);

    public string ReadString()
    {
        var bytes = ReadBytes(out int offset);
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidDataException($"ONNX: a string of {_message} at offset {offset} is not valid UTF-8.");
        }
    }

    /// <summary>A nested message's reader.</summary>
    public ProtoReader ReadMessage(string message)
    {
        var bytes = ReadBytes(out int offset);
        return new ProtoReader(bytes, message, offset);
    }

    /// <summary>Skips a field of an unknown number.</summary>
    public void Skip(WireType type)
    {
        switch (type)
        {
            case WireType.Varint: ReadVarint(); break;
            case WireType.Fixed64: ReadFixed64(); break;
            case WireType.Fixed32: ReadFixed32(); break;
            case WireType.LengthDelimited: ReadBytes(); break;
            default: throw Corrupt($"cannot skip wire type {(int)type}");
        }
    }

    /// <summary>Reads a repeated int64 field, packed or not, into <paramref name="into"/>.</summary>
    public void ReadRepeatedInt64(WireType type, List<long> into)
    {
        if (type == WireType.Varint)
        {
            into.Add(ReadInt64());
            return;
        }
        Expect(type, WireType.LengthDelimited, "a packed int64 list");
        var inner = ReadMessage(_message);
        while (!inner.AtEnd) into.Add(inner.ReadInt64());
    }

    /// <summary>Reads a repeated float field, packed or not, into <paramref name="into"/>.</summary>
    public void ReadRepeatedFloat(WireType type, List<float> into)
    {
        if (type == WireType.Fixed32)
        {
            into.Add(ReadFloat());
            return;
        }
        Expect(type, WireType.LengthDelimited, "a packed float list");
        var inner = ReadMessage(_message);
        while (!inner.AtEnd) into.Add(inner.ReadFloat());
    }

    /// <summary>Reads a repeated double field, packed or not, into <paramref name="into"/>.</summary>
    public void ReadRepeatedDouble(WireType type, List<double> into)
    {
        if (type == WireType.Fixed64)
        {
            into.Add(ReadDouble());
            return;
        }
        Expect(type, WireType.LengthDelimited, "a packed double list");
        var inner = ReadMessage(_message);
        while (!inner.AtEnd) into.Add(inner.ReadDouble());
    }

    public readonly bool AtEnd => _position >= _buffer.Length;

    /// <summary>Throws unless a field has the wire type its schema gives it.</summary>
    public readonly void Expect(WireType actual, WireType expected, string what)
    {
        if (actual != expected)
            throw Corrupt($"{what} has wire type {(int)actual}, expected {(int)expected}, before offset {FileOffset}");
    }

    private readonly InvalidDataException Truncated(string what) =>
        new($"ONNX: truncated or corrupt file: {_message} ends at offset {_fileOffset + _buffer.Length} in the middle of {what}.");

    private readonly InvalidDataException Corrupt(string what) => new($"ONNX: corrupt file: in {_message}, {what}.");
}
