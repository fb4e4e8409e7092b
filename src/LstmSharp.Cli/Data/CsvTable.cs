using System.Globalization;
using System.Text;

namespace LstmSharp.Cli.Data;

/// <summary>
/// A CSV file read whole: a header line of column names, then rows with exactly as many fields. Fields are separated
/// by commas and may be quoted ("a, b", with "" for a quote); blank lines are skipped. Errors name the file, the
/// 1-based line and the column.
/// </summary>
public sealed class CsvTable
{
    private CsvTable(string source, string[] header, List<string[]> rows, List<int> lines)
    {
        Source = source;
        Header = header;
        Rows = rows;
        LineNumbers = lines;
    }

    /// <summary>Where the table came from (the file name), used in errors.</summary>
    public string Source { get; }

    /// <summary>The column names.</summary>
    public IReadOnlyList<string> Header { get; }

    /// <summary>The data rows, each with <see cref="Header"/>.Count fields.</summary>
    public IReadOnlyList<string[]> Rows { get; }

    /// <summary>The 1-based line of each row in the file.</summary>
    public IReadOnlyList<int> LineNumbers { get; }

    /// <summary>Reads <paramref name="path"/> (<see cref="TextFile.Read"/>); a missing file, an empty file, bytes that are not text or a ragged row is a <see cref="CliException"/>.</summary>
    public static CsvTable Load(string path)
    {
        using var reader = new StringReader(TextFile.Read(path));  // strict: no byte silently replaced
        return Parse(reader, path);
    }

    /// <summary>Parses CSV text; <paramref name="source"/> names it in errors.</summary>
    public static CsvTable Parse(TextReader reader, string source)
    {
        ArgumentNullException.ThrowIfNull(reader);
        string[]? header = null;
        var rows = new List<string[]>();
        var lines = new List<int>();
        int lineNumber = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            var fields = SplitLine(line, source, lineNumber);
            if (header is null)
            {
                header = [.. fields.Select(f => f.Trim())];
                var duplicate = header.GroupBy(h => h, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
                if (duplicate is not null)
                    throw new CliException($"{source} line {lineNumber}: the header names column '{duplicate.Key}' twice.");
                continue;
            }
            if (fields.Length != header.Length)
                throw new CliException($"{source} line {lineNumber}: expected {header.Length} fields as in the header, got {fields.Length}.");
            rows.Add(fields);
            lines.Add(lineNumber);
        }
        if (header is null) throw new CliException($"{source}: the file is empty; expected a header line of column names.");
        return new CsvTable(source, header, rows, lines);
    }

    /// <summary>The index of the column named <paramref name="name"/> (exact, then case-insensitive); a missing one lists those there are.</summary>
    public int Column(string name)
    {
        int index = Array.IndexOf((string[])Header, name);
        if (index < 0)
        {
            var matches = Header.Select((h, i) => (h, i)).Where(x => string.Equals(x.h, name, StringComparison.OrdinalIgnoreCase)).ToList();
            if (matches.Count == 1) index = matches[0].i;
            if (matches.Count > 1)
                throw new CliException($"{Source}: no column named '{name}', and {string.Join(" and ", matches.Select(m => $"'{m.h}'"))} differ from it only in case; name one exactly.");
        }
        return index >= 0 ? index
            : throw new CliException($"{Source}: no column named '{name}'; the columns are {string.Join(", ", Header.Select(h => $"'{h}'"))}.");
    }

    /// <summary>Row <paramref name="row"/>'s value in column <paramref name="column"/> as a number; a non-numeric field names its line and column.</summary>
    public double Number(int row, int column)
    {
        string field = Rows[row][column].Trim();
        if (double.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) && double.IsFinite(value))
            return value;
        throw new CliException($"{Source} line {LineNumbers[row]}, column '{Header[column]}' ({column + 1}): '{field}' is not a finite number.");
    }

    /// <summary>Every value of column <paramref name="column"/> as a number.</summary>
    public double[] Numbers(int column) => [.. Enumerable.Range(0, Rows.Count).Select(r => Number(r, column))];

    /// <summary>Every value of column <paramref name="column"/> as text (trimmed).</summary>
    public string[] Texts(int column) => [.. Rows.Select(r => r[column].Trim())];

    /// <summary>Row <paramref name="row"/>'s value in column <paramref name="column"/> as a float; a value outside float's range names its line and column.</summary>
    public float Single(int row, int column)
    {
        double value = Number(row, column);
        if (Math.Abs(value) > float.MaxValue)
            throw new CliException($"{Source} line {LineNumbers[row]}, column '{Header[column]}' ({column + 1}): '{Rows[row][column].Trim()}' is out of range for float (|value| <= {float.MaxValue:G9}).");
        return (float)value;
    }

    private static string[] SplitLine(string line, string source, int lineNumber)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char ch = line[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < line.Length && line[i + 1] == '"') { field.Append('"'); i++; }
                else if (ch == '"') quoted = false;
                else field.Append(ch);
            }
            else if (ch == '"' && field.ToString().Trim().Length == 0) { field.Clear(); quoted = true; }
            else if (ch == ',') { fields.Add(field.ToString()); field.Clear(); }
            else field.Append(ch);
        }
        if (quoted) throw new CliException($"{source} line {lineNumber}: a quoted field is not closed (quoted fields cannot span lines).");
        fields.Add(field.ToString());
        return [.. fields];
    }
}
