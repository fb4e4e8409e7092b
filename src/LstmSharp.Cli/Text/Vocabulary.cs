using System.Globalization;
using System.Text;

namespace LstmSharp.Cli.Text;

/// <summary>
/// The characters of a character-level language model: the distinct Unicode scalar values of its training text,
/// sorted by code point; a character's token id is its position.
/// </summary>
public sealed class Vocabulary
{
    private readonly Dictionary<Rune, int> _ids;

    /// <summary>A vocabulary of <paramref name="characters"/> (each one Unicode scalar value), in that order.</summary>
    public Vocabulary(IReadOnlyList<string> characters)
    {
        ArgumentNullException.ThrowIfNull(characters);
        Characters = [.. characters];
        _ids = [];
        for (int i = 0; i < Characters.Count; i++)
        {
            var runes = Characters[i].EnumerateRunes().ToArray();
            if (runes.Length != 1) throw new CliException($"vocabulary: entry {i} ('{Characters[i]}') must be one character.");
            if (!_ids.TryAdd(runes[0], i)) throw new CliException($"vocabulary: character {Describe(runes[0])} appears twice.");
        }
    }

    /// <summary>The characters; index = token id.</summary>
    public IReadOnlyList<string> Characters { get; }

    /// <summary>V.</summary>
    public int Count => Characters.Count;

    /// <summary>The vocabulary of <paramref name="text"/>.</summary>
    public static Vocabulary FromText(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new Vocabulary([.. text.EnumerateRunes().Distinct().Order().Select(r => r.ToString())]);
    }

    /// <summary>
    /// The token ids of <paramref name="text"/>. A character outside the vocabulary is a <see cref="CliException"/>:
    /// <paramref name="where"/> describes its position (for a file, its 1-based line and column).
    /// </summary>
    public int[] Encode(string text, Func<int, int, string> where)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(where);
        var ids = new List<int>(text.Length);
        int line = 1, column = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            column++;
            if (!_ids.TryGetValue(rune, out int id))
                throw new CliException($"{where(line, column)}: character {Describe(rune)} is not in the model's vocabulary of {Count} characters.");
            ids.Add(id);
            if (rune.Value == '\n') (line, column) = (line + 1, 0);
        }
        return [.. ids];
    }

    /// <summary>The text of token ids.</summary>
    public string Decode(IEnumerable<int> ids) => string.Concat(ids.Select(i => Characters[i]));

    /// <summary>A character as <c>'x' (U+0078)</c>, with control characters escaped.</summary>
    public static string Describe(Rune rune)
    {
        string shown = rune.Value switch
        {
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            _ when Rune.IsControl(rune) => "?",
            _ => rune.ToString(),
        };
        return $"'{shown}' (U+{rune.Value.ToString("X4", CultureInfo.InvariantCulture)})";
    }
}
