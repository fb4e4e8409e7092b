using System.Globalization;
using LstmSharp.Cli.Data;

namespace LstmSharp.Cli.Forecasting;

/// <summary>A univariate series to forecast, in time order, with optional labels (dates) for its points.</summary>
/// <param name="Values">The values.</param>
/// <param name="Labels">A label per value (e.g. the date), or null.</param>
/// <param name="Name">What it is, for titles.</param>
/// <param name="Csv">The CSV file it came from, or null for the built-in series.</param>
/// <param name="Column">Its column.</param>
/// <param name="DateColumn">The date column, or null.</param>
/// <param name="Title">A short name for plot titles.</param>
public sealed record Series(double[] Values, string[]? Labels, string Name, string? Csv, string? Column, string? DateColumn, string Title)
{
    /// <summary>The built-in monthly airline passengers, 1949–1960.</summary>
    public static Series Airline() => new([.. AirlinePassengers.Values], [.. AirlinePassengers.Months],
        "monthly international airline passengers (thousands), 1949-1960", null, "passengers", "month", "Airline passengers");

    /// <summary>The largest magnitude a series may hold (the squares of differences stay finite).</summary>
    public const double MaxMagnitude = 1e150;

    /// <summary>
    /// Column <paramref name="column"/> of <paramref name="csv"/>, rows in file order (sorted by time already); dates
    /// from <paramref name="dateColumn"/> label the points. Errors name the line and column, and refuse values over
    /// <see cref="MaxMagnitude"/>.
    /// </summary>
    public static Series FromCsv(string csv, string? column, string? dateColumn)
    {
        var table = CsvTable.Load(csv);
        if (string.IsNullOrWhiteSpace(column))
            throw new CliException($"--column: name the column of {csv} to forecast; its columns are {string.Join(", ", table.Header.Select(h => $"'{h}'"))}.");
        if (table.Rows.Count == 0) throw new CliException($"{csv}: no data rows after the header.");
        int c = table.Column(column);
        var values = table.Numbers(c);
        // The scaler's variance and the error metrics square differences of values: past ~1e154 they overflow to ∞.
        for (int r = 0; r < values.Length; r++)
            if (Math.Abs(values[r]) > MaxMagnitude)
                throw new CliException(string.Create(CultureInfo.InvariantCulture,
                    $"{csv} line {table.LineNumbers[r]}, column '{table.Header[c]}' ({c + 1}): {values[r]:G6} is too large to forecast (|value| <= {MaxMagnitude:G1}: its squares must stay finite); rescale the series."));
        var labels = dateColumn is null ? null : table.Texts(table.Column(dateColumn));
        return new Series(values, labels, $"'{table.Header[c]}' of {Path.GetFileName(csv)}", csv, table.Header[c], dateColumn, table.Header[c]);
    }

    /// <summary>The label of point <paramref name="i"/> (1-based position without labels).</summary>
    public string Label(int i) => Labels is not null ? Labels[i] : $"#{i + 1}";
}
