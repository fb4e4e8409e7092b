using System.Globalization;

namespace LstmSharp.Layers;

/// <summary>
/// The configuration of an <see cref="Lstm{T}"/>, with the meaning and defaults of PyTorch's <c>nn.LSTM</c> arguments.
/// </summary>
public sealed record LstmOptions
{
    /// <summary>I: features per time step of the input.</summary>
    public required int InputSize { get; init; }

    /// <summary>H: size of the cell state and of each gate.</summary>
    public required int HiddenSize { get; init; }

    /// <summary>L: stacked layers; layer k+1 reads layer k's output.</summary>
    public int NumLayers { get; init; } = 1;

    /// <summary>Whether the layers have <c>bias_ih</c> and <c>bias_hh</c>.</summary>
    public bool Bias { get; init; } = true;

    /// <summary>True: input and output are [B, T, *]; false (PyTorch's default): [T, B, *]. States are always [L*D, B, *].</summary>
    public bool BatchFirst { get; init; }

    /// <summary>Dropout probability on the outputs of every layer but the last, in training mode only.</summary>
    public double Dropout { get; init; }

    /// <summary>Whether each layer also runs backwards in time (D = 2), its output concatenated to the forward one's.</summary>
    public bool Bidirectional { get; init; }

    /// <summary>P: when positive, the hidden state is projected, <c>h = W_hr (o * tanh(c))</c>, to this size (LSTMP). Must be less than H.</summary>
    public int ProjSize { get; init; }

    /// <summary>D: 2 when bidirectional, else 1.</summary>
    public int NumDirections => Bidirectional ? 2 : 1;

    /// <summary>The size of h and of each direction's output: P when projecting, else H.</summary>
    public int OutputHiddenSize => ProjSize > 0 ? ProjSize : HiddenSize;

    /// <summary>The input size of layer <paramref name="layer"/>: I for the first, D * (P or H) after.</summary>
    public int LayerInputSize(int layer) => layer == 0 ? InputSize : NumDirections * OutputHiddenSize;

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming the first invalid option. Besides each option's range: one layer's
    /// weights side by side must fit in one array, and the whole LSTM may hold at most <see cref="Array.MaxLength"/>
    /// (about 2.1 billion) parameters.
    /// </summary>
    public void Validate()
    {
        if (InputSize <= 0) throw new ArgumentException($"InputSize: expected a positive size, got {InputSize}.", nameof(InputSize));
        if (HiddenSize <= 0) throw new ArgumentException($"HiddenSize: expected a positive size, got {HiddenSize}.", nameof(HiddenSize));
        if (NumLayers <= 0) throw new ArgumentException($"NumLayers: expected at least 1, got {NumLayers}.", nameof(NumLayers));
        if (!(Dropout >= 0 && Dropout <= 1))
            throw new ArgumentException($"Dropout: expected a probability in [0, 1], got {Dropout}.", nameof(Dropout));
        if (ProjSize < 0 || ProjSize >= HiddenSize)
            throw new ArgumentException($"ProjSize: expected 0 (no projection) or a size in [1, HiddenSize = {HiddenSize}), got {ProjSize}.", nameof(ProjSize));
        long widest = NumLayers > 1 ? Math.Max(InputSize, (long)NumDirections * OutputHiddenSize) : InputSize;
        CheckWeightsFit(HiddenSize, widest, OutputHiddenSize, "HiddenSize, InputSize, ProjSize", "the widest layer input", nameof(HiddenSize));
        // All layers and directions together (e.g. a NumLayers of 2^30 with tiny layers): at most Array.MaxLength parameters.
        Int128 total = TotalParameters();
        if (total > Array.MaxLength)
        {
            string name = NumLayers > 1 ? nameof(NumLayers) : nameof(HiddenSize);
            throw new ArgumentException(
                $"{name}: {NumLayers} layer(s) of {NumDirections} direction(s) (H = {HiddenSize}, I = {InputSize}, P = {OutputHiddenSize}) hold {total} parameters; LstmSharp allows at most {Array.MaxLength} in one LSTM.",
                name);
        }
    }

    /// <summary>
    /// The number of parameters of an LSTM with these options, in closed form (summing <c>Lstm.ParameterShapes</c> would
    /// enumerate every layer, which a corrupt NumLayers of 2^30 makes endless): per direction W_ih [4H, I_l], W_hh
    /// [4H, P], b_ih and b_hh [4H] with a bias, W_hr [P, H] with a projection; I_0 = I, I_l = D·P above.
    /// </summary>
    internal Int128 TotalParameters()
    {
        Int128 h = HiddenSize, p = OutputHiddenSize, d = NumDirections;
        Int128 perDirection = 4 * h * (p + (Bias ? 2 : 0)) + (ProjSize > 0 ? p * h : 0);  // all but W_ih
        return d * (4 * h * InputSize + perDirection) + (NumLayers - 1) * d * (4 * h * d * p + perDirection);
    }

