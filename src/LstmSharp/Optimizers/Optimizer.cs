using System.Numerics;
using LstmSharp.Layers;
using LstmSharp.Tensors;

namespace LstmSharp.Optimizers;

/// <summary>Updates parameters from their accumulated gradients, with PyTorch's semantics.</summary>
public abstract class Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>An optimizer over <paramref name="parameters"/> with learning rate <paramref name="learningRate"/>.</summary>
    protected Optimizer(IEnumerable<Parameter<T>> parameters, double learningRate)
    {
        ElementTypes.Check<T>();
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters.ToArray();
        if (Parameters.Count == 0)
            throw new ArgumentException("parameters: the optimizer got an empty parameter list; expected at least one parameter (as PyTorch).", nameof(parameters));
        var seen = new Dictionary<Tensor<T>, string>(ReferenceEqualityComparer.Instance);
        for (int k = 0; k < Parameters.Count; k++)
        {
            if (Parameters[k] is not { } p)
                throw new ArgumentException($"parameters: entry {k} of {Parameters.Count} is null; expected the parameters to update.", nameof(parameters));
            if (!seen.TryAdd(p.Value, p.Name))
                throw new ArgumentException(
                    $"parameters: entry {k} ('{p.Name}') holds the same tensor as '{seen[p.Value]}', so it would be updated twice a step; list each parameter once.",
                    nameof(parameters));
        }
        _learningRate = Arguments.NonNegative(learningRate, nameof(learningRate));
    }

    /// <summary>
    /// The settings that shape the update besides the rate, by PyTorch's names (e.g. <c>beta1</c>, <c>eps</c>,
    /// <c>weight_decay</c>, <c>amsgrad</c>), as invariant text. A checkpoint records them, and resuming with an optimizer
    /// whose settings differ is refused (its buffers would go on under other rules). Empty unless a subclass lists them.
    /// </summary>
    public virtual IReadOnlyList<(string Name, string Value)> Settings => [];

    /// <summary>The optimizer's name for messages and checkpoints: its type's name without the generic arity (<c>Adam</c>, <c>AdamW</c>, <c>Sgd</c>, <c>RmsProp</c>).</summary>
    public string Name => NameOf(GetType().Name);

    /// <summary>A type name without its generic arity suffix (<c>Adam`1</c> → <c>Adam</c>).</summary>
    internal static string NameOf(string typeName) => typeName.IndexOf('`') is int tick and >= 0 ? typeName[..tick] : typeName;

    /// <summary>One setting as invariant text (doubles round-trip exactly; booleans as true/false).</summary>
    protected static (string Name, string Value) Setting(string name, double value) => (name, value.ToString("R", System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>One boolean setting.</summary>
    protected static (string Name, string Value) Setting(string name, bool value) => (name, value ? "true" : "false");

    private double _learningRate;

    /// <summary>The parameters updated.</summary>
    public IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>The learning rate; schedules change it between steps.</summary>
    public double LearningRate
    {
        get => _learningRate;
        set => _learningRate = Arguments.NonNegative(value, nameof(LearningRate));
    }

    /// <summary>Steps taken so far.</summary>
    public long StepCount { get; protected set; }

    /// <summary>Applies one update from the current gradients.</summary>
    public abstract void Step();

    /// <summary>
    /// The optimizer's per-parameter buffers, named by kind as PyTorch names them (<c>exp_avg</c>, <c>exp_avg_sq</c>,
    /// <c>max_exp_avg_sq</c>, <c>momentum_buffer</c>, <c>square_avg</c>, <c>grad_avg</c>); each array has its parameter's length.
    /// </summary>
    protected abstract IEnumerable<(string Kind, T[][] Buffers)> StateBuffers();

    /// <summary>
    /// The state for a checkpoint: every buffer as a tensor named <c>{parameter}.{kind}</c>, shaped as its parameter
    /// (copies). With <see cref="StepCount"/> and <see cref="LearningRate"/> it is all the optimizer remembers.
    /// </summary>
    public Dictionary<string, Tensor<T>> StateDict()
    {
        var dict = new Dictionary<string, Tensor<T>>();
        var duplicate = Parameters.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new InvalidOperationException(
                $"StateDict: two parameters are named '{duplicate.Key}', so their state cannot be told apart; build the optimizer from one module's Parameters (e.g. SequenceModel's, whose names carry module prefixes).");
        foreach (var (kind, buffers) in StateBuffers())
            for (int k = 0; k < Parameters.Count; k++)
                dict.Add($"{Parameters[k].Name}.{kind}", new Tensor<T>((T[])buffers[k].Clone(), [.. Parameters[k].Value.Shape]));
        return dict;
    }

    /// <summary>
    /// Restores a state written by <see cref="StateDict"/> with its step count. Strict: a missing, extra or misshapen
    /// buffer is an error naming it, and nothing changes unless everything matches.
    /// </summary>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor<T>> state, long stepCount)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (stepCount < 0) throw new ArgumentOutOfRangeException(nameof(stepCount), stepCount, $"stepCount: expected a non-negative count, got {stepCount}.");
        var expected = StateDict();
        var problems = new List<string>();
        var missing = expected.Keys.Where(k => !state.ContainsKey(k)).ToList();
        var extra = state.Keys.Where(k => !expected.ContainsKey(k)).ToList();
        if (missing.Count > 0) problems.Add("missing: " + string.Join(", ", missing));
        if (extra.Count > 0) problems.Add("unexpected: " + string.Join(", ", extra));
        foreach (var (name, t) in expected)
            if (state.TryGetValue(name, out var given) && given is null) problems.Add($"{name}: null, expected a tensor of shape {t.ShapeString}");
            else if (given is not null && !given.HasShape([.. t.Shape])) problems.Add($"{name}: expected shape {t.ShapeString}, got {given.ShapeString}");
        if (problems.Count > 0)
            throw new ArgumentException($"state does not match this {Name}: " + string.Join("; ", problems) + ".", nameof(state));
        foreach (var (kind, buffers) in StateBuffers())
            for (int k = 0; k < Parameters.Count; k++)
                state[$"{Parameters[k].Name}.{kind}"].Data.CopyTo(buffers[k], 0);
        StepCount = stepCount;
    }

    /// <summary>Sets every parameter's gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGrad();
    }
}
