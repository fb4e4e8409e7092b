using System.Buffers.Binary;
using System.Text;
using LstmSharp.IO;
using LstmSharp.Layers;
using LstmSharp.Tensors;
using Xunit;

namespace LstmSharp.Tests;

public sealed class SafeTensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lstmsharp-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] Raw(string headerJson, byte[] data, long? headerLength = null) =>
        Raw(Encoding.UTF8.GetBytes(headerJson), data, headerLength);

    private static byte[] Raw(byte[] header, byte[] data, long? headerLength = null)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)(headerLength ?? header.Length));
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    [Fact]
    public void RoundTripsF32F64I64AndMetadata()
    {
        var f = new SafeTensorsFile(new Dictionary<string, string> { ["input_size"] = "3", ["note"] = "héllo \"quoted\"" });
        var a = new Tensor<float>([1.5f, -2f, float.MaxValue, float.Epsilon, 0f, -0f], 2, 3);
        var b = new Tensor<double>([Math.PI, -1e-300], 2);
        f.Add(SafeTensor.From("a.weight", a));
        f.Add(SafeTensor.From("b", b));
        f.Add(SafeTensor.FromInt64("lengths", [5, long.MaxValue, -1], 3));
        f.Add(SafeTensor.From("empty", Tensor<float>.Zeros(0, 4)));
        string path = Path.Combine(_dir, "x.safetensors");
        f.Save(path);

        var bytes = File.ReadAllBytes(path);
        Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(bytes) % 8); // data is 8-byte aligned
        var g = SafeTensorsFile.Load(path);
        Assert.Equal(["b", "lengths", "a.weight", "empty"], g.Tensors.Keys);     // widest elements first: each tensor aligned
        long dataStart = 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using (var header = System.Text.Json.JsonDocument.Parse(bytes.AsMemory(8, (int)(dataStart - 8))))
            foreach (var entry in header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__"))
            {
                long begin = entry.Value.GetProperty("data_offsets")[0].GetInt64();
                Assert.True((dataStart + begin) % SafeTensor.ElementSize(g[entry.Name].DType) == 0, $"{entry.Name} at {dataStart + begin}");
            }
        Assert.Equal(f.Metadata, g.Metadata);
        Assert.Equal(a.Data, g["a.weight"].ToTensor<float>().Data);
        Assert.Equal([2, 3], g["a.weight"].Shape);
        Assert.Equal(b.Data, g["b"].ToTensor<double>().Data);
        Assert.Equal([5L, long.MaxValue, -1L], g["lengths"].ToInt64());
        Assert.Equal([0, 4], g["empty"].Shape);
        Assert.Equal(DType.F64, g["b"].DType);
    }

    [Fact]
    public void ReadsAPyTorchWrittenFile()
    {
        var g = SafeTensorsFile.Load(Path.Combine(TestUtil.GoldenDir, "lstm_lengths.safetensors"));
        Assert.Equal("LSTM", g.Metadata["kind"]);
        Assert.Equal(DType.I64, g["lengths"].DType);
        Assert.Equal([4], g["lengths"].Shape);
        Assert.All(g["lengths"].ToInt64(), v => Assert.InRange(v, 1, 6));
        Assert.Equal([20, 3], g["weight_ih_l0"].Shape);
    }

    [Fact]
    public void WrongDtypeIsRefusedNotConverted()
    {
        var t = SafeTensor.From("w", Tensor<double>.Zeros(2));
        var e = Assert.Throws<InvalidDataException>(() => t.ToTensor<float>());
        Assert.Contains("expected dtype F32, got F64", e.Message);
        Assert.Contains("expected an integer dtype", Assert.Throws<InvalidDataException>(() => t.ToInt64()).Message);
    }

    public static TheoryData<string, byte[], string> CorruptFiles()
    {
        var d8 = new byte[8];
        var ok = """{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""";
        return new TheoryData<string, byte[], string>
        {
            { "shorter than the length field", [1, 2, 3], "fewer than the 8-byte" },
            { "header length past the end", Raw(ok, d8, headerLength: 5000), "runs past the end of the file" },
            { "header length absurd", Raw(ok, d8, headerLength: long.MaxValue), "exceeds the limit" },
            { "invalid JSON", Raw("""{"w":{"dtype":"F32",""", d8), "not valid JSON" },
            { "header not an object", Raw("[1,2]", d8), "must be a JSON object" },
            { "unknown dtype", Raw("""{"w":{"dtype":"F17","shape":[2],"data_offsets":[0,8]}}""", d8), "unknown dtype 'F17'" },
            { "offsets out of bounds", Raw("""{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}""", d8), "run past the end of the data" },
            { "offsets reversed", Raw("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}""", d8), "end before they begin" },
            { "overlapping offsets", Raw("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", d8), "overlap" },
            { "a hole", Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", d8), "hole" },
            { "trailing bytes", Raw("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", d8), "trailing bytes" },
            { "shape and offsets disagree", Raw("""{"w":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}""", new byte[24]), "need 16 bytes" },
            { "invalid UTF-8", Raw([.. "{\"w"u8, 0xFF, .. "\":1}"u8], d8), "UTF-8" },
            { "negative dimension", Raw("""{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}""", d8), "non-negative" },
            { "huge shape", Raw("""{"w":{"dtype":"F32","shape":[2147483647,2147483647,2147483647],"data_offsets":[0,8]}}""", d8), "need more bytes" },
            { "negative offset", Raw("""{"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}""", d8), "non-negative" },
            { "duplicate name", Raw("""{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", d8), "twice" },
            { "metadata not strings", Raw("""{"__metadata__":{"a":1},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", d8), "must be a string" },
            { "missing dtype", Raw("""{"w":{"shape":[2],"data_offsets":[0,8]}}""", d8), "missing string 'dtype'" },
        };
    }

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void CorruptFilesAreRefusedClearly(string what, byte[] bytes, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Parse(bytes));
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), $"{what}: '{e.Message}' lacks '{message}'");
    }

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void CorruptFilesAreRefusedClearlyByLoad(string what, byte[] bytes, string message)
    {
        string path = Path.Combine(_dir, "corrupt.safetensors");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Load(path));
        Assert.True(e.Message.Contains(message, StringComparison.Ordinal), $"{what}: '{e.Message}' lacks '{message}'");
        Assert.Contains(path, e.Message);
    }

    /// <summary>Files the reference reads: F8 tensors (kept as bytes), a tensor named "", "__metadata__": null.</summary>
    [Fact]
    public void ReadsWhatTheReferenceReads()
    {
        static byte[] File(string json, int dataBytes)
        {
            var header = System.Text.Encoding.UTF8.GetBytes(json);
            return [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. new byte[dataBytes]];
        }
        var f8 = SafeTensorsFile.Parse(File("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"q\":{\"dtype\":\"F8_E5M2\",\"shape\":[2],\"data_offsets\":[4,6]},\"r\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[6,7]}}", 7));
        Assert.Equal(DType.F8_E5M2, f8["q"].DType);
        Assert.Equal(2, f8["q"].Data.Length);
        Assert.Equal([0f], f8["a"].ToTensor<float>().Data);
        var unnamed = SafeTensorsFile.Parse(File("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4));
        Assert.Equal([""], unnamed.Tensors.Keys);
        var nullMetadata = SafeTensorsFile.Parse(File("{\"__metadata__\":null,\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4));
        Assert.Empty(nullMetadata.Metadata);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Parse(File("{\"a\":{\"dtype\":\"F32\",\"shape\":[0,3000000000],\"data_offsets\":[0,0]}}", 0)));
        Assert.Contains("dimension 3000000000", e.Message);
    }

    [Fact]
    public void LoadReadsEachTensorIntoItsOwnArrayWithoutHoldingTheWholeFile()
    {
        var f = new SafeTensorsFile(new Dictionary<string, string> { ["note"] = "big" });
        f.Add(SafeTensor.From("a", Tensor<float>.Zeros(1000, 1000)));
        f.Add(SafeTensor.From("b", new Tensor<double>([1.5, -2.5], 2)));
        f.Add(SafeTensor.From("c", Tensor<float>.Zeros(500, 1000)));
        string path = Path.Combine(_dir, "big.safetensors");
        f.Save(path);
        long size = new FileInfo(path).Length;
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        var g = SafeTensorsFile.Load(path);
        allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
        Assert.True(allocated < size + 1_000_000, $"loading {size} bytes allocated {allocated}"); // was the whole file, then a copy of each tensor
        Assert.Equal(["b", "a", "c"], g.Tensors.Keys);                           // the double first, then the floats as added
        Assert.Equal([1.5, -2.5], g["b"].ToTensor<double>().Data);
        Assert.Equal([500, 1000], g["c"].Shape);
        Assert.Equal("big", g.Metadata["note"]);
    }

    [Fact]
    public void ATensorTooLargeForOneArrayIsRefusedByName()
    {
        // The real limit is Array.MaxLength bytes (tensors over 2 GiB); a small one stands in for it here.
        var f = new SafeTensorsFile();
        f.Add(SafeTensor.From("small", Tensor<float>.Zeros(2)));
        f.Add(SafeTensor.From("large", Tensor<float>.Zeros(5)));
        string path = Path.Combine(_dir, "large.safetensors");
        f.Save(path);
        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Load(path, maxTensorBytes: 16));
        Assert.Contains(path, e.Message);
        Assert.Contains("'large'", e.Message);
        Assert.Contains("20 bytes", e.Message);
        Assert.Equal(2, SafeTensorsFile.Load(path, maxTensorBytes: 20).Tensors.Count);
    }

    [Fact]
    public void TruncatedFileIsRefusedAndNamesThePath()
    {
        string src = Path.Combine(TestUtil.GoldenDir, "lstm_1layer.safetensors");
        var bytes = File.ReadAllBytes(src);
        string path = Path.Combine(_dir, "cut.safetensors");
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length - 10).ToArray());
        var e = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Load(path));
        Assert.Contains("cut.safetensors", e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Throws<FileNotFoundException>(() => SafeTensorsFile.Load(Path.Combine(_dir, "nope.safetensors")));
    }

    [Fact]
    public void RandomCorruptionNeverEscapesAsAnotherException()
    {
        var good = File.ReadAllBytes(Path.Combine(TestUtil.GoldenDir, "lstm_bidir.safetensors"));
        var rng = new Rng(77);
        int refused = 0;
        for (int trial = 0; trial < 3000; trial++)
        {
            var bytes = (byte[])good.Clone();
            int headerEnd = 8 + (int)BinaryPrimitives.ReadUInt64LittleEndian(good);
            int flips = 1 + rng.NextInt(3);
            for (int k = 0; k < flips; k++) bytes[rng.NextInt(headerEnd)] = (byte)rng.NextInt(256);
            if (trial % 10 == 0) bytes = bytes.AsSpan(0, rng.NextInt(bytes.Length)).ToArray();
            try
            {
                SafeTensorsFile.Parse(bytes);
            }
            catch (InvalidDataException)
            {
                refused++;
            }
        }
        Assert.True(refused > 1000, $"only {refused} of 3000 corruptions were refused");
    }

    [Fact]
    public void AnInterruptedSaveLeavesThePreviousFileIntact()
    {
        string path = Path.Combine(_dir, "model.safetensors");
        var lstm = new Lstm<float>(new LstmOptions { InputSize = 2, HiddenSize = 3 }, seed: 1);
        lstm.Save(path);
        var before = File.ReadAllBytes(path);
        Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[100]);
            throw new IOException("disk full");
        }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir)); // no temporary file left behind
    }

    /// <summary>
    /// A save killed mid-write leaves its temporary file; the next write of the same file removes such leftovers of a
    /// process that no longer runs, once untouched for 10 minutes, and keeps a recent one (a write that may be in flight),
    /// one of this process, and other files' temporaries.
    /// </summary>
    [Fact]
    public void AWriteRemovesTheStaleTemporariesOfKilledWrites()
    {
        string path = Path.Combine(_dir, "ck.safetensors");
        string Temporary(string name, int pid, TimeSpan age)
        {
            string file = Path.Combine(_dir, $".{name}.{pid}.{Guid.NewGuid():N}.tmp");
            File.WriteAllBytes(file, new byte[10]);
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow - age);
            return file;
        }
        const int gone = int.MaxValue;  // no process has this id
        string stale = Temporary("ck.safetensors", gone, TimeSpan.FromHours(1));
        string recent = Temporary("ck.safetensors", gone, TimeSpan.FromMinutes(1));
        string mine = Temporary("ck.safetensors", Environment.ProcessId, TimeSpan.FromHours(1));
        string other = Temporary("other.safetensors", gone, TimeSpan.FromHours(1));
        AtomicFile.WriteAllText(path, "new");
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(recent) && File.Exists(mine) && File.Exists(other));
        Assert.Equal("new", File.ReadAllText(path));
    }

    [Fact]
    public void AWriteToAFolderIsRefusedNamingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => AtomicFile.WriteAllText(_dir, "x"));
        Assert.Equal("path", e.ParamName);
        Assert.Contains($"'{_dir}' is a folder", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));  // nothing written, no temporary left
    }

    [Fact]
    public void AWriteWhoseCallbackDisposesItsWriterSucceeds()
    {
        string path = Path.Combine(_dir, "notes.txt");
        AtomicFile.Write(path, s =>
        {
            using var w = new StreamWriter(s);
            w.Write("hello");
        });
        Assert.Equal("hello", File.ReadAllText(path));
        AtomicFile.Write(path, s => s.Dispose()); // an empty file, still written whole
        Assert.Equal(0, new FileInfo(path).Length);
        Assert.Single(Directory.GetFiles(_dir));
    }

    /// <summary>A symbolic link stays a link (the file it points at is replaced); a device (/dev/null) is written directly.</summary>
    [SkippableFact]
    public void AnAtomicWriteKeepsALinkAndWritesADeviceDirectly()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links and /dev/null as on Linux (CI and this machine)");
        string target = Path.Combine(_dir, "real.json"), link = Path.Combine(_dir, "latest.json");
        File.WriteAllText(target, "old");
        File.CreateSymbolicLink(link, target);
        AtomicFile.WriteAllText(link, "new");
        Assert.NotNull(new FileInfo(link).LinkTarget);
        Assert.Equal("new", File.ReadAllText(target));
        AtomicFile.WriteAllText("/dev/null", "nothing");
        Assert.Equal(0, new FileInfo("/dev/null").Length);                         // still the device (a file put in its place holds 7 bytes)
        Assert.Empty(Directory.GetFiles("/dev", ".null.*"));                       // and no temporary file beside it
        Assert.Equal(["latest.json", "real.json"], Directory.GetFiles(_dir).Select(Path.GetFileName).Order());
    }

    /// <summary>WriteAllText: UTF-8 without a byte-order mark, over an old file, into a folder it creates, no temporary file left.</summary>
    [Fact]
    public void WriteAllTextWritesUtf8WholeAndCreatesTheFolder()
    {
        string path = Path.Combine(_dir, "sub", "notes.json");
        AtomicFile.WriteAllText(path, "first, longer content");
        AtomicFile.WriteAllText(path, "{\"é\": 1}\n");
        Assert.Equal([(byte)'{', (byte)'"', 0xC3, 0xA9, (byte)'"', (byte)':', (byte)' ', (byte)'1', (byte)'}', (byte)'\n'], File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(Path.Combine(_dir, "sub")));
    }

    [Fact]
    public void ANullMetadataValueIsRefusedAtSaveByKey()
    {
        string path = Path.Combine(_dir, "null.safetensors");
        var f = new SafeTensorsFile(new Dictionary<string, string> { ["fine"] = "yes", ["note"] = null! });
        f.Add(SafeTensor.From("w", Tensor<float>.Zeros(2)));
        var e = Assert.Throws<ArgumentException>(() => f.Save(path));
        Assert.Contains("'note'", e.Message);
        Assert.False(File.Exists(path)); // was written with "note": null, which Load refuses
        Assert.Empty(Directory.GetFiles(_dir));
        f.Metadata["note"] = "";
        f.Save(path);
        Assert.Equal("", SafeTensorsFile.Load(path).Metadata["note"]);
    }

    [Fact]
    public void LstmSavesAndLoadsWithItsOptions()
    {
        string path = Path.Combine(_dir, "m.safetensors");
        var o = new LstmOptions { InputSize = 3, HiddenSize = 6, NumLayers = 2, ProjSize = 2, Bidirectional = true, BatchFirst = true, Dropout = 0.25, Bias = false };
        var lstm = new Lstm<double>(o, seed: 5);
        lstm.Save(path);
        var back = Lstm<double>.Load(path);
        Assert.Equal(o, back.Options);
        foreach (var p in lstm.Parameters) Assert.Equal(p.Value.Data, back.GetParameter(p.Name).Value.Data);
        Assert.Equal("weight_hr_l1_reverse", SafeTensorsFile.Load(path).Tensors.Keys.Last());
        var e = Assert.Throws<InvalidDataException>(() => Lstm<float>.Load(path));
        Assert.Contains(path, e.Message);
        Assert.True(e.Message.Contains("expected dtype F32 for Single weights, but 'weight_ih_l0' is F64, 'weight_hh_l0' is F64, 'weight_hr_l0' is F64 and 9 more (load it as double)"), e.Message);
    }

    /// <summary>Metadata that cannot be LSTM options is refused by Load as a bad file (naming the path), not as a bad argument.</summary>
    [Fact]
    public void LstmLoadRefusesBadOptionsInTheMetadataNamingThePath()
    {
        string path = Path.Combine(_dir, "bad.safetensors");
        foreach (var (key, value, expected) in new[] { ("hidden_size", "four", "bad.safetensors': metadata: 'hidden_size' must be an integer, got 'four'."),
                                                                 ("num_layers", "0", "bad.safetensors': metadata: 'num_layers' ('0') is invalid: NumLayers: expected at least 1, got 0.") })
        {
            new Lstm<float>(new LstmOptions { InputSize = 3, HiddenSize = 4 }, seed: 1).Save(path);
            var file = SafeTensorsFile.Load(path);
            file.Metadata[key] = value;
            file.Save(path);
            var e = Assert.Throws<InvalidDataException>(() => Lstm<float>.Load(path));
            Assert.Contains(path, e.Message);
            Assert.True(e.Message.Contains(expected), e.Message);
        }
    }
}
