using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace LstmSharp.IO;

/// <summary>
/// A safetensors file: an 8-byte little-endian header length, a JSON header (name → dtype, shape, data_offsets;
/// plus <c>__metadata__</c>, string → string), then the tensors' bytes. Reading checks everything before it
/// returns, so a truncated or corrupt file is refused with an <see cref="InvalidDataException"/> and nothing is
/// read out of bounds. Saving is atomic (<see cref="AtomicFile.Write"/>).
/// </summary>
public sealed class SafeTensorsFile
{
    /// <summary>The largest header accepted, as the reference implementation (100 MB).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly Dictionary<string, SafeTensor> _tensors = new();
    private readonly Dictionary<string, string> _metadata = new();

    /// <summary>An empty file, optionally with metadata.</summary>
    public SafeTensorsFile(IReadOnlyDictionary<string, string>? metadata = null)
    {
        if (metadata is not null)
            foreach (var (k, v) in metadata) _metadata[k] = v;
    }

    /// <summary>The tensors by name: in file order for a loaded file, in the order added for one built in memory (<see cref="Save"/> writes the widest elements first).</summary>
    public IReadOnlyDictionary<string, SafeTensor> Tensors => _tensors;

    /// <summary>The <c>__metadata__</c> strings.</summary>
    public Dictionary<string, string> Metadata => _metadata;

    /// <summary>The tensor named <paramref name="name"/>; a clear error when absent.</summary>
    public SafeTensor this[string name] => _tensors.TryGetValue(name, out var t)
        ? t
        : throw new KeyNotFoundException($"name: the file has no tensor '{name}'.");

    /// <summary>Adds a tensor; names are unique.</summary>
    public void Add(SafeTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (tensor.Name == "__metadata__")
            throw new ArgumentException("tensor: the name '__metadata__' is reserved.", nameof(tensor));
        if (!_tensors.TryAdd(tensor.Name, tensor))
            throw new ArgumentException($"tensor: a tensor named '{tensor.Name}' is already in the file.", nameof(tensor));
    }

    /// <summary>
    /// Reads and validates a file. The header is read and checked first, then each tensor's bytes into an array of its own,
    /// so files over 2 GB load as long as each tensor fits in one array (<see cref="Array.MaxLength"/> bytes); a larger
    /// tensor is refused by name.
    /// </summary>
    /// <param name="path">The file.</param>
    public static SafeTensorsFile Load(string path) => Load(path, Array.MaxLength);

