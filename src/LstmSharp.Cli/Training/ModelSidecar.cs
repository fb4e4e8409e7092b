using System.Text.Json;
using System.Text.Json.Serialization;
using LstmSharp.IO;

namespace LstmSharp.Cli.Training;

/// <summary>
/// The JSON file beside a model's safetensors (<c>model.json</c> beside <c>model.safetensors</c>): which task trained
/// it, its configuration (as in the model file's metadata), what turns data into its input and back (the forecast
/// scaler, the text vocabulary, the classes), and the training settings.
/// </summary>
public sealed record ModelSidecar
{
    /// <summary>The format tag.</summary>
    public const string CurrentFormat = "lstmsharp-cli/1";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>Identifies the file.</summary>
    public string Format { get; init; } = CurrentFormat;

    /// <summary><c>forecast</c>, <c>text</c> or <c>classify</c>.</summary>
    public required string Task { get; init; }

    /// <summary>The model configuration (the model file's <c>model.*</c> metadata, without the prefix).</summary>
    public required Dictionary<string, string> Config { get; init; }

    /// <summary>The forecaster's settings and scaler, for a forecast model.</summary>
    public ForecastInfo? Forecast { get; init; }

    /// <summary>The vocabulary, for a text model.</summary>
    public TextInfo? Text { get; init; }

    /// <summary>The input layout and classes, for a classifier.</summary>
    public ClassifyInfo? Classify { get; init; }

    /// <summary>How it was trained (informational).</summary>
    public Dictionary<string, string>? Training { get; init; }

    /// <summary>Writes the file.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json) + Environment.NewLine);

    /// <summary>Reads a file written by <see cref="Save"/>; a missing or malformed one is a <see cref="CliException"/>.</summary>
    public static ModelSidecar Load(string path)
    {
        if (!File.Exists(path))
            throw new CliException($"{path}: file not found; a model needs the JSON file written beside it by 'lstm train'.");
        ModelSidecar? sidecar;
        try
        {
            sidecar = JsonSerializer.Deserialize<ModelSidecar>(File.ReadAllText(path), Json);
        }
        catch (JsonException e)
        {
            throw new CliException($"{path}: not a model description ({e.Message}).");
        }
        if (sidecar is null || sidecar.Format != CurrentFormat)
            throw new CliException($"{path}: expected format '{CurrentFormat}', got '{sidecar?.Format}'.");
        if (sidecar.Problem() is { } problem) throw new CliException($"{path}: {problem}; a model description as 'lstm train' writes it cannot have that.");
        return sidecar;
    }

    /// <summary>
    /// What makes a loaded description unusable (the JSON may have been edited): null sections or entries, sizes
    /// below 1, a scaler that is not a finite mean and positive spread, repeated or empty classes, or null when it is sound.
    /// Whether it matches its model file is <see cref="ModelBundle.Load"/>'s check.
    /// </summary>
    private string? Problem()
    {
        if (Task is not ("forecast" or "text" or "classify")) return $"'task' is '{Task}'; expected forecast, text or classify";
        if (Config is null) return "'config' is missing";
        if (Config.FirstOrDefault(kv => kv.Value is null) is { Key: not null } empty) return $"'config' has no value for '{empty.Key}'";
        switch (Task)
        {
            case "forecast":
                if (Forecast is not { } f) return "a forecast model needs its 'forecast' settings";
                if (f.Window < 1 || f.Horizon < 1 || f.Season < 1)
                    return $"'forecast' needs window, horizon and season of at least 1, got {f.Window}, {f.Horizon} and {f.Season}";
                if (f.Test < 0 || f.Values is < 1) return $"'forecast' needs test >= 0 and values >= 1, got {f.Test} and {f.Values}";
                if (!double.IsFinite(f.ScalerMean) || !(f.ScalerStd > 0) || !double.IsFinite(f.ScalerStd))
                    return $"'forecast' needs a finite scaler_mean and a finite scaler_std > 0, got {f.ScalerMean} and {f.ScalerStd}";
                // The scaler's inverse must not overflow on the model's output range (a mean or spread near double's
                // largest value would print forecasts of Infinity).
                if (Math.Abs(f.ScalerMean) > 1e300 || f.ScalerStd > 1e300)
                    return $"'forecast' has a scaler_mean of {f.ScalerMean} and scaler_std of {f.ScalerStd}, beyond any series";
                break;
            case "text":
                if (Text?.Vocabulary is not { } vocabulary) return "a text model needs its 'text' vocabulary";
                if (vocabulary.Count == 0) return "'text' has an empty vocabulary";
                if (vocabulary.IndexOf(null!) is int at and >= 0) return $"'text' vocabulary entry {at} is null";
                break;
            case "classify":
                if (Classify?.Classes is not { } classes) return "a classifier needs its 'classify' classes";
                if (classes.FindIndex(string.IsNullOrEmpty) is int bad and >= 0) return $"'classify' class {bad} has no name";
                if (classes.GroupBy(c => c).FirstOrDefault(g => g.Count() > 1) is { } twice) return $"'classify' names class '{twice.Key}' twice";
                if (Classify.Steps < 1 || Classify.Features < 1)
                    return $"'classify' needs steps and features of at least 1, got {Classify.Steps} and {Classify.Features}";
                if (Classify.Source is not ("idx" or "csv")) return $"'classify' source is '{Classify.Source}'; expected idx or csv";
                break;
        }
        return null;
    }
}

/// <summary>A forecaster's data settings and its scaler (fitted on the training part).</summary>
public sealed record ForecastInfo
{
    /// <summary>W, input steps.</summary>
    public int Window { get; init; }

    /// <summary>Values predicted per model call.</summary>
    public int Horizon { get; init; }

    /// <summary>The seasonal period s.</summary>
    public int Season { get; init; }

    /// <summary>Whether the model works on log(y).</summary>
    public bool Log { get; init; }

    /// <summary>The mean of the training part's seasonal differences.</summary>
    public double ScalerMean { get; init; }

    /// <summary>Their standard deviation.</summary>
    public double ScalerStd { get; init; }

    /// <summary>Values held out for testing at the end of the series.</summary>
    public int Test { get; init; }

    /// <summary>How many values the series trained on held (null in sidecars written before it was recorded).</summary>
    public int? Values { get; init; }

    /// <summary>The CSV file trained on, or null for the built-in airline series.</summary>
    public string? Csv { get; init; }

    /// <summary>The column forecast.</summary>
    public string? Column { get; init; }

    /// <summary>The date column, if any.</summary>
    public string? DateColumn { get; init; }
}

/// <summary>A character-level language model's vocabulary.</summary>
public sealed record TextInfo
{
    /// <summary>The characters (Unicode scalar values as strings); the token id is the index.</summary>
    public required List<string> Vocabulary { get; init; }

    /// <summary>Training sequence length.</summary>
    public int SequenceLength { get; init; }
}

/// <summary>A classifier's input layout and class names.</summary>
public sealed record ClassifyInfo
{
    /// <summary>T, steps per sequence.</summary>
    public int Steps { get; init; }

    /// <summary>I, features per step.</summary>
    public int Features { get; init; }

    /// <summary>The class names; the class index is the position.</summary>
    public required List<string> Classes { get; init; }

    /// <summary><c>idx</c> (pixels scaled to [0, 1]) or <c>csv</c>.</summary>
    public required string Source { get; init; }

    /// <summary>The label column of a CSV source.</summary>
    public string? Label { get; init; }
}
