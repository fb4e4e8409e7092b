using LstmSharp.Kernels;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>Tests that change process-wide settings run alone, so that no other test sees them changed.</summary>
[CollectionDefinition(nameof(ProcessWideSettings), DisableParallelization = true)]
public sealed class ProcessWideSettings;

/// <summary><c>--threads</c> and <see cref="Parallelism.MaxThreads"/>.</summary>
[Collection(nameof(ProcessWideSettings))]
public sealed class ThreadSettingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lstmsharp-threads-").FullName;
    private readonly int _before = Parallelism.MaxThreads;

    public void Dispose()
    {
        Parallelism.MaxThreads = _before;
        Directory.Delete(_dir, recursive: true);
    }

    private string P(string name) => Path.Combine(_dir, name);

    /// <summary>
    /// --threads 1 keeps every computation on one thread, --threads 8 asks for all the kernels use (two): the trained
    /// weights are the same bit for bit (the splits never divide a sum), and the count that cannot be had is noted.
    /// </summary>
    [Fact]
    public void OneThreadAndTwoTrainTheSameModel()
    {
        string idx = P("idx");
        Directory.CreateDirectory(idx);
        CliDataTests.WriteMnist(idx, train: 64, test: 8, rows: 12, columns: 5, gzipTrain: false);
        string[] args = ["train", "classify", "--idx", idx, "--hidden", "64", "--batch", "32", "--epochs", "1", "--val-fraction", "0"];
        var one = CliCommandTests.Run([.. args, "--out", P("t1"), "--threads", "1"]);
        Assert.True(one.Code == 0, one.Err);
        Assert.Equal(1, Parallelism.MaxThreads);
        var many = CliCommandTests.Run([.. args, "--out", P("t8"), "--threads", "8"]);
        Assert.True(many.Code == 0, many.Err);
        Assert.Equal(Parallelism.CanUseTwo ? 2 : 1, Parallelism.MaxThreads);
        Assert.Contains("--threads 8: ", many.Out);
        Assert.Equal(File.ReadAllBytes(P("t1/model.safetensors")), File.ReadAllBytes(P("t8/model.safetensors")));
    }

    [Fact]
    public void TheDefaultLeavesTheLibrarySettingAlone()
    {
        Parallelism.MaxThreads = 1;
        string idx = P("idx0");
        Directory.CreateDirectory(idx);
        CliDataTests.WriteMnist(idx, train: 16, test: 4, rows: 4, columns: 3, gzipTrain: false);
        var run = CliCommandTests.Run("train", "classify", "--idx", idx, "--hidden", "4", "--epochs", "1", "--out", P("d"));
        Assert.True(run.Code == 0, run.Err);
        Assert.Equal(1, Parallelism.MaxThreads);  // as LSTMSHARP_THREADS=1 would have set it
        Assert.Throws<ArgumentOutOfRangeException>(() => Parallelism.MaxThreads = -1);
    }
}
