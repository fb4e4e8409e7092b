using System.Globalization;
using LstmSharp.Layers;

namespace LstmSharp.Models;

/// <summary>
/// The configuration of a <see cref="SequenceModel{T}"/>: an optional embedding (<c>embed</c>), the LSTM (<c>lstm</c>,
/// batch-first), dropout, and a linear head (<c>head</c>). Saved in a model file's metadata so that the file alone
/// rebuilds the model.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>What the model predicts.</summary>
    public required ModelKind Kind { get; init; }

    /// <summary>I, features per step (not used by a language model, whose LSTM input is the embedding).</summary>
    public int InputSize { get; init; }

    /// <summary>V, the vocabulary size of a language model (its embedding rows and its output size).</summary>
    public int VocabSize { get; init; }

    /// <summary>E, the embedding width of a language model.</summary>
    public int EmbeddingSize { get; init; }

    /// <summary>H, the LSTM's hidden size.</summary>
    public required int HiddenSize { get; init; }

    /// <summary>L, stacked LSTM layers.</summary>
    public int NumLayers { get; init; } = 1;

    /// <summary>Whether the LSTM is bidirectional (not for a language model, which must not see the future).</summary>
    public bool Bidirectional { get; init; }

    /// <summary>P, the LSTM's projection size; 0 for none.</summary>
    public int ProjSize { get; init; }

    /// <summary>Dropout between LSTM layers (PyTorch's <c>nn.LSTM(dropout=)</c>).</summary>
    public double Dropout { get; init; }

    /// <summary>Dropout on the head's input.</summary>
    public double HeadDropout { get; init; }

    /// <summary>O, the outputs per prediction: values for regression, classes for classification; ignored by a language model, whose output size is <see cref="VocabSize"/> (see <see cref="HeadOutputSize"/>).</summary>
    public int OutputSize { get; init; }

    /// <summary>The number of values the head produces: <see cref="VocabSize"/> for a language model, else <see cref="OutputSize"/>.</summary>
    public int HeadOutputSize => Kind == ModelKind.LanguageModel ? VocabSize : OutputSize;

    /// <summary>Whether the model reads a single prediction at each sequence's end (regression, classification).</summary>
    public bool IsSequenceToOne => Kind is ModelKind.Regression or ModelKind.Classification;

    /// <summary>Whether the targets are class indices (classification, language model).</summary>
    public bool IsCategorical => Kind is ModelKind.Classification or ModelKind.LanguageModel;

    /// <summary>The LSTM's options (batch-first).</summary>
    public LstmOptions LstmOptions => new()
    {
        InputSize = Kind == ModelKind.LanguageModel ? EmbeddingSize : InputSize,
        HiddenSize = HiddenSize,
        NumLayers = NumLayers,
        BatchFirst = true,
        Bidirectional = Bidirectional,
        ProjSize = ProjSize,
        Dropout = Dropout,
    };

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (!Enum.IsDefined(Kind)) throw new ArgumentException($"Kind: expected one of {string.Join(", ", Enum.GetNames<ModelKind>())}, got {Kind}.", nameof(Kind));
        if (Kind == ModelKind.LanguageModel)
        {
            if (VocabSize <= 0) throw new ArgumentException($"VocabSize: expected a positive vocabulary size for a language model, got {VocabSize}.", nameof(VocabSize));
            if (EmbeddingSize <= 0) throw new ArgumentException($"EmbeddingSize: expected a positive width for a language model, got {EmbeddingSize}.", nameof(EmbeddingSize));
            if (Bidirectional)
                throw new ArgumentException("Bidirectional: a language model predicts the next token and must not read the future; expected false, got true.", nameof(Bidirectional));
        }
        else
        {
            if (InputSize <= 0) throw new ArgumentException($"InputSize: expected a positive number of features per step, got {InputSize}.", nameof(InputSize));
            if (OutputSize <= 0) throw new ArgumentException($"OutputSize: expected a positive number of outputs, got {OutputSize}.", nameof(OutputSize));
            if (Kind == ModelKind.Classification && OutputSize < 2)
                throw new ArgumentException($"OutputSize: expected at least 2 classes for classification, got {OutputSize}.", nameof(OutputSize));
        }
        if (!(HeadDropout >= 0 && HeadDropout <= 1))
            throw new ArgumentException($"HeadDropout: expected a probability in [0, 1], got {HeadDropout}.", nameof(HeadDropout));
        var lstm = LstmOptions;
        lstm.Validate();
        if (Kind == ModelKind.LanguageModel && (long)VocabSize * EmbeddingSize > Array.MaxLength)
            throw new ArgumentException(
                $"VocabSize, EmbeddingSize: the embedding [V, E] = [{VocabSize}, {EmbeddingSize}] exceeds the limit of {Array.MaxLength} elements of one array.",
                nameof(VocabSize));
        long features = (long)lstm.NumDirections * lstm.OutputHiddenSize;
        if ((Int128)HeadOutputSize * features > Array.MaxLength)
            throw new ArgumentException(
                $"{(Kind == ModelKind.LanguageModel ? "VocabSize" : "OutputSize")}: the head's weight [O, D·P] = [{HeadOutputSize}, {features}] exceeds the limit of {Array.MaxLength} elements of one array.",
                Kind == ModelKind.LanguageModel ? nameof(VocabSize) : nameof(OutputSize));
    }

    /// <summary>The configuration as safetensors metadata (keys prefixed <c>model.</c>).</summary>
    public Dictionary<string, string> ToMetadata()
    {
        static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
        static string D(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        return new()
        {
            ["model.kind"] = Kind.ToString(),
            ["model.input_size"] = I(InputSize),
            ["model.vocab_size"] = I(VocabSize),
            ["model.embedding_size"] = I(EmbeddingSize),
            ["model.hidden_size"] = I(HiddenSize),
            ["model.num_layers"] = I(NumLayers),
            ["model.bidirectional"] = Bidirectional ? "true" : "false",
            ["model.proj_size"] = I(ProjSize),
            ["model.dropout"] = D(Dropout),
            ["model.head_dropout"] = D(HeadDropout),
            ["model.output_size"] = I(OutputSize),
        };
    }

    /// <summary>
    /// Reads a configuration written by <see cref="ToMetadata"/>; a missing, malformed or invalid key is named in the
    /// <see cref="InvalidDataException"/>.
    /// </summary>
    public static ModelConfig FromMetadata(IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        string Get(string key) => metadata.TryGetValue("model." + key, out var s) ? s
            : throw new InvalidDataException($"metadata: missing 'model.{key}'; this file does not hold a LstmSharp model configuration.");
        int Int(string key) => int.TryParse(Get(key), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v
            : throw new InvalidDataException($"metadata: 'model.{key}' must be an integer, got '{Get(key)}'.");
        double Real(string key) => double.TryParse(Get(key), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v
            : throw new InvalidDataException($"metadata: 'model.{key}' must be a number, got '{Get(key)}'.");
        bool Bool(string key) => Get(key) switch
        {
            "true" => true,
            "false" => false,
            var s => throw new InvalidDataException($"metadata: 'model.{key}' must be true or false, got '{s}'."),
        };
        if (!Enum.TryParse<ModelKind>(Get("kind"), ignoreCase: false, out var kind) || !Enum.IsDefined(kind))
            throw new InvalidDataException($"metadata: 'model.kind' must be one of {string.Join(", ", Enum.GetNames<ModelKind>())}, got '{Get("kind")}'.");
        var config = new ModelConfig
        {
            Kind = kind,
            InputSize = Int("input_size"),
            VocabSize = Int("vocab_size"),
            EmbeddingSize = Int("embedding_size"),
            HiddenSize = Int("hidden_size"),
            NumLayers = Int("num_layers"),
            Bidirectional = Bool("bidirectional"),
            ProjSize = Int("proj_size"),
            Dropout = Real("dropout"),
            HeadDropout = Real("head_dropout"),
            OutputSize = Int("output_size"),
        };
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            // Name the metadata key of the invalid setting (HiddenSize → model.hidden_size); a language model's LSTM input is E.
            string setting = kind == ModelKind.LanguageModel && e.ParamName == nameof(InputSize) ? nameof(EmbeddingSize) : e.ParamName ?? "";
            throw new InvalidDataException(LstmOptions.InvalidSetting(e, metadata, "model." + LstmOptions.MetadataKey(setting)), e);
        }
        return config;
    }

    /// <summary>The settings that differ between this and <paramref name="other"/>, as "name: this vs other" lines (empty when equal).</summary>
    public IReadOnlyList<string> Differences(ModelConfig other)
    {
        ArgumentNullException.ThrowIfNull(other);
        var mine = ToMetadata();
        var theirs = other.ToMetadata();
        return mine.Where(kv => theirs[kv.Key] != kv.Value)
            .Select(kv => $"{kv.Key["model.".Length..]}: {kv.Value} vs {theirs[kv.Key]}").ToList();
    }
}
