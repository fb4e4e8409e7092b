using System.Text.Json;
using LstmSharp.Cli;
using LstmSharp.Cli.Data;
using LstmSharp.Cli.Forecasting;
using LstmSharp.Cli.Output;
using LstmSharp.Cli.Text;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>The CLI's data readers, baselines and files, without training.</summary>
public sealed class CliDataTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lstmsharp-cli-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static CsvTable Csv(string text) => CsvTable.Parse(new StringReader(text), "t.csv");

    [Fact]
    public void TheAirlineSeriesHasTheKnownYearlyTotals()
    {
        var v = AirlinePassengers.Values;
        Assert.Equal(144, v.Count);
        int[] totals = [1520, 1676, 2042, 2364, 2700, 2867, 3408, 3939, 4421, 4572, 5140, 5714];
        for (int year = 0; year < 12; year++) Assert.Equal(totals[year], v.Skip(12 * year).Take(12).Sum());
        Assert.Equal(40363, v.Sum());
        Assert.Equal([112.0, 118, 132, 129], v.Take(4));
        Assert.Equal([390.0, 432], v.TakeLast(2));
        Assert.Equal("1949-01", AirlinePassengers.Months[0]);
        Assert.Equal("1960-12", AirlinePassengers.Months[^1]);
    }

    [Fact]
    public void CsvReadsQuotedFieldsAndSkipsBlankLines()
    {
        var t = Csv("date,\"name, full\",value\n\n2020-01,\"a \"\"b\"\", c\",1.5\n2020-02,x,-2e3\n\n");
        Assert.Equal(["date", "name, full", "value"], t.Header);
        Assert.Equal(2, t.Rows.Count);
        Assert.Equal("a \"b\", c", t.Rows[0][1]);
        Assert.Equal([3, 4], t.LineNumbers);
        Assert.Equal([1.5, -2000], t.Numbers(t.Column("value")));
        Assert.Equal(2, t.Column("VALUE"));
    }

    [Fact]
    public void ARaggedCsvRowNamesItsLine()
    {
        var e = Assert.Throws<CliException>(() => Csv("a,b\n1,2\n3\n4,5\n"));
        Assert.Equal("t.csv line 3: expected 2 fields as in the header, got 1.", e.Message);
    }

    [Fact]
    public void ANonNumericValueNamesItsLineAndColumn()
    {
        var t = Csv("month,passengers\n1949-01,112\n\n1949-02,n/a\n");
        var e = Assert.Throws<CliException>(() => t.Numbers(1));
        Assert.Equal("t.csv line 4, column 'passengers' (2): 'n/a' is not a finite number.", e.Message);
        Assert.Contains("'NaN' is not a finite number", Assert.Throws<CliException>(() => Csv("v\nNaN\n").Numbers(0)).Message);
    }

    [Fact]
    public void CsvProblemsAreNamed()
    {
        Assert.Contains("the columns are 'a', 'b'", Assert.Throws<CliException>(() => Csv("a,b\n1,2\n").Column("c")).Message);
        Assert.Contains("the file is empty", Assert.Throws<CliException>(() => Csv("\n\n")).Message);
        Assert.Contains("names column 'a' twice", Assert.Throws<CliException>(() => Csv("a,a\n1,2\n")).Message);
        Assert.Contains("line 2: a quoted field is not closed", Assert.Throws<CliException>(() => Csv("a\n\"x\n")).Message);
        Assert.Contains("file not found", Assert.Throws<CliException>(() => CsvTable.Load(Path.Combine(_dir, "missing.csv"))).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IdxFilesRoundTripGzippedOrNot(bool gzip)
    {
        string path = Path.Combine(_dir, gzip ? "x.idx.gz" : "x.idx");
        byte[] data = [.. Enumerable.Range(0, 2 * 3 * 4).Select(i => (byte)(i * 10))];
        IdxFile.Save(path, [2, 3, 4], data, gzip);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(gzip, bytes[0] == 0x1f && bytes[1] == 0x8b);
        var idx = IdxFile.Load(path);
        Assert.Equal([2, 3, 4], idx.Shape);
        Assert.Equal(data, idx.Data);
    }

    [Fact]
    public void IdxHeaderAndLengthAreChecked()
    {
        string path = Path.Combine(_dir, "bad.idx");
        File.WriteAllBytes(path, [0, 0, 0x08, 1, 0, 0, 0, 5, 1, 2]);
        Assert.Contains("truncated: the header promises 5 values ([5]), the file holds 2", Assert.Throws<CliException>(() => IdxFile.Load(path)).Message);
        File.WriteAllBytes(path, [1, 2, 3, 4]);
        Assert.Contains("not an IDX file", Assert.Throws<CliException>(() => IdxFile.Load(path)).Message);
        File.WriteAllBytes(path, [0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0]);
        Assert.Contains("element type 0x0d is not supported", Assert.Throws<CliException>(() => IdxFile.Load(path)).Message);
        // [2^22, 2^21, 2^21]: 2^64 values, which wrapped to 0 in 64 bits and read as an empty file.
        File.WriteAllBytes(path, [0, 0, 0x08, 3, 0, 0x40, 0, 0, 0, 0x20, 0, 0, 0, 0x20, 0, 0]);
        Assert.Contains("do not fit in memory", Assert.Throws<CliException>(() => IdxFile.Load(path)).Message);
        File.WriteAllBytes(path, [0, 0, 0x08, 1, 0, 0, 0, 2, 1, 2, 3]);
        Assert.Contains("bytes after the 2 values", Assert.Throws<CliException>(() => IdxFile.Load(path)).Message);
        string dir = Path.Combine(_dir, "zero");
        Directory.CreateDirectory(dir);
        IdxFile.Save(Path.Combine(dir, "train-images-idx3-ubyte"), [3, 0, 4], []);
        IdxFile.Save(Path.Combine(dir, "train-labels-idx1-ubyte"), [3], [0, 1, 0]);
        Assert.Contains("images of 0x4 pixels", Assert.Throws<CliException>(() => MnistData.Load(dir)).Message);
    }

    [Fact]
    public void AColumnNamedInAnotherCaseMustBeUnambiguous()
    {
        var table = Csv("Value,value,x\n1,2,3\n");
        Assert.Equal(1, table.Column("value"));
        Assert.Equal(2, table.Column("X"));
        Assert.Contains("'Value' and 'value' differ from it only in case", Assert.Throws<CliException>(() => table.Column("VALUE")).Message);
    }

    [Fact]
    public void MnistFolderReadsImagesAsRowsScaledToOne()
    {
        WriteMnist(_dir, train: 5, test: 3, rows: 4, columns: 6, gzipTrain: true);
        var data = MnistData.Load(_dir);
        Assert.Equal((5, 3, 4, 6), (data.TrainImages.Length, data.TestImages.Length, data.Rows, data.Columns));
        Assert.Equal(24, data.TrainImages[0].Length);
        Assert.Equal(((1 * 24 + 7) % 256) / 255f, data.TrainImages[1][7]);
        Assert.Equal([0, 1, 2, 0, 1], data.TrainLabels);
        Assert.Equal(3, data.Classes);
        Assert.Equal(2, MnistData.Load(_dir, limit: 2).TrainImages.Length);
        File.Delete(Path.Combine(_dir, "t10k-labels-idx1-ubyte"));
        Assert.Contains("missing t10k-labels-idx1-ubyte", Assert.Throws<CliException>(() => MnistData.Load(_dir)).Message);
    }

    /// <summary>
    /// --limit keeps the first images, but the files are checked whole: the image and label counts (a mismatch is not
    /// hidden by the limit) and the classes (the largest label of all, not of the first few).
    /// </summary>
    [Fact]
    public void MnistLimitChecksTheWholeFiles()
    {
        WriteMnist(_dir, train: 6, test: 3, rows: 2, columns: 2, gzipTrain: false);
        Assert.Equal(3, MnistData.Load(_dir, limit: 1).Classes);                   // labels 0, 1, 2: the first alone is 0
        IdxFile.Save(Path.Combine(_dir, "train-labels-idx1-ubyte"), [5], [0, 1, 2, 0, 1]);
        Assert.Contains("6 training images but 5 labels", Assert.Throws<CliException>(() => MnistData.Load(_dir, limit: 2)).Message);
    }

    /// <summary>
    /// Real-world CSV problems named, never misread: Latin-1 bytes (which made 'Bär' and 'Bör' one class), a value
    /// beyond float's range (which became ∞), a series value whose square overflows (which made the scaler ∞).
    /// </summary>
    [Fact]
    public void CsvValuesOutsideWhatTheModelsReadAreNamed()
    {
        string latin1 = Path.Combine(_dir, "latin1.csv");
        File.WriteAllBytes(latin1, [.. "label,x\nK"u8, 0xE4, .. "se,1\n"u8]);           // "Käse" in Latin-1 on line 2
        var e = Assert.Throws<CliException>(() => CsvTable.Load(latin1));
        Assert.Contains("latin1.csv line 2", e.Message);
        Assert.Contains("not UTF-8 text: invalid bytes (E4) at byte 9", e.Message);
        string marked = Path.Combine(_dir, "bom-latin1.csv");
        File.WriteAllBytes(marked, [0xEF, 0xBB, 0xBF, .. "label,x\nK"u8, 0xE4, .. "se,1\n"u8]);  // Excel's "CSV UTF-8" mark, then a Latin-1 byte
        Assert.Contains("line 2: not UTF-8 text: invalid bytes (E4) at byte 12", Assert.Throws<CliException>(() => CsvTable.Load(marked)).Message);  // (the mark counts)
        string utf16 = Path.Combine(_dir, "utf16.csv");
        File.WriteAllText(utf16, "label,x\nKäse,1\n", new System.Text.UnicodeEncoding(false, true));  // a byte-order mark names it
        Assert.Equal("Käse", CsvTable.Load(utf16).Rows[0][0]);

        string huge = Path.Combine(_dir, "huge.csv");
        File.WriteAllText(huge, "label,a,b\nx,1,2\ny,1e39,3\n");
        Assert.Contains("huge.csv line 3, column 'a' (2): '1e39' is out of range for float", Assert.Throws<CliException>(() => SequenceCsv.Load(huge, "label", 0, 0)).Message);

        string series = Path.Combine(_dir, "series.csv");
        File.WriteAllText(series, "t,value\n1,5\n2,-1e300\n");
        Assert.Contains("series.csv line 3, column 'value' (2): -1E+300 is too large to forecast", Assert.Throws<CliException>(() => Series.FromCsv(series, "value", null)).Message);
    }

    /// <summary>A label column named in another case is the label (as training reads it), not a feature; --limit draws at random.</summary>
    [Fact]
    public void ClassifyCsvLabelCaseAndLimit()
    {
        string path = Path.Combine(_dir, "sorted.csv");
        File.WriteAllLines(path, new[] { "Label,a,b" }.Concat(Enumerable.Range(0, 200).Select(i => $"{(i < 100 ? "zero" : "one")},{i % 7},{i % 5}")));
        var read = SequenceCsv.Load(path, "label", 0, 0, labelOptional: true);
        Assert.Equal(2, read.Inputs[0].Length);                                   // a and b: the label column is not a feature
        Assert.NotNull(read.Labels);
        var limited = LstmSharp.Cli.Classification.ClassifyData.FromCsv(path, "label", 0, 0, 0.2, seed: 1, limit: 20);
        Assert.Equal(20, limited.TrainLabels.Length);
        Assert.Equal(2, limited.TrainLabels.Distinct().Count());                  // the file's first 20 rows are all "zero"
    }

    /// <summary>Writes MNIST-style files: pixel (i, k) = (i · size + k) mod 256, label i mod 3.</summary>
    internal static void WriteMnist(string dir, int train, int test, int rows, int columns, bool gzipTrain)
    {
        void Write(string name, int n, bool gzip)
        {
            var images = Enumerable.Range(0, n * rows * columns).Select(i => (byte)(i % 256)).ToArray();
            var labels = Enumerable.Range(0, n).Select(i => (byte)(i % 3)).ToArray();
            IdxFile.Save(Path.Combine(dir, $"{name}-images-idx3-ubyte" + (gzip ? ".gz" : "")), [n, rows, columns], images, gzip);
            IdxFile.Save(Path.Combine(dir, $"{name}-labels-idx1-ubyte" + (gzip ? ".gz" : "")), [n], labels, gzip);
        }
        Write("train", train, gzipTrain);
        Write("t10k", test, false);
    }

    [Fact]
    public void SeasonalNaiveRepeatsTheLastObservedSeason()
    {
        double[] y = [1, 2, 3, 4, 5, 6, 7, 8];
        Assert.Equal([6.0, 7, 8, 6, 7], Baselines.SeasonalNaive(y, 8, 5, 3));
        Assert.Equal([3.0, 4, 3, 4], Baselines.SeasonalNaive(y, 4, 4, 2));
        Assert.Equal([8.0, 8, 8], Baselines.LastValue(y, 8, 3));
        Assert.Equal([4.0, 4], Baselines.LastValue(y, 4, 2));
        Assert.Equal(Baselines.LastValue(y, 6, 4), Baselines.SeasonalNaive(y, 6, 4, 1));
        Assert.Throws<ArgumentException>(() => Baselines.SeasonalNaive(y, 2, 1, 3));
    }

    [Fact]
    public void TheAirlineBaselinesHaveTheirKnownErrors()
    {
        var y = AirlinePassengers.Values;
        var actual = y.Skip(120).ToArray();
        var naive = Baselines.SeasonalNaive(y, 120, 24, 12);
        Assert.Equal(y.Skip(108).Take(12).Concat(y.Skip(108).Take(12)), naive);
        Assert.Equal(76.9946, ErrorMetrics.Rmse(naive, actual), 4);
        Assert.Equal(71.25, ErrorMetrics.Mae(naive, actual), 10);
        Assert.Equal(137.3290, ErrorMetrics.Rmse(Baselines.LastValue(y, 120, 24), actual), 4);
        // With drift, in log space: the mean growth of the 108 known seasonal ratios, k seasons ahead (computed apart: 17.0159).
        var drift = Baselines.SeasonalNaiveWithDrift(y, 120, 24, 12, log: true);
        Assert.Equal(17.0159, ErrorMetrics.Rmse(drift, actual), 4);
        Assert.Equal(13.2788, ErrorMetrics.Mae(drift, actual), 4);
        // A linear trend with any season is forecast exactly by seasonal naive with drift (without log).
        double[] line = [.. Enumerable.Range(0, 40).Select(t => 3 + 0.5 * t)];
        Assert.Equal(line.Skip(30), Baselines.SeasonalNaiveWithDrift(line, 30, 10, 4, log: false).Select(v => Math.Round(v, 10)));
        Assert.Equal(Math.Sqrt((1 + 9) / 2.0), ErrorMetrics.Rmse([1.0, 5], [0.0, 2]), 12);
        Assert.Equal(2.0, ErrorMetrics.Mae([1.0, 5], [0.0, 2]), 12);
    }

    [Fact]
    public void TheForecasterScalesOnTheTrainingPartAndPredictingZeroIsSeasonalNaive()
    {
        var y = AirlinePassengers.Values;
        var f = SeasonalResidualForecaster.Fit(y, 120, window: 24, horizon: 12, season: 12, log: true);
        var d = Enumerable.Range(12, 108).Select(t => Math.Log(y[t]) - Math.Log(y[t - 12])).ToArray();
        Assert.Equal(d.Average(), f.Scaler.Mean, 12);
        Assert.Equal(Math.Sqrt(d.Select(v => (v - d.Average()) * (v - d.Average())).Average()), f.Scaler.Std, 12);
        var origins = f.Origins(120).ToArray();
        Assert.Equal(36, origins[0]);
        Assert.Equal(108, origins[^1]);
        var (inputs, targets) = f.Samples(y, origins);
        Assert.Equal(24, inputs[0].Length);
        Assert.Equal((float)f.Scaler.Transform(Math.Log(y[36]) - Math.Log(y[24])), targets[0][0], 5);
        // A model that predicts a standardized difference giving d = 0 reproduces seasonal naive (on log values).
        float zero = (float)f.Scaler.Transform(0);
        var forecast = f.Forecast(y, 120, 24, _ => [.. Enumerable.Repeat(zero, 12)]);
        var naive = Baselines.SeasonalNaive(y, 120, 24, 12);
        for (int k = 0; k < 24; k++) Assert.Equal(naive[k], forecast[k], 3);
        // Values after the origin are never read.
        var tampered = y.Take(120).Concat(Enumerable.Repeat(1e6, 24)).ToArray();
        Assert.Equal(forecast, f.Forecast(tampered, 120, 24, _ => [.. Enumerable.Repeat(zero, 12)]));
    }

    [Fact]
    public void ASeriesTooShortForAWindowIsRefused()
    {
        var e = Assert.Throws<CliException>(() => SeasonalResidualForecaster.Fit([.. Enumerable.Range(1, 40).Select(i => (double)i)], 30, 24, 12, 12, false));
        Assert.Contains("too short", e.Message);
        Assert.Contains("12 + 24 + 12 = 48", e.Message);
        Assert.Contains("value 2 of the series is 0", Assert.Throws<CliException>(() => SeasonalResidualForecaster.Transform([1.0, 0, 3], log: true)).Message);
    }

    [Fact]
    public void TheScalerUsesThePopulationDeviation()
    {
        var s = StandardScaler.Fit([1.0, 2, 3, 4]);
        Assert.Equal(2.5, s.Mean);
        Assert.Equal(Math.Sqrt(1.25), s.Std, 12);
        Assert.Equal(3.0, s.Inverse(s.Transform(3.0)), 12);
        Assert.Equal(1.0, StandardScaler.Fit([5.0, 5]).Std);
    }

    [Fact]
    public void VocabularyIsSortedAndNamesAnUnknownCharacterWhere()
    {
        var v = Vocabulary.FromText("hello\nworld");
        Assert.Equal(["\n", "d", "e", "h", "l", "o", "r", "w"], v.Characters);
        Assert.Equal("hold", v.Decode(v.Encode("hold", (l, c) => "")));
        var e = Assert.Throws<CliException>(() => v.Encode("hello\nwoRld", (l, c) => $"f line {l}, column {c}"));
        Assert.Equal("f line 2, column 3: character 'R' (U+0052) is not in the model's vocabulary of 8 characters.", e.Message);
    }

    [Fact]
    public void SequenceCsvLayoutIsInferredOrChecked()
    {
        Assert.Equal((6, 1), SequenceCsv.Layout(6, 0, 0, "f"));
        Assert.Equal((3, 2), SequenceCsv.Layout(6, 3, 0, "f"));
        Assert.Equal((2, 3), SequenceCsv.Layout(6, 0, 3, "f"));
        Assert.Contains("--steps 4 x --features 2 = 8", Assert.Throws<CliException>(() => SequenceCsv.Layout(6, 4, 2, "f")).Message);
        Assert.Contains("do not split into --steps 4", Assert.Throws<CliException>(() => SequenceCsv.Layout(6, 4, 0, "f")).Message);
        string path = Path.Combine(_dir, "s.csv");
        File.WriteAllText(path, "a,b,label,c,d\n1,2,x,3,4\n5,6,y,7,8\n");
        var csv = SequenceCsv.Load(path, "label", steps: 2, features: 0);
        Assert.Equal([1f, 2, 3, 4], csv.Inputs[0]);
        Assert.Equal(["x", "y"], csv.Labels!);
        Assert.Equal(["a", "b", "c", "d"], csv.FeatureColumns);
        Assert.Equal(["2", "10"], SequenceCsv.Classes(["10", "2", "10"]));
        Assert.Equal(["a10", "b"], SequenceCsv.Classes(["b", "a10", "b"]));
    }

    [Fact]
    public void MetricsJsonHasTheRequiredKeysFirst()
    {
        var m = new MetricsJson("forecast", 3, 1.5, 100, null, 0.25).Add("test_rmse", 4.0).Add("odd", double.NaN);
        using var doc = JsonDocument.Parse(m.ToString());
        var keys = doc.RootElement.EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Equal(["task", "epochs", "train_seconds", "samples_per_second", "best_val_loss", "test_loss", "test_rmse", "odd"], keys);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("best_val_loss").ValueKind);
        Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("odd").ValueKind);
        Assert.Equal("forecast", doc.RootElement.GetProperty("task").GetString());
    }
}
