namespace LstmSharp.Cli.Data;

/// <summary>
/// MNIST-style data in a folder: <c>train-images-idx3-ubyte</c>, <c>train-labels-idx1-ubyte</c>,
/// <c>t10k-images-idx3-ubyte</c>, <c>t10k-labels-idx1-ubyte</c>, each optionally gzipped (<c>.gz</c>). Each image
/// becomes a sequence of its rows: T = 28 steps of I = 28 pixels scaled to [0, 1].
/// </summary>
public sealed record MnistData(float[][] TrainImages, int[] TrainLabels, float[][] TestImages, int[] TestLabels, int Rows, int Columns, int Classes)
{
    /// <summary>Reads the four files from <paramref name="directory"/>, keeping at most <paramref name="limit"/> training and test images each (0: all).</summary>
    public static MnistData Load(string directory, int limit = 0)
    {
        if (!Directory.Exists(directory)) throw new CliException($"{directory}: directory not found.");
        // The files' counts and classes are checked whole, before --limit keeps the first images.
        var (trainImages, rows, columns, trainCount) = Images(Find(directory, "train-images-idx3-ubyte"), limit);
        var (trainLabels, trainLabelCount, trainMax) = Labels(Find(directory, "train-labels-idx1-ubyte"), limit);
        var (testImages, testRows, testColumns, testCount) = Images(Find(directory, "t10k-images-idx3-ubyte"), limit);
        var (testLabels, testLabelCount, testMax) = Labels(Find(directory, "t10k-labels-idx1-ubyte"), limit);
        if (trainCount != trainLabelCount)
            throw new CliException($"{directory}: {trainCount} training images but {trainLabelCount} labels.");
        if (testCount != testLabelCount)
            throw new CliException($"{directory}: {testCount} test images but {testLabelCount} labels.");
        if (testRows != rows || testColumns != columns)
            throw new CliException($"{directory}: training images are {rows}x{columns}, test images {testRows}x{testColumns}.");
        return new MnistData(trainImages, trainLabels, testImages, testLabels, rows, columns, Math.Max(trainMax, testMax) + 1);
    }

    /// <summary>The file <paramref name="name"/> in <paramref name="directory"/>, or <c>name.gz</c>, or with a dot before <c>idx</c>.</summary>
    public static string Find(string directory, string name)
    {
        string dotted = name.Replace("-idx", ".idx", StringComparison.Ordinal);
        foreach (var candidate in new[] { name, name + ".gz", dotted, dotted + ".gz" })
        {
            string path = Path.Combine(directory, candidate);
            if (File.Exists(path)) return path;
        }
        throw new CliException($"{directory}: missing {name} (or {name}.gz).");
    }

    /// <summary>The first <paramref name="limit"/> images (0: all), their size, and how many the file holds.</summary>
    private static (float[][] Images, int Rows, int Columns, int Count) Images(string path, int limit)
    {
        var idx = IdxFile.Load(path);
        if (idx.Shape.Count != 3) throw new CliException($"{path}: expected images [N, rows, columns], got {idx.Shape.Count} dimensions.");
        if (idx.Shape[1] == 0 || idx.Shape[2] == 0 || (long)idx.Shape[1] * idx.Shape[2] > 1 << 24)
            throw new CliException($"{path}: images of {idx.Shape[1]}x{idx.Shape[2]} pixels; expected at least 1x1 and at most 2^24 pixels.");
        int n = limit > 0 ? Math.Min(limit, idx.Shape[0]) : idx.Shape[0], size = idx.Shape[1] * idx.Shape[2];
        var images = new float[n][];
        for (int i = 0; i < n; i++)
        {
            var image = new float[size];                                      // [rows, columns] = [T, I]
            for (int k = 0; k < size; k++) image[k] = idx.Data[i * size + k] / 255f;
            images[i] = image;
        }
        return (images, idx.Shape[1], idx.Shape[2], idx.Shape[0]);
    }

    /// <summary>The first <paramref name="limit"/> labels (0: all), how many the file holds, and the largest of them all.</summary>
    private static (int[] Labels, int Count, int Max) Labels(string path, int limit)
    {
        var idx = IdxFile.Load(path);
        if (idx.Shape.Count != 1) throw new CliException($"{path}: expected labels [N], got {idx.Shape.Count} dimensions.");
        int n = limit > 0 ? Math.Min(limit, idx.Shape[0]) : idx.Shape[0];
        int max = idx.Shape[0] == 0 ? 0 : idx.Data.Take(idx.Shape[0]).Max();
        return ([.. idx.Data.Take(n).Select(b => (int)b)], idx.Shape[0], max);
    }
}
