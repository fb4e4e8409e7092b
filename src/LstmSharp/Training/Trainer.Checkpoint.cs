using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using LstmSharp.IO;
using LstmSharp.Models;
using LstmSharp.Tensors;

namespace LstmSharp.Training;

public sealed partial class Trainer<T>
{
    private const string FormatKey = "lstmsharp.checkpoint";
    private const string FormatVersion = "1";

    private static readonly JsonSerializerOptions Json = new()
    {
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        IncludeFields = false,
    };

    /// <summary>
    /// Writes everything needed to continue exactly: the model's weights, the optimizer's buffers, step count and
    /// rate, the schedule's state, every random generator, the position in the epoch (with its shuffled order),
    /// early-stopping state with the best weights, and the history. One safetensors file, written atomically
    /// (temporary file, flush, rename), so an interrupted write leaves the previous checkpoint intact.
    /// </summary>
    public void SaveCheckpoint(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        TakeRateSetByUser();  // a rate the user set since the last step (an observer at an epoch's end) is the base rate the checkpoint resumes with
        var metadata = Model.Config.ToMetadata();
        metadata[FormatKey] = FormatVersion;
        metadata["trainer.optimizer"] = Optimizer.Name;
        metadata["trainer.optimizer_settings"] = JsonSerializer.Serialize(Optimizer.Settings.ToDictionary(s => s.Name, s => s.Value), Json);
        metadata["trainer.optimizer_step"] = Optimizer.StepCount.ToString(CultureInfo.InvariantCulture);
        metadata["trainer.learning_rate"] = Optimizer.LearningRate.ToString("R", CultureInfo.InvariantCulture);
        metadata["trainer.state"] = JsonSerializer.Serialize(_state, Json);
        metadata["trainer.batching"] = Batching();
        metadata["trainer.rng.shuffle"] = FormatState(_shuffle);
        for (int g = 0; g < Model.Generators.Count; g++) metadata[$"trainer.rng.model{g}"] = FormatState(Model.Generators[g]);
        if (_plateau is { } plateau)
            metadata["trainer.plateau"] = JsonSerializer.Serialize(new[] { plateau.Best, plateau.BadEpochs, plateau.CooldownLeft }, Json);
        var file = new SafeTensorsFile(metadata);
        foreach (var p in Model.Parameters) file.Add(SafeTensor.From("model." + p.Name, p.Value));
        if (_state.Order.Length > 0) file.Add(SafeTensor.FromInt64("trainer.order", _state.Order.Select(i => (long)i).ToArray(), _state.Order.Length));
        foreach (var (name, t) in Optimizer.StateDict()) file.Add(SafeTensor.From("optimizer." + name, t));
        if (_bestWeights is not null)
            for (int k = 0; k < _bestWeights.Length; k++)
                file.Add(SafeTensor.From("best." + Model.Parameters[k].Name, new Tensor<T>(_bestWeights[k], [.. Model.Parameters[k].Value.Shape])));
        file.Save(path);
    }

