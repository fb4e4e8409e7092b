using System.Globalization;
using System.Text;

namespace LstmSharp.Cli.Data;

/// <summary>Reads the tool's text inputs (CSV files, corpora) strictly, so that no byte is silently replaced.</summary>
public static class TextFile
{
    /// <summary>
    /// The text of <paramref name="path"/>: UTF-8, or UTF-16/32 when a byte-order mark names it (Windows tools write
    /// one). Bytes that are not text in that encoding (a Latin-1 file read as UTF-8) are a <see cref="CliException"/>
    /// naming the line and byte, as are NUL characters (UTF-16 without a mark): a lenient decoder would turn each into
    /// U+FFFD, merging labels such as 'Bär' and 'Bör' or adding a character to a vocabulary.
    /// </summary>
    public static string Read(string path)
    {
        if (!File.Exists(path)) throw new CliException($"{path}: file not found.");
        byte[] raw = File.ReadAllBytes(path);
        var span = raw.AsSpan();
        var (encoding, start, name) =
            span.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE, 0, 0]) ? (new UTF32Encoding(false, false, true), 4, "UTF-32") :
            span.StartsWith((ReadOnlySpan<byte>)[0, 0, 0xFE, 0xFF]) ? (new UTF32Encoding(true, false, true), 4, "UTF-32") :
            span.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) ? (new UnicodeEncoding(false, false, true), 2, "UTF-16") :
            span.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]) ? (new UnicodeEncoding(true, false, true), 2, "UTF-16") :
            span.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]) ? ((Encoding)new UTF8Encoding(false, true), 3, "UTF-8") :
            (new UTF8Encoding(false, true), 0, "UTF-8");
        string text;
        try
        {
            text = encoding.GetString(raw, start, raw.Length - start);
        }
        catch (DecoderFallbackException e)
        {
            int at = start + Math.Max(e.Index, 0);
            int line = 1 + span[..at].Count((byte)'\n');
            string bytes = e.BytesUnknown is { Length: > 0 } b ? $" ({string.Join(" ", b.Select(x => x.ToString("X2", CultureInfo.InvariantCulture)))})" : "";
            throw new CliException($"{path} line {line}: not {name} text: invalid bytes{bytes} at byte {at}. Convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8).");
        }
        int nul = text.IndexOf('\0', StringComparison.Ordinal);
        if (nul >= 0)
            throw new CliException($"{path}: the text holds NUL characters (the first at character {nul}): is it UTF-16 without a byte-order mark? Convert it to UTF-8 (e.g. iconv -f utf-16le -t utf-8).");
        return text;
    }
}