    /// <summary>
    /// Throws unless a layer's [W_ih | W_hh | bias] side by side, 4H·(I + P + 1) elements (more than any one weight),
    /// fits in one array; computed in 128 bits, so no size overflows.
    /// </summary>
    internal static void CheckWeightsFit(long hiddenSize, long inputSize, long outputSize, string settings, string inputIs, string paramName)
    {
        Int128 elements = 4 * (Int128)hiddenSize * (inputSize + outputSize + 1);
        if (elements > Array.MaxLength)
            throw new ArgumentException(
                $"{settings}: a layer's weights side by side, [W_ih | W_hh | bias] of 4·H × (I + P + 1) = {elements} elements " +
                $"(H = {hiddenSize}, I = {inputSize}, {inputIs}, P = {outputSize}), exceed the limit of {Array.MaxLength} elements of one array.",
                paramName);
    }

    /// <summary>The options as safetensors metadata, with PyTorch's argument names (<c>input_size</c>, <c>hidden_size</c>, ...).</summary>
    public Dictionary<string, string> ToMetadata() => new()
    {
        ["input_size"] = InputSize.ToString(CultureInfo.InvariantCulture),
        ["hidden_size"] = HiddenSize.ToString(CultureInfo.InvariantCulture),
        ["num_layers"] = NumLayers.ToString(CultureInfo.InvariantCulture),
        ["bias"] = Bias ? "true" : "false",
        ["batch_first"] = BatchFirst ? "true" : "false",
        ["dropout"] = Dropout.ToString("R", CultureInfo.InvariantCulture),
        ["bidirectional"] = Bidirectional ? "true" : "false",
        ["proj_size"] = ProjSize.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>The metadata key of an option's property, as <see cref="ToMetadata"/> writes it: HiddenSize → hidden_size.</summary>
    internal static string MetadataKey(string property) =>
        string.Concat(property.Select((ch, i) => char.IsUpper(ch) ? (i > 0 ? "_" : "") + char.ToLowerInvariant(ch) : ch.ToString()));

    /// <summary>
    /// The message of an <see cref="ArgumentException"/> from <see cref="FromMetadata"/> as a problem of a file's metadata
    /// ("metadata: ..."): a key that is missing or malformed as it says; an option that failed validation by its key.
    /// </summary>
    internal static string MetadataProblem(ArgumentException e, IReadOnlyDictionary<string, string> metadata) =>
        e.ParamName is null or "metadata" ? WithoutParameter(e) : InvalidSetting(e, metadata, MetadataKey(e.ParamName));

    /// <summary>"metadata: 'key' ('value') is invalid: why", for an option (stored under <paramref name="key"/>) that failed validation.</summary>
    internal static string InvalidSetting(ArgumentException e, IReadOnlyDictionary<string, string> metadata, string key) =>
        $"metadata: '{key}'{(metadata.TryGetValue(key, out var v) ? $" ('{v}')" : "")} is invalid: {WithoutParameter(e)}";

    /// <summary>The exception's message without the " (Parameter 'name')" that .NET appends.</summary>
    private static string WithoutParameter(ArgumentException e) =>
        e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);

    /// <summary>Reads options written by <see cref="ToMetadata"/> (or by the golden files' generator); absent keys take PyTorch's defaults.</summary>
    /// <param name="metadata">String metadata; <c>input_size</c> and <c>hidden_size</c> are required.</param>
    public static LstmOptions FromMetadata(IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        int Int(string key, int? fallback)
        {
            if (!metadata.TryGetValue(key, out var s))
                return fallback ?? throw new ArgumentException($"metadata: missing required key '{key}'.", nameof(metadata));
            return int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)
                ? v : throw new ArgumentException($"metadata: '{key}' must be an integer, got '{s}'.", nameof(metadata));
        }
        bool Bool(string key, bool fallback)
        {
            if (!metadata.TryGetValue(key, out var s)) return fallback;
            return s switch
            {
                "true" or "True" or "1" => true,
                "false" or "False" or "0" => false,
                _ => throw new ArgumentException($"metadata: '{key}' must be true or false, got '{s}'.", nameof(metadata)),
            };
        }
        double dropout = 0;
        if (metadata.TryGetValue("dropout", out var ds) &&
            !double.TryParse(ds, NumberStyles.Float, CultureInfo.InvariantCulture, out dropout))
            throw new ArgumentException($"metadata: 'dropout' must be a number, got '{ds}'.", nameof(metadata));
        var options = new LstmOptions
        {
            InputSize = Int("input_size", null),
            HiddenSize = Int("hidden_size", null),
            NumLayers = Int("num_layers", 1),
            Bias = Bool("bias", true),
            BatchFirst = Bool("batch_first", false),
            Dropout = dropout,
            Bidirectional = Bool("bidirectional", false),
            ProjSize = Int("proj_size", 0),
        };
        options.Validate();
        return options;
    }
}
