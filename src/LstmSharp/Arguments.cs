namespace LstmSharp;

/// <summary>Argument checks shared by the optimizers and schedules (their messages name the argument, as elsewhere).</summary>
internal static class Arguments
{
    /// <summary><paramref name="value"/> if ≥ 0 (NaN is not), else an <see cref="ArgumentException"/> naming <paramref name="name"/>: for rates, decays, epsilons and factors, as PyTorch checks them.</summary>
    public static double NonNegative(double value, string name) => value >= 0 ? value
        : throw new ArgumentException($"{name}: expected a non-negative value, got {value}.", name);
}
