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

    /// <summary>Reads <paramref name="path"/>; a missing file, an empty file or a ragged row is a <see cref="CliException"/>.</summary>
    public static CsvTable Load(string path)
    {
        if (!File.Exists(path)) throw new CliException($"{path}: file not found.");
        // Strict UTF-8 (a byte-order mark may name UTF-16 or UTF-32): bytes of another encoding (Latin-1 from Excel)
        // would each become U+FFFD, merging labels such as 'Bär' and 'Bör' into one.
        try
        {
            using var reader = new StreamReader(path, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: true);
            // (An encoding with a preamble: the reader then skips a UTF-8 byte-order mark and keeps this strict decoder; without
            // one it would detect the mark and switch to a lenient UTF-8.)
            return Parse(reader, path);
        }
        catch (DecoderFallbackException)
        {
            // The reader decodes a buffer ahead of the lines it returns: find the first bad byte in the file itself.
            var bytes = File.ReadAllBytes(path).AsSpan();
            int at = 0;
            while (at < bytes.Length && Rune.DecodeFromUtf8(bytes[at..], out _, out int used) == System.Buffers.OperationStatus.Done) at += used;
            int line = 1 + bytes[..at].Count((byte)'\n');
            string shown = string.Join(" ", bytes.Slice(at, Math.Min(4, bytes.Length - at)).ToArray().Select(x => x.ToString("X2", CultureInfo.InvariantCulture)));
            throw new CliException($"{path} line {line}: not UTF-8 text: invalid bytes ({shown}) at byte {at}. Save it as UTF-8 (e.g. iconv -f latin1 -t utf-8).");
        }
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
