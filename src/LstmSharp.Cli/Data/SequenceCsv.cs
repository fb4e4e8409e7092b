using System.Globalization;

namespace LstmSharp.Cli.Data;

/// <summary>
/// Fixed-length sequences in a CSV file, one per row: a label column (named by <c>--label</c>) and T·I feature columns,
/// the others in file order, read row-major: feature column k is step k / I, feature k mod I (so with I = 1 each
/// column is a step). Any label text names a class; classes are sorted (numerically when every label is an integer).
/// </summary>
/// <param name="Inputs">Each row's features [T·I].</param>
/// <param name="Labels">Each row's label text, or null when the file has no label column.</param>
/// <param name="Steps">T.</param>
/// <param name="Features">I.</param>
/// <param name="FeatureColumns">The feature columns' names, in order.</param>
public sealed record SequenceCsv(float[][] Inputs, string[]? Labels, int Steps, int Features, IReadOnlyList<string> FeatureColumns)
{
    /// <summary>
    /// Reads <paramref name="path"/>. <paramref name="steps"/> and <paramref name="features"/> (0: not given) must
    /// multiply to the number of feature columns; given one, the other is inferred; given neither, I = 1.
    /// Without <paramref name="label"/> (or when <paramref name="labelOptional"/> and the file lacks it) every column is a feature.
    /// </summary>
    public static SequenceCsv Load(string path, string? label, int steps, int features, bool labelOptional = false)
    {
        var table = CsvTable.Load(path);
        if (table.Rows.Count == 0) throw new CliException($"{path}: no data rows after the header.");
        int labelColumn = -1;
        if (label is not null && (!labelOptional || table.Header.Any(h => string.Equals(h, label, StringComparison.OrdinalIgnoreCase))))
            labelColumn = table.Column(label);  // as in training: an exact name, else the one that differs only in case
        var featureColumns = Enumerable.Range(0, table.Header.Count).Where(c => c != labelColumn).ToArray();
        int count = featureColumns.Length;
        if (count == 0) throw new CliException($"{path}: no feature columns besides the label '{label}'.");
        (steps, features) = Layout(count, steps, features, path);
        var inputs = new float[table.Rows.Count][];
        for (int r = 0; r < inputs.Length; r++)
        {
            var x = new float[count];                                            // [T, I]
            for (int k = 0; k < count; k++) x[k] = table.Single(r, featureColumns[k]);
            inputs[r] = x;
        }
        var labels = labelColumn >= 0 ? table.Texts(labelColumn) : null;
        if (labels is not null)
            for (int r = 0; r < labels.Length; r++)
                if (labels[r].Length == 0)
                    throw new CliException($"{path} line {table.LineNumbers[r]}, column '{table.Header[labelColumn]}' ({labelColumn + 1}): the label is empty.");
        return new SequenceCsv(inputs, labels, steps, features, [.. featureColumns.Select(c => table.Header[c])]);
    }

    /// <summary>(T, I) for <paramref name="count"/> feature columns, checking the given values.</summary>
    public static (int Steps, int Features) Layout(int count, int steps, int features, string source)
    {
        if (steps < 0 || features < 0) throw new CliException("--steps/--features: expected positive counts.");
        if (steps == 0 && features == 0) return (count, 1);
        if (steps == 0)
        {
            if (count % features != 0) throw new CliException($"{source}: {count} feature columns do not split into steps of --features {features}.");
            return (count / features, features);
        }
        if (features == 0)
        {
            if (count % steps != 0) throw new CliException($"{source}: {count} feature columns do not split into --steps {steps}.");
            return (steps, count / steps);
        }
        if (steps * features != count)
            throw new CliException($"{source}: --steps {steps} x --features {features} = {steps * features}, but the file has {count} feature columns.");
        return (steps, features);
    }

    /// <summary>The sorted distinct labels: numerically when all are integers, else ordinally.</summary>
    public static List<string> Classes(IEnumerable<string> labels)
    {
        var distinct = labels.Distinct(StringComparer.Ordinal).ToList();
        bool numeric = distinct.All(l => long.TryParse(l, NumberStyles.Integer, CultureInfo.InvariantCulture, out _));
        return numeric ? [.. distinct.OrderBy(l => long.Parse(l, CultureInfo.InvariantCulture))] : [.. distinct.Order(StringComparer.Ordinal)];
    }
}
