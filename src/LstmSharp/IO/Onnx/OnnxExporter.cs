using System.Numerics;
using LstmSharp.Layers;

namespace LstmSharp.IO.Onnx;

/// <summary>
/// Writes an <see cref="Lstm{T}"/>, optionally preceded by an <see cref="Embedding{T}"/> and followed by a
/// <see cref="Linear{T}"/> head and a softmax, as an ONNX model (opset 14+, 17 by default) that ONNX Runtime and
/// other ONNX tools run with the same results as <see cref="Lstm{T}.Forward"/>.
/// </summary>
/// <remarks>
/// <para>The graph: each layer is one ONNX <c>LSTM</c> node (<c>direction</c> = forward or bidirectional), its weights
/// converted from PyTorch's gate order (i, f, g, o) to ONNX's (i, o, f, c): W [D, 4H, I], R [D, 4H, H],
/// B [D, 8H] (input biases then recurrent biases; zeros without bias). ONNX's LSTM is sequence-first and its output Y is
/// [T, D, B, H], so batch-first inputs go through a Transpose, and between layers a Transpose + Reshape turns Y into
/// [T, B, D*H]. <c>h0</c>/<c>c0</c> [L*D, B, H] are sliced per layer; <c>h_n</c>/<c>c_n</c> concatenate the layers'
/// final states. An embedding is a Gather; a head on the sequence is MatMul + Add, on the final hidden state Gemm.</para>
/// <para>Refused: a projection (<c>proj_size</c> &gt; 0), which ONNX's LSTM cannot express (NotSupportedException).
/// Dropout is ignored: the exported graph is the inference (evaluation-mode) model.</para>
/// <para>Both float and double models are written; ONNX Runtime's CPU LSTM kernel runs float only.</para>
/// </remarks>
public static class OnnxExporter
{
    /// <summary>The name of the graph's main input: features, or int64 token ids with an embedding.</summary>
    public const string InputName = "input";

    /// <summary>The name of the optional int32 sequence-lengths input [B].</summary>
    public const string LengthsName = "lengths";

    /// <summary>The name of the optional initial hidden state input [L*D, B, H].</summary>
    public const string H0Name = "h0";

    /// <summary>The name of the optional initial cell state input [L*D, B, H].</summary>
    public const string C0Name = "c0";

    /// <summary>The name of the main output: the head's (after softmax, if any), or the LSTM's output sequence.</summary>
    public const string OutputName = "output";

    /// <summary>The name of the final hidden state output [L*D, B, H].</summary>
    public const string HNName = "h_n";

    /// <summary>The name of the final cell state output [L*D, B, H].</summary>
    public const string CNName = "c_n";

    /// <summary>The dynamic batch axis's name (dim_param).</summary>
    public const string BatchAxis = "batch";

    /// <summary>The dynamic time axis's name (dim_param).</summary>
    public const string SequenceAxis = "sequence";

    /// <summary>Writes <paramref name="lstm"/> alone, with default options, to <paramref name="path"/> (atomically).</summary>
    public static void Export<T>(Lstm<T> lstm, string path) where T : unmanaged, IFloatingPointIeee754<T> =>
        Export(null, lstm, null, new OnnxExportOptions(), path);

