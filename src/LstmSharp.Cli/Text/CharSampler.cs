using LstmSharp.Models;
using LstmSharp.Tensors;

namespace LstmSharp.Cli.Text;

/// <summary>
/// Streams a character-level language model one step at a time (<see cref="ModelStreamer{T}"/>: each token fed runs
/// one step, carrying the state, with no allocation), and draws the next token from the logits.
/// </summary>
public sealed class CharSampler
{
    private readonly ModelStreamer<float> _streamer;

    /// <summary>A sampler of <paramref name="model"/> (a language model), from the zero state.</summary>
    public CharSampler(SequenceModel<float> model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Config.Kind != ModelKind.LanguageModel)
            throw new ArgumentException($"model: expected a language model, got a {model.Config.Kind} model.", nameof(model));
        _streamer = new ModelStreamer<float>(model);
    }

    /// <summary>The logits [V] of the next token, after the last one fed (empty before any), valid until the next.</summary>
    public ReadOnlySpan<float> Logits => _streamer.Output;

    /// <summary>Feeds one token, updating the state and the next token's logits.</summary>
    public void Feed(int token) => _streamer.Step(token);

    /// <summary>
    /// Draws the next token from the current logits: argmax when <paramref name="temperature"/> is 0, else from
    /// softmax(logits / temperature), restricted to the <paramref name="topK"/> most likely when positive.
    /// </summary>
    public int Sample(double temperature, int topK, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (Logits.IsEmpty) throw new InvalidOperationException("Sample: feed at least one token first.");
        return Sample(Logits, temperature, topK, rng);
    }

    /// <summary>
    /// Draws an index from <paramref name="logits"/> [V] (see <see cref="Sample(double, int, Rng)"/>). A +∞ logit is
    /// certain (a draw among the +∞ ones), a -∞ one impossible; at temperature +∞ the finite ones are equally likely.
    /// NaN logits (a model whose weights or state are not finite) are refused with an <see cref="InvalidDataException"/>.
    /// </summary>
    public static int Sample(ReadOnlySpan<float> logits, double temperature, int topK, Rng rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        int v = logits.Length;
        int nan = logits.IndexOfAnyExceptInRange(float.NegativeInfinity, float.PositiveInfinity);
        if (nan >= 0)
            throw new InvalidDataException($"the model's logit for token {nan} is NaN (its weights or state are not finite): there is nothing to sample from.");
        if (temperature <= 0)
        {
            int best = 0;
            for (int k = 1; k < v; k++) if (logits[k] > logits[best]) best = k;
            return best;
        }
        var order = Enumerable.Range(0, v).ToArray();
        var values = logits.ToArray();
        if (topK > 0 && topK < v)
        {
            Array.Sort(values.Select(x => -x).ToArray(), order);                 // most likely first
            order = order[..topK];
        }
        double max = order.Max(k => values[k]);
        if (double.IsPositiveInfinity(max)) order = order.Where(k => float.IsPositiveInfinity(values[k])).ToArray();  // certain
        var weights = order.Select(k => float.IsNegativeInfinity(values[k]) ? 0
            : double.IsPositiveInfinity(max) ? 1 : Math.Exp((values[k] - max) / temperature)).ToArray();   // (-∞ - max) / ∞ would be NaN
        if (weights.Sum() == 0) Array.Fill(weights, 1.0);                         // every logit -∞: nothing to prefer
        double u = rng.NextDouble() * weights.Sum();
        for (int k = 0; k < order.Length; k++)
        {
            u -= weights[k];
            if (u < 0) return order[k];
        }
        return order[^1];
    }
}
