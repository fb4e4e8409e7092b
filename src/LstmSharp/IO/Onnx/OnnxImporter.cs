using System.Numerics;
using LstmSharp.Layers;

namespace LstmSharp.IO.Onnx;

/// <summary>
/// Reads an ONNX model made of an LSTM stack, as written by <see cref="OnnxExporter"/> or by PyTorch's
/// <c>torch.onnx.export</c> of an <c>nn.LSTM</c> model, and rebuilds it as LstmSharp modules.
/// </summary>
/// <remarks>
/// <para>Recognised: one ONNX <c>LSTM</c> node per layer (forward or bidirectional, default activations, no clip, no
/// peepholes, layout 0), chained through Squeeze or Transpose + Reshape; before it optional Transposes (batch-first)
/// and a Gather of a constant table (embedding); after it optional Transposes/Reshapes, a linear head (MatMul + Add,
/// or Gemm, with constant weights) on the output sequence or on the last layer's final hidden state, and a Softmax
/// over the last axis; <c>h_n</c>/<c>c_n</c> outputs as Concats of the layers' final states. Initial states are
/// zeros (ConstantOfShape and the shape arithmetic PyTorch emits for it: Shape, Gather, Unsqueeze, Concat, Slice,
/// Expand, Cast) or one graph input [L*D, B, H] sliced per layer; sequence lengths are a graph input.</para>
/// <para>Anything else is refused with a <see cref="NotSupportedException"/> naming the node (name and op_type); a
/// malformed file (truncated, wrong tensor sizes, inconsistent LSTM weights) with an <see cref="InvalidDataException"/>.
/// Opsets below 14 are refused.</para>
/// </remarks>
public static class OnnxImporter
{
    /// <summary>The operators the importer knows; any other is refused up front.</summary>
    private static readonly HashSet<string> KnownOperators =
    [
        "LSTM", "Gemm", "MatMul", "Add", "Gather", "Transpose", "Squeeze", "Unsqueeze", "Reshape", "Softmax",
        "Slice", "Concat", "Shape", "Constant", "ConstantOfShape", "Expand", "Identity", "Cast", "Clip",
    ];

