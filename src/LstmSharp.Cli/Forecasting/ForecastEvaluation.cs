using LstmSharp.Models;
using LstmSharp.Tensors;

namespace LstmSharp.Cli.Forecasting;

/// <summary>
/// A model's forecast of a series' test part (the last <c>Test</c> values, forecast from the end of the training
/// part) next to the seasonal-naive (with and without drift) and last-value baselines made from the same origin.
/// </summary>
/// <param name="Origin">The first test index.</param>
/// <param name="Actual">The test values.</param>
/// <param name="Forecast">The model's forecast.</param>
/// <param name="SeasonalNaive">The seasonal-naive forecast.</param>
/// <param name="LastValue">The last-value forecast.</param>
/// <param name="SeasonalDrift">The seasonal-naive-with-drift forecast (<see cref="Baselines.SeasonalNaiveWithDrift"/>).</param>
/// <param name="TestLoss">The MSE of the forecast's standardized seasonal differences against the actual ones (the training loss's units).</param>
public sealed record ForecastEvaluation(int Origin, double[] Actual, double[] Forecast, double[] SeasonalNaive, double[] LastValue, double[] SeasonalDrift, double TestLoss)
{
    /// <summary>Seasonal naive with drift's RMSE.</summary>
    public double SeasonalDriftRmse => ErrorMetrics.Rmse(SeasonalDrift, Actual);

    /// <summary>Seasonal naive with drift's MAE.</summary>
    public double SeasonalDriftMae => ErrorMetrics.Mae(SeasonalDrift, Actual);

    /// <summary>The model's RMSE.</summary>
    public double Rmse => ErrorMetrics.Rmse(Forecast, Actual);

    /// <summary>The model's MAE.</summary>
    public double Mae => ErrorMetrics.Mae(Forecast, Actual);

    /// <summary>Seasonal naive's RMSE.</summary>
    public double SeasonalNaiveRmse => ErrorMetrics.Rmse(SeasonalNaive, Actual);

    /// <summary>Seasonal naive's MAE.</summary>
    public double SeasonalNaiveMae => ErrorMetrics.Mae(SeasonalNaive, Actual);

    /// <summary>Last value's RMSE.</summary>
    public double LastValueRmse => ErrorMetrics.Rmse(LastValue, Actual);

    /// <summary>Last value's MAE.</summary>
    public double LastValueMae => ErrorMetrics.Mae(LastValue, Actual);

    /// <summary>Forecasts the last <paramref name="test"/> values of <paramref name="values"/> with <paramref name="model"/>.</summary>
    public static ForecastEvaluation Run(SequenceModel<float> model, SeasonalResidualForecaster forecaster, IReadOnlyList<double> values, int test)
    {
        ArgumentNullException.ThrowIfNull(forecaster);
        int origin = values.Count - test;
        var forecast = forecaster.Forecast(values, origin, test, x => Predict(model, x, forecaster.Window));
        var actual = values.Skip(origin).ToArray();
        var z = SeasonalResidualForecaster.Transform(values, forecaster.Log);
        var zf = SeasonalResidualForecaster.Transform(forecast, forecaster.Log);
        double loss = 0;
        for (int k = 0; k < test; k++)
        {
            int t = origin + k;
            double previous = t - forecaster.Season >= origin ? zf[t - forecaster.Season - origin] : z[t - forecaster.Season];
            double predicted = forecaster.Scaler.Transform(zf[k] - previous);
            double observed = forecaster.Scaler.Transform(z[t] - z[t - forecaster.Season]);
            loss += (predicted - observed) * (predicted - observed);
        }
        return new ForecastEvaluation(origin, actual, forecast, Baselines.SeasonalNaive(values, origin, test, forecaster.Season),
            Baselines.LastValue(values, origin, test), Baselines.SeasonalNaiveWithDrift(values, origin, test, forecaster.Season, forecaster.Log), loss / test);
    }

    /// <summary>The model's output for one window [W·I] (evaluation mode).</summary>
    public static float[] Predict(SequenceModel<float> model, float[] window, int steps)
    {
        ArgumentNullException.ThrowIfNull(model);
        int features = window.Length / steps;
        var batch = new SequenceBatch<float>([steps], steps, new Tensor<float>(window, 1, steps, features));  // [1, W, I]
        return model.Predict(batch).Output.Data;                                                           // [1, horizon]
    }
}
