using System.Numerics;
using LstmSharp.IO;
using LstmSharp.Tensors;

namespace LstmSharp.Layers;

/// <summary>
/// Something with named parameters: gives PyTorch-style <c>state_dict</c> access, loading with strict checks,
/// gradient zeroing and safetensors save/load.
/// </summary>
/// <typeparam name="T">Element type, <see cref="float"/> or <see cref="double"/>.</typeparam>
public abstract class Module<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>A module of <typeparamref name="T"/>, which must be <see cref="float"/> or <see cref="double"/> (the kernels' types).</summary>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is another type (e.g. <see cref="Half"/>).</exception>
    protected Module() => ElementTypes.Check<T>();

    /// <summary>The parameters, in PyTorch's <c>state_dict</c> order.</summary>
    public abstract IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>Whether the module is in training mode (dropout active), as PyTorch's <c>module.training</c>. Default true.</summary>
    public bool Training { get; set; } = true;

    /// <summary>The total number of scalar parameters.</summary>
    public long ParameterCount => Parameters.Sum(p => (long)p.Value.Length);

    /// <summary>The parameter named <paramref name="name"/>.</summary>
    public Parameter<T> GetParameter(string name) =>
        Parameters.FirstOrDefault(p => p.Name == (name ?? throw new ArgumentNullException(nameof(name))))
        ?? throw new KeyNotFoundException(
            $"name: no parameter '{name}'; this module has {string.Join(", ", Parameters.Select(p => p.Name))}.");

    /// <summary>Sets every parameter's gradient to zero. Backward only ever adds to gradients.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGrad();
    }

    /// <summary>The parameters by name (the live tensors, not copies), in <c>state_dict</c> order.</summary>
    public Dictionary<string, Tensor<T>> StateDict()
    {
        var dict = new Dictionary<string, Tensor<T>>();
        foreach (var p in Parameters) dict.Add(p.Name, p.Value);
        return dict;
    }

    /// <summary>
    /// Copies every tensor of <paramref name="stateDict"/> into the parameter of the same name. Strict, as PyTorch's default:
    /// a missing, extra or misshapen tensor is an error, and nothing is changed unless everything matches.
    /// </summary>
    /// <param name="stateDict">Tensors by name, e.g. <c>weight_ih_l0</c> of shape [4H, I].</param>
    public void LoadStateDict(IReadOnlyDictionary<string, Tensor<T>> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var problems = new List<string>();
        var nulls = stateDict.Where(kv => kv.Value is null).Select(kv => kv.Key).ToList();
        if (nulls.Count > 0)
            throw new ArgumentException($"stateDict: the tensor of {string.Join(", ", nulls.Select(n => $"'{n}'"))} is null.", nameof(stateDict));
        var names = Parameters.Select(p => p.Name).ToHashSet();
        var missing = Parameters.Where(p => !stateDict.ContainsKey(p.Name)).Select(p => p.Name).ToList();
        var extra = stateDict.Keys.Where(k => !names.Contains(k)).ToList();
        if (missing.Count > 0) problems.Add("missing: " + string.Join(", ", missing));
        if (extra.Count > 0) problems.Add("unexpected: " + string.Join(", ", extra));
        foreach (var p in Parameters)
        {
            if (stateDict.TryGetValue(p.Name, out var t) && !t.HasShape([.. p.Value.Shape]))
                problems.Add($"{p.Name}: expected shape {p.Value.ShapeString}, got {t.ShapeString}");
        }
        if (problems.Count > 0)
            throw new ArgumentException("stateDict does not match the module: " + string.Join("; ", problems) + ".", nameof(stateDict));
        foreach (var p in Parameters) p.Value.CopyFrom(stateDict[p.Name]);
    }

    /// <summary>
    /// Loads the parameters from a safetensors file's tensors, checking names, shapes and dtype
    /// (<c>F32</c> for float, <c>F64</c> for double). Nothing is changed unless everything matches.
    /// </summary>
    /// <param name="file">A parsed safetensors file; extra tensors are an error.</param>
    public void LoadStateDict(SafeTensorsFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var expected = SafeTensor.DTypeOf<T>();
        var wrong = file.Tensors.Values.Where(t => t.DType != expected)
            .Select(t => $"{t.Name}: expected dtype {expected}, got {t.DType}").ToList();
        if (wrong.Count > 0)
            throw new ArgumentException("file does not match the module: " + string.Join("; ", wrong) + ".", nameof(file));
        LoadStateDict(file.Tensors.Values.ToDictionary(t => t.Name, t => t.ToTensor<T>()));
    }

    /// <summary>
    /// Checks that <paramref name="file"/> holds exactly the tensors <paramref name="expected"/> names, with those shapes and
    /// <typeparamref name="T"/>'s dtype (F32 for float, F64 for double), before a module is built from its metadata: a small
    /// corrupt file then cannot make it allocate the weights of a huge model, and nothing is converted, so that a model is
    /// never narrowed silently.
    /// </summary>
    /// <param name="file">The parsed file.</param>
    /// <param name="expected">The names and shapes the metadata's configuration implies, in <c>state_dict</c> order.</param>
    /// <param name="path">The file's path, for the error.</param>
    /// <exception cref="InvalidDataException">
    /// A tensor is missing, unexpected or of another shape (names the path, tensors and shapes), or of another dtype (names the
    /// path, the first few such tensors and the element type to load it with).
    /// </exception>
    internal static void CheckTensors(SafeTensorsFile file, IEnumerable<(string Name, long[] Shape)> expected, string path)
    {
        var problems = new List<string>();
        var names = new HashSet<string>();
        bool stopped = false;
        foreach (var (name, shape) in expected)
        {
            // More tensors named than the file holds (e.g. a corrupt num_layers of 2^31): stop here, before listing them all
            // (the file's other tensors are then not compared, not called unexpected).
            if (names.Count > file.Tensors.Count)
            {
                problems.Add($"the configuration needs more than the file's {file.Tensors.Count} tensors");
                stopped = true;
                break;
            }
            names.Add(name);
            if (!file.Tensors.TryGetValue(name, out var t))
                problems.Add($"missing tensor '{name}' of shape {ShapeUtil.Format(shape)}");
            else if (!t.Shape.Select(d => (long)d).SequenceEqual(shape))
                problems.Add($"tensor '{name}': expected shape {ShapeUtil.Format(shape)}, got {ShapeUtil.Format(t.Shape)}");
        }
        if (!stopped) problems.AddRange(file.Tensors.Keys.Where(k => !names.Contains(k)).Select(k => $"unexpected tensor '{k}'"));
        if (problems.Count > 0)
            throw new InvalidDataException(
                $"'{path}': the tensors do not match the configuration in its metadata: {string.Join("; ", problems.Take(20))}" +
                (problems.Count > 20 ? $"; and {problems.Count - 20} more." : "."));

        var dtype = SafeTensor.DTypeOf<T>();
        var wrong = file.Tensors.Values.Where(t => t.DType != dtype).ToList();
        if (wrong.Count == 0) return;
        string which = string.Join(", ", wrong.Take(3).Select(t => $"'{t.Name}' is {t.DType}")) + (wrong.Count > 3 ? $" and {wrong.Count - 3} more" : "");
        string hint = wrong[0].DType switch { DType.F64 => " (load it as double)", DType.F32 => " (load it as float)", _ => "" };
        throw new InvalidDataException($"'{path}': expected dtype {dtype} for {typeof(T).Name} weights, but {which}{hint}.");
    }

    /// <summary>Saves the parameters as a safetensors <c>state_dict</c>, atomically, as <see cref="AtomicFile.Write"/>.</summary>
    /// <param name="path">Destination file.</param>
    /// <param name="metadata">Extra string metadata to store in the header.</param>
    public void SaveStateDict(string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var file = new SafeTensorsFile(metadata);
        foreach (var p in Parameters) file.Add(SafeTensor.From(p.Name, p.Value));
        file.Save(path);
    }
}
