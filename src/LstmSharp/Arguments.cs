namespace LstmSharp;

/// <summary>Argument checks shared by the optimizers and schedules (their messages name the argument, as elsewhere).</summary>
internal static class Arguments
{
    /// <summary>
    /// <paramref name="value"/> if finite and ≥ 0 (NaN and ∞ are not), else an <see cref="ArgumentException"/> naming
    /// <paramref name="name"/>: for rates, decays, epsilons and factors, as PyTorch checks them (and an infinite one,
    /// which no update survives).
    /// </summary>
    public static double NonNegative(double value, string name) => value >= 0 && double.IsFinite(value) ? value
        : throw new ArgumentException($"{name}: expected a finite non-negative value, got {value}.", name);

    /// <summary><paramref name="value"/> if finite, else an <see cref="ArgumentException"/> naming <paramref name="name"/>.</summary>
    public static double Finite(double value, string name) => double.IsFinite(value) ? value
        : throw new ArgumentException($"{name}: expected a finite value, got {value}.", name);
}