    /// <summary>Reads and rebuilds the model in <paramref name="path"/>.</summary>
    public static OnnxImportedModel<T> Load<T>(string path) where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"path: no such file '{path}'.", path);
        byte[] bytes = File.ReadAllBytes(path);
        try
        {
            return Parse<T>(bytes);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        catch (NotSupportedException e)
        {
            throw new NotSupportedException($"{path}: {e.Message}", e);
        }
    }

    /// <summary>Parses the bytes of an .onnx file and rebuilds the model.</summary>
    public static OnnxImportedModel<T> Parse<T>(ReadOnlySpan<byte> bytes) where T : unmanaged, IFloatingPointIeee754<T>
    {
        _ = SafeTensor.DTypeOf<T>(); // float or double only
        return new Reader<T>(OnnxModelProto.Parse(bytes)).Build();
    }

    /// <summary>The weights and wiring of one LSTM node.</summary>
    private sealed record LstmLayer(OnnxNodeProto Node, int Directions, int Hidden, int Input, double[] W, double[] R, double[]? B);

    /// <summary>Where a tensor is on the way from an LSTM's Y [T, D, B, H] to a 3D sequence.</summary>
    private enum SeqLayout { TDBH, TBDH, BTDH, TB, BT }

    private sealed class Reader<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly OnnxGraphProto _graph;
        private readonly int _opset;
        private readonly Dictionary<string, OnnxTensorProto> _constants = [];
        private readonly Dictionary<string, OnnxNodeProto> _producers = [];
        private readonly HashSet<string> _graphInputs = [];

        public Reader(OnnxModelProto model)
        {
            _graph = model.Graph;
            var defaults = model.OpsetImports.Where(o => o.Domain is "" or "ai.onnx").ToList();
            if (defaults.Count == 0)
                throw new InvalidDataException("ONNX: the model imports no opset of the default ONNX domain (opset_import is missing).");
            _opset = (int)Math.Clamp(defaults.Max(o => o.Version), int.MinValue, int.MaxValue);
            if (_opset < OnnxExportOptions.MinOpsetVersion)
                throw new NotSupportedException(
                    $"ONNX: opset {_opset} is not supported; LstmSharp imports opset {OnnxExportOptions.MinOpsetVersion} or newer (LSTM-14). Re-export the model with a newer opset.");

            foreach (var t in _graph.Initializers) _constants[t.Name] = t;
            foreach (var node in _graph.Nodes)
            {
                if (node.Domain is not ("" or "ai.onnx"))
                    throw Unsupported(node, $"operator domain '{node.Domain}' is not supported; only the default ONNX domain is.");
                if (!KnownOperators.Contains(node.OpType))
                    throw Unsupported(node, $"operator '{node.OpType}' is not supported; LstmSharp imports {string.Join(", ", KnownOperators)}.");
                foreach (var output in node.Outputs)
                    if (output.Length > 0) _producers[output] = node;
                if (node.OpType == "Constant") _constants[node.Outputs.FirstOrDefault() ?? ""] = ConstantValue(node);
            }
            foreach (var input in _graph.Inputs)
                if (!_constants.ContainsKey(input.Name)) _graphInputs.Add(input.Name);
        }

        public OnnxImportedModel<T> Build()
        {
            var layers = OrderedLayers();
            var first = layers[0];
            int dirs = first.Directions, hidden = first.Hidden, width = dirs * hidden;
            for (int k = 1; k < layers.Count; k++)
            {
                var l = layers[k];
                if (l.Directions != dirs || l.Hidden != hidden)
                    throw Unsupported(l.Node, $"layer {k} has D = {l.Directions}, H = {l.Hidden}, but layer 0 has D = {dirs}, H = {hidden}; LstmSharp stacks equal layers.");
                if (l.Input != width)
                    throw new InvalidDataException($"ONNX: LSTM node {l.Node.Describe()} (layer {k}) takes input size {l.Input}, but the layer below gives D*H = {width}.");
            }

            var (inputName, inputBatchFirst, embedding) = InputSide(first);
            if (embedding is not null && embedding.EmbeddingDim != first.Input)
                throw new InvalidDataException(
                    $"ONNX: the embedding table has rows of {embedding.EmbeddingDim}, but LSTM node {first.Node.Describe()} takes input size {first.Input}.");
            var (h0, c0) = InitialStates(layers);
            string? lengths = SequenceLengths(layers);

            // The graph's outputs: h_n, c_n and the main one.
            string? outputName = null, hnName = null, cnName = null;
            Linear<T>? head = null;
            var headInput = OnnxHeadInput.Sequence;
            bool softmax = false;
            foreach (var output in _graph.Outputs.Select(o => o.Name))
            {
                if (IsFinalStates(output, layers, 1)) { hnName ??= output; continue; }
                if (IsFinalStates(output, layers, 2)) { cnName ??= output; continue; }
                if (outputName is not null)
                    throw new NotSupportedException(
                        $"ONNX: graph output '{output}' is neither h_n, c_n nor a second main output; the main output is '{outputName}'.");
                outputName = output;
                (head, headInput, softmax, bool? outputBatchFirst) = OutputSide(output, layers, width);
                if (outputBatchFirst is bool obf && obf != inputBatchFirst)
                    throw new NotSupportedException(
                        $"ONNX: the input '{inputName}' is {(inputBatchFirst ? "batch-first" : "sequence-first")} but the output '{output}' is {(obf ? "batch-first" : "sequence-first")}; LstmSharp has one layout for both.");
            }

            var lstm = new Lstm<T>(new LstmOptions
            {
                InputSize = first.Input,
                HiddenSize = hidden,
                NumLayers = layers.Count,
                Bidirectional = dirs == 2,
                BatchFirst = inputBatchFirst,
                Bias = layers.Any(l => l.B is not null && l.B.Any(v => v != 0)),
            }) { Training = false };
            for (int k = 0; k < layers.Count; k++) CopyWeights(layers[k], lstm, k);

            var options = new OnnxExportOptions
            {
                OpsetVersion = Math.Clamp(_opset, OnnxExportOptions.MinOpsetVersion, OnnxExportOptions.MaxOpsetVersion),
                SequenceLengths = lengths is not null,
                InitialState = h0 is not null,
                HeadInput = headInput,
                Softmax = softmax,
            };
            return new OnnxImportedModel<T>(embedding, lstm, head, options)
            {
                InputName = inputName,
                LengthsName = lengths,
                H0Name = h0,
                C0Name = c0,
                OutputName = outputName,
                HNName = hnName,
                CNName = cnName,
            };
        }

        // ---- LSTM nodes ----

        /// <summary>The LSTM nodes, checked, from the first layer to the last.</summary>
        private List<LstmLayer> OrderedLayers()
        {
            var nodes = _graph.Nodes.Where(n => n.OpType == "LSTM").ToList();
            if (nodes.Count == 0) throw new NotSupportedException("ONNX: the graph has no LSTM node; LstmSharp imports LSTM models.");
            var layers = nodes.Select(ReadLayer).ToList();
            // Each layer's X comes from the previous layer's Y through layout nodes; the first layer's from elsewhere.
            var below = new Dictionary<OnnxNodeProto, OnnxNodeProto>();
            foreach (var l in layers)
            {
                var (origin, path) = TraceUp(l.Node.Input(0), n => n.OpType is "Transpose" or "Reshape" or "Squeeze" or "Identity");
                if (_producers.TryGetValue(origin, out var p) && p.OpType == "LSTM")
                {
                    if (p.Outputs[0] != origin)
                        throw Unsupported(l.Node, $"its input X comes from output '{origin}' of LSTM node {p.Describe()}, which is not that node's Y.");
                    if (SequencePath(path, p, l.Directions) != SeqLayout.TB)
                        throw Unsupported(path.Count > 0 ? path[^1] : l.Node, $"the layer below's output reaches LSTM node {l.Node.Describe()} in a layout other than [T, B, D*H].");
                    if (!below.TryAdd(l.Node, p) || below.Count(kv => kv.Value == p) > 1)
                        throw Unsupported(l.Node, "the LSTM nodes do not form a single stack.");
                }
            }
            var bottoms = layers.Where(l => !below.ContainsKey(l.Node)).ToList();
            if (bottoms.Count == 0) throw new InvalidDataException("ONNX: the LSTM nodes feed each other in a cycle.");
            if (bottoms.Count != 1)
                throw Unsupported(bottoms[1].Node, $"the graph holds {bottoms.Count} separate LSTM stacks; LstmSharp imports one.");
            var ordered = new List<LstmLayer> { bottoms[0] };
            while (ordered.Count < layers.Count)
            {
                var next = layers.FirstOrDefault(l => below.TryGetValue(l.Node, out var p) && p == ordered[^1].Node)
                    ?? throw Unsupported(ordered[^1].Node, "the LSTM nodes do not form a single stack.");
                ordered.Add(next);
            }
            return ordered;
        }

        private LstmLayer ReadLayer(OnnxNodeProto n)
        {
            if (n.Outputs.Count == 0)
                throw new InvalidDataException($"ONNX: LSTM node {n.Describe()} has no outputs; expected Y, and Y_h and Y_c when used.");
            string direction = n.Attribute("direction")?.StringValue ?? "forward";
            int dirs = direction switch
            {
                "forward" => 1,
                "bidirectional" => 2,
                "reverse" => throw Unsupported(n, "direction 'reverse' alone is not supported; LstmSharp layers are forward or bidirectional."),
                _ => throw new InvalidDataException($"ONNX: LSTM node {n.Describe()} has an unknown direction '{direction}'."),
            };
            long hidden = n.Attribute("hidden_size")?.I ?? 0;
            if (hidden <= 0 || hidden > int.MaxValue / 8)
                throw new InvalidDataException($"ONNX: LSTM node {n.Describe()} needs a positive hidden_size attribute, got {hidden}.");
            int h = (int)hidden;
            if ((n.Attribute("layout")?.I ?? 0) != 0)
                throw Unsupported(n, "layout = 1 (batch-first LSTM) is not supported; use layout 0 with Transposes.");
            if (n.Attribute("clip") is not null) throw Unsupported(n, "the clip attribute (cell clipping) is not supported.");
            if ((n.Attribute("input_forget")?.I ?? 0) != 0) throw Unsupported(n, "input_forget = 1 (coupled gates) is not supported.");
            if (n.Attribute("activations") is { } act)
            {
                // Three per direction (f, g, h): Sigmoid, Tanh, Tanh, in any case (as ONNX Runtime reads them).
                var names = act.Strings.Select(s => System.Text.Encoding.UTF8.GetString(s)).ToList();
                if (names.Count != 3 * dirs || names.Where((name, i) => !string.Equals(name, i % 3 == 0 ? "Sigmoid" : "Tanh", StringComparison.OrdinalIgnoreCase)).Any())
                    throw Unsupported(n, $"activations [{string.Join(", ", names)}] are not supported; only Sigmoid, Tanh, Tanh for each of its {dirs} direction(s).");
            }
            if (n.Input(7).Length > 0 && !IsZeros(n.Input(7), 0))
                throw Unsupported(n, "peephole weights (input P) are not supported.");

            var w = Weight(n, 1, "W");
            var r = Weight(n, 2, "R");
            int input = w.Dims.Length == 3 ? (int)Math.Min(w.Dims[2], int.MaxValue) : 0;
            CheckDims(n, w, "W", [dirs, 4 * h, input], "[D, 4H, I]");
            if (input == 0) throw new InvalidDataException($"ONNX: LSTM node {n.Describe()}: W has input size 0.");
            CheckDims(n, r, "R", [dirs, 4 * h, h], "[D, 4H, H]");
            double[]? b = null;
            if (n.Input(3).Length > 0)
            {
                var bt = Weight(n, 3, "B");
                CheckDims(n, bt, "B", [dirs, 8 * h], "[D, 8H]");
                b = bt.ToDoubles();
            }
            return new LstmLayer(n, dirs, h, input, w.ToDoubles(), r.ToDoubles(), b);
        }

        private OnnxTensorProto Weight(OnnxNodeProto n, int index, string what)
        {
            string name = n.Input(index);
            if (name.Length == 0) throw new InvalidDataException($"ONNX: LSTM node {n.Describe()} has no {what} input.");
            var t = Constant(name) ?? throw (_producers.ContainsKey(SkipIdentity(name)) || _graphInputs.Contains(SkipIdentity(name))
                ? Unsupported(n, $"its {what} input '{name}' is not a constant (initializer); LstmSharp imports fixed weights.")
                : new InvalidDataException($"ONNX: LSTM node {n.Describe()}: its {what} input '{name}' is not in the graph (no initializer, node output or graph input has that name)."));
            if (t.DataType is not (OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16))
                throw new InvalidDataException($"ONNX: LSTM node {n.Describe()}: {what} '{name}' has element type {t.DataType}, expected a floating-point type.");
            return t;
        }

        private static void CheckDims(OnnxNodeProto n, OnnxTensorProto t, string what, long[] expected, string symbolic)
        {
            if (!t.Dims.AsSpan().SequenceEqual(expected))
                throw new InvalidDataException(
                    $"ONNX: LSTM node {n.Describe()}: {what} '{t.Name}' has dims [{string.Join(", ", t.Dims)}], expected {symbolic} = [{string.Join(", ", expected)}].");
        }

        private static void CopyWeights(LstmLayer l, Lstm<T> lstm, int layer)
        {
            int h = l.Hidden, g = 4 * h;
            for (int d = 0; d < l.Directions; d++)
            {
                var p = lstm.Layer(layer, d);
                LstmOnnxLayout.OnnxToTorch<T>(Convert(l.W.AsSpan(d * g * l.Input, g * l.Input)), h, l.Input, p.WeightIh.Value.Data);
                LstmOnnxLayout.OnnxToTorch<T>(Convert(l.R.AsSpan(d * g * h, g * h)), h, h, p.WeightHh.Value.Data);
                if (p.BiasIh is not null && p.BiasHh is not null)
                {
                    var b = l.B is null ? new T[2 * g] : Convert(l.B.AsSpan(d * 2 * g, 2 * g));
                    LstmOnnxLayout.OnnxToTorch<T>(b.AsSpan(0, g), h, 1, p.BiasIh.Value.Data);
                    LstmOnnxLayout.OnnxToTorch<T>(b.AsSpan(g, g), h, 1, p.BiasHh.Value.Data);
                }
            }
        }

        // ---- Before the first LSTM ----

        /// <summary>From the first LSTM's X up to the graph input: Transposes (batch-first) and an optional embedding Gather.</summary>
        private (string Input, bool BatchFirst, Embedding<T>? Embedding) InputSide(LstmLayer first)
        {
            string name = first.Node.Input(0);
            bool batchFirst = false;
            Embedding<T>? embedding = null;
            for (int guard = 0; guard < _graph.Nodes.Count + 1; guard++)
            {
                if (!_producers.TryGetValue(name, out var p))
                {
                    if (_graphInputs.Contains(name)) return (name, batchFirst, embedding);
                    if (_constants.ContainsKey(name))
                        throw Unsupported(first.Node, $"its input sequence comes from the constant '{name}', not from a graph input.");
                    throw new InvalidDataException($"ONNX: tensor '{name}' is neither a graph input nor the output of any node.");
                }
                switch (p.OpType)
                {
                    case "Identity" or "Cast":
                        break;
                    case "Clip" when embedding is not null:  // ids clipped into the table (padding): LstmSharp checks valid ids itself
                        CheckIdClip(p, embedding.NumEmbeddings);
                        break;
                    case "Transpose":
                        long[] perm = Ints(p, "perm");
                        bool idsPerm = perm.AsSpan().SequenceEqual([1L, 0]), featurePerm = perm.AsSpan().SequenceEqual([1L, 0, 2]);
                        if (!(embedding is null ? featurePerm : idsPerm))
                            throw Unsupported(p, $"perm [{string.Join(", ", perm)}] before the first LSTM is not a swap of the batch and time axes.");
                        batchFirst = !batchFirst;
                        break;
                    case "Gather" when embedding is null:
                        embedding = EmbeddingOf(p);
                        name = p.Input(1);
                        continue;
                    default:
                        throw Unsupported(p, "this node between the graph input and the first LSTM is not supported (expected Transpose, Gather of an embedding table, Clip of its ids, Cast or Identity).");
                }
                name = p.Input(0);
            }
            throw new InvalidDataException("ONNX: the graph has a cycle.");
        }

        private Embedding<T> EmbeddingOf(OnnxNodeProto gather)
        {
            if ((gather.Attribute("axis")?.I ?? 0) != 0) throw Unsupported(gather, "an embedding Gather must take rows (axis 0).");
            var table = Constant(gather.Input(0)) ?? throw Unsupported(gather, "it gathers from a non-constant tensor; an embedding's table must be an initializer.");
            if (table.Dims.Length != 2 || table.Dims[0] <= 0 || table.Dims[1] <= 0 || table.Dims[0] > int.MaxValue || table.Dims[1] > int.MaxValue)
                throw new InvalidDataException($"ONNX: Gather node {gather.Describe()}: the embedding table '{table.Name}' has dims [{string.Join(", ", table.Dims)}], expected [V, E].");
            var embedding = new Embedding<T>((int)table.Dims[0], (int)table.Dims[1]);
            Convert(table.ToDoubles()).CopyTo(embedding.Weight.Value.Data, 0);
            return embedding;
        }

        // ---- Initial states and lengths ----

        private (string? H0, string? C0) InitialStates(List<LstmLayer> layers)
        {
            string? h0 = StateInput(layers, 5, "initial_h"), c0 = StateInput(layers, 6, "initial_c");
            if ((h0 is null) != (c0 is null))
                throw Unsupported(layers[0].Node, $"only {(h0 is null ? "initial_c" : "initial_h")} is a graph input; LstmSharp takes h0 and c0 together.");
            return (h0, c0);
        }

        /// <summary>The graph input that every layer's initial state is sliced from, or null when they are all zeros.</summary>
        private string? StateInput(List<LstmLayer> layers, int index, string what)
        {
            string? source = null;
            for (int k = 0; k < layers.Count; k++)
            {
                var n = layers[k].Node;
                string? s = LayerState(n, n.Input(index), k, layers.Count, layers[k].Directions, what);
                if (k > 0 && s != source)
                    throw Unsupported(n, $"its {what} does not come from the same source as layer 0's ({source ?? "zeros"}).");
                source = s;
            }
            return source;
        }

        private string? LayerState(OnnxNodeProto lstm, string name, int layer, int layers, int dirs, string what)
        {
            if (name.Length == 0 || IsZeros(name, 0)) return null;
            name = SkipIdentity(name);
            if (_graphInputs.Contains(name))
            {
                if (layers == 1) return name;
                throw Unsupported(lstm, $"its {what} is the whole graph input '{name}'; with {layers} layers each must read a slice [L*D, B, H] → [D, B, H].");
            }
            if (_producers.TryGetValue(name, out var slice) && slice.OpType == "Slice")
            {
                string data = SkipIdentity(slice.Input(0));
                if (_graphInputs.Contains(data))
                {
                    long[] starts = ConstInts(slice, 1, "starts"), ends = ConstInts(slice, 2, "ends");
                    long[] axes = slice.Input(3).Length > 0 ? ConstInts(slice, 3, "axes") : [0];
                    long[] steps = slice.Input(4).Length > 0 ? ConstInts(slice, 4, "steps") : [1];
                    long begin = layer * dirs, end = (layer + 1) * dirs;
                    bool ok = starts.Length == 1 && ends.Length == 1 && axes is [0] && steps is [1]
                        && starts[0] == begin && (ends[0] == end || (layer == layers - 1 && ends[0] >= end));
                    if (!ok)
                        throw Unsupported(slice, $"it does not slice rows [{begin}, {end}) of axis 0 from '{data}' for layer {layer}'s {what}.");
                    return data;
                }
            }
            throw Unsupported(lstm, $"its {what} '{name}' is neither a graph input [L*D, B, H] sliced per layer nor zeros.");
        }

        private string? SequenceLengths(List<LstmLayer> layers)
        {
            string? source = null;
            for (int k = 0; k < layers.Count; k++)
            {
                var n = layers[k].Node;
                string name = n.Input(4);
                string? s = null;
                if (name.Length > 0)
                {
                    var (origin, _) = TraceUp(name, p => p.OpType is "Identity" or "Cast");
                    if (!_graphInputs.Contains(origin))
                        throw Unsupported(n, $"its sequence_lens '{name}' does not come from a graph input.");
                    s = origin;
                }
                if (k > 0 && s != source)
                    throw Unsupported(n, $"its sequence_lens ({s ?? "none"}) differ from layer 0's ({source ?? "none"}).");
                source = s;
            }
            return source;
        }

        // ---- After the last LSTM ----

        /// <summary>Whether <paramref name="name"/> is every layer's output <paramref name="index"/> (Y_h or Y_c), concatenated on axis 0.</summary>
        private bool IsFinalStates(string name, List<LstmLayer> layers, int index)
        {
            name = SkipIdentity(name);
            if (name.Length == 0) return false;  // an empty name is a missing output
            if (layers.Count == 1 && layers[0].Node.Outputs.Count > index && layers[0].Node.Outputs[index] == name) return true;
            if (!_producers.TryGetValue(name, out var p) || p.OpType != "Concat" || (p.Attribute("axis")?.I ?? 0) != 0) return false;
            return p.Inputs.Select(SkipIdentity).SequenceEqual(layers.Select(l => l.Node.Outputs.Count > index ? l.Node.Outputs[index] : "\0"));
        }

        /// <summary>The main output: softmax, head and the path to the last LSTM's Y or Y_h.</summary>
        private (Linear<T>? Head, OnnxHeadInput HeadInput, bool Softmax, bool? BatchFirst) OutputSide(string output, List<LstmLayer> layers, int width)
        {
            var last = layers[^1];
            string name = SkipIdentity(output);
            bool softmax = false;
            OnnxNodeProto? softmaxNode = null;
            if (_producers.TryGetValue(name, out var p) && p.OpType == "Softmax")
            {
                softmax = true;
                softmaxNode = p;
                name = SkipIdentity(p.Input(0));
            }
            Linear<T>? head = null;
            OnnxNodeProto? headNode = null;
            if (_producers.TryGetValue(name, out p) && p.OpType is "Add" or "MatMul" or "Gemm")
            {
                headNode = p;
                (head, name) = p.OpType == "Gemm" ? Gemm(p, width) : MatMulAdd(p, width);
                name = SkipIdentity(name);
            }

            if (head is not null && _producers.TryGetValue(name, out var concat) && concat.OpType == "Concat" && IsDirectionsSideBySide(concat, layers))
            {
                CheckSoftmax(softmaxNode, 2);
                return (head, OnnxHeadInput.FinalHidden, softmax, null);
            }
            var (origin, path) = TraceUp(name, n => n.OpType is "Transpose" or "Reshape" or "Squeeze" or "Identity" or "Gather");
            bool fromY = origin.Length > 0 && origin == last.Node.Outputs[0];  // an empty name is a missing output, not Y
            bool fromFinal = origin.Length > 0 && ((last.Node.Outputs.Count > 1 && origin == last.Node.Outputs[1]) || IsFinalStates(origin, layers, 1));
            // Blame the node where the walk stopped, when it is not an LSTM: it is the one in an unknown place.
            var blame = _producers.TryGetValue(origin, out var stop) && stop.OpType != "LSTM" ? stop
                : path.Count > 0 ? path[0] : headNode ?? softmaxNode ?? last.Node;
            if (fromY)
            {
                var layout = SequencePath(path, last.Node, last.Directions);
                if (layout is not (SeqLayout.TB or SeqLayout.BT))
                    throw Unsupported(path.Count > 0 ? path[^1] : last.Node, $"the output sequence reaches '{output}' as a 4D tensor; expected [T, B, D*H] or [B, T, D*H].");
                CheckSoftmax(softmaxNode, 3);
                if (headNode?.OpType == "Gemm") throw Unsupported(headNode, "Gemm takes 2D input, but it reads the 3D output sequence.");
                return (head, OnnxHeadInput.Sequence, softmax, layout == SeqLayout.BT);
            }
            if (fromFinal && head is not null)
            {
                FinalHiddenPath(path, origin, layers);
                CheckSoftmax(softmaxNode, 2);
                return (head, OnnxHeadInput.FinalHidden, softmax, null);
            }
            throw Unsupported(blame, $"graph output '{output}' does not come from the last LSTM's output sequence (or, through a head, its final hidden state).");
        }

        private void CheckSoftmax(OnnxNodeProto? softmax, int rank)
        {
            if (softmax is null) return;
            long axis = softmax.Attribute("axis")?.I ?? -1;
            if (axis != -1 && axis != rank - 1)
                throw Unsupported(softmax, $"softmax over axis {axis} is not supported; only the last axis (-1).");
        }

        /// <summary>Follows layout nodes from an LSTM's Y [T, D, B, H]; returns the layout reached.</summary>
        private SeqLayout SequencePath(List<OnnxNodeProto> path, OnnxNodeProto lstm, int dirs)
        {
            var state = SeqLayout.TDBH;
            foreach (var n in path)
            {
                SeqLayout? next = null;
                switch (n.OpType)
                {
                    case "Identity":
                        next = state;
                        break;
                    case "Squeeze" when dirs == 1:
                        long[] axes = n.Input(1).Length > 0 ? ConstInts(n, 1, "axes") : Ints(n, "axes");
                        if (axes.Length == 1)
                        {
                            long a = axes[0] < 0 ? axes[0] + 4 : axes[0];
                            next = (state, a) switch
                            {
                                (SeqLayout.TDBH, 1) => SeqLayout.TB,
                                (SeqLayout.TBDH, 2) => SeqLayout.TB,
                                (SeqLayout.BTDH, 2) => SeqLayout.BT,
                                _ => null,
                            };
                        }
                        break;
                    case "Transpose":
                        string perm = string.Join(",", Ints(n, "perm"));
                        next = (state, perm) switch
                        {
                            (SeqLayout.TDBH, "0,2,1,3") => SeqLayout.TBDH,
                            (SeqLayout.TDBH, "2,0,1,3") => SeqLayout.BTDH,
                            (SeqLayout.TBDH, "1,0,2,3") => SeqLayout.BTDH,
                            (SeqLayout.BTDH, "1,0,2,3") => SeqLayout.TBDH,
                            (SeqLayout.TB, "1,0,2") => SeqLayout.BT,
                            (SeqLayout.BT, "1,0,2") => SeqLayout.TB,
                            _ => null,
                        };
                        break;
                    case "Reshape" when state is SeqLayout.TBDH or SeqLayout.BTDH:
                        long[] shape = ConstInts(n, 1, "shape");
                        // [0, 0, -1 or D*H]: the first two dimensions copied (ONNX's 0), so only the last two merge. A fixed
                        // size there could regroup T and B, which a layout change cannot follow: refused.
                        if (shape.Length == 3 && shape[0] == 0 && shape[1] == 0 && (shape[2] == -1 || shape[2] == dirs * (lstm.Attribute("hidden_size")?.I ?? 0)))
                            next = state == SeqLayout.TBDH ? SeqLayout.TB : SeqLayout.BT;
                        break;
                }
                state = next ?? throw Unsupported(n, $"this {n.OpType} on the output of LSTM node {lstm.Describe()} is not a layout change LstmSharp knows (from [T, D, B, H] to [T, B, D*H] or [B, T, D*H]).");
            }
            return state;
        }

        /// <summary>
        /// Whether <paramref name="concat"/> is PyTorch's <c>torch.cat((h_n[-2], h_n[-1]), dim=1)</c> of a bidirectional model:
        /// the last layer's forward and reverse final hidden states, [B, H] each, side by side on axis 1, which is
        /// [B, D*H] as the head reads it. A Concat on the final states that picks other rows is refused by name.
        /// </summary>
        private bool IsDirectionsSideBySide(OnnxNodeProto concat, List<LstmLayer> layers)
        {
            var last = layers[^1];
            if (last.Directions != 2 || concat.Inputs.Count != 2) return false;
            long axis = concat.Attribute("axis")?.I ?? 0;
            bool ok = axis is 1 or -1;
            long forward = 2L * layers.Count - 2;  // the last layer's forward row of h_n [L*D, B, H]; its reverse row is the next
            var picked = new long[2];              // rows of h_n
            for (int k = 0; k < 2; k++)
            {
                var (origin, path) = TraceUp(concat.Input(k), n => n.OpType is "Gather" or "Identity");
                bool lastOnly = last.Node.Outputs.Count > 1 && origin == last.Node.Outputs[1];  // the last layer's Y_h [D, B, H]
                if (!lastOnly && !IsFinalStates(origin, layers, 1)) return false;              // else h_n [L*D, B, H]
                var gathers = path.Where(n => n.OpType == "Gather").ToList();
                if (gathers.Count != 1 || (gathers[0].Attribute("axis")?.I ?? 0) != 0 || Constant(gathers[0].Input(1)) is not { Dims.Length: 0 })
                    throw Unsupported(concat, "its inputs are not single rows of the final hidden state (h_n[i]).");
                long rows = lastOnly ? 2 : 2L * layers.Count, index = ConstInts(gathers[0], 1, "indices")[0];
                picked[k] = (index < 0 ? index + rows : index) + (lastOnly ? forward : 0);  // a row of Y_h is row 2L-2 + i of h_n
                ok &= picked[k] == forward + k;
            }
            if (ok) return true;
            throw Unsupported(concat, $"it joins rows {picked[0]} and {picked[1]} of the final hidden state on axis {axis}; " +
                $"LstmSharp reads the last layer's two directions side by side on axis 1: torch.cat((h_n[-2], h_n[-1]), dim=1), rows {forward} and {forward + 1} of h_n.");
        }

        /// <summary>Checks that <paramref name="path"/> turns the last layer's Y_h [D, B, H] (or all layers' h_n) into [B, D*H].</summary>
        private void FinalHiddenPath(List<OnnxNodeProto> path, string origin, List<LstmLayer> layers)
        {
            var last = layers[^1];
            int dirs = last.Directions, width = dirs * last.Hidden;
            bool allLayers = origin != last.Node.Outputs[1];
            int rank = 3;        // [D, B, H] or [L*D, B, H]
            bool swapped = false; // [B, D, H]
            foreach (var n in path)
            {
                bool ok = false;
                switch (n.OpType)
                {
                    case "Identity":
                        ok = true;
                        break;
                    case "Gather" when rank == 3 && !swapped && dirs == 1 && (n.Attribute("axis")?.I ?? 0) == 0:
                        long[] index = ConstInts(n, 1, "indices");
                        long rows = allLayers ? layers.Count : 1;
                        ok = index.Length == 1 && (index[0] == -1 || index[0] == rows - 1) && (Constant(n.Input(1))!.Dims.Length == 0);
                        rank = 2;
                        allLayers = false;
                        break;
                    case "Squeeze" when rank == 3 && !swapped && dirs == 1 && !allLayers:
                        long[] axes = n.Input(1).Length > 0 ? ConstInts(n, 1, "axes") : Ints(n, "axes");
                        ok = axes is [0];
                        rank = 2;
                        break;
                    case "Transpose" when rank == 3 && !allLayers:
                        ok = string.Join(",", Ints(n, "perm")) == "1,0,2";
                        swapped = !swapped;
                        break;
                    case "Reshape" when rank == 3 && swapped:
                        long[] shape = ConstInts(n, 1, "shape");
                        ok = shape.Length == 2 && shape[0] >= -1 && (shape[1] == -1 || shape[1] == width) && !(shape[0] == -1 && shape[1] == -1);
                        rank = 2;
                        break;
                }
                if (!ok)
                    throw Unsupported(n, $"this {n.OpType} on the final hidden state is not a step LstmSharp knows from [D, B, H] to [B, D*H].");
            }
            if (rank != 2 || allLayers)
                throw new NotSupportedException($"ONNX: the head reads the final hidden state of LSTM node {last.Node.Describe()} without reducing it to [B, D*H].");
        }

        /// <summary>A Gemm head: Y = A B' + C, alpha = beta = 1, transA = 0.</summary>
        private (Linear<T> Head, string Input) Gemm(OnnxNodeProto n, int width)
        {
            if ((n.Attribute("transA")?.I ?? 0) != 0) throw Unsupported(n, "transA = 1 is not supported.");
            if ((n.Attribute("alpha")?.F ?? 1f) != 1f || (n.Attribute("beta")?.F ?? 1f) != 1f)
                throw Unsupported(n, "alpha and beta other than 1 are not supported.");
            var w = Constant(n.Input(1)) ?? throw Unsupported(n, "its weight (input B) is not a constant.");
            bool transB = (n.Attribute("transB")?.I ?? 0) != 0;
            var head = NewHead(n, w, transB, n.Input(2), width);
            return (head, n.Input(0));
        }

        /// <summary>A MatMul head with an optional Add of a constant bias (either operand order).</summary>
        private (Linear<T> Head, string Input) MatMulAdd(OnnxNodeProto n, int width)
        {
            string bias = "";
            var matmul = n;
            if (n.OpType == "Add")
            {
                int constant = Constant(n.Input(0)) is not null ? 0 : Constant(n.Input(1)) is not null ? 1 : -1;
                if (constant < 0) throw Unsupported(n, "neither operand is a constant bias.");
                bias = n.Input(constant);
                if (!_producers.TryGetValue(SkipIdentity(n.Input(1 - constant)), out matmul!) || matmul.OpType != "MatMul")
                    throw Unsupported(n, "it adds a bias to something other than a MatMul.");
            }
            var w = Constant(matmul.Input(1)) ?? throw Unsupported(matmul, "its second operand (the weight) is not a constant.");
            return (NewHead(matmul, w, transposed: false, bias, width), matmul.Input(0));
        }

        /// <summary>A Linear from a weight [in, out] (or [out, in] when <paramref name="transposed"/>) and an optional bias [out].</summary>
        private Linear<T> NewHead(OnnxNodeProto n, OnnxTensorProto w, bool transposed, string biasName, int width)
        {
            if (w.Dims.Length != 2 || w.Dims.Any(d => d <= 0 || d > int.MaxValue))
                throw new InvalidDataException($"ONNX: node {n.Describe()}: the weight '{w.Name}' has dims [{string.Join(", ", w.Dims)}], expected a matrix.");
            int inSize = (int)w.Dims[transposed ? 1 : 0], outSize = (int)w.Dims[transposed ? 0 : 1];
            if (inSize != width)
                throw new InvalidDataException(
                    $"ONNX: node {n.Describe()}: the weight '{w.Name}' takes {inSize} features, but the LSTM gives D*H = {width}.");
            OnnxTensorProto? b = null;
            if (biasName.Length > 0)
            {
                b = Constant(biasName) ?? throw Unsupported(n, $"its bias '{biasName}' is not a constant.");
                if (b.ElementCount != outSize || b.Dims.Length is < 1 or > 2 || b.Dims[^1] != outSize)
                    throw new InvalidDataException(
                        $"ONNX: node {n.Describe()}: the bias '{b.Name}' has dims [{string.Join(", ", b.Dims)}], expected [{outSize}].");
            }
            var head = new Linear<T>(inSize, outSize, bias: b is not null);
            var values = Convert(w.ToDoubles());
            var dst = head.Weight.Value.Data; // [out, in]
            for (int j = 0; j < outSize; j++)
                for (int k = 0; k < inSize; k++)
                    dst[j * inSize + k] = transposed ? values[j * inSize + k] : values[k * outSize + j];
            if (b is not null) Convert(b.ToDoubles()).CopyTo(head.Bias!.Value.Data, 0);
            return head;
        }

        // ---- Helpers ----

        /// <summary>Walks up input 0 while the producer passes <paramref name="through"/>; returns where it stops and the nodes passed, first to last.</summary>
        private (string Origin, List<OnnxNodeProto> Path) TraceUp(string name, Func<OnnxNodeProto, bool> through)
        {
            var path = new List<OnnxNodeProto>();
            while (_producers.TryGetValue(name, out var p) && through(p))
            {
                if (path.Count > _graph.Nodes.Count) throw new InvalidDataException("ONNX: the graph has a cycle.");
                path.Insert(0, p);
                name = p.Input(0);
            }
            return (name, path);
        }

        private string SkipIdentity(string name) => TraceUp(name, p => p.OpType == "Identity").Origin;

        /// <summary>Whether a tensor is provably all zeros: a zero constant, or ConstantOfShape of zero, reshaped, sliced or expanded.</summary>
        private bool IsZeros(string name, int depth)
        {
            if (depth > 64) return false;
            if (Constant(name) is { } c)
                return c.DataType is OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16
                    ? c.ToDoubles().All(v => v == 0) : c.ToInt64s().All(v => v == 0);
            if (!_producers.TryGetValue(name, out var p)) return false;
            return p.OpType switch
            {
                "ConstantOfShape" => p.Attribute("value")?.T is not { } v || IsZerosTensor(v),
                "Identity" or "Cast" or "Expand" or "Slice" or "Reshape" or "Unsqueeze" or "Squeeze" or "Transpose" => IsZeros(p.Input(0), depth + 1),
                _ => false,
            };
        }

        private static bool IsZerosTensor(OnnxTensorProto t) =>
            t.DataType is OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16 ? t.ToDoubles().All(v => v == 0) : t.ToInt64s().All(v => v == 0);

        private OnnxTensorProto? Constant(string name) => _constants.GetValueOrDefault(SkipIdentity(name));

        /// <summary>A Clip of embedding ids is taken only when it leaves every id of the table as it is: min ≤ 0, max ≥ V - 1 (or absent).</summary>
        private void CheckIdClip(OnnxNodeProto clip, int vocabulary)
        {
            long Bound(int index, string what, long absent)
            {
                if (clip.Input(index).Length == 0) return absent;
                long[] v = ConstInts(clip, index, what);
                return v.Length == 1 ? v[0] : throw Unsupported(clip, $"its {what} is not a scalar.");
            }
            long min = Bound(1, "min", long.MinValue), max = Bound(2, "max", long.MaxValue);
            if (min > 0 || max < vocabulary - 1)
                throw Unsupported(clip, $"it clips the embedding's ids to [{min}, {max}], which changes ids of its table [0, {vocabulary - 1}].");
        }

        private long[] ConstInts(OnnxNodeProto n, int index, string what)
        {
            var t = Constant(n.Input(index)) ?? throw Unsupported(n, $"its {what} input '{n.Input(index)}' is not a constant.");
            return t.ToInt64s();
        }

        private static long[] Ints(OnnxNodeProto n, string attribute) => n.Attribute(attribute)?.Ints.ToArray() ?? [];

        /// <summary>The tensor a Constant node holds, from its value, value_float(s) or value_int(s) attribute.</summary>
        private static OnnxTensorProto ConstantValue(OnnxNodeProto n)
        {
            string output = n.Outputs.FirstOrDefault() ?? "";
            foreach (var a in n.Attributes)
            {
                switch (a.Name)
                {
                    case "value" when a.T is not null: return a.T;
                    case "value_float": return OnnxTensorProto.FromFloats(output, [a.F]);
                    case "value_floats": return OnnxTensorProto.FromFloats(output, [.. a.Floats], a.Floats.Count);
                    case "value_int": return OnnxTensorProto.FromInt64s(output, [a.I]);
                    case "value_ints": return OnnxTensorProto.FromInt64s(output, [.. a.Ints], a.Ints.Count);
                }
            }
            throw Unsupported(n, "a Constant without a value, value_float(s) or value_int(s) attribute is not supported.");
        }

        private static T[] Convert(ReadOnlySpan<double> values)
        {
            var result = new T[values.Length];
            for (int i = 0; i < values.Length; i++) result[i] = T.CreateChecked(values[i]);
            return result;
        }

        private static NotSupportedException Unsupported(OnnxNodeProto n, string why) => new($"ONNX: node {n.Describe()}: {why}");
    }
}
