using System.Numerics;
using LstmSharp.IO;
using LstmSharp.Layers;
using LstmSharp.Losses;
using LstmSharp.Tensors;

namespace LstmSharp.Models;

/// <summary>
/// The models people build around an LSTM, as one PyTorch-compatible module: an optional <c>embed</c>
/// (<c>nn.Embedding</c>, language models), <c>lstm</c> (<c>nn.LSTM</c>, batch-first), dropout, and a <c>head</c>
/// (<c>nn.Linear</c>). Its <c>state_dict</c> names carry those prefixes (<c>embed.weight</c>, <c>lstm.weight_ih_l0</c>,
/// <c>head.weight</c>, ...), so a PyTorch module with the same attributes loads it with no renaming.
/// Sequence-to-one kinds read the last layer's final state (forward direction at each sequence's last valid step,
/// reverse direction at step 0), as PyTorch code does with <c>torch.cat([h_n[-2], h_n[-1]], 1)</c>.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class SequenceModel<T> : Module<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;

    /// <summary>Builds the model and initialises it from <paramref name="seed"/> as PyTorch would (each part its own stream).</summary>
    public SequenceModel(ModelConfig config, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        Embedding = config.Kind == ModelKind.LanguageModel ? new Embedding<T>(config.VocabSize, config.EmbeddingSize, seed + 1) : null;
        Lstm = new Lstm<T>(config.LstmOptions, seed + 2);
        HeadDropout = new Dropout<T>(config.HeadDropout, seed + 3);
        Head = new Linear<T>(FeatureSize, config.HeadOutputSize, bias: true, seed + 4);
        var all = new List<Parameter<T>>();
        if (Embedding is not null) all.AddRange(Embedding.Parameters.Select(p => new Parameter<T>("embed." + p.Name, p)));
        all.AddRange(Lstm.Parameters.Select(p => new Parameter<T>("lstm." + p.Name, p)));
        all.AddRange(Head.Parameters.Select(p => new Parameter<T>("head." + p.Name, p)));
        _parameters = [.. all];
    }

    /// <summary>The configuration.</summary>
    public ModelConfig Config { get; }

    /// <summary>The token embedding of a language model, else null.</summary>
    public Embedding<T>? Embedding { get; }

    /// <summary>The LSTM (batch-first).</summary>
    public Lstm<T> Lstm { get; }

    /// <summary>Dropout on the head's input.</summary>
    public Dropout<T> HeadDropout { get; }

    /// <summary>The linear head: [D·P] → [O].</summary>
    public Linear<T> Head { get; }

    /// <summary>The head's input width, D·P.</summary>
    public int FeatureSize => Config.LstmOptions.NumDirections * Config.LstmOptions.OutputHiddenSize;

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>The generators of every dropout mask, in a fixed order, for checkpoints.</summary>
    public IReadOnlyList<Rng> Generators => [Lstm.Random, HeadDropout.Random];

    /// <summary>
    /// Runs the model on a batch (targets are not read). The output is [B, O] for regression, [B, C] logits for
    /// classification, [B, T, O] for per-step regression and [B, T, V] logits for a language model. A given state
    /// (<paramref name="h0"/> [L·D, B, P], <paramref name="c0"/> [L·D, B, H]) continues an earlier chunk; the result's
    /// HN and CN are the state to pass to the next chunk (truncated BPTT, streaming).
    /// </summary>
    public ModelOutput<T> Forward(SequenceBatch<T> batch, Tensor<T>? h0 = null, Tensor<T>? c0 = null) => Run(batch, h0, c0, infer: false);

    /// <summary>
    /// <see cref="Forward"/> for inference (the LSTM's <see cref="Lstm{T}.Infer"/>): the outputs of an evaluation-mode
    /// Forward, with no dropout whatever <see cref="Training"/> says, and no cache (the result's Cache is empty and
    /// cannot go to <see cref="Backward"/>), so it needs far less memory. Shapes as in <see cref="Forward"/>. Several
    /// threads may call it at once on one model (a server's requests, say), as long as no training call or change of the
    /// weights overlaps them. Each thread that runs a model keeps the packed weights of its largest layer (about the size
    /// of that layer's weights) for its next call, until the thread ends.
    /// </summary>
    public ModelOutput<T> Predict(SequenceBatch<T> batch, Tensor<T>? h0 = null, Tensor<T>? c0 = null) => Run(batch, h0, c0, infer: true);

    private ModelOutput<T> Run(SequenceBatch<T> batch, Tensor<T>? h0, Tensor<T>? c0, bool infer)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int b = batch.Size, steps = batch.Steps;
        Tensor<T> input;
        int[]? tokens = null;
        if (Embedding is not null)
        {
            if (batch.Tokens is null)
                throw new ArgumentException("batch: a language model reads token ids; expected batch.Tokens, got features.", nameof(batch));
            // Padding may hold any id (PyTorch code often pads with -1 or V): only valid steps are looked up.
            tokens = (int[])batch.Tokens.Clone();                                 // [B·T]
            int vocab = Embedding.NumEmbeddings;
            for (int i = 0; i < b; i++)
            {
                for (int t = 0; t < batch.Lengths[i]; t++)
                    if ((uint)tokens[i * steps + t] >= (uint)vocab)
                        throw new ArgumentException(
                            $"batch: Tokens[{i}, {t}] = {tokens[i * steps + t]} is not a token id of the vocabulary (expected 0..{vocab - 1}); sequence {i} has {batch.Lengths[i]} valid steps.",
                            nameof(batch));
                tokens.AsSpan(i * steps + batch.Lengths[i], steps - batch.Lengths[i]).Clear();
            }
            input = Embedding.Forward(tokens, b, steps);                          // [B, T, E]
        }
        else
        {
            if (batch.Features is null)
                throw new ArgumentException($"batch: a {Config.Kind} model reads features; expected batch.Features, got tokens.", nameof(batch));
            if (batch.Features.Dim(2) != Config.InputSize)
                throw new ArgumentException($"batch: expected features [B, T, I = {Config.InputSize}], got {batch.Features.ShapeString}.", nameof(batch));
            input = batch.Features;                                               // [B, T, I]
        }
        // A sequence with no valid step in this chunk still runs one (ignored) step: the LSTM needs lengths >= 1.
        var lengths = batch.Lengths.Select(len => Math.Max(len, 1)).ToArray();
        Lstm.Training = Training;
        var lstm = Lstm.ForwardCore(input, h0, c0, lengths, outputSequence: !Config.IsSequenceToOne, infer); // output [B, T, D·P], or empty
        KeepStateOfEmptyRows(batch.LengthSpan, h0, c0, lstm);
        var features = Config.IsSequenceToOne ? FinalState(lstm.HN, b) : lstm.Output; // [B, D·P] or [B, T, D·P]
        var (headInput, mask) = HeadDropout.Forward(features, Training && !infer);
        var output = Head.Forward(headInput);                                     // [B, O] or [B, T, O]
        return new ModelOutput<T>(output, lstm.HN, lstm.CN, infer ? default : new ModelCache<T>(this, tokens, lstm.Cache, headInput, mask));
    }

    /// <summary>
    /// Backward from dL/d output (the output's shape): adds every parameter's gradient into its <c>Grad</c>. The state
    /// given to forward is treated as a constant (truncated BPTT).
    /// </summary>
    public void Backward(in ModelCache<T> cache, Tensor<T> dOutput)
    {
        if (!ReferenceEquals(cache.Owner, this))
            throw new ArgumentException("cache: expected the cache returned by this model's Forward (Predict keeps none).", nameof(cache));
        ArgumentNullException.ThrowIfNull(dOutput);
        Lstm.CheckCache(cache.Lstm);                                              // before the head adds anything: a refused Backward adds nothing
        var dHeadInput = Head.Backward(cache.HeadInput, dOutput);                 // [B, D·P] or [B, T, D·P]
        var dFeatures = HeadDropout.Backward(cache.DropoutMask, dHeadInput);
        var o = Config.LstmOptions;
        int b = cache.Lstm.Batch;
        LstmGradients<T> grads;
        if (Config.IsSequenceToOne)
        {
            int p = o.OutputHiddenSize, d = o.NumDirections;
            var dHN = new T[o.NumLayers * d * b * p];                             // [L·D, B, P]
            for (int dir = 0; dir < d; dir++)
                for (int i = 0; i < b; i++)
                    dFeatures.Data.AsSpan((i * d + dir) * p, p).CopyTo(dHN.AsSpan((((o.NumLayers - 1) * d + dir) * b + i) * p));
            grads = Lstm.BackwardCore(cache.Lstm, null, new Tensor<T>(dHN, o.NumLayers * d, b, p), null, inputGradient: Embedding is not null);
        }
        else
        {
            grads = Lstm.BackwardCore(cache.Lstm, dFeatures, null, null, inputGradient: Embedding is not null);
        }
        Embedding?.Backward(cache.Tokens!, grads.Input);
    }

    /// <summary>
    /// The loss of an output against the batch's targets, averaged over the valid predictions (padded steps are
    /// masked), and its gradient: by default mean squared error for the regression kinds, cross-entropy for the
    /// categorical ones; <paramref name="options"/> picks L1 or Huber, class weights and label smoothing.
    /// Also counts correct predictions (argmax) for the categorical kinds.
    /// </summary>
    public BatchLoss<T> Loss(ModelOutput<T> output, SequenceBatch<T> batch, LossOptions? options = null)
    {
        options ??= new LossOptions();
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(batch);
        options.Validate(Config.IsCategorical ? Config.HeadOutputSize : null);
        int b = batch.Size, o = Config.HeadOutputSize;
        int[] expectedShape = Config.IsSequenceToOne ? [b, o] : [b, batch.Steps, o];
        if (!output.Output.HasShape(expectedShape))
            throw new ArgumentException($"output: expected shape {ShapeUtil.Format(expectedShape)} for this batch, got {output.Output.ShapeString}.", nameof(output));
        var rows = Config.IsSequenceToOne
            ? Enumerable.Range(0, b).Where(i => batch.Lengths[i] > 0).ToArray()
            : ValidRows(batch.LengthSpan, batch.Steps);
        var pred = Gather(output.Output.Data, rows, o);                          // [N, O]
        LossResult<T> loss;
        int correct = 0;
        double weight = rows.Length;
        if (Config.IsCategorical)
        {
            var labels = batch.Labels ?? throw new ArgumentException("batch: expected labels (class indices) for a categorical model.", nameof(batch));
            int expected = Config.IsSequenceToOne ? b : b * batch.Steps;
            if (labels.Length != expected)
                throw new ArgumentException($"batch: expected {expected} labels, got {labels.Length}.", nameof(batch));
            var targets = rows.Select(r => labels[r]).ToArray();
            for (int n = 0; n < rows.Length; n++)
                if ((uint)targets[n] >= (uint)o)
                    throw new ArgumentException($"batch: expected each label of a valid step in 0..{o - 1}, got labels[{rows[n]}] = {targets[n]} (padded steps are left out by lengths, not by an ignore index).", nameof(batch));
            Tensor<T>? weights = null;
            if (options.ClassWeights is { } w) weights = new Tensor<T>(w.Select(T.CreateChecked).ToArray(), o);
            loss = rows.Length == 0 ? new LossResult<T>(0, Tensor<T>.Zeros(0, o))
                : CrossEntropyLoss.Compute(pred, targets, weight: weights, labelSmoothing: options.LabelSmoothing);
            if (options.ClassWeights is { } cw) weight = targets.Sum(t => cw[t]);   // the weighted mean's divisor
            for (int n = 0; n < rows.Length; n++)
                if (ArgMax(pred.Data.AsSpan(n * o, o)) == targets[n]) correct++;
        }
        else
        {
            var t = batch.Targets ?? throw new ArgumentException("batch: expected target values for a regression model.", nameof(batch));
            if (!t.HasShape([.. output.Output.Shape]))
                throw new ArgumentException($"batch: expected targets of shape {output.Output.ShapeString}, got {t.ShapeString}.", nameof(batch));
            var target = Gather(t.Data, rows, o);
            loss = rows.Length == 0 ? new LossResult<T>(0, Tensor<T>.Zeros(0, o)) : options.Regression switch
            {
                RegressionLoss.Mse => MseLoss.Compute(pred, target),
                RegressionLoss.L1 => L1Loss.Compute(pred, target),
                RegressionLoss.Huber => HuberLoss.Compute(pred, target, delta: options.HuberDelta),
                var r => throw new ArgumentException($"options: unknown regression loss {r}.", nameof(options)),
            };
        }
        var grad = new T[output.Output.Length];                                   // the output's shape
        for (int n = 0; n < rows.Length; n++)
            loss.Gradient.Data.AsSpan(n * o, o).CopyTo(grad.AsSpan(rows[n] * o));
        return new BatchLoss<T>(loss.Value, new Tensor<T>(grad, [.. output.Output.Shape]), rows.Length, correct, weight);
    }

    /// <summary>Saves the model as one safetensors <c>state_dict</c> with its configuration in the metadata (atomic).</summary>
    /// <param name="path">The destination file.</param>
    /// <param name="extraMetadata">More metadata strings; keys starting with <c>model.</c> are the configuration's and are refused.</param>
    public void Save(string path, IReadOnlyDictionary<string, string>? extraMetadata = null)
    {
        var metadata = Config.ToMetadata();
        if (extraMetadata is not null)
            foreach (var (k, v) in extraMetadata)
            {
                if (k.StartsWith("model.", StringComparison.Ordinal))
                    throw new ArgumentException(
                        $"extraMetadata: the key '{k}' is reserved; keys starting with 'model.' hold the configuration that Load rebuilds the model from. Use another prefix.",
                        nameof(extraMetadata));
                metadata[k] = v;
            }
        SaveStateDict(path, metadata);
    }

    /// <summary>
    /// Rebuilds a model from a file written by <see cref="Save"/>: the configuration comes from its metadata. The file's
    /// tensor names, shapes and dtype (F32 for float, F64 for double) are checked against that configuration before the model
    /// is built (an <see cref="InvalidDataException"/> naming the path and tensor).
    /// </summary>
    public static SequenceModel<T> Load(string path)
    {
        var file = SafeTensorsFile.Load(path);
        ModelConfig config;
        try
        {
            config = ModelConfig.FromMetadata(file.Metadata);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"'{path}': {e.Message}", e);
        }
        CheckTensors(file, ParameterShapes(config), path);
        var model = new SequenceModel<T>(config);
        model.LoadStateDict(file);
        return model;
    }

    /// <summary>The names and shapes of the parameters of a model of (validated) <paramref name="config"/>, computed without building it.</summary>
    internal static IEnumerable<(string Name, long[] Shape)> ParameterShapes(ModelConfig config)
    {
        var o = config.LstmOptions;
        if (config.Kind == ModelKind.LanguageModel) yield return ("embed.weight", [config.VocabSize, config.EmbeddingSize]);
        foreach (var (name, shape) in Lstm<T>.ParameterShapes(o)) yield return ("lstm." + name, shape);
        yield return ("head.weight", [config.HeadOutputSize, (long)o.NumDirections * o.OutputHiddenSize]);
        yield return ("head.bias", [config.HeadOutputSize]);
    }

    /// <summary>
    /// A sequence with no valid step in this chunk ran one ignored step (the LSTM needs lengths ≥ 1): give it back the
    /// state it came in with and a zero output, so that it is as if nothing happened.
    /// </summary>
    private void KeepStateOfEmptyRows(ReadOnlySpan<int> lengths, Tensor<T>? h0, Tensor<T>? c0, LstmResult<T> lstm)
    {
        if (!lengths.Contains(0)) return;
        var o = Config.LstmOptions;
        int b = lengths.Length, p = o.OutputHiddenSize, h = o.HiddenSize;
        for (int i = 0; i < b; i++)
        {
            if (lengths[i] != 0) continue;
            for (int k = 0; k < o.NumLayers * o.NumDirections; k++)
            {
                var hRow = lstm.HN.Data.AsSpan((k * b + i) * p, p);
                var cRow = lstm.CN.Data.AsSpan((k * b + i) * h, h);
                if (h0 is null) hRow.Clear(); else h0.Data.AsSpan((k * b + i) * p, p).CopyTo(hRow);
                if (c0 is null) cRow.Clear(); else c0!.Data.AsSpan((k * b + i) * h, h).CopyTo(cRow);
            }
            if (lstm.Output.Rank == 3) lstm.Output.Data.AsSpan(i * lstm.Output.Dim(1) * lstm.Output.Dim(2), lstm.Output.Dim(2)).Clear();
        }
    }

    private Tensor<T> FinalState(Tensor<T> hN, int b)
    {
        var o = Config.LstmOptions;
        int p = o.OutputHiddenSize, d = o.NumDirections;
        var features = new T[b * d * p];                                          // [B, D·P]
        for (int dir = 0; dir < d; dir++)
            for (int i = 0; i < b; i++)
                hN.Data.AsSpan((((o.NumLayers - 1) * d + dir) * b + i) * p, p).CopyTo(features.AsSpan((i * d + dir) * p));
        return new Tensor<T>(features, b, d * p);
    }

    private static int[] ValidRows(ReadOnlySpan<int> lengths, int steps)
    {
        var rows = new List<int>();
        for (int i = 0; i < lengths.Length; i++)
            for (int t = 0; t < lengths[i]; t++) rows.Add(i * steps + t);
        return [.. rows];
    }

    private static Tensor<T> Gather(T[] data, int[] rows, int width)
    {
        var result = new T[rows.Length * width];                                  // [N, width]
        for (int n = 0; n < rows.Length; n++) data.AsSpan(rows[n] * width, width).CopyTo(result.AsSpan(n * width));
        return new Tensor<T>(result, rows.Length, width);
    }

    private static int ArgMax(ReadOnlySpan<T> values)
    {
        int best = 0;
        for (int k = 1; k < values.Length; k++) if (values[k] > values[best]) best = k;
        return best;
    }
}

