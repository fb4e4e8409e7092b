using System.Buffers.Binary;
using System.IO.Compression;

namespace LstmSharp.Cli.Data;

/// <summary>
/// An IDX file (the MNIST format): 2 zero bytes, a type byte (0x08, unsigned bytes), the number of dimensions, each
/// dimension as a big-endian 32-bit integer, then the data row-major. Gzipped files (magic 1f 8b) are read as well.
/// </summary>
public sealed class IdxFile
{
    private IdxFile(int[] shape, byte[] data)
    {
        Shape = shape;
        Data = data;
    }

    /// <summary>The dimensions, e.g. [60000, 28, 28] for images or [60000] for labels.</summary>
    public IReadOnlyList<int> Shape { get; }

    /// <summary>The values, row-major.</summary>
    public byte[] Data { get; }

    /// <summary>Reads <paramref name="path"/>, gzipped or not; a missing, truncated or malformed file is a <see cref="CliException"/>.</summary>
    public static IdxFile Load(string path)
    {
        if (!File.Exists(path)) throw new CliException($"{path}: file not found.");
        using var file = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[2];
        int got = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        file.Position = 0;
        bool gzip = got == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        using Stream stream = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        try
        {
            return Read(stream, path);
        }
        catch (InvalidDataException e)
        {
            throw new CliException($"{path}: not a valid gzip stream ({e.Message}).");
        }
    }

    /// <summary>Reads an uncompressed IDX stream; <paramref name="source"/> names it in errors.</summary>
    public static IdxFile Read(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        Span<byte> head = stackalloc byte[4];
        if (stream.ReadAtLeast(head, 4, throwOnEndOfStream: false) < 4)
            throw new CliException($"{source}: too short for an IDX file (needs a 4-byte magic number).");
        if (head[0] != 0 || head[1] != 0)
            throw new CliException($"{source}: not an IDX file (expected magic 00 00 ..., got {head[0]:x2} {head[1]:x2} ...).");
        if (head[2] != 0x08)
            throw new CliException($"{source}: IDX element type 0x{head[2]:x2} is not supported; expected 0x08 (unsigned bytes).");
        int rank = head[3];
        if (rank is < 1 or > 4) throw new CliException($"{source}: expected 1 to 4 dimensions, got {rank}.");
        var shape = new int[rank];
        Span<byte> dim = stackalloc byte[4];
        Int128 count = 1;  // up to four dimensions of 2^31: no overflow in 128 bits
        for (int k = 0; k < rank; k++)
        {
            if (stream.ReadAtLeast(dim, 4, throwOnEndOfStream: false) < 4)
                throw new CliException($"{source}: truncated in the header (dimension {k + 1} of {rank}).");
            uint n = BinaryPrimitives.ReadUInt32BigEndian(dim);
            if (n > int.MaxValue) throw new CliException($"{source}: dimension {k + 1} is {n}, too large.");
            shape[k] = (int)n;
            count *= n;
        }
        if (count > Array.MaxLength) throw new CliException($"{source}: {count} values ([{string.Join(", ", shape)}]) do not fit in memory.");
        // An uncompressed file knows its length: a header promising more than it holds is refused before allocating.
        if (stream.CanSeek && stream.Length - stream.Position < count)
            throw new CliException($"{source}: truncated: the header promises {count} values ([{string.Join(", ", shape)}]), the file holds {stream.Length - stream.Position}.");
        var data = new byte[(int)count];
        int read = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (read < data.Length)
            throw new CliException($"{source}: truncated: the header promises {count} values ([{string.Join(", ", shape)}]), the file holds {read}.");
        if (stream.ReadByte() >= 0)
            throw new CliException($"{source}: bytes after the {count} values the header promises ([{string.Join(", ", shape)}]): not an IDX file of that shape.");
        return new IdxFile(shape, data);
    }

    /// <summary>Writes an uncompressed IDX file of unsigned bytes (or gzipped when <paramref name="gzip"/>); for tests and tools.</summary>
    public static void Save(string path, IReadOnlyList<int> shape, ReadOnlySpan<byte> data, bool gzip = false)
    {
        ArgumentNullException.ThrowIfNull(shape);
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count != data.Length) throw new ArgumentException($"data: expected {count} values for shape [{string.Join(", ", shape)}], got {data.Length}.", nameof(data));
        using var file = File.Create(path);
        using Stream stream = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        stream.Write([0, 0, 0x08, (byte)shape.Count]);
        Span<byte> dim = stackalloc byte[4];
        foreach (int n in shape)
        {
            BinaryPrimitives.WriteInt32BigEndian(dim, n);
            stream.Write(dim);
        }
        stream.Write(data);
    }
}