    /// <summary>Writes embedding → LSTM → head (→ softmax) to <paramref name="path"/>, atomically, as <see cref="AtomicFile.Write"/>.</summary>
    /// <param name="embedding">An optional embedding before the LSTM; its size must be the LSTM's input size.</param>
    /// <param name="lstm">The LSTM; no projection.</param>
    /// <param name="head">An optional linear layer after the LSTM; its input size must be D*H.</param>
    /// <param name="options">Extra inputs, what the head reads, softmax, opset.</param>
    /// <param name="path">The .onnx file to write.</param>
    public static void Export<T>(Embedding<T>? embedding, Lstm<T> lstm, Linear<T>? head, OnnxExportOptions options, string path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = ToBytes(embedding, lstm, head, options);
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    /// <summary>The bytes of the .onnx file that <see cref="Export{T}(Embedding{T}, Lstm{T}, Linear{T}, OnnxExportOptions, string)"/> writes.</summary>
    public static byte[] ToBytes<T>(Embedding<T>? embedding, Lstm<T> lstm, Linear<T>? head, OnnxExportOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(lstm);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var o = lstm.Options;
        if (o.ProjSize > 0)
            throw new NotSupportedException(
                $"lstm: ONNX's LSTM operator has no projection, so an LSTM with ProjSize = {o.ProjSize} (proj_size, weight_hr) cannot be exported.");
        if (embedding is not null && embedding.EmbeddingDim != o.InputSize)
            throw new ArgumentException(
                $"embedding: its size E = {embedding.EmbeddingDim} must equal the LSTM's input size I = {o.InputSize}.", nameof(embedding));
        int width = o.NumDirections * o.HiddenSize;
        if (head is not null && head.InFeatures != width)
            throw new ArgumentException(
                $"head: its input size {head.InFeatures} must equal the LSTM's output size D*H = {width}.", nameof(head));
        if (head is null && options.HeadInput == OnnxHeadInput.FinalHidden)
            throw new ArgumentException("options: HeadInput = FinalHidden needs a head.", nameof(options));
        return new Builder<T>(embedding, lstm, head, options).Build().ToBytes();
    }

    /// <summary>Builds the graph; one instance per export.</summary>
    private sealed class Builder<T>(Embedding<T>? embedding, Lstm<T> lstm, Linear<T>? head, OnnxExportOptions options)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly OnnxGraphProto _graph = new() { Name = "lstmsharp" };
        private readonly OnnxDataType _elem = typeof(T) == typeof(float) ? OnnxDataType.Float
            : typeof(T) == typeof(double) ? OnnxDataType.Double
            : throw new NotSupportedException($"T: ONNX export supports float and double, got {typeof(T).Name}.");

        public OnnxModelProto Build()
        {
            var o = lstm.Options;
            int layers = o.NumLayers, dirs = o.NumDirections, hidden = o.HiddenSize, width = dirs * hidden;
            bool bf = o.BatchFirst;
            object[] batchTime = bf ? [BatchAxis, SequenceAxis] : [SequenceAxis, BatchAxis];

            // Inputs.
            string x;
            if (embedding is not null)
            {
                _graph.Inputs.Add(OnnxValueInfoProto.Tensor(InputName, OnnxDataType.Int64, batchTime));
                string ids = bf ? Node("Transpose", "embedding/transpose", [InputName], [OnnxAttributeProto.IntList("perm", 1, 0)]) : InputName;
                string table = Initializer("embedding.weight", embedding.Weight.Value.Data, embedding.NumEmbeddings, embedding.EmbeddingDim);
                // With sequence lengths, padded steps may hold any id (-1 or V, as SequenceModel allows): clipped into the
                // table, since Gather refuses ids outside [-V, V-1]; the LSTM's sequence_lens leaves those steps out.
                if (options.SequenceLengths)
                    ids = Node("Clip", "embedding/clip", [ids, Int64Scalar("embedding.min_id", 0), Int64Scalar("embedding.max_id", embedding.NumEmbeddings - 1)], []);
                x = Node("Gather", "embedding/gather", [table, ids], [OnnxAttributeProto.Int("axis", 0)]);
            }
            else
            {
                _graph.Inputs.Add(OnnxValueInfoProto.Tensor(InputName, _elem, [.. batchTime, o.InputSize]));
                x = bf ? Node("Transpose", "lstm/transpose_in", [InputName], [OnnxAttributeProto.IntList("perm", 1, 0, 2)]) : InputName;
            }
            if (options.SequenceLengths)
                _graph.Inputs.Add(OnnxValueInfoProto.Tensor(LengthsName, OnnxDataType.Int32, BatchAxis));
            if (options.InitialState)
            {
                _graph.Inputs.Add(OnnxValueInfoProto.Tensor(H0Name, _elem, layers * dirs, BatchAxis, hidden));
                _graph.Inputs.Add(OnnxValueInfoProto.Tensor(C0Name, _elem, layers * dirs, BatchAxis, hidden));
            }

            // One LSTM node per layer; Y [T, D, B, H] → [T, B, D*H] between layers.
            string reshape3 = Int64Initializer("shape_t_b_dh", [0, 0, -1]);
            var finalH = new List<string>();
            var finalC = new List<string>();
            string y = "";
            for (int layer = 0; layer < layers; layer++)
            {
                string p = $"lstm/l{layer}";
                var (w, r, b) = LayerWeights(layer);
                string h0 = options.InitialState ? LayerSlice(H0Name, layer, dirs) : "";
                string c0 = options.InitialState ? LayerSlice(C0Name, layer, dirs) : "";
                var lstmNode = new OnnxNodeProto { Name = p, OpType = "LSTM" };
                lstmNode.Inputs.AddRange([x, w, r, b, options.SequenceLengths ? LengthsName : "", h0, c0]);
                lstmNode.Outputs.AddRange([p + "/Y", p + "/Y_h", p + "/Y_c"]);
                lstmNode.Attributes.Add(OnnxAttributeProto.Int("hidden_size", hidden));
                lstmNode.Attributes.Add(OnnxAttributeProto.String("direction", dirs == 2 ? "bidirectional" : "forward"));
                _graph.Nodes.Add(lstmNode);
                y = p + "/Y";
                finalH.Add(p + "/Y_h");
                finalC.Add(p + "/Y_c");
                if (layer < layers - 1)
                {
                    string t = Node("Transpose", p + "/transpose", [y], [OnnxAttributeProto.IntList("perm", 0, 2, 1, 3)]);
                    x = Node("Reshape", p + "/reshape", [t, reshape3], []);
                }
            }
            // The last layer's Y, straight to the user's layout: [T, D, B, H] → [B, T, D, H] or [T, B, D, H] → 3D.
            string yt = Node("Transpose", "lstm/transpose_out", [y], [OnnxAttributeProto.IntList("perm", bf ? [2, 0, 1, 3] : [0, 2, 1, 3])]);
            string output = Node("Reshape", "lstm/reshape_out", [yt, reshape3], []);
            object[] outShape = [.. batchTime, width];

            if (head is not null)
            {
                string weight;
                if (options.HeadInput == OnnxHeadInput.Sequence)
                {
                    // MatMul takes the weight as [in, out].
                    var wt = new T[head.InFeatures * head.OutFeatures];
                    var wData = head.Weight.Value.Data;
                    for (int j = 0; j < head.OutFeatures; j++)
                        for (int k = 0; k < head.InFeatures; k++) wt[k * head.OutFeatures + j] = wData[j * head.InFeatures + k];
                    weight = Initializer("head.weight_t", wt, head.InFeatures, head.OutFeatures);
                    output = Node("MatMul", "head/matmul", [output, weight], []);
                    if (head.Bias is not null)
                        output = Node("Add", "head/add", [output, Initializer("head.bias", head.Bias.Value.Data, head.OutFeatures)], []);
                    outShape = [.. batchTime, head.OutFeatures];
                }
                else
                {
                    // The last layer's Y_h [D, B, H] → [B, D, H] → [B, D*H], then Gemm with the weight as stored, [out, in].
                    string ht = Node("Transpose", "head/transpose", [finalH[^1]], [OnnxAttributeProto.IntList("perm", 1, 0, 2)]);
                    string features = Node("Reshape", "head/reshape", [ht, Int64Initializer("shape_b_dh", [0, -1])], []);
                    weight = Initializer("head.weight", head.Weight.Value.Data, head.OutFeatures, head.InFeatures);
                    var inputs = new List<string> { features, weight };
                    if (head.Bias is not null) inputs.Add(Initializer("head.bias", head.Bias.Value.Data, head.OutFeatures));
                    output = Node("Gemm", "head/gemm", [.. inputs], [OnnxAttributeProto.Int("transB", 1)]);
                    outShape = [BatchAxis, head.OutFeatures];
                }
            }
            if (options.Softmax)
                output = Node("Softmax", "softmax", [output], [OnnxAttributeProto.Int("axis", -1)]);
            Rename(output, OutputName);

            var hn = new OnnxNodeProto { Name = "lstm/h_n", OpType = "Concat", Attributes = { OnnxAttributeProto.Int("axis", 0) } };
            hn.Inputs.AddRange(finalH);
            hn.Outputs.Add(HNName);
            var cn = new OnnxNodeProto { Name = "lstm/c_n", OpType = "Concat", Attributes = { OnnxAttributeProto.Int("axis", 0) } };
            cn.Inputs.AddRange(finalC);
            cn.Outputs.Add(CNName);
            _graph.Nodes.Add(hn);
            _graph.Nodes.Add(cn);

            _graph.Outputs.Add(OnnxValueInfoProto.Tensor(OutputName, _elem, outShape));
            _graph.Outputs.Add(OnnxValueInfoProto.Tensor(HNName, _elem, layers * dirs, BatchAxis, hidden));
            _graph.Outputs.Add(OnnxValueInfoProto.Tensor(CNName, _elem, layers * dirs, BatchAxis, hidden));

            var model = new OnnxModelProto
            {
                IrVersion = IrVersionFor(options.OpsetVersion),
                ProducerName = "LstmSharp",
                ProducerVersion = typeof(OnnxExporter).Assembly.GetName().Version?.ToString() ?? "",
                Graph = _graph,
            };
            model.OpsetImports.Add(("", options.OpsetVersion));
            return model;
        }

        /// <summary>W [D, 4H, I], R [D, 4H, H], B [D, 8H] of one layer, in ONNX's gate order.</summary>
        private (string W, string R, string B) LayerWeights(int layer)
        {
            var o = lstm.Options;
            int dirs = o.NumDirections, hidden = o.HiddenSize, input = o.LayerInputSize(layer), g = 4 * hidden;
            var w = new T[dirs * g * input];
            var r = new T[dirs * g * hidden];
            var b = new T[dirs * 2 * g];
            for (int d = 0; d < dirs; d++)
            {
                var p = lstm.Layer(layer, d);
                LstmOnnxLayout.TorchToOnnx<T>(p.WeightIh.Value.Data, hidden, input, w.AsSpan(d * g * input, g * input));
                LstmOnnxLayout.TorchToOnnx<T>(p.WeightHh.Value.Data, hidden, hidden, r.AsSpan(d * g * hidden, g * hidden));
                if (p.BiasIh is not null) LstmOnnxLayout.TorchToOnnx<T>(p.BiasIh.Value.Data, hidden, 1, b.AsSpan(d * 2 * g, g));
                if (p.BiasHh is not null) LstmOnnxLayout.TorchToOnnx<T>(p.BiasHh.Value.Data, hidden, 1, b.AsSpan(d * 2 * g + g, g));
            }
            string prefix = $"lstm.l{layer}";
            return (Initializer(prefix + ".W", w, dirs, g, input),
                    Initializer(prefix + ".R", r, dirs, g, hidden),
                    Initializer(prefix + ".B", b, dirs, 2 * g));
        }

        /// <summary>Layer <paramref name="layer"/>'s rows [layer*D, (layer+1)*D) of a state input [L*D, B, H].</summary>
        private string LayerSlice(string state, int layer, int dirs)
        {
            if (lstm.Options.NumLayers == 1) return state;
            string starts = Int64Initializer($"{state}.l{layer}.starts", [layer * dirs]);
            string ends = Int64Initializer($"{state}.l{layer}.ends", [(layer + 1) * dirs]);
            string axes = Int64Initializer("axes_0", [0]);
            return Node("Slice", $"lstm/l{layer}/{state}_slice", [state, starts, ends, axes], []);
        }

        /// <summary>Adds a node with one output, named after the node, and returns that output's name.</summary>
        private string Node(string opType, string name, string[] inputs, OnnxAttributeProto[] attributes)
        {
            var node = new OnnxNodeProto { Name = name, OpType = opType };
            node.Inputs.AddRange(inputs);
            node.Outputs.Add(name + "/out");
            node.Attributes.AddRange(attributes);
            _graph.Nodes.Add(node);
            return node.Outputs[0];
        }

        private void Rename(string from, string to)
        {
            foreach (var n in _graph.Nodes)
                for (int i = 0; i < n.Outputs.Count; i++)
                    if (n.Outputs[i] == from) n.Outputs[i] = to;
        }

        private string Initializer(string name, T[] data, params long[] dims)
        {
            _graph.Initializers.Add(typeof(T) == typeof(float)
                ? OnnxTensorProto.FromFloats(name, (float[])(object)data, dims)
                : OnnxTensorProto.FromDoubles(name, (double[])(object)data, dims));
            return name;
        }

        private string Int64Scalar(string name, long value)
        {
            _graph.Initializers.Add(OnnxTensorProto.FromInt64s(name, [value]));  // no dims: a scalar
            return name;
        }

        private string Int64Initializer(string name, long[] values)
        {
            if (!_graph.Initializers.Any(t => t.Name == name))
                _graph.Initializers.Add(OnnxTensorProto.FromInt64s(name, values, values.Length));
            return name;
        }
    }

    /// <summary>The IR version that goes with an opset (ONNX's versioning table): 14 → 7, 15..18 → 8, 19..20 → 9, 21 → 10.</summary>
    private static long IrVersionFor(int opset) => opset switch
    {
        14 => 7,
        <= 18 => 8,
        <= 20 => 9,
        _ => 10,
    };
}
