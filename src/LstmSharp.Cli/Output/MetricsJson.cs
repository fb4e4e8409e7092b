using System.Text.Json;
using System.Text.Json.Nodes;
using LstmSharp.IO;

namespace LstmSharp.Cli.Output;

/// <summary>
/// The <c>--metrics-json</c> file: always <c>task</c>, <c>epochs</c>, <c>train_seconds</c>, <c>samples_per_second</c>,
/// <c>best_val_loss</c>, <c>test_loss</c>, then the task's own keys (<c>test_accuracy</c>; <c>test_rmse</c>,
/// <c>test_mae</c>, <c>baseline_rmse</c>, <c>baseline_mae</c>; <c>val_loss_nats_per_char</c>). Non-finite numbers are null.
/// </summary>
public sealed class MetricsJson
{
    private readonly JsonObject _root = [];

    /// <summary>The required keys.</summary>
    public MetricsJson(string task, int epochs, double trainSeconds, double samplesPerSecond, double? bestValLoss, double testLoss)
    {
        _root["task"] = task;
        _root["epochs"] = epochs;
        Add("train_seconds", trainSeconds);
        Add("samples_per_second", samplesPerSecond);
        Add("best_val_loss", bestValLoss);
        Add("test_loss", testLoss);
    }

    /// <summary>The keys in order.</summary>
    public IEnumerable<string> Keys => _root.Select(kv => kv.Key);

    /// <summary>Adds or replaces a number (null or non-finite is written as null).</summary>
    public MetricsJson Add(string key, double? value)
    {
        _root[key] = value is { } v && double.IsFinite(v) ? JsonValue.Create(v) : null;
        return this;
    }

    /// <summary>Adds or replaces a string.</summary>
    public MetricsJson Add(string key, string value)
    {
        _root[key] = value;
        return this;
    }

    /// <summary>The JSON text, indented.</summary>
    public override string ToString() => _root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Writes the file atomically, creating its folder.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToString() + Environment.NewLine);
}