/// <summary>A model's output and its final LSTM state.</summary>
/// <param name="Output">[B, O], [B, C], [B, T, O] or [B, T, V] by kind.</param>
/// <param name="HN">[L·D, B, P], the state to continue from.</param>
/// <param name="CN">[L·D, B, H].</param>
/// <param name="Cache">What backward needs.</param>
public sealed record ModelOutput<T>(Tensor<T> Output, Tensor<T> HN, Tensor<T> CN, ModelCache<T> Cache) where T : unmanaged, IFloatingPointIeee754<T>;

/// <summary>What <see cref="SequenceModel{T}.Backward"/> needs from the forward pass.</summary>
public readonly struct ModelCache<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    internal ModelCache(SequenceModel<T> owner, int[]? tokens, LstmCache<T> lstm, Tensor<T> headInput, T[]? dropoutMask)
    {
        Owner = owner;
        Tokens = tokens;
        Lstm = lstm;
        HeadInput = headInput;
        DropoutMask = dropoutMask;
    }

    internal SequenceModel<T> Owner { get; }
    internal int[]? Tokens { get; }           // [B·T]
    internal LstmCache<T> Lstm { get; }
    internal Tensor<T> HeadInput { get; }     // [B, D·P] or [B, T, D·P], after dropout
    internal T[]? DropoutMask { get; }        // the head input's shape, or null
}

/// <summary>A batch's loss.</summary>
/// <param name="Value">The mean loss over the valid predictions (0 when there are none).</param>
/// <param name="Gradient">dL/d output, the output's shape (zero at padded steps).</param>
/// <param name="Count">Valid predictions: sequences for sequence-to-one kinds, valid steps for per-step kinds.</param>
/// <param name="Correct">Correct argmax predictions (categorical kinds; 0 otherwise).</param>
/// <param name="Weight">The mean's divisor: <paramref name="Count"/>, or the sum of the targets' class weights; Value · Weight sums over batches.</param>
public sealed record BatchLoss<T>(double Value, Tensor<T> Gradient, int Count, int Correct, double Weight) where T : unmanaged, IFloatingPointIeee754<T>;
