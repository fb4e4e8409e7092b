using System.Numerics;
using LstmSharp.IO;
using LstmSharp.Kernels;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// A multi-layer LSTM over sequences with the semantics, parameter names and layouts of PyTorch's <c>nn.LSTM</c>:
/// stacked layers with dropout between them, bidirectional, projection (<c>proj_size</c>), batch-first or
/// sequence-first, unbatched input and variable-length batches. Forward and a hand-written backward.
/// </summary>
/// <typeparam name="T"><see cref="float"/> or <see cref="double"/>.</typeparam>
public sealed class Lstm<T> : Module<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly LstmDirectionParameters<T>[] _directions; // [L * D], index layer * D + direction
    private readonly Parameter<T>[] _parameters;
    private readonly BufferRecycler<T> _recycler = new();
    private CacheLease<T>? _evalLease; // the cache of the last evaluation-mode Forward, retired by the next Forward

    /// <summary>Creates the layers and initialises every weight uniformly in ±1/sqrt(H), as PyTorch does.</summary>
    /// <param name="options">The configuration; validated.</param>
    /// <param name="seed">Seed of the initialisation and of the dropout masks.</param>
    public Lstm(LstmOptions options, ulong seed = 0) : this(options, seed, LstmKernels.Best<T>())
    {
    }

    internal Lstm(LstmOptions options, ulong seed, ILstmKernel<T> kernel)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Kernel = kernel;
        int d = options.NumDirections;
        _directions = new LstmDirectionParameters<T>[options.NumLayers * d];
        for (int layer = 0; layer < options.NumLayers; layer++)
            for (int dir = 0; dir < d; dir++)
                _directions[layer * d + dir] = LstmDirectionParameters<T>.Create(
                    options.LayerInputSize(layer), options.HiddenSize, options.ProjSize, options.Bias,
                    $"_l{layer}" + (dir == 1 ? "_reverse" : ""));
        _parameters = _directions.SelectMany(p => p.All()).ToArray();
        Random = new Rng(seed ^ 0x5DEECE66DUL);
        ResetParameters(seed);
    }

    /// <summary>The configuration.</summary>
    public LstmOptions Options { get; }

    /// <summary>The kernel that runs each layer and direction (tests swap it to compare kernels).</summary>
    internal ILstmKernel<T> Kernel { get; set; }

    /// <inheritdoc/>
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>The weights of layer <paramref name="layer"/> in direction <paramref name="direction"/> (0 forward, 1 reverse).</summary>
    public LstmDirectionParameters<T> Layer(int layer, int direction = 0)
    {
        if ((uint)layer >= (uint)Options.NumLayers)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"layer: expected 0..{Options.NumLayers - 1}, got {layer}.");
        if ((uint)direction >= (uint)Options.NumDirections)
            throw new ArgumentOutOfRangeException(nameof(direction), direction, $"direction: expected 0..{Options.NumDirections - 1}, got {direction}.");
        return _directions[layer * Options.NumDirections + direction];
    }

    /// <summary>The generator of dropout masks; its state can be saved and restored for exact resume.</summary>
    public Rng Random { get; }

    /// <summary>Re-initialises every parameter uniformly in [-1/sqrt(H), 1/sqrt(H)) from <paramref name="seed"/>.</summary>
    public void ResetParameters(ulong seed)
    {
        var rng = new Rng(seed);
        T bound = T.One / T.Sqrt(T.CreateChecked(Options.HiddenSize));
        foreach (var p in _parameters) rng.FillUniform(-bound, bound, p.Value.Data);
    }

    /// <summary>
    /// Sets the forget-gate bias of every layer and direction to <paramref name="value"/> (e.g. 1.0, as char-rnn and Keras do),
    /// so that the cell remembers by default early in training: rows H..2H of <c>bias_ih</c> get the value and those of
    /// <c>bias_hh</c> zero, making their sum <paramref name="value"/>. Throws when the LSTM has no bias.
    /// </summary>
    public void SetForgetGateBias(T value)
    {
        if (!Options.Bias)
            throw new InvalidOperationException("SetForgetGateBias: this LSTM was built with Bias = false and has no bias to set.");
        int h = Options.HiddenSize;
        foreach (var p in _directions)
        {
            p.BiasIh!.Value.Data.AsSpan(h, h).Fill(value);
            p.BiasHh!.Value.Data.AsSpan(h, h).Clear();
        }
    }

    /// <summary>Saves the weights as a safetensors <c>state_dict</c> (names as PyTorch's), with the options in the metadata.</summary>
    public void Save(string path) => SaveStateDict(path, Options.ToMetadata());

    /// <summary>
    /// Rebuilds an LSTM from a file written by <see cref="Save"/> (or any safetensors file whose metadata carries the options).
    /// The options in its metadata, and the file's tensor names, shapes and dtype (F32 for float, F64 for double) are checked
    /// before the LSTM is built (an <see cref="InvalidDataException"/> naming the path and the key or tensor).
    /// </summary>
    public static Lstm<T> Load(string path)
    {
        var file = SafeTensorsFile.Load(path);
        LstmOptions options;
        try
        {
            options = LstmOptions.FromMetadata(file.Metadata);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"'{path}': {LstmOptions.MetadataProblem(e, file.Metadata)}", e);
        }
        CheckTensors(file, ParameterShapes(options), path);
        var lstm = new Lstm<T>(options);
        lstm.LoadStateDict(file);
        return lstm;
    }

    /// <summary>
    /// The names and shapes of the parameters of an LSTM with (validated) <paramref name="options"/>, in <c>state_dict</c>
    /// order, computed without building it.
    /// </summary>
    internal static IEnumerable<(string Name, long[] Shape)> ParameterShapes(LstmOptions options)
    {
        long g4 = 4L * options.HiddenSize, h = options.HiddenSize, p = options.OutputHiddenSize;
        int d = options.NumDirections;
        for (int layer = 0; layer < options.NumLayers; layer++)
            for (int dir = 0; dir < d; dir++)
            {
                string suffix = $"_l{layer}" + (dir == 1 ? "_reverse" : "");
                long input = layer == 0 ? options.InputSize : d * p;
                yield return ("weight_ih" + suffix, [g4, input]);
                yield return ("weight_hh" + suffix, [g4, p]);
                if (options.Bias)
                {
                    yield return ("bias_ih" + suffix, [g4]);
                    yield return ("bias_hh" + suffix, [g4]);
                }
                if (options.ProjSize > 0) yield return ("weight_hr" + suffix, [p, h]);
            }
    }

    /// <summary>
    /// Runs the LSTM. Shapes (I input size, H hidden, P = proj_size or H, L layers, D directions):
    /// <list type="bullet">
    /// <item><paramref name="input"/>: [B, T, I] when batch-first, [T, B, I] otherwise, or [T, I] unbatched.</item>
    /// <item><paramref name="h0"/>: [L*D, B, P] ([L*D, P] unbatched), <paramref name="c0"/>: [L*D, B, H] ([L*D, H] unbatched); both or neither (zeros).</item>
    /// <item><paramref name="lengths"/>: [B] valid steps per sequence, each in 1..T; steps past it are padding.</item>
    /// </list>
    /// </summary>
    public LstmResult<T> Forward(Tensor<T> input, Tensor<T>? h0 = null, Tensor<T>? c0 = null, int[]? lengths = null) =>
        ForwardCore(input, h0, c0, lengths, outputSequence: true);

    /// <summary>
    /// Runs the LSTM for inference, like PyTorch's <c>nn.LSTM</c> under <c>torch.inference_mode()</c> in evaluation mode:
    /// the results of <see cref="Forward"/> with no dropout (whatever <see cref="Module{T}.Training"/> says) and no cache,
    /// so it cannot be differentiated (the result's Cache is empty) and needs far less memory: per layer and direction,
    /// two steps' cell states and (when the fast kernel splits the batch in two halves) one step's gates; a batch too
    /// small to split keeps the input projection of every step, [T, B, 4H], as PyTorch's inference does. Shapes as in
    /// <see cref="Forward"/>. Like a Forward, it may reuse the buffers of a cache that a Backward has finished with (a
    /// second Backward on such a cache then throws). Several threads may call it at once on one Lstm (each call's buffers
    /// are its own), as long as no training call (a training-mode Forward, a Backward) or change of the weights overlaps.
    /// </summary>
    /// <param name="input">[B, T, I] when batch-first, [T, B, I] otherwise, or [T, I] unbatched.</param>
    /// <param name="h0">[L*D, B, P] ([L*D, P] unbatched), or null with <paramref name="c0"/> for zeros.</param>
    /// <param name="c0">[L*D, B, H] ([L*D, H] unbatched), or null.</param>
    /// <param name="lengths">[B] valid steps per sequence, each in 1..T, or null for all T.</param>
    /// <param name="output">
    /// Where to write the output, of its shape ([B, T, D*P], [T, B, D*P] or [T, D*P]; like PyTorch's <c>out=</c>), or
    /// null for a new tensor. Writing into the same tensor call after call spares the allocation of a large output. It
    /// must not share memory with input, h0 or c0 (ArgumentException).
    /// </param>
    public LstmResult<T> Infer(Tensor<T> input, Tensor<T>? h0 = null, Tensor<T>? c0 = null, int[]? lengths = null, Tensor<T>? output = null) =>
        ForwardCore(input, h0, c0, lengths, outputSequence: true, infer: true, output);

    /// <summary>
    /// <see cref="Forward(Tensor{T}, Tensor{T}, Tensor{T}, int[])"/>; with <paramref name="outputSequence"/> false the
    /// last layer's outputs are not gathered and the result's Output is empty (shape [0]), for callers that read only h_n;
    /// with <paramref name="infer"/>, <see cref="Infer"/> (into <paramref name="outputInto"/> if given).
    /// </summary>
    internal LstmResult<T> ForwardCore(Tensor<T> input, Tensor<T>? h0, Tensor<T>? c0, int[]? lengths, bool outputSequence,
        bool infer = false, Tensor<T>? outputInto = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = Options;
        int numDir = o.NumDirections, numLayers = o.NumLayers, hidden = o.HiddenSize, outSize = o.OutputHiddenSize;
        int steps, batch;
        bool unbatched = input.Rank == 2;
        if (input.Rank == 3)
        {
            (steps, batch) = o.BatchFirst ? (input.Dim(1), input.Dim(0)) : (input.Dim(0), input.Dim(1));
        }
        else if (unbatched)
        {
            (steps, batch) = (input.Dim(0), 1);
        }
        else
        {
            throw new ArgumentException(
                $"input: expected rank 3 ({(o.BatchFirst ? "[B, T, I]" : "[T, B, I]")}) or rank 2 (unbatched [T, I]), got rank {input.Rank} with shape {input.ShapeString}.",
                nameof(input));
        }
        if (input.Dim(-1) != o.InputSize)
            throw new ArgumentException(
                $"input: expected input size I = {o.InputSize} in the last dimension, got {input.Dim(-1)} (shape {input.ShapeString}).", nameof(input));
        if (steps == 0) throw new ArgumentException($"input: expected at least one time step, got T = 0 (shape {input.ShapeString}).", nameof(input));
        if (batch == 0) throw new ArgumentException($"input: expected at least one sequence, got B = 0 (shape {input.ShapeString}).", nameof(input));
        // The largest buffer of a training pass (and of an inference whose batch is not split over two threads): checked for
        // every pass, so that a size is accepted or refused alike whatever the threads; split such inputs into shorter pieces.
        ShapeUtil.CheckFits(nameof(input), "the gate buffer T·B·4H", steps, batch, 4L * hidden);
        ShapeUtil.CheckFits(nameof(input), "the states L·D·B·H", (long)numLayers * numDir, batch, Math.Max(hidden, outSize)); // h_n, c_n

        int[] hShape = unbatched ? [numLayers * numDir, outSize] : [numLayers * numDir, batch, outSize];
        int[] cShape = unbatched ? [numLayers * numDir, hidden] : [numLayers * numDir, batch, hidden];
        if ((h0 is null) != (c0 is null))
            throw new ArgumentException(
                $"{(h0 is null ? "h0" : "c0")}: h0 and c0 must be given together or not at all; got only {(h0 is null ? "c0" : "h0")}.",
                h0 is null ? nameof(h0) : nameof(c0));
        CheckShape(h0, hShape, nameof(h0), "[L*D, B, P]", unbatched);
        CheckShape(c0, cShape, nameof(c0), "[L*D, B, H]", unbatched);
        int[] lens = CheckLengths(lengths, steps, batch);
        int width = numDir * outSize;
        int[] outShape = unbatched ? [steps, width] : o.BatchFirst ? [batch, steps, width] : [steps, batch, width];
        CheckShape(outputInto, outShape, "output", unbatched ? "[T, D*P]" : o.BatchFirst ? "[B, T, D*P]" : "[T, B, D*P]", unbatched);
        if (outputInto is not null && (ReferenceEquals(outputInto.Data, input.Data) || ReferenceEquals(outputInto.Data, h0?.Data) || ReferenceEquals(outputInto.Data, c0?.Data)))
            throw new ArgumentException("output: expected a tensor of its own, got one that shares its memory with input, h0 or c0.", "output");

        // Buffers of caches that can no longer be differentiated are reused (first touches of new memory are costly).
        if (!infer && Interlocked.Exchange(ref _evalLease, null) is { } previous) _recycler.Retire(previous);
        var lease = new CacheLease<T>();
        T[] Rent(int length) => _recycler.Rent(length, lease);

        // Everything below is time-major: [T, B, *]. States are [L*D, B, *] in both layouts.
        bool timeMajor = unbatched || !o.BatchFirst;
        var x = infer && timeMajor ? input.Data  // read only: no backward will look at it
            : ToTimeMajor(input, steps, batch, unbatched, Rent(input.Length));  // [T, B, I], a copy: backward must not see later edits
        // Padded steps are never read, as with PyTorch's packed sequences: zeroed in the copy, so that whatever they hold
        // (NaN, Inf) cannot reach dW_ih, whose product runs over every row.
        if (!infer && lengths is not null) ZeroPadding(x, steps, batch, o.InputSize, lens);
        var hAll = h0?.Data ?? new T[numLayers * numDir * batch * outSize];  // [L*D, B, P]
        var cAll = c0?.Data ?? new T[numLayers * numDir * batch * hidden];   // [L*D, B, H]
        var hN = new T[hAll.Length];                                           // [L*D, B, P]
        var cN = new T[cAll.Length];                                           // [L*D, B, H]
        var caches = new LstmDirectionCache<T>[numLayers * numDir];
        var masks = new T[]?[numLayers - 1];
        bool outputIsCopied = !timeMajor;                                      // else the output tensor wraps the last layerOut
        T[] layerOut = [];                                                     // [T, B, D*P]
        for (int layer = 0; layer < numLayers; layer++)
        {
            // Inference gives a layer's cache buffers back once the layer has run, for the next layer to use.
            var layerLease = infer ? new CacheLease<T>() : lease;
            bool gather = layer < numLayers - 1 || outputSequence;  // the last layer's outputs, only when asked for
            bool last = layer == numLayers - 1;
            layerOut = !gather ? []
                : !last || outputIsCopied ? Rent(steps * batch * width)
                : outputInto is not null ? outputInto.Data
                : new T[steps * batch * width];
            // Inference with one direction: each step's h is written straight into the layer's output.
            bool hsIsOutput = infer && gather && numDir == 1;
            for (int dir = 0; dir < numDir; dir++)
            {
                int k = layer * numDir + dir;
                caches[k] = new LstmDirectionCache<T>(x,
                    hAll.AsSpan(k * batch * outSize, batch * outSize).ToArray(),
                    cAll.AsSpan(k * batch * hidden, batch * hidden).ToArray(),
                    steps, batch, hidden, outSize, _directions[k].WeightHr is not null, length => _recycler.Rent(length, layerLease),
                    keepSteps: !infer, hs: hsIsOutput ? layerOut : null);
            }
            int k0 = layer * numDir;
            ForEachDirection(numDir, dir => Kernel.Forward(_directions[k0 + dir], steps, batch, lens, dir == 1, caches[k0 + dir]));
            for (int dir = 0; dir < numDir; dir++)
            {
                int k = layer * numDir + dir;
                var cache = caches[k];
                if (gather && !hsIsOutput) Layout.CopyColumns<T>(cache.Hs, steps * batch, outSize, layerOut, width, dir * outSize);
                // The final state: after the last step processed, t = T-1 forward or t = 0 reverse.
                int end = dir == 1 ? 0 : steps - 1;
                cache.Hs.AsSpan(end * batch * outSize, batch * outSize).CopyTo(hN.AsSpan(k * batch * outSize));
                cache.C.AsSpan(cache.CStep(end) * batch * hidden, batch * hidden).CopyTo(cN.AsSpan(k * batch * hidden));
            }
            if (gather) ZeroPadding(layerOut, steps, batch, width, lens);

            // Inference reads a layer's input and cache only in that layer: their memory can serve the next layer, so
            // that a deep stack holds one layer's cache and two [T, B, D*P] outputs at a time, not one per layer.
            if (infer)
            {
                _recycler.Release(layerLease, lease);
                if (!ReferenceEquals(x, input.Data)) _recycler.Return(x, lease);
            }
            x = layerOut;
            if (layer < numLayers - 1 && Training && !infer && o.Dropout > 0)
            {
                var mask = DropoutMask(Rent(layerOut.Length), o.Dropout);
                masks[layer] = mask;
                x = Rent(layerOut.Length);
                for (int i = 0; i < x.Length; i++) x[i] = layerOut[i] * mask[i];
            }
        }

        var output = outputSequence ? FromTimeMajor(layerOut, steps, batch, width, unbatched, outputInto) : Tensor<T>.Zeros(0);
        if (infer)
        {
            _recycler.Retire(lease);
            return new LstmResult<T>(output, new Tensor<T>(hN, hShape), new Tensor<T>(cN, cShape), default);
        }

        var cacheAll = new LstmCache<T>(this, steps, batch, unbatched, lens, caches, masks, lease);
        // Kept until the next Forward retires it (a Backward may still use it); one displaced by another thread's call retires now.
        if (!Training && Interlocked.Exchange(ref _evalLease, lease) is { } displaced) _recycler.Retire(displaced);
        return new LstmResult<T>(output, new Tensor<T>(hN, hShape), new Tensor<T>(cN, cShape), cacheAll);
    }

    /// <summary>
    /// Backpropagation through time. Given the upstream gradients of the three outputs (null means zeros), adds the
    /// parameter gradients into each parameter's <c>Grad</c> and returns the gradients of the input, h0 and c0.
    /// Gradients at padded output steps are ignored, as those outputs are constant zeros.
    /// <para>
    /// A cache can be differentiated any number of times until the next <see cref="Forward"/> or <see cref="Infer"/>
    /// after its first Backward, or a Backward of another cache of this LSTM (or, from a Forward in evaluation mode,
    /// until the next Forward): that call reuses the cache's buffers, and Backward on it then throws
    /// <see cref="InvalidOperationException"/>.
    /// </para>
    /// </summary>
    /// <param name="cache">The cache of the forward pass being differentiated.</param>
    /// <param name="dOutput">dL/d output, the output's shape.</param>
    /// <param name="dHN">dL/d h_n, [L*D, B, P] (or [L*D, P] unbatched).</param>
    /// <param name="dCN">dL/d c_n, [L*D, B, H] (or [L*D, H] unbatched).</param>
    public LstmGradients<T> Backward(in LstmCache<T> cache, Tensor<T>? dOutput, Tensor<T>? dHN = null, Tensor<T>? dCN = null) =>
        BackwardCore(cache, dOutput, dHN, dCN, inputGradient: true);

    /// <summary>
    /// <see cref="Backward(in LstmCache{T}, Tensor{T}, Tensor{T}, Tensor{T})"/>; with <paramref name="inputGradient"/>
    /// false dL/d input is not computed and the result's Input is empty (shape [0]), for inputs that are data.
    /// </summary>
    internal LstmGradients<T> BackwardCore(in LstmCache<T> cache, Tensor<T>? dOutput, Tensor<T>? dHN, Tensor<T>? dCN, bool inputGradient)
    {
        CheckCache(cache);
        var o = Options;
        int numDir = o.NumDirections, numLayers = o.NumLayers, hidden = o.HiddenSize, outSize = o.OutputHiddenSize;
        int steps = cache.Steps, batch = cache.Batch, width = numDir * outSize;
        bool unbatched = cache.Unbatched;
        int[] outShape = unbatched ? [steps, width] : o.BatchFirst ? [batch, steps, width] : [steps, batch, width];
        int[] hShape = unbatched ? [numLayers * numDir, outSize] : [numLayers * numDir, batch, outSize];
        int[] cShape = unbatched ? [numLayers * numDir, hidden] : [numLayers * numDir, batch, hidden];
        CheckShape(dOutput, outShape, nameof(dOutput), "the output's shape", unbatched);
        CheckShape(dHN, hShape, nameof(dHN), "[L*D, B, P]", unbatched);
        CheckShape(dCN, cShape, nameof(dCN), "[L*D, B, H]", unbatched);
        _recycler.Reclaim(cache.Lease);  // throws if a later Forward reused the cache's buffers
        if (ReferenceEquals(_evalLease, cache.Lease)) _evalLease = null;

        var scratch = new List<T[]>();  // arrays to reuse once this Backward is done
        T[] Scratch(int length)
        {
            var a = _recycler.Rent(length);
            scratch.Add(a);
            return a;
        }
        bool inputIsCopied = o.BatchFirst && !unbatched;                        // else dInput wraps the first layer's dX
        // [T, B, D*P], null: zeros. Read only: time-major gradients are used where they are.
        T[]? dOut = dOutput is null ? null : !o.BatchFirst || unbatched ? dOutput.Data : ToTimeMajor(dOutput, steps, batch, unbatched, Scratch(dOutput.Length));
        var dHNAll = dHN?.Data ?? new T[numLayers * numDir * batch * outSize];  // [L*D, B, P]
        var dCNAll = dCN?.Data ?? new T[numLayers * numDir * batch * hidden];   // [L*D, B, H]
        var dH0 = new T[dHNAll.Length];                                         // [L*D, B, P]
        var dC0 = new T[dCNAll.Length];                                         // [L*D, B, H]
        // [T, B, P] each direction's output gradient: with one direction, dOut itself unless it is zeros.
        var dY = numDir == 2 || dOut is null ? Scratch(steps * batch * outSize) : [];
        var dYReverse = numDir == 2 ? Scratch(steps * batch * outSize) : [];    // [T, B, P] of the reverse direction
        T[] dX = [];
        for (int layer = numLayers - 1; layer >= 0; layer--)
        {
            int inSize = o.LayerInputSize(layer);
            dX = layer == 0 && !inputGradient ? []                                                   // not wanted: the kernels skip it
                : layer > 0 || inputIsCopied ? ClearedScratch(steps * batch * inSize) : new T[steps * batch * inSize]; // [T, B, I_layer]
            // Both directions add into dL/dx: the reverse one into its own buffer when they run at the same time.
            var dXReverse = numDir == 2 && dX.Length > 0 ? ClearedScratch(dX.Length) : [];     // [T, B, I_layer]
            if (numDir == 1 && dOut is not null)
            {
                dY = dOut;  // [T, B, P] already
            }
            else if (dOut is null)
            {
                Array.Clear(dY);  // no gradient of the output sequence (e.g. a model that reads only h_n)
                Array.Clear(dYReverse);
            }
            else
            {
                Layout.ExtractColumns<T>(dOut, steps * batch, width, 0, outSize, dY);
                if (numDir == 2) Layout.ExtractColumns<T>(dOut, steps * batch, width, outSize, outSize, dYReverse);
            }
            int k0 = layer * numDir;
            var dXLayer = dX;
            var directionCaches = cache.Directions;
            var lengthsAll = cache.Lengths;
            ForEachDirection(numDir, dir =>
            {
                int k = k0 + dir;
                Kernel.Backward(_directions[k], steps, batch, lengthsAll, dir == 1, directionCaches[k], dir == 1 ? dYReverse : dY,
                    dHNAll.AsSpan(k * batch * outSize, batch * outSize), dCNAll.AsSpan(k * batch * hidden, batch * hidden),
                    dir == 1 ? dXReverse : dXLayer, dH0.AsSpan(k * batch * outSize, batch * outSize), dC0.AsSpan(k * batch * hidden, batch * hidden));
            });
            if (numDir == 2)
                for (int i = 0; i < dX.Length; i++) dX[i] += dXReverse[i];
            if (layer > 0)
            {
                // The layer below produced this layer's input, through dropout when it was applied.
                var mask = cache.DropoutMasks[layer - 1];
                if (mask is not null)
                    for (int i = 0; i < dX.Length; i++) dX[i] *= mask[i];
                dOut = dX;
            }
        }

        var dInput = inputGradient ? FromTimeMajor(dX, steps, batch, o.InputSize, unbatched) : Tensor<T>.Zeros(0);
        _recycler.Retire(cache.Lease, scratch);
        return new LstmGradients<T>(dInput, new Tensor<T>(dH0, hShape), new Tensor<T>(dC0, cShape));

        T[] ClearedScratch(int length)
        {
            var a = Scratch(length);
            Array.Clear(a);
            return a;
        }
    }

    /// <summary>Runs <paramref name="body"/> for each direction; the two of a bidirectional layer at the same time.</summary>
    private static void ForEachDirection(int numDir, Action<int> body)
    {
        if (numDir == 2) Worker.RunPair(body);
        else body(0);
    }

    /// <summary>A time-major copy [T, B, F] of a tensor in the user's layout, into <paramref name="result"/>.</summary>
    private T[] ToTimeMajor(Tensor<T> t, int steps, int batch, bool unbatched, T[] result)
    {
        if (!unbatched && Options.BatchFirst) Layout.SwapFirstAxes<T>(t.Data, batch, steps, t.Dim(-1), result);
        else t.Data.CopyTo(result, 0);
        return result;
    }

    /// <summary>
    /// The user's layout ([B, T, F], [T, B, F] or unbatched [T, F]) of time-major data [T, B, F]: a tensor around
    /// <paramref name="data"/> itself when the layouts agree (or <paramref name="into"/>, which then already holds it), else a copy (into <paramref name="into"/> if given).
    /// </summary>
    private Tensor<T> FromTimeMajor(T[] data, int steps, int batch, int features, bool unbatched, Tensor<T>? into = null)
    {
        if (unbatched) return into ?? new Tensor<T>(data, steps, features);
        if (!Options.BatchFirst) return into ?? new Tensor<T>(data, steps, batch, features);
        var bt = into?.Data ?? new T[data.Length];
        Layout.SwapFirstAxes<T>(data, steps, batch, features, bt);
        return into ?? new Tensor<T>(bt, batch, steps, features);
    }

    private T[] DropoutMask(T[] mask, double p)
    {
        T scale = T.CreateChecked(1.0 / (1.0 - p));
        for (int i = 0; i < mask.Length; i++) mask[i] = Random.NextDouble() < p ? T.Zero : scale;
        return mask;
    }

    private static void ZeroPadding(T[] y, int steps, int batch, int width, int[] lengths)
    {
        for (int t = 0; t < steps; t++)
            for (int b = 0; b < batch; b++)
                if (t >= lengths[b]) y.AsSpan((t * batch + b) * width, width).Clear();
    }

    /// <summary>
    /// Throws, changing nothing, unless <paramref name="cache"/> is one of this LSTM's Forward caches whose buffers are
    /// still its own (a model checks this before its head adds gradients, so that a refused Backward adds none).
    /// </summary>
    internal void CheckCache(in LstmCache<T> cache)
    {
        if (cache.Owner is null)
            throw new ArgumentException("cache: expected the cache returned by Forward, got a default (empty) one (Infer keeps no cache: use Forward to differentiate).", nameof(cache));
        if (!ReferenceEquals(cache.Owner, this))
            throw new ArgumentException("cache: this cache was made by the Forward of another Lstm.", nameof(cache));
        _recycler.CheckReclaimable(cache.Lease);
    }

    private static void CheckShape(Tensor<T>? t, int[] expected, string name, string symbolic, bool unbatched)
    {
        if (t is null || t.HasShape(expected)) return;
        string what = unbatched ? symbolic.Replace(", B", "", StringComparison.Ordinal) : symbolic;
        throw new ArgumentException(
            $"{name}: expected shape {what} = {ShapeUtil.Format(expected)}{(unbatched ? " for unbatched input" : "")}, got {t.ShapeString}.", name);
    }

    private static int[] CheckLengths(int[]? lengths, int steps, int batch)
    {
        if (lengths is null)
        {
            var all = new int[batch];
            Array.Fill(all, steps);
            return all;
        }
        if (lengths.Length != batch)
            throw new ArgumentException($"lengths: expected one length per sequence, B = {batch}, got {lengths.Length}.", nameof(lengths));
        for (int b = 0; b < batch; b++)
        {
            if (lengths[b] < 1 || lengths[b] > steps)
                throw new ArgumentException(
                    $"lengths: expected each length in 1..T = {steps}, got lengths[{b}] = {lengths[b]}.", nameof(lengths));
        }
        return (int[])lengths.Clone();
    }
}
