using LstmSharp.Training;
using ScottPlot;

namespace LstmSharp.Cli.Output;

/// <summary>The PNG charts the tool writes (ScottPlot).</summary>
public static class Plots
{
    private const int Width = 1000, Height = 560;

    /// <summary>Training and validation loss per epoch (log scale when they span more than a factor of 20).</summary>
    public static void Loss(IReadOnlyList<EpochReport> history, string lossName, string path)
    {
        ArgumentNullException.ThrowIfNull(history);
        var plot = new Plot();
        double[] epochs = [.. history.Select(r => (double)r.Epoch)];
        double[] train = [.. history.Select(r => r.TrainLoss)];
        double[] val = [.. history.Where(r => r.ValidationLoss is not null).Select(r => r.ValidationLoss!.Value)];
        var all = train.Concat(val).Where(v => v > 0).ToArray();
        bool log = all.Length > 0 && all.Max() / all.Min() > 20;
        double[] Y(double[] v) => log ? [.. v.Select(x => Math.Log10(Math.Max(x, 1e-12)))] : v;
        var t = plot.Add.Scatter(epochs, Y(train));
        t.LegendText = "training";
        t.MarkerSize = history.Count > 60 ? 0 : 4;
        if (val.Length == epochs.Length)
        {
            var v = plot.Add.Scatter(epochs, Y(val));
            v.LegendText = "validation";
            v.MarkerSize = t.MarkerSize;
        }
        if (log)
        {
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
            {
                MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
                LabelFormatter = y => $"{Math.Pow(10, y):G3}",
            };
        }
        plot.Title($"Loss per epoch ({lossName}{(log ? ", log scale" : "")})");
        plot.XLabel("epoch");
        plot.YLabel(lossName);
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path);
    }

    /// <summary>The whole series, with the model's and the seasonal-naive forecasts over the test part.</summary>
    public static void Forecast(IReadOnlyList<double> series, int origin, IReadOnlyList<double> forecast, IReadOnlyList<double> baseline,
        string baselineName, IReadOnlyList<string>? labels, string title, string yLabel, string path)
    {
        ArgumentNullException.ThrowIfNull(series);
        var plot = new Plot();
        double[] x = [.. Enumerable.Range(0, series.Count).Select(i => (double)i)];
        var actual = plot.Add.Scatter(x, [.. series]);
        actual.LegendText = "actual";
        actual.MarkerSize = 3;
        actual.Color = Colors.Black;
        double[] xf = [.. Enumerable.Range(origin, forecast.Count).Select(i => (double)i)];
        var b = plot.Add.Scatter(xf, [.. baseline]);
        b.LegendText = baselineName;
        b.MarkerSize = 0;
        b.LinePattern = LinePattern.Dashed;
        b.Color = Colors.Gray;
        var f = plot.Add.Scatter(xf, [.. forecast]);
        f.LegendText = "LSTM forecast";
        f.MarkerSize = 4;
        f.LineWidth = 2;
        f.Color = Colors.OrangeRed;
        var split = plot.Add.VerticalLine(origin - 0.5);
        split.LineColor = Colors.SteelBlue;
        split.LinePattern = LinePattern.Dotted;
        split.LegendText = "train | test";
        if (labels is not null && labels.Count == series.Count)
        {
            int step = Math.Max(1, series.Count / 12);
            var ticks = Enumerable.Range(0, series.Count).Where(i => i % step == 0).ToArray();
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                [.. ticks.Select(i => (double)i)], [.. ticks.Select(i => labels[i])]);
        }
        plot.Title(title);
        plot.YLabel(yLabel);
        plot.ShowLegend(Alignment.UpperLeft);
        Save(plot, path);
    }

    /// <summary>A confusion matrix: rows the true class, columns the predicted one, each cell its count.</summary>
    public static void Confusion(int[,] counts, IReadOnlyList<string> classes, string title, string path)
    {
        ArgumentNullException.ThrowIfNull(counts);
        int n = classes.Count;
        var plot = new Plot();
        var share = new double[n, n];
        for (int r = 0; r < n; r++)
        {
            double total = Math.Max(1, Enumerable.Range(0, n).Sum(c => counts[r, c]));
            for (int c = 0; c < n; c++) share[r, c] = counts[r, c] / total;
        }
        var map = plot.Add.Heatmap(share);                                      // row 0 is drawn at the top, at y = n - 1
        map.Colormap = new ScottPlot.Colormaps.Custom([Colors.White, new Color(198, 219, 239), new Color(107, 174, 214), new Color(33, 113, 181), new Color(8, 48, 107)], true);
        if (n <= 30)
            for (int r = 0; r < n; r++)
                for (int c = 0; c < n; c++)
                {
                    var text = plot.Add.Text(counts[r, c].ToString(System.Globalization.CultureInfo.InvariantCulture), c, n - 1 - r);
                    text.LabelAlignment = Alignment.MiddleCenter;
                    text.LabelFontSize = n > 12 ? 9 : 13;
                    text.LabelFontColor = share[r, c] > 0.5 ? Colors.White : Colors.Black;
                }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, n).Select(c => (double)c)], [.. classes]);
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            [.. Enumerable.Range(0, n).Select(r => (double)(n - 1 - r))], [.. classes]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = n > 6 ? -45 : 0;
        plot.Axes.Bottom.TickLabelStyle.Alignment = n > 6 ? Alignment.MiddleRight : Alignment.UpperCenter;
        if (n > 6) plot.Axes.Bottom.MinimumSize = 30 + 7 * classes.Max(c => c.Length);
        plot.Add.ColorBar(map);  // its label would be drawn over its tick labels: the x label says what the colour is
        plot.Title(title);
        plot.XLabel("predicted (colour: share of the true class)");
        plot.YLabel("true");
        Save(plot, path, Math.Max(Width * 3 / 4, 60 * n + 250), Math.Max(Height, 50 * n + 200));
    }

    /// <summary>A heatmap of <paramref name="values"/> [T, units]: time along x, unit along y (unit 0 at the bottom).</summary>
    public static void Heatmap(float[] values, int steps, int units, string title, string path, double? min = null, double? max = null,
        IReadOnlyList<string>? stepLabels = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        var grid = new double[units, steps];
        for (int t = 0; t < steps; t++)
            for (int u = 0; u < units; u++) grid[u, t] = values[t * units + u];
        var plot = new Plot();
        var map = plot.Add.Heatmap(grid);
        map.FlipVertically = true;
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        if (min is { } lo && max is { } hi) map.ManualRange = new ScottPlot.Range(lo, hi);
        plot.Add.ColorBar(map);
        if (stepLabels is not null && stepLabels.Count == steps && steps <= 80)
        {
            bool wide = stepLabels.Any(l => l.Length > 2);
            int every = Math.Max(1, wide ? (steps + 11) / 12 : steps / 40);
            var ticks = Enumerable.Range(0, steps).Where(t => t % every == 0).ToArray();
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks.Select(t => (double)t)], [.. ticks.Select(t => stepLabels[t])]);
            if (wide)
            {
                plot.Axes.Bottom.TickLabelStyle.Rotation = -45;
                plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleRight;
                plot.Axes.Bottom.MinimumSize = 30 + 7 * stepLabels.Max(l => l.Length);
            }
        }
        plot.Title(title);
        plot.XLabel("step");
        plot.YLabel("unit");
        Save(plot, path, Math.Clamp(200 + 12 * steps, 700, 1600), Math.Clamp(200 + 6 * units, 400, 1000));
    }

    private static void Save(Plot plot, string path, int width = Width, int height = Height)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        plot.SavePng(path, width, height);
    }
}
