using System.Globalization;
using System.Text;
using System.Text.Json;
using LstmSharp.Cli;
using LstmSharp.Cli.Commands;
using LstmSharp.Cli.Output;
using Xunit;

namespace LstmSharp.Tests;

/// <summary>The <c>lstm</c> commands run in-process on tiny data: exit codes, files left, metrics, errors.</summary>
public sealed class CliCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("lstmsharp-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string P(string name) => Path.Combine(_dir, name);

    internal static (int Code, string Out, string Err) Run(params string[] args) => RunWith(default, args);

    internal static (int Code, string Out, string Err) RunWith(CancellationToken cancellation, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, new CliConsole(output, error, interactive: false, cancellation));
        return (code, output.ToString(), error.ToString());
    }

    private static JsonElement Json(string path) => JsonDocument.Parse(File.ReadAllText(path)).RootElement;

    /// <summary>A seasonal, trending series: 60 values, season 6.</summary>
    private string SeriesCsv()
    {
        string path = P("series.csv");
        var lines = new List<string> { "t,value" };
        for (int i = 0; i < 60; i++)
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"p{i},{20 + i * 0.5 + 5 * Math.Sin(2 * Math.PI * i / 6):F3}"));
        File.WriteAllLines(path, lines);
        return path;
    }

    private static readonly string[] Tiny = ["--hidden", "4", "--epochs", "2", "--batch", "8"];

    [Theory]
    [InlineData("train")]
    [InlineData("train forecast")]
    [InlineData("train text")]
    [InlineData("train classify")]
    [InlineData("generate")]
    [InlineData("predict")]
    [InlineData("evaluate")]
    [InlineData("info")]
    [InlineData("inspect")]
    [InlineData("export")]
    [InlineData("demo")]
    public void EveryCommandHasHelpWithExamples(string command)
    {
        var (code, output, _) = Run([.. command.Split(' '), "--help"]);
        Assert.Equal(0, code);
        Assert.Contains("Usage:", output);
        Assert.Contains("Examples:", output);
        Assert.Contains("  lstm " + command.Split(' ')[0], output);
    }

    [Fact]
    public void TheDemoRuns()
    {
        var (code, output, _) = Run("demo");
        Assert.Equal(0, code);
        Assert.Contains("finite difference", output);
    }

    [Fact]
    public void ForecastTrainsOnACsvAndTheModelIsUsable()
    {
        string csv = SeriesCsv(), run = P("fc"), metrics = P("fc.json");
        var (code, output, error) = Run(["train", "forecast", "--csv", csv, "--column", "value", "--date-column", "t", "--season", "6", "--window", "6",
            "--horizon", "3", "--test", "6", "--out", run, "--metrics-json", metrics, .. Tiny]);
        Assert.True(code == 0, error);
        Assert.Contains("seasonal naive (s = 6)", output);
        // 40 windows (origins 12..51): the last 4 validate, the 2 (= horizon - 1) before them share targets with them and are left out.
        Assert.Contains("34 training windows, 4 validation", output);
        Assert.Contains("last value", output);
        foreach (var f in new[] { "model.safetensors", "model.json", "checkpoint.safetensors", "loss.png", "forecast.png" })
            Assert.True(File.Exists(Path.Combine(run, f)), f);
        var m = Json(metrics);
        foreach (var key in new[] { "task", "epochs", "train_seconds", "samples_per_second", "best_val_loss", "test_loss", "test_rmse", "test_mae", "baseline_rmse", "baseline_mae", "drift_rmse", "drift_mae" })
            Assert.True(m.TryGetProperty(key, out _), key);
        Assert.Equal("forecast", m.GetProperty("task").GetString());
        Assert.Equal(2, m.GetProperty("epochs").GetInt32());
        var sidecar = Json(Path.Combine(run, "model.json"));
        Assert.Equal(6, sidecar.GetProperty("forecast").GetProperty("season").GetInt32());

        var info = Run("info", "--model", run);
        Assert.Equal(0, info.Code);
        var export = Run("export", "--model", run, "--onnx", P("model.onnx"));
        Assert.Equal(0, export.Code);
        var imported = LstmSharp.IO.Onnx.OnnxImporter.Load<float>(P("model.onnx"));
        Assert.Equal(LstmSharp.Models.SequenceModel<float>.Load(Path.Combine(run, "model.safetensors")).Lstm.Options.HiddenSize, imported.Lstm.Options.HiddenSize);
        var refused = Run("export", "--model", run, "--onnx", P("bad.onnx"), "--softmax");
        Assert.Equal(1, refused.Code);
        Assert.Contains("--softmax", refused.Err);
        Assert.Contains("lstm.weight_ih_l0", info.Out);
        Assert.Contains("total", info.Out);
        var predict = Run("predict", "--model", run, "--steps", "4", "--output", P("next.csv"));
        Assert.Equal(0, predict.Code);
        Assert.Equal(5, File.ReadAllLines(P("next.csv")).Length);
        var evaluate = Run("evaluate", "--model", Path.Combine(run, "model.safetensors"), "--out", P("eval"));
        Assert.Equal(0, evaluate.Code);
        var overreach = Run("evaluate", "--model", run, "--test", "12");             // trained with --test 6 on this series
        Assert.Equal(ExitCodes.BadInput, overreach.Code);
        Assert.Contains("would score 6 values it trained on; use at most 6", overreach.Err);
        Assert.Equal(0, Run("evaluate", "--model", run, "--test", "3").Code);
        var noTest = Run("evaluate", "--model", run, "--test", "0");
        Assert.Equal(ExitCodes.BadInput, noTest.Code);
        Assert.Contains("--test: expected at least 1 held-out value, got 0.", noTest.Err);
        Assert.True(File.Exists(P("eval/forecast.png")));
        var inspect = Run("inspect", "--model", run, "--input", csv, "--out", P("gates"));
        Assert.True(inspect.Code == 0, inspect.Err);
        var gates = File.ReadAllLines(P("gates/gates.csv"));
        Assert.Equal("layer,direction,step,unit,i,f,g,o,c,h", gates[0]);
        Assert.Equal(1 + 6 * 4, gates.Length);                                 // W steps x H units
        foreach (var g in new[] { "i", "f", "g", "o", "c", "h" }) Assert.True(File.Exists(P($"gates/gate-{g}-l0.png")), g);
    }

    [Fact]
    public void TheSameSeedGivesTheSameForecast()
    {
        string csv = SeriesCsv();
        string[] args = ["train", "forecast", "--csv", csv, "--column", "value", "--season", "6", "--window", "6", "--horizon", "3", "--test", "6", .. Tiny];
        Assert.Equal(0, Run([.. args, "--out", P("a"), "--metrics-json", P("a.json")]).Code);
        Assert.Equal(0, Run([.. args, "--out", P("b"), "--metrics-json", P("b.json")]).Code);
        Assert.Equal(Json(P("a.json")).GetProperty("test_rmse").GetDouble(), Json(P("b.json")).GetProperty("test_rmse").GetDouble());
    }

    [Fact]
    public void TextTrainsGeneratesAndIsInspected()
    {
        string text = P("t.txt"), run = P("txt"), metrics = P("txt.json");
        File.WriteAllText(text, string.Concat(Enumerable.Repeat("to be or not to be, that is the question.\n", 8)));
        var (code, output, error) = Run(["train", "text", "--file", text, "--seq-len", "16", "--embedding", "4", "--layers", "1", "--out", run, "--metrics-json", metrics, .. Tiny]);
        Assert.True(code == 0, error);
        Assert.Contains("nats/char", output);
        var m = Json(metrics);
        foreach (var key in new[] { "task", "epochs", "train_seconds", "samples_per_second", "best_val_loss", "test_loss", "val_loss_nats_per_char" })
            Assert.True(m.TryGetProperty(key, out _), key);
        Assert.True(m.GetProperty("val_loss_nats_per_char").GetDouble() > 0);
        var vocabulary = Json(Path.Combine(run, "model.json")).GetProperty("text").GetProperty("vocabulary");
        Assert.Equal(16, vocabulary.GetArrayLength());                          // the distinct characters "\n ,.abehinoqrstu"

        var a = Run("generate", "--model", run, "--prompt", "to be", "--length", "30", "--seed", "5");
        var b = Run("generate", "--model", run, "--prompt", "to be", "--length", "30", "--seed", "5");
        Assert.Equal(0, a.Code);
        Assert.Equal(a.Out, b.Out);
        Assert.StartsWith("to be", a.Out);
        Assert.Equal("to be".Length + 30, a.Out.TrimEnd('\n', '\r').Length);
        Assert.Equal(0, Run("generate", "--model", run, "--prompt", "to", "--temperature", "0", "--top-k", "3").Code);
        Assert.Equal(0, Run("predict", "--model", run, "--prompt", "to b").Code);
        Assert.Equal(0, Run("evaluate", "--model", run, "--file", text).Code);
        var inspect = Run("inspect", "--model", run, "--input", "not to be", "--out", P("tg"));
        Assert.True(inspect.Code == 0, inspect.Err);
        Assert.Equal(1 + 9 * 4, File.ReadAllLines(P("tg/gates.csv")).Length);
    }

    [Fact]
    public void ClassifyTrainsOnIdxFilesAndOnACsv()
    {
        string idx = P("idx");
        Directory.CreateDirectory(idx);
        CliDataTests.WriteMnist(idx, train: 30, test: 9, rows: 5, columns: 4, gzipTrain: true);
        string run = P("cls"), metrics = P("cls.json");
        var (code, output, error) = Run(["train", "classify", "--idx", idx, "--out", run, "--metrics-json", metrics, .. Tiny]);
        Assert.True(code == 0, error);
        Assert.Contains("Test: accuracy", output);
        Assert.True(File.Exists(Path.Combine(run, "confusion.png")));
        Assert.True(File.Exists(Path.Combine(run, "checkpoint.safetensors")));
        var m = Json(metrics);
        foreach (var key in new[] { "task", "epochs", "train_seconds", "samples_per_second", "best_val_loss", "test_loss", "test_accuracy" })
            Assert.True(m.TryGetProperty(key, out _), key);
        Assert.InRange(m.GetProperty("test_accuracy").GetDouble(), 0, 1);
        Assert.Equal(0, Run("evaluate", "--model", run, "--idx", idx).Code);
        Assert.Equal(0, Run("predict", "--model", run, "--idx", idx, "--limit", "3").Code);
        var negative = Run("predict", "--model", run, "--idx", idx, "--limit", "-5");
        Assert.Equal(ExitCodes.BadInput, negative.Code);
        Assert.Contains("--limit: expected 0 (all) or a positive count, got -5.", negative.Err);
        Assert.Equal(0, Run("inspect", "--model", run, "--input", idx, "--row", "2", "--out", P("ig")).Code);

        string csv = P("seq.csv");
        var lines = new List<string> { "a0,a1,b0,b1,c0,c1,kind" };
        for (int i = 0; i < 40; i++)
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{i % 2},{i % 3},{i % 5 * 0.1},1,0,{i % 7},{(i % 2 == 0 ? "even" : "odd")}"));
        File.WriteAllLines(csv, lines);
        var fromCsv = Run(["train", "classify", "--csv", csv, "--label", "kind", "--features", "2", "--out", P("cc"), .. Tiny]);
        Assert.True(fromCsv.Code == 0, fromCsv.Err);
        Assert.Contains("3 steps x 2 features, 2 classes", fromCsv.Out);
        var sidecar = Json(P("cc/model.json")).GetProperty("classify");
        Assert.Equal(["even", "odd"], sidecar.GetProperty("classes").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(0, Run("evaluate", "--model", P("cc"), "--csv", csv).Code);
    }

    [Fact]
    public void CtrlCSavesACheckpointAndResumeFinishes()
    {
        string csv = SeriesCsv(), run = P("resume");
        string[] args = ["train", "forecast", "--csv", csv, "--column", "value", "--season", "6", "--window", "6", "--horizon", "3", "--test", "6", "--out", run, .. Tiny];
        var (code, output, _) = RunWith(new CancellationToken(canceled: true), args);
        Assert.Equal(ExitCodes.Interrupted, code);
        Assert.Contains("--resume", output);
        Assert.True(File.Exists(Path.Combine(run, "checkpoint.safetensors")));
        Assert.False(File.Exists(Path.Combine(run, "model.safetensors")));
        var resumed = Run([.. args, "--resume"]);
        Assert.True(resumed.Code == 0, resumed.Err);
        Assert.Contains("Resuming from", resumed.Out);
        Assert.True(File.Exists(Path.Combine(run, "model.safetensors")));
    }

    [Fact]
    public void BadInputIsOneLineAndANonZeroExit()
    {
        string ragged = P("ragged.csv"), words = P("words.csv"), empty = P("empty.txt"), shortCsv = P("short.csv"), latin1 = P("latin1.txt");
        File.WriteAllBytes(latin1, [0xEF, 0xBB, 0xBF, .. Encoding.ASCII.GetBytes(new string('x', 5000) + "caf"), 0xE9, .. Encoding.ASCII.GetBytes(" au lait\n")]);  // "café" in Latin-1 after a UTF-8 BOM and 5000 bytes
        File.WriteAllText(ragged, "t,value\n1,2\n2,3,4\n");
        File.WriteAllText(words, "t,value\n1,2\n2,lots\n");
        File.WriteAllText(empty, "");
        File.WriteAllLines(shortCsv, new[] { "value" }.Concat(Enumerable.Range(1, 20).Select(i => i.ToString(CultureInfo.InvariantCulture))));
        (string[] Args, string Message)[] cases =
        [
            (["train", "forecast", "--csv", P("nope.csv"), "--column", "value"], "nope.csv: file not found."),
            (["train", "forecast", "--csv", ragged, "--column", "value"], "ragged.csv line 3: expected 2 fields as in the header, got 3."),
            (["train", "forecast", "--csv", words, "--column", "value"], "words.csv line 3, column 'value' (2): 'lots' is not a finite number."),
            (["train", "forecast", "--csv", shortCsv, "--column", "value", "--window", "12", "--horizon", "6"], "the series is too short"),
            (["train", "text", "--file", empty], "empty.txt: the text is empty."),
            (["train", "classify", "--idx", P("no-such-dir")], "no-such-dir: directory not found."),
            (["generate", "--model", P("nothing"), "--prompt", "a"], "file not found"),
            (["train", "forecast", "--epochs", "0"], "--epochs: expected at least 1, got 0."),
            (["train", "text", "--file", latin1], "latin1.txt line 1: not UTF-8 text: invalid bytes (E9) at byte 5006."),
            (["train", "forecast", "--max-minutes", "1e300"], "--max-minutes: expected a positive number of minutes up to 1000000000, got 1E+300."),
            (["train", "forecast", "--lr", "Infinity"], "--lr: expected a positive finite rate, got Infinity."),
            (["train", "forecast", "--metrics-json", _dir], "is a folder; expected the path of a file to write."),
        ];
        foreach (var (args, message) in cases)
        {
            var (code, output, error) = Run(args);
            Assert.True(code != 0, string.Join(' ', args));
            Assert.Contains(message, error);
            Assert.StartsWith("lstm: error: ", error);
            Assert.Single(error.TrimEnd().Split('\n'));                           // no stack trace
        }
        var verbose = Run("train", "forecast", "--csv", words, "--column", "value", "--verbose");
        Assert.Equal(ExitCodes.BadInput, verbose.Code);
        Assert.Contains("   at ", verbose.Err);                                   // the stack trace, asked for
    }

    /// <summary>A resume with other data options (here --window) is refused; another --lr is noted as unused (the checkpoint's rate goes on).</summary>
    [Fact]
    public void ResumeRefusesOtherDataOptions()
    {
        string run = P("resume-data");
        Assert.Equal(0, Run(["train", "forecast", "--out", run, .. Tiny]).Code);
        var other = Run(["train", "forecast", "--out", run, "--resume", "--window", "12", "--hidden", "4", "--epochs", "3", "--batch", "8"]);
        Assert.Equal(ExitCodes.BadInput, other.Code);
        Assert.Contains("--resume: train: the data differs from the data the checkpoint's run trained on", other.Err);
        var same = Run(["train", "forecast", "--out", run, "--resume", "--lr", "0.5", "--hidden", "4", "--epochs", "3", "--batch", "8"]);
        Assert.True(same.Code == 0, same.Err);
        Assert.Contains("Note: --lr 0.5 is not used", same.Out);
        Assert.Contains("Trained 1 epoch (3 in all) in ", same.Out);               // the time is this run's: one epoch
    }

    /// <summary>
    /// A text whose first character lies outside the BMP (a surrogate pair in .NET) trains and samples from that whole
    /// character; markup-like brackets in the vocabulary are shown as they are by info.
    /// </summary>
    [Fact]
    public void TextStartingWithAnEmojiAndHoldingBracketsTrainsAndIsShown()
    {
        string text = P("emoji.txt"), run = P("emoji");
        File.WriteAllText(text, string.Concat(Enumerable.Repeat("😀 open [ bracket only line here.\n", 6)));
        var (code, output, error) = Run(["train", "text", "--file", text, "--seq-len", "8", "--embedding", "2", "--layers", "1", "--out", run, .. Tiny]);
        Assert.True(code == 0, error);
        Assert.Contains("\n😀", output);                                          // the sample's prompt: the whole first character
        var info = Run("info", "--model", run);
        Assert.True(info.Code == 0, info.Err);
        string vocabularyLine = info.Out.Split('\n').Single(l => l.StartsWith("Vocabulary:", StringComparison.Ordinal));
        Assert.Contains("[", vocabularyLine);                                     // the character, not markup (info also prints shapes like [16, 2])
        Assert.Contains("😀", vocabularyLine);
    }

    /// <summary>Sampling: a +∞ logit is certain, a -∞ one impossible (even at temperature +∞), a NaN one refused.</summary>
    [Fact]
    public void SamplingHandlesInfiniteLogitsAndRefusesNaN()
    {
        var rng = new LstmSharp.Tensors.Rng(1);
        Assert.All(Enumerable.Range(0, 200), _ => Assert.Equal(1, LstmSharp.Cli.Text.CharSampler.Sample([0f, float.PositiveInfinity, 1f, 2f], 1.0, 0, rng)));
        var drawn = Enumerable.Range(0, 600).Select(_ => LstmSharp.Cli.Text.CharSampler.Sample([5f, float.NegativeInfinity, 1f, 2f], double.PositiveInfinity, 0, rng)).ToHashSet();
        Assert.Equal([0, 2, 3], drawn.Order());
        Assert.Contains("token 1 is NaN", Assert.Throws<InvalidDataException>(() => LstmSharp.Cli.Text.CharSampler.Sample([0f, float.NaN, 1f], 1.0, 2, rng)).Message);
        Assert.Throws<InvalidDataException>(() => LstmSharp.Cli.Text.CharSampler.Sample([float.NaN, 0f], 0, 0, rng));
    }

    /// <summary>generate without --prompt starts from a newline, or, for a text without one, the vocabulary's first character.</summary>
    [Fact]
    public void GenerateWithoutAPromptWorksForATextWithoutNewlines()
    {
        string text = P("nonl.txt"), run = P("nonl");
        File.WriteAllText(text, string.Concat(Enumerable.Repeat("abcabcabd", 20)));
        Assert.Equal(0, Run(["train", "text", "--file", text, "--seq-len", "8", "--embedding", "2", "--layers", "1", "--out", run, .. Tiny]).Code);
        var generated = Run("generate", "--model", run, "--length", "5");
        Assert.True(generated.Code == 0, generated.Err);
        Assert.Equal(6, generated.Out.TrimEnd('\n', '\r').Length);                // "a" and five sampled characters
        Assert.StartsWith("a", generated.Out);
    }

    /// <summary>A UTF-16 file with a byte-order mark (as Windows tools write) is read as text; one without a mark is refused by its NULs.</summary>
    [Fact]
    public void TextInUtf16IsReadByItsByteOrderMark()
    {
        string text = string.Concat(Enumerable.Repeat("to be or not to be\n", 10));
        string marked = P("utf16.txt"), bare = P("utf16-bare.txt");
        File.WriteAllText(marked, text, new UnicodeEncoding(bigEndian: false, byteOrderMark: true));
        File.WriteAllBytes(bare, Encoding.Unicode.GetBytes(text));
        var ok = Run(["train", "text", "--file", marked, "--seq-len", "8", "--embedding", "2", "--layers", "1", "--out", P("u16"), .. Tiny]);
        Assert.True(ok.Code == 0, ok.Err);
        Assert.Equal(8, Json(Path.Combine(P("u16"), "model.json")).GetProperty("text").GetProperty("vocabulary").GetArrayLength()); // "\n bteonr": no BOM, no NUL
        var refused = Run(["train", "text", "--file", bare, "--out", P("u16b"), .. Tiny]);
        Assert.Equal(ExitCodes.BadInput, refused.Code);
        Assert.Contains("the text holds NUL characters", refused.Err);
    }

    [Fact]
    public void APromptOutsideTheVocabularyOrAMismatchedModelIsRefused()
    {
        string text = P("t.txt"), run = P("lm");
        File.WriteAllText(text, "abcabcabcabcabcabcabcabcabcabc\n");
        Assert.Equal(0, Run(["train", "text", "--file", text, "--seq-len", "8", "--embedding", "2", "--layers", "1", "--out", run, .. Tiny]).Code);
        var prompt = Run("generate", "--model", run, "--prompt", "abz");
        Assert.Equal(ExitCodes.BadInput, prompt.Code);
        Assert.Equal("", prompt.Out);                                           // nothing printed before the check
        Assert.Contains("--prompt: position 3: character 'z' (U+007A) is not in the model's vocabulary of 4 characters.", prompt.Err);

        string sidecar = Path.Combine(run, "model.json");
        File.WriteAllText(sidecar, File.ReadAllText(sidecar).Replace("\"hidden_size\": \"4\"", "\"hidden_size\": \"8\"", StringComparison.Ordinal));
        var mismatch = Run("info", "--model", run);
        Assert.Equal(ExitCodes.BadInput, mismatch.Code);
        Assert.Contains("does not match", mismatch.Err);
        Assert.Contains("hidden_size: 4 in the model vs 8 in the sidecar", mismatch.Err);

        var resume = Run(["train", "text", "--file", text, "--seq-len", "8", "--embedding", "2", "--layers", "1", "--out", run, "--resume", "--hidden", "6", "--epochs", "3"]);
        Assert.Equal(ExitCodes.BadInput, resume.Code);
        Assert.Contains("hidden_size: 4 vs 6", resume.Err);                     // checkpoint vs this run
        Assert.Contains("Use the options of the run that wrote it.", resume.Err);
        string checkpoint = Path.Combine(run, "checkpoint.safetensors");
        File.WriteAllBytes(checkpoint, File.ReadAllBytes(checkpoint)[..100]);  // truncated: the file is at fault, not the options
        var truncated = Run(["train", "text", "--file", text, "--seq-len", "8", "--embedding", "2", "--layers", "1", "--out", run, "--resume", .. Tiny]);
        Assert.Equal(ExitCodes.BadInput, truncated.Code);
        Assert.StartsWith("lstm: error: --resume: ", truncated.Err);
        Assert.DoesNotContain("Use the options", truncated.Err);
    }

    /// <summary>A tiny model of each task: the run folders, the text trained on and the classifier's CSV (label column "kind").</summary>
    private (string Forecast, string Text, string TextFile, string Classifier, string Sequences) ThreeModels()
    {
        string forecast = P("fc3");
        Assert.Equal(0, Run(["train", "forecast", "--csv", SeriesCsv(), "--column", "value", "--date-column", "t", "--season", "6", "--window", "6",
            "--horizon", "3", "--test", "6", "--out", forecast, .. Tiny]).Code);
        string text = P("t3.txt"), lm = P("lm3");
        File.WriteAllText(text, "abcabcabcabcabcabcabcabcabcabc\n");
        Assert.Equal(0, Run(["train", "text", "--file", text, "--seq-len", "8", "--embedding", "2", "--layers", "1", "--out", lm, .. Tiny]).Code);
        string seq = P("seq3.csv");
        var lines = new List<string> { "a0,a1,b0,b1,kind" };
        for (int i = 0; i < 30; i++) lines.Add(string.Create(CultureInfo.InvariantCulture, $"{i % 2},{i % 3},{i % 5 * 0.1},1,{(i % 2 == 0 ? "even" : "odd")}"));
        File.WriteAllLines(seq, lines);
        string classifier = P("cc3");
        Assert.Equal(0, Run(["train", "classify", "--csv", seq, "--label", "kind", "--features", "2", "--out", classifier, .. Tiny]).Code);
        return (forecast, lm, text, classifier, seq);
    }

    /// <summary>
    /// An edited model.json is checked when it is read: null sections and entries, sizes below 1, a scaler that is not
    /// finite and positive, repeated classes each give one line naming the file and exit 1 (they crashed with a stack
    /// trace, or forecast other numbers without a word).
    /// </summary>
    [Fact]
    public void AnEditedModelDescriptionIsRefusedInOneLine()
    {
        var (forecast, lm, _, classifier, seq) = ThreeModels();

        foreach (var (run, edit, message, command) in new (string, Action<System.Text.Json.Nodes.JsonObject>, string, string[])[]
        {
            (forecast, j => j["config"] = null, "'config' is missing", ["predict"]),
            (forecast, j => j["forecast"]!["window"] = 0, "window, horizon and season of at least 1, got 0, 3 and 6", ["predict"]),
            (forecast, j => j["forecast"]!["season"] = -3, "window, horizon and season of at least 1, got 6, 3 and -3", ["evaluate"]),
            (forecast, j => j["forecast"]!["scaler_std"] = 0, "a finite scaler_std > 0", ["predict"]),
            (forecast, j => j["forecast"]!["scaler_mean"] = 1e308, "beyond any series", ["predict"]),
            (forecast, j => j["forecast"] = null, "needs its 'forecast' settings", ["info"]),
            (lm, j => j["text"]!["vocabulary"] = null, "needs its 'text' vocabulary", ["generate"]),
            (lm, j => j["text"]!["vocabulary"]![1] = null, "vocabulary entry 1 is null", ["generate"]),
            (classifier, j => j["classify"]!["classes"] = null, "needs its 'classify' classes", ["predict", "--csv", seq]),
            (classifier, j => j["classify"]!["classes"]![1] = "even", "names class 'even' twice", ["evaluate", "--csv", seq]),
            (classifier, j => j["classify"]!["classes"]![0] = null, "class 0 has no name", ["predict", "--csv", seq]),
        })
        {
            string sidecar = Path.Combine(run, "model.json"), original = File.ReadAllText(sidecar);
            var json = System.Text.Json.Nodes.JsonNode.Parse(original)!.AsObject();
            edit(json);
            File.WriteAllText(sidecar, json.ToJsonString());
            var (code, output, error) = Run([command[0], "--model", run, .. command[1..]]);
            Assert.True(code == ExitCodes.BadInput, $"{message}: exit {code}, {error}");
            Assert.Contains(sidecar + ": ", error);
            Assert.Contains(message, error);
            Assert.DoesNotContain("   at ", error);  // no stack trace
            Assert.Equal("", output);
            File.WriteAllText(sidecar, original);
        }
    }

    /// <summary>
    /// Mistakes that were ignored, or caught only after training or deep inside: an option of another task's models, a
    /// label column named but missing, a forecast too long for its labels, a one-value series, IDX data without test
    /// images or with one class, and an --out that is a file or holds a folder where an output goes.
    /// </summary>
    [Fact]
    public void MistakesAreCaughtBeforeAnyWorkInOneLine()
    {
        var (forecast, lm, text, classifier, seq) = ThreeModels();
        string unlabelled = P("unlabelled.csv");
        File.WriteAllLines(unlabelled, File.ReadAllLines(seq).Select(l => l[..l.LastIndexOf(',')]));
        string one = P("one.csv");
        File.WriteAllLines(one, ["value", "3.5"]);
        string noTest = P("idx-no-test"), oneClass = P("idx-one-class");
        Directory.CreateDirectory(noTest);
        Directory.CreateDirectory(oneClass);
        CliDataTests.WriteMnist(noTest, train: 12, test: 0, rows: 3, columns: 2, gzipTrain: false);
        CliDataTests.WriteMnist(oneClass, train: 1, test: 1, rows: 3, columns: 2, gzipTrain: false);
        string aFile = P("afile");
        File.WriteAllText(aFile, "x");
        string blocked = P("blocked");
        Directory.CreateDirectory(Path.Combine(blocked, "model.safetensors"));

        foreach (var (args, message) in new (string[], string)[]
        {
            (["predict", "-m", forecast, "--prompt", "abc"], "--prompt: applies to text models; this is a forecast model."),
            (["predict", "-m", lm, "--steps", "3", "--prompt", "ab"], "--steps: applies to forecast models; this is a text model."),
            (["evaluate", "-m", lm, "--file", text, "--test", "4"], "--test: applies to forecast models; this is a text model."),
            (["evaluate", "-m", forecast, "--idx", noTest], "--idx: applies to classify models; this is a forecast model."),
            (["inspect", "-m", lm, "-i", "abc", "--row", "2", "-o", P("ins")], "--row: applies to forecast and classify models; this is a text model."),
            (["inspect", "-m", forecast, "-i", "airline", "--label", "kind", "-o", P("ins")], "--label: applies to classify models; this is a forecast model."),
            (["predict", "-m", classifier, "--csv", unlabelled, "--label", "kind"], "no column named 'kind'"),
            (["inspect", "-m", classifier, "-i", unlabelled, "--label", "kind", "-o", P("ins")], "no column named 'kind'"),
            (["evaluate", "-m", classifier, "--idx", noTest, "--label", "kind"], "--label: names a CSV column; IDX files carry their labels."),
            (["inspect", "-m", classifier, "-i", noTest, "--label", "kind", "-o", P("ins")], "--label: names a CSV column; IDX files carry their labels."),
            (["predict", "-m", forecast, "--date-column", "t"], "--date-column: needs --csv."),
            (["predict", "-m", forecast, "--steps", "100000000"], "--steps: expected 1..100000 values to forecast, got 100000000."),
            (["train", "forecast", "--csv", one, "--column", "value", "--out", P("o1"), .. Tiny], "the series holds 1 value;"),
            (["train", "classify", "--idx", noTest, "--out", P("o2"), .. Tiny], "12 training and 0 test images"),
            (["train", "classify", "--idx", oneClass, "--out", P("o3"), .. Tiny], "the labels hold 1 class; classification needs at least 2."),
            (["train", "forecast", "--out", aFile, .. Tiny], $"--out: {aFile} is a file; expected a folder"),
            (["train", "forecast", "--out", blocked, .. Tiny], $"is a folder, where the run writes its model.safetensors."),
        })
        {
            var (code, output, error) = Run(args);
            Assert.True(code == ExitCodes.BadInput, $"{string.Join(' ', args)}: exit {code}, {error}");
            Assert.Contains(message, error);
            Assert.DoesNotContain("   at ", error);
            Assert.DoesNotContain("Epoch", output);  // refused before training
        }
        Assert.False(Directory.Exists(P("o1")) || Directory.Exists(P("o2")) || Directory.Exists(P("o3")));

        // inspect's window at the end of the series: up to the last value, not "before" it (the row past the last one).
        string series60 = SeriesCsv();
        var before = Run("inspect", "-m", forecast, "-i", series60, "--row", "60", "-o", P("insf"));
        Assert.True(before.Code == 0, before.Err);
        Assert.Contains("the 6 values before #60", before.Out);
        var last = Run("inspect", "-m", forecast, "-i", series60, "--row", "61", "-o", P("insf"));
        Assert.True(last.Code == 0, last.Err);
        Assert.Contains("the 6 values up to #60, the last", last.Out);

        // A forecast that would run past year 9999 is labelled +k.
        var series = new LstmSharp.Cli.Forecasting.Series([1, 2], ["9999-10", "9999-11"], "s", null, null, null, "s");
        Assert.Equal(["+1", "+2", "+3"], UseCommands.NextLabels(series, 3));
        Assert.Equal(["9999-12"], UseCommands.NextLabels(series, 1));
    }
}
