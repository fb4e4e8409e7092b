namespace LstmSharp.Cli.Forecasting;

/// <summary>
/// How the forecaster turns a series into LSTM samples and back. The model learns the correction to a seasonal-naive
/// forecast: with z = log(y) (or y without <see cref="Log"/>) and the seasonal difference d[t] = z[t] - z[t - s],
/// each sample reads <see cref="Window"/> steps of the standardized d and predicts the next <see cref="Horizon"/>
/// values of it at once (direct). Forecasts longer than the horizon are recursive by blocks: predicted values are fed
/// back as inputs. A forecast z[t] = z[t - s] + d̂[t] is built on observed or already forecast values, so a model
/// that predicts d̂ = 0 is exactly the seasonal-naive baseline. The scaler is fitted on the training part only.
/// </summary>
/// <param name="Window">W, input steps per sample.</param>
/// <param name="Horizon">Values predicted per model call.</param>
/// <param name="Season">s, the seasonal period (1: plain differences, the last-value baseline).</param>
/// <param name="Log">Whether to model log(y) (every value must be positive).</param>
/// <param name="Scaler">Standardizes d; fitted on the training part.</param>
public sealed record SeasonalResidualForecaster(int Window, int Horizon, int Season, bool Log, StandardScaler Scaler)
{
    /// <summary>Features per step, I.</summary>
    public const int InputSize = 1;

    /// <summary>The fewest values a training part needs: s + W + horizon (one sample).</summary>
    public static int MinimumLength(int window, int horizon, int season) => season + window + horizon;

    /// <summary>
    /// Fits the scaler on the first <paramref name="trainCount"/> values. Throws a <see cref="CliException"/> when the
    /// training part is too short for one sample, or when <paramref name="log"/> meets a value that is not positive.
    /// </summary>
    public static SeasonalResidualForecaster Fit(IReadOnlyList<double> series, int trainCount, int window, int horizon, int season, bool log)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (window < 1) throw new CliException($"--window: expected at least 1 step, got {window}.");
        if (horizon < 1) throw new CliException($"--horizon: expected at least 1 step, got {horizon}.");
        if (season < 1) throw new CliException($"--season: expected a period of at least 1, got {season}.");
        int needed = MinimumLength(window, horizon, season);
        if (trainCount < needed)
            throw new CliException(
                $"the series is too short: its training part has {trainCount} values, but one sample needs season + window + horizon = {season} + {window} + {horizon} = {needed}" +
                $" (the series has {series.Count} values, the last {series.Count - trainCount} of which are held out for testing).");
        var z = Transform(series, log);
        var d = Enumerable.Range(season, trainCount - season).Select(t => z[t] - z[t - season]).ToArray();
        return new SeasonalResidualForecaster(window, horizon, season, log, StandardScaler.Fit(d));
    }

    /// <summary>z: log(y) or y; a non-positive value under <paramref name="log"/> is a <see cref="CliException"/> naming its index.</summary>
    public static double[] Transform(IReadOnlyList<double> series, bool log)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (!log) return [.. series];
        var z = new double[series.Count];
        for (int t = 0; t < z.Length; t++)
        {
            if (!(series[t] > 0))
                throw new CliException($"--log needs positive values, but value {t + 1} of the series is {series[t]}.");
            z[t] = Math.Log(series[t]);
        }
        return z;
    }

    /// <summary>The standardized seasonal differences of z; entries before index s are NaN.</summary>
    public double[] ScaledResiduals(IReadOnlyList<double> z)
    {
        var d = new double[z.Count];
        for (int t = 0; t < d.Length; t++) d[t] = t < Season ? double.NaN : Scaler.Transform(z[t] - z[t - Season]);
        return d;
    }

    /// <summary>The origins o (first predicted index) whose window and targets lie in [0, <paramref name="end"/>): s + W ≤ o ≤ end - horizon.</summary>
    public IEnumerable<int> Origins(int end) => Enumerable.Range(Season + Window, Math.Max(0, end - Horizon - Season - Window + 1));

    /// <summary>The samples at <paramref name="origins"/>: inputs [W·I] (row-major [W, I]) and targets [horizon].</summary>
    public (float[][] Inputs, float[][] Targets) Samples(IReadOnlyList<double> series, IEnumerable<int> origins)
    {
        var d = ScaledResiduals(Transform(series, Log));
        var inputs = new List<float[]>();
        var targets = new List<float[]>();
        foreach (int o in origins)
        {
            inputs.Add(Input(d, o));
            targets.Add([.. Enumerable.Range(o, Horizon).Select(t => (float)d[t])]);
        }
        return ([.. inputs], [.. targets]);
    }

    /// <summary>The model input [W·I] for a forecast from <paramref name="origin"/> (values from index origin on are not read).</summary>
    public float[] InputWindow(IReadOnlyList<double> series, int origin)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (origin < Season + Window || origin > series.Count)
            throw new CliException($"a window before value {origin + 1} needs season + window = {Season + Window} values before it.");
        return Input(ScaledResiduals(Transform(series.Take(origin).ToList(), Log)), origin);
    }

    /// <summary>
    /// Forecasts <paramref name="count"/> values after the first <paramref name="origin"/> of <paramref name="series"/>
    /// (later values are not read): <paramref name="predict"/> maps a window [W·I] to the next horizon standardized
    /// differences, and is called again on its own outputs until <paramref name="count"/> values are forecast.
    /// </summary>
    public double[] Forecast(IReadOnlyList<double> series, int origin, int count, Func<float[], float[]> predict)
    {
        ArgumentNullException.ThrowIfNull(predict);
        if (origin < Season + Window || origin > series.Count)
            throw new CliException($"a forecast from value {origin} needs season + window = {Season + Window} values before it.");
        var z = new List<double>(Transform(series.Take(origin).ToList(), Log));
        var d = new List<double>(ScaledResiduals(z));
        while (z.Count < origin + count)
        {
            var next = predict(Input(d, z.Count));
            if (next.Length != Horizon) throw new InvalidOperationException($"predict: expected {Horizon} values, got {next.Length}.");
            for (int k = 0; k < Horizon && z.Count < origin + count; k++)
            {
                int t = z.Count;
                z.Add(z[t - Season] + Scaler.Inverse(next[k]));
                d.Add(next[k]);
            }
        }
        return [.. z.Skip(origin).Select(v => Log ? Math.Exp(v) : v)];
    }

    private float[] Input(IReadOnlyList<double> d, int origin)
    {
        var x = new float[Window * InputSize];                                   // [W, I]
        for (int k = 0; k < Window; k++) x[k] = (float)d[origin - Window + k];
        return x;
    }
}