    /// <summary><see cref="Load(string)"/> with a lower limit on one tensor's bytes (tests stand it in for <see cref="Array.MaxLength"/>).</summary>
    internal static SafeTensorsFile Load(string path, long maxTensorBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"path: no such file '{path}'.", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0);
        try
        {
            long length = stream.Length;
            Span<byte> lengthField = stackalloc byte[8];
            int headerLength = CheckHeaderLength(length, stream.ReadAtLeast(lengthField, 8, throwOnEndOfStream: false) == 8 ? lengthField : []);
            var header = new byte[headerLength];
            stream.ReadExactly(header);
            var file = new SafeTensorsFile();
            long dataStart = 8 + headerLength;
            var entries = ParseHeader(header, length - dataStart, file._metadata);
            foreach (var (name, dtype, shape, begin, end) in entries)  // all checked before any tensor's memory is taken
                if (end - begin > maxTensorBytes)
                    throw new InvalidDataException(
                        $"tensor '{name}' of dtype {dtype} and shape [{string.Join(", ", shape)}] holds {end - begin} bytes, more than the {maxTensorBytes} bytes one array can hold; it cannot be loaded.");
            foreach (var (name, dtype, shape, begin, end) in entries)
            {
                var data = new byte[end - begin];
                stream.Position = dataStart + begin;
                stream.ReadExactly(data);
                file._tensors.Add(name, new SafeTensor(name, dtype, shape, data));
            }
            return file;
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException($"{path}: the file ended early while it was read (changed or truncated meanwhile).", e);
        }
    }

    /// <summary>Parses and validates the bytes of a file.</summary>
    /// <param name="bytes">The whole file.</param>
    public static SafeTensorsFile Parse(ReadOnlySpan<byte> bytes)
    {
        int headerLength = CheckHeaderLength(bytes.Length, bytes.Length >= 8 ? bytes[..8] : []);
        var data = bytes[(8 + headerLength)..];
        var file = new SafeTensorsFile();
        foreach (var (name, dtype, shape, begin, end) in ParseHeader(bytes.Slice(8, headerLength), data.Length, file._metadata))
            file._tensors.Add(name, new SafeTensor(name, dtype, shape, data[(int)begin..(int)end].ToArray()));
        return file;
    }

    /// <summary>The header's length, checked against the limit and the file's length; <paramref name="lengthField"/> is empty when the file is shorter.</summary>
    private static int CheckHeaderLength(long fileLength, ReadOnlySpan<byte> lengthField)
    {
        if (fileLength < 8 || lengthField.Length < 8)
            throw new InvalidDataException($"not a safetensors file: {fileLength} bytes, fewer than the 8-byte header length.");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(lengthField);
        if (headerLength > MaxHeaderBytes)
            throw new InvalidDataException($"header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes.");
        if (headerLength > (ulong)(fileLength - 8))
            throw new InvalidDataException(
                $"header length {headerLength} runs past the end of the file ({fileLength - 8} bytes after the length field): the file is truncated or corrupt.");
        return (int)headerLength;
    }

    /// <summary>
    /// Parses the JSON header into <paramref name="metadata"/> and the tensors' entries (in file order), checked against
    /// <paramref name="dataLength"/>, the bytes after the header: sizes, bounds, and an exact cover with no overlaps or holes.
    /// </summary>
    private static List<(string Name, DType DType, int[] Shape, long Begin, long End)> ParseHeader(
        ReadOnlySpan<byte> header, long dataLength, Dictionary<string, string> metadata)
    {
        if (!System.Text.Unicode.Utf8.IsValid(header))
            throw new InvalidDataException("the header is not valid UTF-8 text.");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header.ToArray(), new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"the header is not valid JSON: {e.Message}", e);
        }

        using (doc)
        {
            try
            {
                return ReadEntries(doc, dataLength, metadata);
            }
            catch (InvalidOperationException e)
            {
                // System.Text.Json reading a string that escapes a lone surrogate ("\ud800"), which no .NET string can hold as text.
                throw new InvalidDataException($"the header holds a name or value that is not valid Unicode text: {e.Message}", e);
            }
        }
    }

    /// <summary>The entries of a parsed header (the metadata into <paramref name="metadata"/>), checked against the data's length.</summary>
    private static List<(string Name, DType DType, int[] Shape, long Begin, long End)> ReadEntries(
        JsonDocument doc, long dataLength, Dictionary<string, string> metadata)
    {
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"the header must be a JSON object, got {doc.RootElement.ValueKind}.");
        var entries = new List<(string Name, DType DType, int[] Shape, long Begin, long End)>();
        var seen = new HashSet<string>();
        foreach (var prop in doc.RootElement.EnumerateObject())
        {
            if (!seen.Add(prop.Name))
                throw new InvalidDataException($"the header names '{prop.Name}' twice.");
            if (prop.Name == "__metadata__")
            {
                ReadMetadata(prop.Value, metadata);
                continue;
            }
            var (dtype, shape, begin, end) = ReadEntry(prop.Name, prop.Value);
            if (end > dataLength)
                throw new InvalidDataException(
                    $"tensor '{prop.Name}': data_offsets [{begin}, {end}] run past the end of the data ({dataLength} bytes): the file is truncated or corrupt.");
            long size = ByteSize(prop.Name, dtype, shape, dataLength);
            if (end - begin != size)
                throw new InvalidDataException(
                    $"tensor '{prop.Name}': dtype {dtype} and shape [{string.Join(", ", shape)}] need {size} bytes, but data_offsets [{begin}, {end}] hold {end - begin}.");
            entries.Add((prop.Name, dtype, shape, begin, end));
        }

        // The data buffer must be covered exactly: no overlaps, no holes (as the format's reference implementation requires).
        var spans = entries.OrderBy(e => e.Begin).ThenBy(e => e.End).ToList();
        long cursor = 0;
        foreach (var (name, _, _, begin, end) in spans)
        {
            if (begin < cursor)
                throw new InvalidDataException($"tensor '{name}': data_offsets [{begin}, {end}] overlap the previous tensor, which ends at {cursor}.");
            if (begin > cursor)
                throw new InvalidDataException($"tensor '{name}': data_offsets start at {begin}, leaving a hole after byte {cursor}.");
            cursor = end;
        }
        if (cursor != dataLength)
            throw new InvalidDataException($"the tensors cover {cursor} bytes of data, but the file holds {dataLength}: trailing bytes.");
        return entries;
    }

    /// <summary>
    /// Writes the file atomically, as <see cref="AtomicFile.Write"/> (a temporary file, flushed, then renamed over
    /// <paramref name="path"/>; a link stays a link, a device is written directly). Refused before anything is written:
    /// a null metadata value, or a name or value with a lone UTF-16 surrogate (an <see cref="ArgumentException"/> naming
    /// it), and a header over <see cref="MaxHeaderBytes"/> (an <see cref="InvalidOperationException"/>).
    /// </summary>
    public void Save(string path) => AtomicFile.Write(path, WriteTo);  // WriteTo checks the metadata; a refusal leaves the old file

    /// <summary>
    /// Writes the file's bytes to <paramref name="stream"/>; a null metadata value is refused, naming its key, and so is a
    /// header longer than <see cref="MaxHeaderBytes"/> (which <see cref="Load(string)"/> would refuse), before anything is written.
    /// </summary>
    public void WriteTo(Stream stream) => WriteTo(stream, MaxHeaderBytes);

    /// <summary><see cref="WriteTo(Stream)"/> with another header limit (tests stand it in for <see cref="MaxHeaderBytes"/>).</summary>
    internal void WriteTo(Stream stream, long maxHeaderBytes)
    {
        ArgumentNullException.ThrowIfNull(stream);
        CheckMetadata();
        // Widest elements first, each size's tensors in the order added (a stable sort): with the header padded to a
        // multiple of 8, every tensor's data then starts at a multiple of its element size, as the reference writer keeps it.
        var ordered = _tensors.Values.OrderByDescending(t => SafeTensor.ElementSize(t.DType)).ToList();
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            if (_metadata.Count > 0)
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in _metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in ordered)
            {
                w.WriteStartObject(t.Name);
                w.WriteString("dtype", t.DType.ToString());
                w.WriteStartArray("shape");
                foreach (int d in t.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + t.Data.Length);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += t.Data.Length;
            }
            w.WriteEndObject();
        }
        // Pad the header with spaces to a multiple of 8 bytes, as the reference writer does, so the data is aligned.
        int pad = (int)((8 - json.Length % 8) % 8);
        if (json.Length + pad > maxHeaderBytes)
            throw new InvalidOperationException(
                $"The header would take {json.Length + pad} bytes, more than the {maxHeaderBytes} that Load reads (mostly metadata: {_metadata.Sum(kv => (long)kv.Key.Length + kv.Value.Length)} characters); nothing was written.");
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)(json.Length + pad));
        stream.Write(len);
        json.Position = 0;
        json.CopyTo(stream);
        for (int i = 0; i < pad; i++) stream.WriteByte((byte)' ');
        foreach (var t in ordered) stream.Write(t.Data);
    }

    private void CheckMetadata()
    {
        foreach (var (k, v) in _metadata)
        {
            if (v is null)
                throw new ArgumentException(
                    $"Metadata: the value of '{k}' is null; metadata values must be strings (\"\" for none), or a reader refuses the file.", nameof(Metadata));
            if (!SafeTensor.IsWellFormed(k) || !SafeTensor.IsWellFormed(v))
                throw new ArgumentException(
                    $"Metadata: the {(SafeTensor.IsWellFormed(k) ? $"value of '{k}'" : "key '" + k + "'")} holds a lone UTF-16 surrogate, which UTF-8 cannot store; it would load changed.", nameof(Metadata));
        }
    }

    private static void ReadMetadata(JsonElement e, Dictionary<string, string> into)
    {
        if (e.ValueKind == JsonValueKind.Null) return;  // as the reference reader: null is no metadata
        if (e.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"__metadata__ must be an object of strings, got {e.ValueKind}.");
        foreach (var p in e.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"__metadata__['{p.Name}'] must be a string, got {p.Value.ValueKind}.");
            into[p.Name] = p.Value.GetString()!;
        }
    }

    private static (DType, int[], long, long) ReadEntry(string name, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"tensor '{name}': expected an object with dtype, shape and data_offsets, got {e.ValueKind}.");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"tensor '{name}': missing string 'dtype'.");
        string dtypeName = dt.GetString()!;
        if (!Enum.TryParse<DType>(dtypeName, ignoreCase: false, out var dtype) || !Enum.IsDefined(dtype) || dtypeName != dtype.ToString())
            throw new InvalidDataException(
                $"tensor '{name}': unknown dtype '{dtypeName}'; expected one of {string.Join(", ", Enum.GetNames<DType>())}.");
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"tensor '{name}': missing array 'shape'.");
        var shape = new int[sh.GetArrayLength()];
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0)
                throw new InvalidDataException($"tensor '{name}': shape entries must be non-negative integers, got {d.GetRawText()}.");
            if (v > int.MaxValue)
                throw new InvalidDataException($"tensor '{name}': dimension {v} of shape {d.GetRawText()} is more than LstmSharp's tensors hold in one dimension ({int.MaxValue}).");
            shape[i++] = (int)v;
        }
        if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new InvalidDataException($"tensor '{name}': 'data_offsets' must be an array [begin, end].");
        long begin = ReadOffset(name, off[0]), end = ReadOffset(name, off[1]);
        if (end < begin)
            throw new InvalidDataException($"tensor '{name}': data_offsets [{begin}, {end}] end before they begin.");
        return (dtype, shape, begin, end);
    }

    private static long ByteSize(string name, DType dtype, int[] shape, long available)
    {
        if (shape.Contains(0)) return 0;
        long size = SafeTensor.ElementSize(dtype);
        foreach (int d in shape)
        {
            if (size > available / d) // then size * d > available (checked before multiplying, so it cannot overflow)
                throw new InvalidDataException(
                    $"tensor '{name}': dtype {dtype} and shape [{string.Join(", ", shape)}] need more bytes than the file's {available} bytes of data.");
            size *= d;
        }
        return size;
    }

    private static long ReadOffset(string name, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v) || v < 0)
            throw new InvalidDataException($"tensor '{name}': data_offsets must be non-negative integers, got {e.GetRawText()}.");
        return v;
    }
}
