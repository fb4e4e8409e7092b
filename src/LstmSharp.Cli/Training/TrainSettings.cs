using System.Globalization;

namespace LstmSharp.Cli.Training;

/// <summary>The options every <c>lstm train</c> command takes.</summary>
/// <param name="Layers">L, stacked LSTM layers.</param>
/// <param name="Hidden">H, hidden units per layer.</param>
/// <param name="Dropout">Dropout between LSTM layers and on the head's input.</param>
/// <param name="Bidirectional">Whether the LSTM also reads backwards (not for text).</param>
/// <param name="Epochs">Epochs in all (a resumed run continues up to this count).</param>
/// <param name="Batch">Sequences per mini-batch.</param>
/// <param name="LearningRate">The optimizer's rate.</param>
/// <param name="Optimizer">adam, adamw, sgd (momentum 0.9) or rmsprop.</param>
/// <param name="Clip">Clip the gradients' global norm to this; 0 for none.</param>
/// <param name="Seed">Seeds the weights, the shuffling, dropout and the splits.</param>
/// <param name="Threads">Threads to compute on: 1, or 0 (all cores) and above for as many as the kernels use (2 at most); see <see cref="ApplyThreads"/>.</param>
/// <param name="MaxMinutes">Stop (with a checkpoint) after this many minutes, then evaluate and save as usual.</param>
/// <param name="Out">The run's folder.</param>
/// <param name="Resume">Continue from the checkpoint in <paramref name="Out"/>.</param>
/// <param name="MetricsJson">Where to write the metrics, or null.</param>
/// <param name="Limit">Use at most this many training (and test) sequences; 0 for all. For smoke runs.</param>
/// <param name="ValidationFraction">The share of the training data held out for validation.</param>
/// <param name="Patience">Early stopping: epochs without a better validation loss before stopping, keeping the best weights; 0 for none.</param>
public sealed record TrainSettings(int Layers, int Hidden, double Dropout, bool Bidirectional, int Epochs, int Batch, double LearningRate,
    string Optimizer, double Clip, ulong Seed, int Threads, double? MaxMinutes, string Out, bool Resume, string? MetricsJson, int Limit,
    double ValidationFraction, int Patience = 0)
{
    /// <summary>
    /// Applies <see cref="Threads"/> to the library (<see cref="LstmSharp.Kernels.Parallelism.MaxThreads"/>) and returns a note
    /// when fewer threads than asked for will run, else null.
    /// </summary>
    public string? ApplyThreads()
    {
        if (Threads == 0) return null;  // all cores: the library's default (which LSTMSHARP_THREADS=1 can lower)
        LstmSharp.Kernels.Parallelism.MaxThreads = Threads;
        int used = LstmSharp.Kernels.Parallelism.MaxThreads;
        if (Threads <= used) return null;
        return LstmSharp.Kernels.Parallelism.CanUseTwo
            ? $"--threads {Threads}: the kernels split each computation in two at most, so {used} threads will run."
            : $"--threads {Threads}: this machine has one core, so 1 thread will run.";
    }

    /// <summary>The checkpoint's path.</summary>
    public string CheckpointPath => Path.Combine(Out, ModelBundle.CheckpointFile);

    /// <summary>The files a run writes in <see cref="Out"/>.</summary>
    public static readonly string[] Outputs =
        [ModelBundle.ModelFile, ModelBundle.SidecarFile, ModelBundle.CheckpointFile, "loss.png", "forecast.png", "confusion.png"];

    /// <summary>The longest --max-minutes (some 1,900 years; a TimeSpan holds at most about 29,000).</summary>
    private const double MaxMinutesLimit = 1e9;

    /// <summary>Throws a <see cref="CliException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        if (Layers < 1) throw new CliException($"--layers: expected at least 1, got {Layers}.");
        if (Hidden < 1) throw new CliException($"--hidden: expected at least 1, got {Hidden}.");
        if (!(Dropout >= 0 && Dropout <= 1)) throw new CliException($"--dropout: expected a probability in [0, 1], got {Dropout}.");
        if (Epochs < 1) throw new CliException($"--epochs: expected at least 1, got {Epochs}.");
        if (Batch < 1) throw new CliException($"--batch: expected at least 1, got {Batch}.");
        if (!(LearningRate > 0 && double.IsFinite(LearningRate))) throw new CliException($"--lr: expected a positive finite rate, got {LearningRate}.");
        if (!(Clip >= 0)) throw new CliException($"--clip: expected a positive norm, or 0 for none, got {Clip}.");
        if (Threads < 0) throw new CliException($"--threads: expected 0 (all cores) or a positive count, got {Threads}.");
        if (MaxMinutes is { } m && !(m > 0 && m <= MaxMinutesLimit))
            throw new CliException($"--max-minutes: expected a positive number of minutes up to {MaxMinutesLimit:0}, got {m}.");
        if (Patience < 0) throw new CliException($"--patience: expected 0 (none) or a positive count of epochs, got {Patience}.");
        if (Limit < 0) throw new CliException($"--limit: expected 0 (all) or a positive count, got {Limit}.");
        if (!(ValidationFraction >= 0 && ValidationFraction < 1))
            throw new CliException($"--val-fraction: expected a fraction in [0, 1), got {ValidationFraction}.");
        if (string.IsNullOrWhiteSpace(Out)) throw new CliException("--out: expected a folder.");
        if (File.Exists(Out)) throw new CliException($"--out: {Out} is a file; expected a folder (made if missing).");
        foreach (var name in Outputs)
            if (Directory.Exists(Path.Combine(Out, name)))
                throw new CliException($"--out: {Path.Combine(Out, name)} is a folder, where the run writes its {name}.");
        if (MetricsJson is { } metrics && Directory.Exists(metrics))
            throw new CliException($"--metrics-json: {metrics} is a folder; expected the path of a file to write.");
    }

    /// <summary>The settings as text, for the sidecar.</summary>
    public Dictionary<string, string> Describe() => new()
    {
        ["layers"] = I(Layers),
        ["hidden"] = I(Hidden),
        ["dropout"] = D(Dropout),
        ["bidirectional"] = Bidirectional ? "true" : "false",
        ["epochs"] = I(Epochs),
        ["batch"] = I(Batch),
        ["lr"] = D(LearningRate),
        ["optimizer"] = Optimizer,
        ["clip"] = D(Clip),
        ["seed"] = Seed.ToString(CultureInfo.InvariantCulture),
        ["threads"] = I(Threads),
        ["limit"] = I(Limit),
        ["val_fraction"] = D(ValidationFraction),
        ["patience"] = I(Patience),
    };

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string D(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