    /// <summary>
    /// Restores a checkpoint written by <see cref="SaveCheckpoint"/> into this trainer, its model and optimizer, so that
    /// <see cref="Fit"/> continues where the saved run stopped. Refused, with nothing changed, when the checkpoint's
    /// model configuration, element type, optimizer or optimizer settings (<see cref="Optimizers.Optimizer{T}.Settings"/>,
    /// such as β2) differ from this trainer's, or when it stopped inside an epoch
    /// and this trainer batches differently. The optimizer's rate and the schedule's base rate come from the checkpoint.
    /// The next <see cref="Fit"/> checks that its training and validation sets are the ones the checkpoint's run had
    /// (a hash of each is in the checkpoint) and refuses others. The <see cref="TrainerOptions"/> are this trainer's:
    /// with the saved run's, the run continues bit for bit; another count of epochs, clip, schedule or patience is
    /// allowed and takes effect from the next step (the run is then no longer the one that never stopped).
    /// </summary>
    public void LoadCheckpoint(string path)
    {
        var file = SafeTensorsFile.Load(path);
        var md = file.Metadata;
        if (!md.TryGetValue(FormatKey, out var version))
            throw new InvalidDataException($"'{path}' is not a LstmSharp checkpoint (no '{FormatKey}' in its metadata).");
        if (version != FormatVersion)
            throw new InvalidDataException($"'{path}' is a checkpoint of format {version}; this version reads format {FormatVersion}.");
        ModelConfig config;
        try
        {
            config = ModelConfig.FromMetadata(md);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}': {e.Message}", e);
        }
        var differences = config.Differences(Model.Config);
        if (differences.Count > 0)
            throw new InvalidDataException(
                $"'{path}' was made for a different model (checkpoint vs this model): {string.Join("; ", differences)}.");
        string optimizer = Optimizers.Optimizer<T>.NameOf(Get(md, "trainer.optimizer", path));  // checkpoints before 2026-12-07 hold the type's name, Adam`1
        if (optimizer != Optimizer.Name)
            throw new InvalidDataException($"'{path}' was made with optimizer {optimizer}; this trainer uses {Optimizer.Name}.");
        if (md.TryGetValue("trainer.optimizer_settings", out var settingsText))  // absent from checkpoints before 2026-12-07
        {
            Dictionary<string, string>? saved;
            try
            {
                saved = JsonSerializer.Deserialize<Dictionary<string, string>>(settingsText, Json);
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"'{path}': 'trainer.optimizer_settings' is not valid JSON: {e.Message}", e);
            }
            if (saved is null) throw new InvalidDataException($"'{path}': 'trainer.optimizer_settings' is empty.");
            var mine = Optimizer.Settings.ToDictionary(s => s.Name, s => s.Value);
            var changed = mine.Keys.Union(saved.Keys).Where(k => !saved.TryGetValue(k, out var a) || !mine.TryGetValue(k, out var b) || a != b)
                .Select(k => $"{k} {(saved.TryGetValue(k, out var a) ? a : "(none)")} vs {(mine.TryGetValue(k, out var b) ? b : "(none)")}").ToList();
            if (changed.Count > 0)
                throw new InvalidDataException(
                    $"'{path}' was made with other {optimizer} settings (checkpoint vs this optimizer): {string.Join("; ", changed)}. " +
                    "Its buffers would go on under other rules: resume with the same settings, or load its weights into a new run.");
        }
        var expectedDType = SafeTensor.DTypeOf<T>();
        var wrong = file.Tensors.Values.FirstOrDefault(t => t.DType != expectedDType && t.Name != "trainer.order");
        if (wrong is not null)
            throw new InvalidDataException($"'{path}' holds {wrong.Name} as {wrong.DType}; this trainer's element type needs {expectedDType}.");

        var order = file.Tensors.TryGetValue("trainer.order", out var orderTensor) ? ReadOrder(orderTensor, path) : [];
        var tensors = file.Tensors.Values.Where(t => t.Name != "trainer.order").ToDictionary(t => t.Name, t => t.ToTensor<T>());
        Dictionary<string, Tensor<T>> WithPrefix(string prefix) =>
            tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
        var modelState = WithPrefix("model.");
        var bestState = WithPrefix("best.");
        TrainingState? state;
        try
        {
            state = JsonSerializer.Deserialize<TrainingState>(Get(md, "trainer.state", path), Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}': 'trainer.state' is not a valid training state: {e.Message}", e);
        }
        if (state is null) throw new InvalidDataException($"'{path}': 'trainer.state' is empty.");
        string? badHistory = state.History is null ? "no history" : state.History.Contains(null!) ? "a history with an empty entry" : null;
        if (state.Epoch < 0 || state.Batch < 0 || state.Step < 0 || badHistory is not null)
            throw new InvalidDataException(
                $"'{path}': 'trainer.state' must hold a non-negative epoch, batch and step and a list of epoch reports, " +
                $"got epoch {state.Epoch}, batch {state.Batch}, step {state.Step}{(badHistory is null ? "" : " and " + badHistory)}.");
        state.Order = order;
        if (order.Length > 0 && Get(md, "trainer.batching", path) != Batching())
            throw new InvalidDataException(
                $"'{path}' stopped inside an epoch batched as {Get(md, "trainer.batching", path)}; this trainer batches as {Batching()}. " +
                "Resume with the same batch size, truncated-BPTT length and shuffling, or from an epoch's end.");
        string stepText = Get(md, "trainer.optimizer_step", path);
        if (!long.TryParse(stepText, NumberStyles.None, CultureInfo.InvariantCulture, out long optimizerStep))
            throw new InvalidDataException($"'{path}': 'trainer.optimizer_step' must be a non-negative integer, got '{stepText}'.");
        string rateText = Get(md, "trainer.learning_rate", path);
        if (!double.TryParse(rateText, NumberStyles.Float, CultureInfo.InvariantCulture, out double rate) || !double.IsFinite(rate) || rate < 0)
            throw new InvalidDataException($"'{path}': 'trainer.learning_rate' must be a finite non-negative number, got '{rateText}'.");
        var shuffle = ParseState(md, "trainer.rng.shuffle", path);
        var generators = Enumerable.Range(0, Model.Generators.Count).Select(g => ParseState(md, $"trainer.rng.model{g}", path)).ToArray();
        double[]? plateau = md.TryGetValue("trainer.plateau", out var ps) ? ReadPlateau(ps, path) : null;
        if (bestState.Count > 0 && bestState.Count != Model.Parameters.Count)
            throw new InvalidDataException($"'{path}' holds {bestState.Count} best-weight tensors; the model has {Model.Parameters.Count} parameters.");
        var best = bestState.Count == 0 ? null : Model.Parameters.Select(prm =>
            bestState.TryGetValue(prm.Name, out var t) && t.HasShape([.. prm.Value.Shape]) ? t.Data
                : throw new InvalidDataException($"'{path}' lacks best weights for {prm.Name} of shape {prm.Value.ShapeString}.")).ToArray();

        // Check everything that can fail before changing anything: the model first (it validates names and shapes),
        // keeping a copy to put back if the optimizer's state then fails.
        var before = Model.Parameters.Select(p => (T[])p.Value.Data.Clone()).ToArray();
        try
        {
            Model.LoadStateDict(modelState);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{path}': the model's tensors (model.*): {e.Message}", e);
        }
        try
        {
            Optimizer.LoadStateDict(WithPrefix("optimizer."), optimizerStep);
        }
        catch (Exception e)
        {
            for (int k = 0; k < before.Length; k++) before[k].CopyTo(Model.Parameters[k].Value.Data, 0);
            if (e is ArgumentException) throw new InvalidDataException($"'{path}': the optimizer's tensors (optimizer.*): {e.Message}", e);
            throw;
        }
        SetRate(rate);
        _shuffle.SetState(shuffle);
        for (int g = 0; g < generators.Length; g++) Model.Generators[g].SetState(generators[g]);
        if (_plateau is { } p)
        {
            ResetPlateau(p);
            if (plateau is not null)
            {
                p.Best = plateau[0];
                p.BadEpochs = (int)plateau[1];
                p.CooldownLeft = (int)plateau[2];
            }
        }
        _bestWeights = best;
        _state = state;
        _resumedData = state.Data;  // the next Fit refuses other data (a checkpoint without it predates the check)
    }

    private string Batching() => string.Create(CultureInfo.InvariantCulture,
        $"batch={Options.BatchSize},tbptt={Options.TbpttSteps},shuffle={(Options.Shuffle ? "yes" : "no")}");

    private static string Get(IReadOnlyDictionary<string, string> md, string key, string path) =>
        md.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"'{path}': the checkpoint lacks '{key}'.");

    private static string FormatState(Rng rng) => string.Join(",", rng.GetState().Select(v => v.ToString(CultureInfo.InvariantCulture)));

    private static ulong[] ParseState(IReadOnlyDictionary<string, string> md, string key, string path)
    {
        string text = Get(md, key, path);
        var parts = text.Split(',');
        var state = new ulong[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!ulong.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out state[i]))
                throw new InvalidDataException($"'{path}': '{key}', a generator state, must be 4 integers, got '{text}'.");
        if (state.Length != 4 || state.All(v => v == 0))
            throw new InvalidDataException($"'{path}': '{key}', a generator state, must be 4 integers, not all zero, got '{text}'.");
        return state;
    }

    /// <summary>The epoch's order: a permutation of 0..N-1 (N, its length, is checked against the data set by <see cref="Fit"/>).</summary>
    private static int[] ReadOrder(SafeTensor tensor, string path)
    {
        long[] values;
        try
        {
            values = tensor.ToInt64();
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}': '{tensor.Name}': {e.Message}", e);
        }
        if (tensor.Shape.Count != 1)
            throw new InvalidDataException($"'{path}': '{tensor.Name}' must be 1-dimensional, got shape [{string.Join(", ", tensor.Shape)}].");
        var order = new int[values.Length];
        var seen = new bool[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            long v = values[i];
            if (v < 0 || v >= values.Length || seen[v])
                throw new InvalidDataException(
                    $"'{path}': '{tensor.Name}' must be a permutation of 0..{values.Length - 1}, but element {i} is {v}{(v >= 0 && v < values.Length ? ", which came before" : "")}.");
            seen[v] = true;
            order[i] = (int)v;
        }
        return order;
    }

    /// <summary>The plateau state: [best, bad epochs, cooldown left], the counts non-negative integers.</summary>
    private static double[] ReadPlateau(string text, string path)
    {
        double[]? plateau;
        try
        {
            plateau = JsonSerializer.Deserialize<double[]>(text, Json);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"'{path}': 'trainer.plateau' is not valid JSON: {e.Message}", e);
        }
        static bool Count(double v) => v >= 0 && v <= int.MaxValue && v == Math.Floor(v);
        if (plateau is not { Length: 3 } || !Count(plateau[1]) || !Count(plateau[2]))
            throw new InvalidDataException($"'{path}': 'trainer.plateau' must be [best, bad epochs, cooldown left] with non-negative integer counts, got '{text}'.");
        return plateau;
    }
}
