using LstmSharp.Models;

namespace LstmSharp.Cli.Training;

/// <summary>A trained model with its sidecar: what <c>lstm train</c> leaves and the other commands read.</summary>
/// <param name="Model">The model (float32).</param>
/// <param name="Sidecar">Its description.</param>
/// <param name="ModelPath">The safetensors file.</param>
public sealed record ModelBundle(SequenceModel<float> Model, ModelSidecar Sidecar, string ModelPath)
{
    /// <summary>The model file's name in a run's folder.</summary>
    public const string ModelFile = "model.safetensors";

    /// <summary>The sidecar's name in a run's folder.</summary>
    public const string SidecarFile = "model.json";

    /// <summary>The checkpoint's name in a run's folder.</summary>
    public const string CheckpointFile = "checkpoint.safetensors";

    /// <summary>The model kind each task trains.</summary>
    public static ModelKind KindOf(string task) => task switch
    {
        "forecast" => ModelKind.Regression,
        "text" => ModelKind.LanguageModel,
        "classify" => ModelKind.Classification,
        _ => throw new CliException($"unknown task '{task}'; expected forecast, text or classify."),
    };

    /// <summary>
    /// The model file and sidecar for <paramref name="path"/>: a run's folder (its <c>model.safetensors</c>), a
    /// <c>.safetensors</c> file (the <c>.json</c> of the same name beside it), or the <c>.json</c> itself.
    /// </summary>
    public static (string Model, string Sidecar) Resolve(string path)
    {
        if (Directory.Exists(path)) return (Path.Combine(path, ModelFile), Path.Combine(path, SidecarFile));
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return (Path.ChangeExtension(path, ".safetensors"), path);
        return (path, Path.ChangeExtension(path, ".json"));
    }

    /// <summary>Writes the model and its sidecar into <paramref name="directory"/>; returns the model's path.</summary>
    public static string Save(SequenceModel<float> model, ModelSidecar sidecar, string directory)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sidecar);
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, ModelFile);
        model.Save(path, new Dictionary<string, string> { ["cli.task"] = sidecar.Task });
        sidecar.Save(Path.Combine(directory, SidecarFile));
        return path;
    }

    /// <summary>
    /// Loads a model and its sidecar and checks that they agree (and, given <paramref name="task"/>, that it is that
    /// task's model); any mismatch is a <see cref="CliException"/> naming it.
    /// </summary>
    public static ModelBundle Load(string path, string? task = null)
    {
        var (modelPath, sidecarPath) = Resolve(path);
        if (!File.Exists(modelPath)) throw new CliException($"{modelPath}: file not found.");
        var sidecar = ModelSidecar.Load(sidecarPath);
        SequenceModel<float> model;
        try
        {
            model = SequenceModel<float>.Load(modelPath);
        }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or IOException)
        {
            throw new CliException($"{modelPath}: not a LstmSharp model ({e.Message})");
        }
        var kind = KindOf(sidecar.Task);
        var config = model.Config;
        if (config.Kind != kind)
            throw new CliException($"{modelPath}: the model is a {config.Kind} model but {sidecarPath} describes a {sidecar.Task} model ({kind}).");
        var described = config.ToMetadata().ToDictionary(kv => kv.Key["model.".Length..], kv => kv.Value);
        var differences = described.Where(kv => !sidecar.Config.TryGetValue(kv.Key, out var v) || v != kv.Value)
            .Select(kv => $"{kv.Key}: {kv.Value} in the model vs {(sidecar.Config.TryGetValue(kv.Key, out var v) ? v : "missing")} in the sidecar").ToList();
        if (differences.Count > 0)
            throw new CliException($"{modelPath}: the model's configuration does not match {sidecarPath}: {string.Join("; ", differences)}.");
        string? problem = sidecar.Task switch
        {
            "forecast" when sidecar.Forecast is not { } f => "it has no forecast settings",
            "forecast" when config.InputSize != Forecasting.SeasonalResidualForecaster.InputSize || config.OutputSize != sidecar.Forecast!.Horizon =>
                $"the model reads {config.InputSize} features and predicts {config.OutputSize} values, but the forecaster needs {Forecasting.SeasonalResidualForecaster.InputSize} and horizon {sidecar.Forecast!.Horizon}",
            "text" when sidecar.Text is not { } t => "it has no vocabulary",
            "text" when sidecar.Text!.Vocabulary.Count != config.VocabSize =>
                $"its vocabulary has {sidecar.Text.Vocabulary.Count} characters but the model {config.VocabSize}",
            "classify" when sidecar.Classify is not { } c => "it has no classes",
            "classify" when sidecar.Classify!.Classes.Count != config.OutputSize || sidecar.Classify.Features != config.InputSize =>
                $"it describes {sidecar.Classify.Classes.Count} classes of {sidecar.Classify.Features} features per step, the model {config.OutputSize} of {config.InputSize}",
            _ => null,
        };
        if (problem is not null) throw new CliException($"{sidecarPath}: does not match {modelPath}: {problem}.");
        if (task is not null && sidecar.Task != task)
            throw new CliException($"{modelPath}: this is a {sidecar.Task} model; this command needs a {task} model.");
        model.Training = false;
        return new ModelBundle(model, sidecar, modelPath);
    }
}
