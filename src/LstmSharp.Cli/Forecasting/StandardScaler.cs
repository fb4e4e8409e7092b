namespace LstmSharp.Cli.Forecasting;

/// <summary>z = (x - Mean) / Std, fitted on training values only (population standard deviation; 1 when it is 0).</summary>
public sealed record StandardScaler(double Mean, double Std)
{
    /// <summary>Fits the mean and standard deviation of <paramref name="values"/>.</summary>
    public static StandardScaler Fit(IReadOnlyCollection<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) throw new ArgumentException("values: expected at least one value to fit a scaler.", nameof(values));
        double mean = values.Average();
        double std = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Count);
        return new StandardScaler(mean, std > 1e-12 ? std : 1.0);
    }

    /// <summary>(x - Mean) / Std.</summary>
    public double Transform(double x) => (x - Mean) / Std;

    /// <summary>z · Std + Mean.</summary>
    public double Inverse(double z) => z * Std + Mean;
}
