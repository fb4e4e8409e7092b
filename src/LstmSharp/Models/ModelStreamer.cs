using System.Numerics;
using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.Models;

/// <summary>
/// Streaming inference of a whole <see cref="SequenceModel{T}"/>: one step at a time (a feature vector, or a token id for
/// a language model), carrying every layer's state between calls, with no allocation per step. Each step returns the
/// head's output for the sequence so far: the next token's logits (language model), the class logits or the values of a
/// sequence-to-one model, or this step's values (per-step regression), as <see cref="SequenceModel{T}.Predict"/> gives
/// for that sequence (at its last step), within rounding (a step's products sum in another order than a batch's). Text generation, live sensor classification and online forecasting run this
/// way. Unidirectional models only (a bidirectional one reads each sequence from its end).
/// </summary>
/// <remarks>
/// The LSTM's weights are packed when the streamer is made (see <see cref="LstmStreamer{T}"/>): call
/// <see cref="Refresh"/> after changing them. The embedding and the head are read where they lie at every step.
/// </remarks>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class ModelStreamer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly SequenceModel<T> _model;
    private readonly LstmStreamer<T> _lstm;
    private readonly T[] _output;    // [O] the head's output after the last step
    private bool _stepped;           // whether _output holds a step's output (none since made, reset or a state set)

    /// <summary>A streamer over <paramref name="model"/>, starting from zero state.</summary>
    public ModelStreamer(SequenceModel<T> model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Config.Bidirectional)
            throw new ArgumentException("model: a bidirectional model reads each sequence backwards from its end and cannot stream step by step; expected Bidirectional = false.", nameof(model));
        _model = model;
        _lstm = new LstmStreamer<T>(model.Lstm);
        _output = new T[model.Head.OutFeatures];
    }

    /// <summary>The model streamed.</summary>
    public SequenceModel<T> Model => _model;

    /// <summary>I: the features each <see cref="Step(ReadOnlySpan{T})"/> reads (0 for a language model, which reads token ids).</summary>
    public int InputSize => _model.Embedding is null ? _lstm.InputSize : 0;

    /// <summary>O: the size of each step's output (values, classes, or the vocabulary V).</summary>
    public int OutputSize => _output.Length;

    /// <summary>The last step's output [O] (what it returned), or empty before a step (since made, reset, or a state set).</summary>
    public ReadOnlySpan<T> Output => _stepped ? _output : default;

    /// <summary>
    /// Runs one step on <paramref name="features"/> [I] and returns the head's output [O], valid until the next step.
    /// For models that read features (all but the language model).
    /// </summary>
    public ReadOnlySpan<T> Step(ReadOnlySpan<T> features)
    {
        if (_model.Embedding is not null)
            throw new InvalidOperationException("Step: a LanguageModel reads token ids; call Step(int token).");
        if (features.Length != _lstm.InputSize)
            throw new ArgumentException($"features: expected I = {_lstm.InputSize} values, got {features.Length}.", nameof(features));
        return Head(_lstm.Step(features));
    }

    /// <summary>
    /// Runs one step on the token <paramref name="token"/> (in 0..V-1) and returns the next token's logits [V], valid until
    /// the next step. For a language model.
    /// </summary>
    public ReadOnlySpan<T> Step(int token)
    {
        var embedding = _model.Embedding
            ?? throw new InvalidOperationException($"Step: a {_model.Config.Kind} model reads features; call Step(features) with I = {_lstm.InputSize} values.");
        if ((uint)token >= (uint)embedding.NumEmbeddings)
            throw new ArgumentOutOfRangeException(nameof(token), $"token: expected an id in 0..{embedding.NumEmbeddings - 1}, got {token}.");
        return Head(_lstm.Step(embedding.Row(token)));
    }

    /// <summary>The head's output [O] from the top layer's h [P].</summary>
    private ReadOnlySpan<T> Head(ReadOnlySpan<T> h)
    {
        _model.Head.Forward(h, _output);
        _stepped = true;
        return _output;
    }

    /// <summary>Sets every layer's state to zero, to start a new sequence.</summary>
    public void Reset()
    {
        _lstm.Reset();
        _stepped = false;
    }

    /// <summary>
    /// Sets the state from <paramref name="h0"/> [L, 1, P] and <paramref name="c0"/> [L, 1, H], e.g. the HN and CN of a
    /// <see cref="SequenceModel{T}.Predict"/> on a batch of one sequence (a prompt), or [L, P] and [L, H].
    /// </summary>
    public void SetState(Tensor<T> h0, Tensor<T> c0)
    {
        ArgumentNullException.ThrowIfNull(h0);
        ArgumentNullException.ThrowIfNull(c0);
        var o = _model.Lstm.Options;
        int l = o.NumLayers;
        if (h0.HasShape(l, 1, o.OutputHiddenSize)) h0 = h0.Reshape(l, o.OutputHiddenSize);
        else if (!h0.HasShape(l, o.OutputHiddenSize))
            throw new ArgumentException($"h0: expected shape [L, 1, P] = [{l}, 1, {o.OutputHiddenSize}] (or [L, P]), got {h0.ShapeString}.", nameof(h0));
        if (c0.HasShape(l, 1, o.HiddenSize)) c0 = c0.Reshape(l, o.HiddenSize);
        else if (!c0.HasShape(l, o.HiddenSize))
            throw new ArgumentException($"c0: expected shape [L, 1, H] = [{l}, 1, {o.HiddenSize}] (or [L, H]), got {c0.ShapeString}.", nameof(c0));
        _lstm.SetState(h0, c0);
        _stepped = false;
    }

    /// <summary>The state, h [L, 1, P] and c [L, 1, H] (copies; the shapes <see cref="SequenceModel{T}.Predict"/> takes for a batch of one).</summary>
    public (Tensor<T> H, Tensor<T> C) GetState()
    {
        var (h, c) = _lstm.GetState();
        return (h.Reshape(h.Dim(0), 1, h.Dim(1)), c.Reshape(c.Dim(0), 1, c.Dim(1)));
    }

    /// <summary>
    /// Re-packs the LSTM's weights (after training or loading into the model). The state is kept (call
    /// <see cref="Reset"/> to start over); <see cref="Output"/> is empty until the next step, as it came from the old weights.
    /// </summary>
    public void Refresh()
    {
        _lstm.Refresh();
        _stepped = false;
    }
}
